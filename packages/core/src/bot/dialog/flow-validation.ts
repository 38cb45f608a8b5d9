import { FlowDocument, type FlowStep } from '@huiliu/contracts';
import { BUILTIN_ENTITIES, customPatternProblem } from '../nlu/entities.ts';
import { FLOW_SECRET_PREFIX, HTTP_STATUS_VARIABLE } from './flow-engine.ts';

/**
 * Validation of a flow document before it is published (saving a draft only checks the shape).
 *
 * Errors (publishing refuses): the shape (zod), unknown step types, duplicate step ids, a missing start,
 * transitions to steps that do not exist, cycles that contain no `ask` (they would run forever without
 * the customer saying anything), unreachable steps, trigger intents and ask entities that the workspace
 * does not have, invalid `pattern` regular expressions, http URLs that are not http(s) with a fixed host,
 * and `{{secret.…}}` outside http steps (it would show a vault secret to the customer).
 * Warnings (publishing goes ahead): template variables that no step sets (they render empty unless the bot
 * supplies them at run time) and a flow without triggers (it never starts).
 *
 * Paths are relative to the document (`steps.3.next`); every message names the step id and the fix.
 */

export interface FlowIssue {
  path: string;
  message: string;
  severity: 'error' | 'warning';
}

export interface FlowValidation {
  /** The parsed document (defaults filled in), or null when the shape is wrong. */
  document: FlowDocument | null;
  issues: FlowIssue[];
}

export const STEP_TYPES = ['message', 'ask', 'http', 'branch', 'set', 'handoff', 'end'] as const;

/** Variables the bot runtime provides to every flow (see bot.service.ts) plus those the engine sets itself. */
export const RUNTIME_VARIABLES = ['contact', 'conversation', HTTP_STATUS_VARIABLE] as const;

export function hasErrors(issues: readonly FlowIssue[]): boolean {
  return issues.some((i) => i.severity === 'error');
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\s*\}\}/g;

