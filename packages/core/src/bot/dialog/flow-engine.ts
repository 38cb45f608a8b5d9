import type { BotReply, FlowDocument, FlowStep } from '@huiliu/contracts';

/**
 * The flow runtime: a pure state machine over a FlowDocument. No database, no clock, no network of its own —
 * everything comes through `FlowIO`, so the bot service, the simulator and the tests run the same code.
 *
 * A turn runs steps until the flow waits for the customer (an `ask` whose slot is empty), ends, or hands
 * off. The caller persists the returned `FlowState` per conversation and passes it back with the next
 * message. Every failure path ends in a reply and a handoff, never a conversation stuck in a step:
 *   - an http step fails (network, timeout, non-2xx) without onError → apology + handoff "api_unreachable";
 *   - an ask gets maxAttempts wrong answers without onFail → apology + handoff "slot_failed";
 *   - more than MAX_STEPS_PER_TURN steps in one turn (a loop the validator did not catch, e.g. in an
 *     unpublished draft run in the simulator) → apology + handoff "flow_loop";
 *   - the saved state points at a step the document no longer has → apology + handoff "flow_error".
 */

export interface FlowState {
  flowId: string;
  version: number;
  stepId: string | null;
  variables: Record<string, unknown>;
  attempts: number;
  updatedAt: string;
}
export interface FlowHttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
}
export interface FlowIO {
  /** Entity extractor (nlu/entities.ts: createEntityExtractor().extract). */
  extract(text: string): Array<{ entity: string; value: string | number; text: string }>;
  /** Throws on a network error or a timeout. */
  http(req: FlowHttpRequest): Promise<{ status: number; body: unknown }>;
  /** Vault secrets: `{{secret.NAME}}` is filled in only in http urls, headers and bodies. */
  secret(name: string): Promise<string | undefined>;
  now(): Date;
}
export interface FlowTurn {
  /** null: the flow ended (or handed off). */
  state: FlowState | null;
  replies: BotReply[];
  handoff: { reason: string; summary: string; teamId?: string } | null;
  /** Step ids visited in this turn, in order. */
  trace: string[];
  /** The flow's variables after this turn, also when it ended (what the agent sees as slots). */
  variables: Record<string, unknown>;
}
export interface FlowRef {
  id: string;
  version: number;
  document: FlowDocument;
}

export const MAX_STEPS_PER_TURN = 50;
/**
 * Flows read only vault secrets named `flow.…`: whoever may edit flows (bot.manage) could otherwise send any
 * secret of the workspace (the LLM key, a channel token) to a URL of their choosing.
 */
export const FLOW_SECRET_PREFIX = 'flow.';
/** An ask step's pattern is tested on answers up to this long (a longer answer is wrong): bounded regex time. */
export const MAX_PATTERN_INPUT_CHARS = 200;
/** A value an http step maps into a variable is cut here: state is rewritten every turn, replies quote it. */
export const MAX_MAPPED_VALUE_CHARS = 4_000;
/** Set after every http step: the response status, 0 for a network error or a timeout. */
export const HTTP_STATUS_VARIABLE = 'http_status';
export const API_DOWN_MESSAGE = '抱歉，系统暂时无法查询，正在为您转接人工客服';
export const SLOT_FAILED_MESSAGE = '抱歉，我没能确认您提供的信息，正在为您转接人工客服';
export const FLOW_ERROR_MESSAGE = '抱歉，系统出了点问题，正在为您转接人工客服';

// ---------------------------------------------------------------------------------------------------
// Templates

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\s*\}\}/g;

/** Reads a dotted path ("contact.name", "items.0.id") out of nested objects and arrays. */
export function readPath(root: unknown, path: string): unknown {
  let cur: unknown = root;
  for (const raw of path.replace(/\[(\d+)\]/g, '.$1').split('.')) {
    if (raw === '') continue;
    if (cur === null || cur === undefined || typeof cur !== 'object') return undefined;
    // Own properties only: a template must not reach Object.prototype (e.g. {{constructor}}).
    if (!Object.prototype.hasOwnProperty.call(cur, raw)) return undefined;
    cur = (cur as Record<string, unknown>)[raw];
  }
  return cur;
}

function toText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/**
 * Fills `{{order_id}}`, `{{contact.name}}` placeholders. A variable that is not set renders as '' (the
 * customer should never see raw braces). `url` percent-encodes each value (a slot cannot add path segments
 * or query parameters); `json` escapes it for use inside a JSON string literal ("{{x}}").
 */
