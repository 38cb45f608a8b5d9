import type { FlowDocument, FlowStep, FlowStepType } from '@huiliu/contracts/bot';

/**
 * Pure helpers of the flow editor. The editor works directly on the contract's FlowDocument: what the
 * admin edits is exactly what PUT/PATCH /bot/flows receives, so an issue path from the server or from
 * the contract run in the browser (`steps.3.next`) points at the same place in the draft. While editing, a
 * transition may be empty ('') — the editor shows it as "choose a step" and validation names it.
 */

export type Step = FlowStep;
export type StepType = FlowStepType;
export type StepOf<T extends StepType> = Extract<Step, { type: T }>;

export const STEP_TYPES: readonly StepType[] = ['message', 'ask', 'http', 'branch', 'set', 'handoff', 'end'];

/** Built-in entities of the NLU (packages/core/src/bot/nlu); workspace entities come from GET /bot/entities. */
export const BUILTIN_ENTITIES = ['order_number', 'phone', 'email', 'amount', 'datetime', 'cn_id'] as const;

export const CONDITION_OPS = ['eq', 'neq', 'contains', 'exists', 'not_exists', 'gt', 'lt', 'in'] as const;
export type ConditionOp = (typeof CONDITION_OPS)[number];
export type Condition = StepOf<'branch'>['cases'][number]['when'][number];

/** Colours of the step types on the canvas (antd Tag presets). */
export const STEP_COLOR: Record<StepType, string> = {
  message: 'blue',
  ask: 'purple',
  http: 'cyan',
  branch: 'orange',
  set: 'geekblue',
  handoff: 'magenta',
  end: 'default',
};

const STEP_ID = /^[A-Za-z0-9_-]{1,40}$/;
export const isValidStepId = (id: string): boolean => STEP_ID.test(id);
const VARIABLE = /^[A-Za-z_][A-Za-z0-9_]{0,39}$/;
export const isValidVariable = (name: string): boolean => VARIABLE.test(name);

/** `base`, or `base_2`, `base_3`… whichever is not taken. */
export function uniqueStepId(base: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  const clean = base.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 36) || 'step';
  if (!used.has(clean)) return clean;
  for (let n = 2; ; n++) if (!used.has(`${clean}_${n}`)) return `${clean}_${n}`;
}

/** A new step of each type with the contract's defaults filled in, so the side form shows real values. */
export function newStep(type: StepType, id: string): Step {
  switch (type) {
    case 'message':
      return { id, type, text: '', next: null };
    case 'ask':
      return { id, type, slot: 'answer', prompt: '', maxAttempts: 3, next: '' };
    case 'http':
      return { id, type, method: 'GET', url: 'https://', headers: {}, timeoutMs: 5000, responseMap: {}, next: '' };
    case 'branch':
      return { id, type, cases: [{ when: [{ variable: 'status', op: 'eq', value: '' }], next: '' }], otherwise: '' };
    case 'set':
      return { id, type, assign: {}, next: '' };
    case 'handoff':
      return { id, type, reason: 'flow' };
    case 'end':
      return { id, type };
  }
}

/** A transition out of a step: what the canvas draws and which field of the step holds it. */
export interface Transition {
  /** i18n key of the label and its variables. */
  label: string;
  vars?: Record<string, string | number>;
  /** null: "the flow ends here" (message.next); '' : not chosen yet. */
  target: string | null;
  /** Where it lives in the step, e.g. `next`, `cases.1.next`. */
  field: string;
  optional?: boolean;
}

export function transitions(step: Step): Transition[] {
  switch (step.type) {
    case 'message':
      return [{ label: 'flows.tr.next', target: step.next, field: 'next' }];
    case 'ask':
      return [
        { label: 'flows.tr.answered', target: step.next, field: 'next' },
        ...(step.onFail !== undefined ? [{ label: 'flows.tr.onFail', target: step.onFail, field: 'onFail', optional: true }] : []),
      ];
    case 'http':
      return [
        { label: 'flows.tr.ok', target: step.next, field: 'next' },
        ...(step.onError !== undefined ? [{ label: 'flows.tr.onError', target: step.onError, field: 'onError', optional: true }] : []),
      ];
    case 'branch':
      return [
        ...step.cases.map((c, i) => ({ label: 'flows.tr.case', vars: { n: i + 1, when: conditionsText(c.when) }, target: c.next, field: `cases.${i}.next` })),
        { label: 'flows.tr.otherwise', target: step.otherwise, field: 'otherwise' },
      ];
    case 'set':
      return [{ label: 'flows.tr.next', target: step.next, field: 'next' }];
    case 'handoff':
    case 'end':
      return [];
  }
}