export function validateFlow(doc: unknown, known: { intents: string[]; entities: string[] }): FlowValidation {
  const parsed = FlowDocument.safeParse(doc);
  if (!parsed.success) return { document: null, issues: shapeIssues(doc, parsed.error.issues) };
  const document = parsed.data;
  const issues: FlowIssue[] = [];
  const error = (path: string, message: string) => issues.push({ path, message, severity: 'error' });
  const warning = (path: string, message: string) => issues.push({ path, message: `warning: ${message}`, severity: 'warning' });

  // Ids: duplicates, then the set of targets.
  const index = new Map<string, number>();
  document.steps.forEach((s, i) => {
    const first = index.get(s.id);
    if (first !== undefined) error(`steps.${i}.id`, `step id "${s.id}" is used by steps ${first} and ${i}; give each step its own id`);
    else index.set(s.id, i);
  });
  const ids = [...index.keys()];
  const idList = ids.length > 12 ? `${ids.slice(0, 12).join(', ')}, …` : ids.join(', ');
  if (!index.has(document.start)) error('start', `the start step "${document.start}" does not exist; set start to one of: ${idList}`);

  // Transitions.
  document.steps.forEach((s, i) => {
    for (const edge of edges(s)) {
      if (!index.has(edge.target)) {
        error(`steps.${i}.${edge.field}`, `step "${s.id}": ${edge.field} → "${edge.target}" does not exist; point it at one of: ${idList}, or add that step`);
      }
    }
  });

  // Cycles that no ask step breaks: the engine would run them until its loop guard hands off.
  for (const cycle of inputlessCycles(document.steps)) {
    const i = index.get(cycle[0]!)!;
    error(
      `steps.${i}`,
      `steps ${cycle.map((id) => `"${id}"`).join(' → ')} → "${cycle[0]}" form a loop with no ask step, so it would repeat forever without waiting for the customer; add an ask step to the loop or lead one of its transitions out of it`,
    );
  }

  for (const { loop, slots } of staleAskLoops(document.steps)) {
    const i = index.get(loop[0]!)!;
    error(
      `steps.${i}`,
      `steps ${loop.map((id) => `"${id}"`).join(' → ')} form a loop through an ask step, but its slot ${slots.map((x) => `"${x}"`).join(', ')} stays filled, so the ask is skipped the second time and the loop repeats forever; add a set step in the loop that empties it (e.g. ${slots[0]} = "")`,
    );
  }

  // Reachability from start (only when start exists; otherwise everything would be reported).
  if (index.has(document.start)) {
    const seen = new Set<string>([document.start]);
    const queue = [document.start];
    while (queue.length) {
      const step = document.steps[index.get(queue.shift()!)!]!;
      for (const e of edges(step)) {
        if (index.has(e.target) && !seen.has(e.target)) {
          seen.add(e.target);
          queue.push(e.target);
        }
      }
    }
    document.steps.forEach((s, i) => {
      if (index.get(s.id) === i && !seen.has(s.id)) error(`steps.${i}`, `step "${s.id}" cannot be reached from the start step "${document.start}"; connect a step to it or delete it`);
    });
  }

  // Triggers.
  const intents = new Set(known.intents);
  document.triggers.intents.forEach((name, j) => {
    if (!intents.has(name)) error(`triggers.intents.${j}`, `trigger intent "${name}" does not exist in this workspace; create it under Intents or remove it from the triggers`);
  });
  if (document.triggers.intents.length === 0 && document.triggers.phrases.length === 0) {
    warning('triggers', 'the flow has no trigger intents or phrases, so customers can never start it');
  }

  // Per step: entities, patterns, URLs, secrets.
  const entities = new Set<string>([...BUILTIN_ENTITIES, ...known.entities]);
  document.steps.forEach((s, i) => {
    if (s.type === 'ask') {
      if (s.entity !== undefined && !entities.has(s.entity)) {
        error(`steps.${i}.entity`, `step "${s.id}": entity "${s.entity}" does not exist; use a built-in one (${BUILTIN_ENTITIES.join(', ')}), define it under Entities, or leave entity out to take the whole answer`);
      }
      if (s.pattern !== undefined) {
        const problem = customPatternProblem(s.pattern);
        if (problem) error(`steps.${i}.pattern`, `step "${s.id}": ${problem}; fix it, e.g. ^[A-Z]\\d{9}$`);
      }
    }
    if (s.type === 'http') {
      const problem = urlProblem(s.url);
      if (problem) error(`steps.${i}.url`, `step "${s.id}": ${problem}; write it like https://api.example.com/orders/{{order_id}}`);
    }
    for (const t of templatesOf(s)) {
      if (s.type === 'http') {
        const foreign = placeholders(t.text).filter((p) => p.startsWith('secret.') && !p.startsWith(`secret.${FLOW_SECRET_PREFIX}`));
        if (foreign.length > 0) {
          error(`steps.${i}.${t.field}`, `step "${s.id}": flows may only use vault secrets named ${FLOW_SECRET_PREFIX}… ({{${foreign[0]}}} is not one); store the value as e.g. ${FLOW_SECRET_PREFIX}order_api_token under Secrets and use {{secret.${FLOW_SECRET_PREFIX}order_api_token}}`);
        }
        continue;
      }
      if (placeholders(t.text).some((p) => p === 'secret' || p.startsWith('secret.'))) {
        error(`steps.${i}.${t.field}`, `step "${s.id}": {{secret.…}} can only be used in the url, headers and body of an http step (it would be shown to the customer); remove it`);
      }
    }
  });

  // Variables used but never set anywhere: a warning (the runtime may provide them).
  const set = new Set<string>([...RUNTIME_VARIABLES]);
  for (const s of document.steps) {
    if (s.type === 'ask') set.add(s.slot);
    if (s.type === 'set') for (const k of Object.keys(s.assign)) set.add(k);
    if (s.type === 'http') for (const k of Object.keys(s.responseMap)) set.add(k);
  }
  document.steps.forEach((s, i) => {
    const reported = new Set<string>();
    const check = (root: string, field: string) => {
      if (set.has(root) || reported.has(root) || (root === 'secret' && s.type === 'http')) return;
      reported.add(root);
      warning(`steps.${i}.${field}`, `step "${s.id}" uses {{${root}}} but no step sets it (an ask slot, a set step or an http responseMap); it will be empty unless the bot provides it`);
    };
    for (const t of templatesOf(s)) for (const p of placeholders(t.text)) check(p.split('.')[0]!, t.field);
    if (s.type === 'branch') s.cases.forEach((c, ci) => c.when.forEach((w, wi) => check(w.variable, `cases.${ci}.when.${wi}.variable`)));
  });

  return { document, issues };
}