export function renderTemplate(template: string, variables: Record<string, unknown>, escape: 'none' | 'url' | 'json' = 'none'): string {
  return template.replace(PLACEHOLDER, (_whole, path: string) => {
    const text = toText(readPath(variables, path));
    // encodeURIComponent keeps "." and "..", which URL parsing would collapse into a parent path segment.
    if (escape === 'url') return /^\.{1,2}$/.test(text) ? text.replaceAll('.', '%2E') : encodeURIComponent(text);
    if (escape === 'json') return JSON.stringify(text).slice(1, -1);
    return text;
  });
}

/** Names of the `{{secret.NAME}}` placeholders in a template. */
function secretNames(template: string): string[] {
  const names: string[] = [];
  for (const m of template.matchAll(PLACEHOLDER)) {
    const path = m[1]!;
    if (path.startsWith(`secret.${FLOW_SECRET_PREFIX}`)) names.push(path.slice('secret.'.length));
  }
  return names;
}

// ---------------------------------------------------------------------------------------------------
// Helpers

export function isFilled(v: unknown): boolean {
  return v !== undefined && v !== null && v !== '';
}

function reply(text: string, extra: { quickReplies?: string[] | undefined; card?: BotReply['card'] } = {}): BotReply {
  return { text, quickReplies: extra.quickReplies ?? [], card: extra.card ?? null, source: null };
}

/** Variables visible to message/set/branch templates: never the vault (a `secret` variable is hidden). */
function publicVars(vars: Record<string, unknown>): Record<string, unknown> {
  if (!('secret' in vars)) return vars;
  const { secret: _hidden, ...rest } = vars;
  return rest;
}

/** What the agent reads at a handoff: the reason and every ask slot collected so far. */
export function defaultSummary(doc: FlowDocument, vars: Record<string, unknown>, reason: string): string {
  const slots: string[] = [];
  const seen = new Set<string>();
  for (const step of doc.steps) {
    if (step.type !== 'ask' || seen.has(step.slot)) continue;
    seen.add(step.slot);
    slots.push(`${step.slot}: ${isFilled(vars[step.slot]) ? toText(vars[step.slot]) : '(未提供)'}`);
  }
  return [`转人工原因: ${reason}`, ...(slots.length ? [`已收集信息: ${slots.join('; ')}`] : [])].join('\n');
}

/**
 * What an API answered, made safe to keep in the conversation's state (jsonb) and to quote: strings lose NUL
 * and unpaired surrogates (PostgreSQL refuses them in jsonb and text) and are cut; a large object or array
 * becomes its JSON text, cut.
 */
function boundedValue(value: unknown): unknown {
  const clean = (t: string) => t.replace(/\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '').slice(0, MAX_MAPPED_VALUE_CHARS);
  if (typeof value === 'string') return clean(value);
  if (value === null || typeof value !== 'object') return value;
  const json = JSON.stringify(value);
  return json.length <= MAX_MAPPED_VALUE_CHARS && !/\\u0000|\\ud[89ab]/i.test(json) ? value : clean(json);
}

function patternAccepts(re: RegExp | null, value: string | number): boolean {
  if (!re) return true;
  const text = String(value);
  return text.length <= MAX_PATTERN_INPUT_CHARS && re.test(text);
}

function compile(pattern: string | undefined): RegExp | null {
  if (!pattern) return null;
  try {
    return new RegExp(pattern, 'u');
  } catch {
    // Publishing refuses invalid patterns (flow-validation.ts); a draft in the simulator just skips the check.
    return null;
  }
}

function holds(cond: { variable: string; op: string; value?: string | number | string[] | undefined }, vars: Record<string, unknown>): boolean {
  const v = vars[cond.variable];
  const want = cond.value;
  switch (cond.op) {
    case 'exists':
      return isFilled(v);
    case 'not_exists':
      return !isFilled(v);
    // Compared as text: an API returning 404 or "404" or a slot typed by a customer all match `404`.
    case 'eq':
      return isFilled(v) && toText(v) === toText(want);
    case 'neq':
      return toText(v) !== toText(want);
    case 'contains':
      if (Array.isArray(v)) return v.some((x) => toText(x) === toText(want));
      return isFilled(v) && toText(v).includes(toText(want));
    case 'in':
      return Array.isArray(want) ? want.includes(toText(v)) : toText(v) === toText(want);
    case 'gt':
    case 'lt': {
      const a = Number(v);
      const b = Number(want);
      if (!isFilled(v) || Number.isNaN(a) || Number.isNaN(b)) return false;
      return cond.op === 'gt' ? a > b : a < b;
    }
    default:
      return false;
  }
}

function stepMap(doc: FlowDocument): Map<string, FlowStep> {
  const m = new Map<string, FlowStep>();
  // The first step with an id wins (the validator reports duplicates).
  for (const s of doc.steps) if (!m.has(s.id)) m.set(s.id, s);
  return m;
}