const OP_TEXT: Record<ConditionOp, string> = { eq: '=', neq: '≠', contains: '∋', exists: 'exists', not_exists: 'not exists', gt: '>', lt: '<', in: 'in' };
export function conditionsText(when: readonly Condition[]): string {
  return when
    .map((c) => {
      if (c.op === 'exists' || c.op === 'not_exists') return `${c.variable} ${OP_TEXT[c.op]}`;
      const v = Array.isArray(c.value) ? `[${c.value.join(', ')}]` : String(c.value ?? '');
      return `${c.variable} ${OP_TEXT[c.op]} ${v}`;
    })
    .join(' && ');
}

/** Points every reference to `from` at `to` (a step id): the start, next, onFail, onError, cases, otherwise. */
function retarget(doc: FlowDocument, from: string, to: string | null): FlowDocument {
  const fix = (id: string) => (id === from ? (to ?? '') : id);
  const steps = doc.steps.map((s): Step => {
    switch (s.type) {
      case 'message':
        return { ...s, next: s.next === from ? to : s.next };
      case 'ask': {
        const { onFail, ...rest } = s;
        const nextFail = onFail === undefined ? undefined : onFail === from ? (to ?? undefined) : onFail;
        return { ...rest, next: fix(s.next), ...(nextFail !== undefined ? { onFail: nextFail } : {}) };
      }
      case 'http': {
        const { onError, ...rest } = s;
        const nextError = onError === undefined ? undefined : onError === from ? (to ?? undefined) : onError;
        return { ...rest, next: fix(s.next), ...(nextError !== undefined ? { onError: nextError } : {}) };
      }
      case 'branch':
        return { ...s, cases: s.cases.map((c) => ({ ...c, next: fix(c.next) })), otherwise: fix(s.otherwise) };
      case 'set':
        return { ...s, next: fix(s.next) };
      default:
        return s;
    }
  });
  return { ...doc, start: doc.start === from ? (to ?? '') : doc.start, steps };
}

/** Renames a step and every reference to it. Refuses (returns null) an invalid or taken id. */
export function renameStep(doc: FlowDocument, from: string, to: string): FlowDocument | null {
  if (from === to) return doc;
  if (!isValidStepId(to) || doc.steps.some((s) => s.id === to)) return null;
  const renamed = retarget(doc, from, to);
  return { ...renamed, steps: renamed.steps.map((s) => (s.id === from ? { ...s, id: to } : s)) };
}

/**
 * Removes a step. References to it become "not chosen" (or "flow ends" for a message, or "default" for
 * the optional onFail / onError) so the admin sees exactly which transitions need a new target; the start
 * moves to the first remaining step.
 */
export function removeStep(doc: FlowDocument, id: string): FlowDocument {
  const cleared = retarget(doc, id, null);
  const steps = cleared.steps.filter((s) => s.id !== id);
  return { ...cleared, steps, start: cleared.start === '' ? (steps[0]?.id ?? '') : cleared.start };
}

export function replaceStep(doc: FlowDocument, step: Step): FlowDocument {
  return { ...doc, steps: doc.steps.map((s) => (s.id === step.id ? step : s)) };
}

/**
 * Adds a new step after `afterId` (or at the end). A linear step after it that had no target yet (or, for
 * a message, ended the flow) is wired to the new step, and the new step inherits the old target: clicking
 * "add" in order builds a chain without touching a single select.
 */
export function insertStep(doc: FlowDocument, type: StepType, afterId: string | null): { doc: FlowDocument; id: string } {
  const id = uniqueStepId(`${type}_${doc.steps.length + 1}`, doc.steps.map((s) => s.id));
  let step = newStep(type, id);
  const index = afterId ? doc.steps.findIndex((s) => s.id === afterId) : -1;
  const after = index >= 0 ? doc.steps[index] : undefined;
  let steps = [...doc.steps];
  if (after && (after.type === 'message' || after.type === 'ask' || after.type === 'http' || after.type === 'set')) {
    const old = after.next;
    const wired = { ...after, next: id } as Step;
    steps = steps.map((s) => (s.id === after.id ? wired : s));
    if (old && 'next' in step) step = { ...step, next: old } as Step;
  }
  steps.splice(index >= 0 ? index + 1 : steps.length, 0, step);
  return { doc: { ...doc, steps, start: doc.start || id }, id };
}

/**
 * The order the canvas draws steps in: depth-first from the start following transitions in their order
 * (so a chain reads top to bottom and a branch's cases follow it), then whatever is unreachable, in
 * document order. The canvas flags the unreachable ones.
 */
export function layoutOrder(doc: FlowDocument): { order: Step[]; reachable: Set<string> } {
  const byId = new Map(doc.steps.map((s) => [s.id, s]));
  const seen = new Set<string>();
  const order: Step[] = [];
  const visit = (id: string | null) => {
    if (!id || seen.has(id)) return;
    const step = byId.get(id);
    if (!step) return;
    seen.add(id);
    order.push(step);
    for (const tr of transitions(step)) visit(tr.target);
  };
  visit(doc.start);
  const reachable = new Set(seen);
  for (const s of doc.steps) if (!seen.has(s.id)) order.push(s);
  return { order, reachable };
}