// ---------------------------------------------------------------------------------------------------

function shapeIssues(doc: unknown, zodIssues: ReadonlyArray<{ path: PropertyKey[]; message: string; code?: string }>): FlowIssue[] {
  const steps = (doc as { steps?: unknown } | null)?.steps;
  const stepLabel = (i: unknown) => {
    const raw = Array.isArray(steps) && typeof i === 'number' ? (steps[i] as { id?: unknown } | undefined) : undefined;
    return typeof raw?.id === 'string' ? `step ${String(i)} ("${raw.id}")` : `step ${String(i)}`;
  };
  return zodIssues.map((z) => {
    const path = z.path.map(String).join('.');
    if (z.path[0] === 'steps' && z.path.length >= 2) {
      const i = z.path[1];
      const raw = Array.isArray(steps) && typeof i === 'number' ? (steps[i] as { type?: unknown } | undefined) : undefined;
      if (z.path[2] === 'type' && z.code === 'invalid_union') {
        const t = raw?.type;
        const what = t === undefined ? 'has no type' : `has an unknown type ${JSON.stringify(t)}`;
        return { path, message: `${stepLabel(i)} ${what}; use one of: ${STEP_TYPES.join(', ')}`, severity: 'error' as const };
      }
      return { path, message: `${stepLabel(i)}: ${z.path.slice(2).map(String).join('.') || 'the step'}: ${z.message}`, severity: 'error' as const };
    }
    return { path, message: `${path || 'the document'}: ${z.message}`, severity: 'error' as const };
  });
}

interface Edge {
  field: string;
  target: string;
}

/** Every transition out of a step, with the field that holds it. */
export function edges(s: FlowStep): Edge[] {
  switch (s.type) {
    case 'message':
      return s.next === null ? [] : [{ field: 'next', target: s.next }];
    case 'ask':
      return [{ field: 'next', target: s.next }, ...(s.onFail !== undefined ? [{ field: 'onFail', target: s.onFail }] : [])];
    case 'http':
      return [{ field: 'next', target: s.next }, ...(s.onError !== undefined ? [{ field: 'onError', target: s.onError }] : [])];
    case 'branch':
      return [...s.cases.map((c, ci) => ({ field: `cases.${ci}.next`, target: c.next })), { field: 'otherwise', target: s.otherwise }];
    case 'set':
      return [{ field: 'next', target: s.next }];
    case 'handoff':
    case 'end':
      return [];
  }
}

/**
 * Loops of the step graph (Tarjan's strongly connected components): every component with more than one
 * step, or a step pointing at itself. `include` picks the steps of the graph. Each loop is returned in a
 * walkable order when one exists (a simple cycle through it).
 */
function loops(steps: FlowStep[], include: (s: FlowStep) => boolean): string[][] {
  const byId = new Map<string, FlowStep>();
  for (const s of steps) if (!byId.has(s.id) && include(s)) byId.set(s.id, s);
  const succ = (id: string) => edges(byId.get(id)!).map((e) => e.target).filter((t) => byId.has(t));

  let counter = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  const strong = (v: string) => {
    idx.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of succ(v)) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || succ(v).includes(v)) out.push(orderCycle(comp, succ));
    }
  };
  // Recursion depth is bounded by the 200-step limit of the document.
  for (const id of byId.keys()) if (!idx.has(id)) strong(id);
  return out;
}