/** Pre-fills empty ask slots from entities found in a message (the slot's pattern must accept the value). */
function prefill(doc: FlowDocument, vars: Record<string, unknown>, entities: ReturnType<FlowIO['extract']>): void {
  for (const step of doc.steps) {
    if (step.type !== 'ask' || !step.entity || isFilled(vars[step.slot])) continue;
    const found = entities.find((e) => e.entity === step.entity);
    if (!found) continue;
    if (!patternAccepts(compile(step.pattern), found.value)) continue;
    vars[step.slot] = found.value;
  }
}

// ---------------------------------------------------------------------------------------------------
// The run loop

interface RunContext {
  flow: FlowRef;
  steps: Map<string, FlowStep>;
  vars: Record<string, unknown>;
  io: FlowIO;
  replies: BotReply[];
  trace: string[];
}

function finish(ctx: RunContext, handoff: FlowTurn['handoff']): FlowTurn {
  return { state: null, replies: ctx.replies, handoff, trace: ctx.trace, variables: ctx.vars };
}

function failHandoff(ctx: RunContext, reason: string, message: string): FlowTurn {
  ctx.replies.push(reply(message));
  return finish(ctx, { reason, summary: defaultSummary(ctx.flow.document, ctx.vars, reason) });
}

function waitAt(ctx: RunContext, stepId: string, attempts: number): FlowTurn {
  const state: FlowState = {
    flowId: ctx.flow.id,
    version: ctx.flow.version,
    stepId,
    variables: ctx.vars,
    attempts,
    updatedAt: ctx.io.now().toISOString(),
  };
  return { state, replies: ctx.replies, handoff: null, trace: ctx.trace, variables: ctx.vars };
}