/** Variables a template may use: ask slots, HTTP response mappings, set assignments. */
export function knownVariables(doc: FlowDocument): string[] {
  const vars = new Set<string>();
  for (const s of doc.steps) {
    if (s.type === 'ask') vars.add(s.slot);
    if (s.type === 'http') for (const k of Object.keys(s.responseMap ?? {})) vars.add(k);
    if (s.type === 'set') for (const k of Object.keys(s.assign ?? {})) vars.add(k);
  }
  return [...vars].filter(isValidVariable).sort();
}

/** Issue path → the step it is about: `steps.3.next` (index into the validated document) or a quoted id in the text. */
export function stepOfIssue(doc: FlowDocument, issue: { path: string; message: string }): string | null {
  const m = /^(?:body\.)?(?:draft\.|document\.)?steps\.(\d+)(?:\.|$)/.exec(issue.path);
  if (m) return doc.steps[Number(m[1])]?.id ?? null;
  if (/^(?:body\.)?(?:draft\.|document\.)?start$/.test(issue.path)) return doc.start || null;
  for (const s of doc.steps) if (new RegExp(`["'“「]${s.id.replace(/[-]/g, '\\-')}["'”」]`).test(issue.message)) return s.id;
  return null;
}

/** Key-order-independent JSON, to tell whether the draft differs from the published document. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export const sameDocument = (a: FlowDocument | null, b: FlowDocument | null): boolean => stableJson(a) === stableJson(b);

export function blankDocument(): FlowDocument {
  return { triggers: { intents: [], phrases: [] }, start: 'welcome', steps: [{ id: 'welcome', type: 'message', text: '', next: null }] };
}

/**
 * The shipped example (issue 7, the same flow as packages/core/src/bot/dialog/order-status-flow.ts in a
 * shorter form): "查询订单" — take the order number from the message or ask for it, call the order API,
 * answer with the status and branch on shipped / not shipped. The URL is a placeholder the admin replaces
 * with their own order API. `withIntent`: trigger on the query_order intent too (only when the workspace
 * has it — publishing refuses unknown intents).
 */
export function orderTemplate(zh: boolean, withIntent: boolean): FlowDocument {
  return {
    triggers: { intents: withIntent ? ['query_order'] : [], phrases: zh ? ['查询订单', '查订单', '我的订单到哪了'] : ['track my order', 'order status'] },
    start: 'ask_order',
    steps: [
      {
        id: 'ask_order', type: 'ask', slot: 'order_id', entity: 'order_number',
        prompt: zh ? '请提供您的订单号' : 'What is your order number?',
        retryPrompt: zh ? '没有识别到订单号，请重新输入（例如 A123456789）' : "I couldn't find an order number in that; please send it again (e.g. A123456789)",
        maxAttempts: 3, next: 'lookup',
      },
      {
        id: 'lookup', type: 'http', method: 'GET', url: 'https://shop.example.com/api/orders/{{order_id}}',
        headers: { accept: 'application/json', authorization: 'Bearer {{secret.flow.order_api_token}}' }, timeoutMs: 5000,
        responseMap: { status: 'status', tracking_number: 'trackingNumber', carrier: 'carrier' }, next: 'answer', onError: 'api_down',
      },
      { id: 'answer', type: 'message', text: zh ? '您的订单{{order_id}}状态为:{{status}}' : 'Your order {{order_id}} is {{status}}', next: 'is_shipped' },
      { id: 'is_shipped', type: 'branch', cases: [{ when: [{ variable: 'status', op: 'in', value: ['shipped', 'delivered', '已发货', '已签收'] }], next: 'shipped' }], otherwise: 'not_shipped' },
      { id: 'shipped', type: 'message', text: zh ? '您的包裹已发出，{{carrier}}快递单号:{{tracking_number}}。' : 'It is on its way: {{carrier}} tracking number {{tracking_number}}.', quickReplies: zh ? ['转人工'] : ['Talk to a human'], next: null },
      { id: 'not_shipped', type: 'message', text: zh ? '您的订单还未发货，预计48小时内发货。' : 'It has not shipped yet; it should leave within 48 hours.', next: null },
      { id: 'api_down', type: 'handoff', reason: zh ? '订单系统不可用' : 'order API unavailable', message: zh ? '暂时查不到订单，正在为您转接人工客服。' : "I can't reach the order system; a colleague will help you.", summary: zh ? '查询订单 {{order_id}} 失败' : 'order lookup {{order_id}} failed' },
    ],
  };
}
