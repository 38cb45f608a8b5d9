import { describe, expect, it } from 'vitest';
import { hasErrors, validateFlow } from '../../src/bot/dialog/flow-validation.ts';
import { orderStatusFlow } from '../../src/bot/dialog/order-status-flow.ts';

const known = { intents: ['query_order', 'refund'], entities: ['product'] };
const doc = (steps: unknown[], extra: Record<string, unknown> = {}) => ({
  triggers: { intents: ['query_order'], phrases: [] },
  start: (steps[0] as { id: string }).id,
  steps,
  ...extra,
});
const errors = (d: unknown) => validateFlow(d, known).issues.filter((i) => i.severity === 'error');
const warnings = (d: unknown) => validateFlow(d, known).issues.filter((i) => i.severity === 'warning');

describe('validateFlow', () => {
  it('accepts the shipped order-status flow without errors or warnings', () => {
    const r = validateFlow(orderStatusFlow('https://shop.example.test/api/'), known);
    expect(r.issues).toEqual([]);
    expect(r.document?.start).toBe('ask_order');
  });

  it('unknown step type: names the step index and id and lists the known types', () => {
    const r = validateFlow(doc([{ id: 'hello', type: 'message', text: 'hi', next: 'x' }, { id: 'x', type: 'sms', text: 'hi' }]), known);
    expect(r.document).toBeNull();
    expect(r.issues).toEqual([
      { path: 'steps.1.type', severity: 'error', message: 'step 1 ("x") has an unknown type "sms"; use one of: message, ask, http, branch, set, handoff, end' },
    ]);
  });

  it('other shape errors name the step and field', () => {
    const r = validateFlow(doc([{ id: 'm', type: 'message', text: 5, next: null }]), known);
    expect(r.issues).toHaveLength(1);
    expect(r.issues[0]!.path).toBe('steps.0.text');
    expect(r.issues[0]!.message).toMatch(/^step 0 \("m"\): text: /);
  });

  it('dangling transitions and a missing start', () => {
    const d = doc(
      [
        { id: 'a', type: 'http', method: 'GET', url: 'https://x.test/', next: 'b', onError: 'oops' },
        { id: 'b', type: 'branch', cases: [{ when: [{ variable: 'http_status', op: 'eq', value: 200 }], next: 'nowhere' }], otherwise: 'c' },
        { id: 'c', type: 'end' },
      ],
      { start: 'begin' },
    );
    const e = errors(d);
    expect(e.map((i) => i.path)).toEqual(expect.arrayContaining(['start', 'steps.0.onError', 'steps.1.cases.0.next']));
    expect(e.find((i) => i.path === 'steps.0.onError')!.message).toBe('step "a": onError → "oops" does not exist; point it at one of: a, b, c, or add that step');
    expect(e.find((i) => i.path === 'start')!.message).toContain('the start step "begin" does not exist');
  });

  it('a cycle without an ask step names the steps in the loop', () => {
    const d = doc([
      { id: 'a', type: 'message', text: 'hi', next: 'b' },
      { id: 'b', type: 'set', assign: { x: '1' }, next: 'c' },
      { id: 'c', type: 'branch', cases: [{ when: [{ variable: 'x', op: 'eq', value: '1' }], next: 'b' }], otherwise: 'd' },
      { id: 'd', type: 'end' },
    ]);
    const e = errors(d);
    expect(e).toHaveLength(1);
    expect(e[0]!.message).toMatch(/^steps "b" → "c" → "b" form a loop with no ask step/);
    // With an ask in the loop (that clears its slot) it is fine.
    const ok = doc([
      { id: 'a', type: 'ask', slot: 'x', prompt: '?', next: 'c' },
      { id: 'c', type: 'branch', cases: [{ when: [{ variable: 'x', op: 'eq', value: 'again' }], next: 'clear' }], otherwise: 'd' },
      { id: 'clear', type: 'set', assign: { x: '' }, next: 'a' },
      { id: 'd', type: 'end' },
    ]);
    expect(errors(ok)).toEqual([]);
  });

  it('a loop back to an ask whose slot stays filled is reported (the ask would be skipped)', () => {
    const d = doc([
      { id: 'ask', type: 'ask', slot: 'order_id', entity: 'order_number', prompt: '?', next: 'call' },
      { id: 'call', type: 'http', method: 'GET', url: 'https://x.test/o/{{order_id}}', next: 'done', onError: 'sorry' },
      { id: 'sorry', type: 'message', text: 'not found', next: 'ask' },
      { id: 'done', type: 'end' },
    ]);
    const e = errors(d);
    expect(e).toHaveLength(1);
    expect(e[0]!.message).toContain('slot "order_id" stays filled');
    expect(e[0]!.message).toContain('order_id = ""');
  });

  it('bad regex, unknown entity, unknown trigger intent, non-http URL, host from a variable, duplicate ids, unreachable steps', () => {
    const d = doc(
      [
        { id: 'a', type: 'ask', slot: 'v', prompt: '?', pattern: '([a-z', entity: 'colour', next: 'h' },
        { id: 'h', type: 'http', method: 'GET', url: 'ftp://files.test/{{v}}', next: 'h2' },
        { id: 'h2', type: 'http', method: 'GET', url: 'https://{{v}}.example.test/x', next: 'e' },
        { id: 'e', type: 'end' },
        { id: 'e', type: 'end' },
        { id: 'island', type: 'end' },
      ],
      { triggers: { intents: ['query_order', 'weather'], phrases: [] } },
    );
    const byPath = Object.fromEntries(errors(d).map((i) => [i.path, i.message]));
    expect(byPath['steps.0.pattern']).toMatch(/^step "a": pattern does not compile/);
    expect(byPath['steps.0.entity']).toContain('entity "colour" does not exist');
    expect(byPath['triggers.intents.1']).toContain('trigger intent "weather" does not exist');
    expect(byPath['steps.1.url']).toContain('must start with http:// or https://');
    expect(byPath['steps.2.url']).toContain('host must be written out');
    expect(byPath['steps.4.id']).toContain('step id "e" is used by steps 3 and 4');
    expect(byPath['steps.5']).toBe('step "island" cannot be reached from the start step "a"; connect a step to it or delete it');
  });

  it('known workspace entities and built-ins are accepted', () => {
    const d = doc([
      { id: 'a', type: 'ask', slot: 'p', prompt: '?', entity: 'product', next: 'b' },
      { id: 'b', type: 'ask', slot: 'ph', prompt: '?', entity: 'phone', next: 'c' },
      { id: 'c', type: 'end' },
    ]);
    expect(validateFlow(d, known).issues).toEqual([]);
  });

  it('variables nobody sets are warnings (publishing still allowed); secrets outside http are errors', () => {
    const d = doc([
      { id: 'a', type: 'message', text: '你好 {{contact.name}}, {{coupon}}', next: 'b' },
      { id: 'b', type: 'branch', cases: [{ when: [{ variable: 'vip', op: 'exists' }], next: 'c' }], otherwise: 'c' },
      { id: 'c', type: 'end', message: '{{secret.TOKEN}}' },
    ]);
    const w = warnings(d);
    expect(w.map((i) => i.path)).toEqual(['steps.0.text', 'steps.1.cases.0.when.0.variable', 'steps.2.message']);
    expect(w[0]!.message).toBe('warning: step "a" uses {{coupon}} but no step sets it (an ask slot, a set step or an http responseMap); it will be empty unless the bot provides it');
    const e = errors(d);
    expect(e).toHaveLength(1);
    expect(e[0]!.message).toContain('{{secret.…}} can only be used in the url, headers and body of an http step');
    expect(hasErrors(w)).toBe(false);
  });

  it('not even an object: one clear issue', () => {
    const r = validateFlow('nope', known);
    expect(r.document).toBeNull();
    expect(r.issues).toHaveLength(1);
  });
});