async function callHttp(step: Extract<FlowStep, { type: 'http' }>, ctx: RunContext): Promise<{ status: number; body: unknown }> {
  const templates = [step.url, step.body ?? '', ...Object.values(step.headers ?? {})];
  // Nested by the dots of the name ({{secret.flow.order_token}} reads secret → flow → order_token).
  const secret: Record<string, unknown> = {};
  for (const name of new Set(templates.flatMap(secretNames))) {
    const parts = name.split('.');
    let node = secret;
    for (const part of parts.slice(0, -1)) node = (Object.hasOwn(node, part) && typeof node[part] === 'object' ? node[part] : (node[part] = {})) as Record<string, unknown>;
    node[parts.at(-1)!] = (await ctx.io.secret(name)) ?? '';
  }
  const vars = { ...publicVars(ctx.vars), secret };
  const url = renderTemplate(step.url, vars, 'url');
  if (!/^https?:\/\//i.test(url)) throw new Error('the url is not http(s)');
  const headers: Record<string, string> = {};
  // CR/LF removed: a slot value must not be able to add header lines.
  for (const [k, v] of Object.entries(step.headers ?? {})) headers[k] = renderTemplate(v, vars).replace(/[\r\n]+/g, ' ');
  const req: FlowHttpRequest = { method: step.method, url, headers, timeoutMs: step.timeoutMs ?? 5_000 };
  if (step.body !== undefined) {
    req.body = renderTemplate(step.body, vars, 'json');
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  }
  return ctx.io.http(req);
}

async function run(ctx: RunContext, from: string | null, budgetUsed: number): Promise<FlowTurn> {
  let id = from;
  let used = budgetUsed;
  while (id !== null) {
    if (used >= MAX_STEPS_PER_TURN) return failHandoff(ctx, 'flow_loop', FLOW_ERROR_MESSAGE);
    used++;
    const step = ctx.steps.get(id);
    if (!step) return failHandoff(ctx, 'flow_error', FLOW_ERROR_MESSAGE);
    ctx.trace.push(step.id);
    const pub = publicVars(ctx.vars);
    switch (step.type) {
      case 'message': {
        const card = step.card
          ? {
              title: renderTemplate(step.card.title, pub),
              ...(step.card.description !== undefined ? { description: renderTemplate(step.card.description, pub) } : {}),
              ...(step.card.imageUrl !== undefined ? { imageUrl: step.card.imageUrl } : {}),
              ...(step.card.url !== undefined ? { url: renderTemplate(step.card.url, pub, 'url') } : {}),
            }
          : null;
        ctx.replies.push(reply(renderTemplate(step.text, pub), { quickReplies: step.quickReplies, card }));
        id = step.next;
        break;
      }
      case 'ask':
        if (isFilled(ctx.vars[step.slot])) {
          id = step.next;
          break;
        }
        ctx.replies.push(reply(renderTemplate(step.prompt, pub), { quickReplies: step.quickReplies }));
        return waitAt(ctx, step.id, 0);
      case 'http': {
        let res: { status: number; body: unknown } | null = null;
        try {
          res = await callHttp(step, ctx);
        } catch {
          res = null;
        }
        ctx.vars[HTTP_STATUS_VARIABLE] = res?.status ?? 0;
        if (!res || res.status < 200 || res.status > 299) {
          if (step.onError) {
            id = step.onError;
            break;
          }
          return failHandoff(ctx, 'api_unreachable', API_DOWN_MESSAGE);
        }
        let body = res.body;
        if (typeof body === 'string') {
          try {
            body = JSON.parse(body);
          } catch {
            // Not JSON: only a responseMap path of "" (the whole body) can read it.
          }
        }
        for (const [variable, path] of Object.entries(step.responseMap ?? {})) {
          const value = path === '' || path === '$' ? body : readPath(body, path.replace(/^\$\.?/, ''));
          ctx.vars[variable] = value === undefined ? null : boundedValue(value);
        }
        id = step.next;
        break;
      }
      case 'branch': {
        const hit = step.cases.find((c) => c.when.every((cond) => holds(cond, pub)));
        id = hit ? hit.next : step.otherwise;
        break;
      }
      case 'set': {
        // Rendered against the values before this step, so assignments in one step do not see each other.
        const before = { ...pub };
        for (const [variable, template] of Object.entries(step.assign)) ctx.vars[variable] = renderTemplate(template, before);
        id = step.next;
        break;
      }
      case 'handoff': {
        if (step.message) ctx.replies.push(reply(renderTemplate(step.message, pub)));
        const summary = step.summary ? renderTemplate(step.summary, pub) : defaultSummary(ctx.flow.document, ctx.vars, step.reason);
        return finish(ctx, { reason: step.reason, summary, ...(step.teamId ? { teamId: step.teamId } : {}) });
      }
      case 'end':
        if (step.message) ctx.replies.push(reply(renderTemplate(step.message, pub)));
        return finish(ctx, null);
      default:
        return failHandoff(ctx, 'flow_error', FLOW_ERROR_MESSAGE);
    }
  }
  return finish(ctx, null);
}

function context(flow: FlowRef, vars: Record<string, unknown>, io: FlowIO): RunContext {
  return { flow, steps: stepMap(flow.document), vars, io, replies: [], trace: [] };
}

/**
 * Starts a flow on the message that triggered it. Entities in that message pre-fill the ask slots that
 * name them, so "查询订单 A123456789" goes straight to the API call.
 */
export async function startFlow(flow: FlowRef, input: { text: string; variables?: Record<string, unknown> }, io: FlowIO): Promise<FlowTurn> {
  const vars: Record<string, unknown> = { ...(input.variables ?? {}) };
  prefill(flow.document, vars, safeExtract(io, input.text));
  const ctx = context(flow, vars, io);
  return run(ctx, flow.document.start, 0);
}

/** The customer answered while the flow waited at an ask step. */
export async function continueFlow(flow: FlowRef, state: FlowState, input: { text: string }, io: FlowIO): Promise<FlowTurn> {
  const ctx = context(flow, { ...state.variables }, io);
  if (state.stepId === null) return finish(ctx, null);
  const step = ctx.steps.get(state.stepId);
  if (!step || step.type !== 'ask') return failHandoff(ctx, 'flow_error', FLOW_ERROR_MESSAGE);
  ctx.trace.push(step.id);

  const text = input.text.trim();
  let value: string | number | undefined;
  if (step.entity) value = safeExtract(io, text).find((e) => e.entity === step.entity)?.value;
  else if (text !== '') value = text;
  const ok = value !== undefined && patternAccepts(compile(step.pattern), value);
  if (ok) {
    ctx.vars[step.slot] = value;
    return run(ctx, step.next, 1);
  }

  const attempts = state.attempts + 1;
  if (attempts >= (step.maxAttempts ?? 3)) {
    if (step.onFail) return run(ctx, step.onFail, 1);
    return failHandoff(ctx, 'slot_failed', SLOT_FAILED_MESSAGE);
  }
  const pub = publicVars(ctx.vars);
  ctx.replies.push(reply(renderTemplate(step.retryPrompt ?? step.prompt, pub), { quickReplies: step.quickReplies }));
  return waitAt(ctx, step.id, attempts);
}

/** A broken extractor (e.g. a bad workspace regex) must not break the conversation: no entities then. */
function safeExtract(io: FlowIO, text: string): ReturnType<FlowIO['extract']> {
  try {
    return io.extract(text);
  } catch {
    return [];
  }
}