/** Loops no ask step breaks: the engine would run them without waiting for the customer. */
function inputlessCycles(steps: FlowStep[]): string[][] {
  return loops(steps, (s) => s.type !== 'ask');
}

/**
 * Loops through ask steps whose slots nothing clears: an ask whose slot is filled is skipped, so from the
 * second time round such a loop also runs without input (e.g. "not found → ask again" without emptying the
 * slot). Returns the loop and the slots to clear.
 */
function staleAskLoops(steps: FlowStep[]): Array<{ loop: string[]; slots: string[] }> {
  const byId = new Map(steps.map((s) => [s.id, s] as const));
  const out: Array<{ loop: string[]; slots: string[] }> = [];
  for (const loop of loops(steps, () => true)) {
    const members = new Set(loop);
    const all = steps.filter((s) => members.has(s.id));
    const asks = all.filter((s): s is Extract<FlowStep, { type: 'ask' }> => s.type === 'ask');
    if (asks.length === 0) continue;
    const cleared = new Set(all.flatMap((s) => (s.type === 'set' ? Object.keys(s.assign) : [])));
    if (asks.some((a) => cleared.has(a.slot))) continue;
    out.push({ loop: loop.filter((id) => byId.has(id)), slots: [...new Set(asks.map((a) => a.slot))] });
  }
  return out;
}

/** A simple cycle inside a component (DFS from its first step back to it), or the component as is. */
function orderCycle(comp: string[], succ: (id: string) => string[]): string[] {
  const inComp = new Set(comp);
  const start = comp[comp.length - 1]!;
  const path: string[] = [];
  const visited = new Set<string>();
  const dfs = (v: string): boolean => {
    path.push(v);
    visited.add(v);
    for (const w of succ(v)) {
      if (w === start) return true;
      if (inComp.has(w) && !visited.has(w) && dfs(w)) return true;
    }
    path.pop();
    return false;
  };
  return dfs(start) ? path : comp;
}

function urlProblem(url: string): string | null {
  // The scheme and host must be written out: a customer's answer must never choose where the request goes.
  const m = /^(https?):\/\/([^/?#{}]+)(?=$|[/?#])/i.exec(url);
  if (!m) {
    if (/^https?:\/\/[^/]*\{\{/i.test(url)) return 'the URL host must be written out, not a {{variable}}';
    return 'the URL must start with http:// or https:// followed by a host';
  }
  try {
    new URL(url.replace(PLACEHOLDER, 'x'));
  } catch {
    return 'the URL is not valid';
  }
  return null;
}

function placeholders(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1]!);
}

function templatesOf(s: FlowStep): Array<{ field: string; text: string }> {
  switch (s.type) {
    case 'message': {
      const out = [{ field: 'text', text: s.text }];
      if (s.card) {
        out.push({ field: 'card.title', text: s.card.title });
        if (s.card.description) out.push({ field: 'card.description', text: s.card.description });
        if (s.card.url) out.push({ field: 'card.url', text: s.card.url });
      }
      return out;
    }
    case 'ask':
      return [{ field: 'prompt', text: s.prompt }, ...(s.retryPrompt ? [{ field: 'retryPrompt', text: s.retryPrompt }] : [])];
    case 'http':
      return [
        { field: 'url', text: s.url },
        ...(s.body !== undefined ? [{ field: 'body', text: s.body }] : []),
        ...Object.entries(s.headers).map(([k, v]) => ({ field: `headers.${k}`, text: v })),
      ];
    case 'set':
      return Object.entries(s.assign).map(([k, v]) => ({ field: `assign.${k}`, text: v }));
    case 'handoff':
      return [...(s.message ? [{ field: 'message', text: s.message }] : []), ...(s.summary ? [{ field: 'summary', text: s.summary }] : [])];
    case 'end':
      return s.message ? [{ field: 'message', text: s.message }] : [];
    case 'branch':
      return [];
  }
}
