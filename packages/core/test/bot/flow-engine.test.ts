import { describe, expect, it } from 'vitest';
import { FlowDocument, type FlowDocument as FlowDoc } from '@huiliu/contracts';
import {
  API_DOWN_MESSAGE,
  MAX_STEPS_PER_TURN,
  continueFlow,
  renderTemplate,
  startFlow,
  type FlowHttpRequest,
  type FlowIO,
  type FlowState,
  type FlowTurn,
} from '../../src/bot/dialog/flow-engine.ts';
import { orderStatusFlow } from '../../src/bot/dialog/order-status-flow.ts';
import { createEntityExtractor } from '../../src/bot/nlu/entities.ts';

const API = 'https://orders.example.test/api';

/** A fake world: an order API with a few orders, an extractor for order numbers, a vault with one secret. */
function fakeIO(opts: { orders?: Record<string, unknown>; down?: 'network' | 500; secrets?: Record<string, string> } = {}) {
  const requests: FlowHttpRequest[] = [];
  const io: FlowIO = {
    extract: (text) => [...text.matchAll(/\b[A-Z]\d{9}\b/g)].map((m) => ({ entity: 'order_number', value: m[0], text: m[0] })),
    async http(req) {
      requests.push(req);
      if (opts.down === 'network') throw new Error('connect ECONNREFUSED');
      if (opts.down === 500) return { status: 500, body: { error: 'boom' } };
      const id = decodeURIComponent(req.url.split('/').pop()!);
      const order = opts.orders?.[id];
      return order ? { status: 200, body: order } : { status: 404, body: { error: 'not found' } };
    },
    secret: async (name) => opts.secrets?.[name],
    now: () => new Date('2026-11-26T10:00:00Z'),
  };
  return { io, requests };
}

const flow = (document: FlowDoc = orderStatusFlow(API)) => ({ id: 'f1', version: 3, document: FlowDocument.parse(document) });
const texts = (t: FlowTurn) => t.replies.map((r) => r.text);

const ORDERS = {
  A123456789: { status: 'shipped', trackingNumber: 'SF1001', carrier: '顺丰' },
  B987654321: { status: 'pending' },
};

describe('the 查询订单 flow', () => {
  it('uses the order number in the first message and answers without asking', async () => {
    const { io, requests } = fakeIO({ orders: ORDERS });
    const turn = await startFlow(flow(), { text: '查询订单 A123456789' }, io);
    expect(requests.map((r) => [r.method, r.url])).toEqual([['GET', `${API}/orders/A123456789`]]);
    expect(texts(turn)).toEqual([
      '您的订单A123456789状态为:shipped',
      '您的包裹已发出，顺丰快递单号:SF1001，可凭单号查询物流进度。',
      '还有其他问题随时告诉我。',
    ]);
    expect(turn.state).toBeNull();
    expect(turn.handoff).toBeNull();
    expect(turn.trace).toEqual(['ask_order', 'lookup', 'answer', 'is_shipped', 'shipped', 'done']);
  });

  it('with the real entity extractor the order number in the trigger message fills the slot', async () => {
    const { io } = fakeIO({ orders: ORDERS });
    const turn = await startFlow(flow(), { text: '查询订单 A123456789' }, { ...io, extract: createEntityExtractor().extract });
    expect(texts(turn)[0]).toBe('您的订单A123456789状态为:shipped');
  });

  it('asks for the order number when the message has none, then answers', async () => {
    const { io } = fakeIO({ orders: ORDERS });
    const first = await startFlow(flow(), { text: '我想查订单' }, io);
    expect(texts(first)).toEqual(['请提供您的订单号']);
    expect(first.state).toMatchObject({ flowId: 'f1', version: 3, stepId: 'ask_order', attempts: 0, updatedAt: '2026-11-26T10:00:00.000Z' });

    // The state is what the bot stores between messages: it must survive JSON.
    const saved = JSON.parse(JSON.stringify(first.state)) as FlowState;
    const second = await continueFlow(flow(), saved, { text: '订单号是 A123456789' }, io);
    expect(texts(second)[0]).toBe('您的订单A123456789状态为:shipped');
    expect(second.state).toBeNull();
  });

  it('not shipped: promises 48 hours, offers 催发货 / 转人工, and hands off on 转人工 with a summary', async () => {
    const { io } = fakeIO({ orders: ORDERS });
    const t1 = await startFlow(flow(), { text: '查询订单 B987654321' }, io);
    expect(texts(t1)).toEqual(['您的订单B987654321状态为:pending', '您的订单还未发货，预计48小时内发货。', '需要为您催发货，还是转人工客服？']);
    expect(t1.replies[2]!.quickReplies).toEqual(['催发货', '转人工']);
    expect(t1.state?.stepId).toBe('follow_up');

    const urge = await continueFlow(flow(), t1.state!, { text: '催发货' }, io);
    expect(texts(urge)).toEqual(['已为您催促仓库尽快发货，请耐心等待。', '还有其他问题随时告诉我。']);
    expect(urge.state).toBeNull();

    const human = await continueFlow(flow(), t1.state!, { text: '转人工' }, io);
    expect(human.handoff).toEqual({ reason: 'customer_request', summary: '客户查询订单B987654321（状态:pending），未发货，要求人工处理' });
    expect(human.state).toBeNull();
  });

  it('a 404 says the order was not found and asks again; the next number is looked up', async () => {
    const { io, requests } = fakeIO({ orders: ORDERS });
    const t1 = await startFlow(flow(), { text: '查询订单 C000000000' }, io);
    expect(texts(t1)).toEqual(['没有找到这个订单（C000000000），请核对后重新输入。', '请提供您的订单号']);
    expect(t1.state?.stepId).toBe('ask_order');
    expect(t1.state?.variables.order_id).toBe('');

    const t2 = await continueFlow(flow(), t1.state!, { text: 'A123456789' }, io);
    expect(texts(t2)[0]).toBe('您的订单A123456789状态为:shipped');
    expect(requests).toHaveLength(2);
  });

  it.each(['network', 500] as const)('API down (%s) → apologizes and hands off with reason api_unreachable', async (down) => {
    const { io } = fakeIO({ down });
    const turn = await startFlow(flow(), { text: '查询订单 A123456789' }, io);
    expect(texts(turn)).toEqual([API_DOWN_MESSAGE]);
    expect(turn.state).toBeNull();
    expect(turn.handoff?.reason).toBe('api_unreachable');
    expect(turn.handoff?.summary).toBe(`订单查询接口不可用（HTTP ${down === 'network' ? 0 : 500}），客户订单号:A123456789`);
  });

  it('re-prompts with retryPrompt, then hands off (slot_failed) after maxAttempts wrong answers', async () => {
    const { io } = fakeIO({ orders: ORDERS });
    let turn = await startFlow(flow(), { text: '查订单' }, io);
    turn = await continueFlow(flow(), turn.state!, { text: '不知道' }, io);
    expect(texts(turn)).toEqual(['没有识别到订单号，请重新输入（例如 A123456789）']);
    expect(turn.state).toMatchObject({ stepId: 'ask_order', attempts: 1 });
    turn = await continueFlow(flow(), turn.state!, { text: '就是那个' }, io);
    expect(turn.state?.attempts).toBe(2);
    turn = await continueFlow(flow(), turn.state!, { text: '忘了' }, io);
    expect(turn.state).toBeNull();
    expect(turn.handoff?.reason).toBe('slot_failed');
    expect(turn.handoff?.summary).toContain('order_id: (未提供)');
    expect(turn.replies).toHaveLength(1);
  });
});

const doc = (steps: unknown[], start = (steps[0] as { id: string }).id) => FlowDocument.parse({ triggers: { intents: [], phrases: ['x'] }, start, steps });

describe('engine semantics', () => {
  it('an ask pattern rejects answers; onFail goes to its step', async () => {
    const d = doc([
      { id: 'a', type: 'ask', slot: 'code', prompt: '验证码?', pattern: '^\\d{6}$', maxAttempts: 2, next: 'ok', onFail: 'bye' },
      { id: 'ok', type: 'end', message: '收到 {{code}}' },
      { id: 'bye', type: 'end', message: '算了' },
    ]);
    const { io } = fakeIO();
    const f = { id: 'f', version: 1, document: d };
    let t = await startFlow(f, { text: 'hi' }, io);
    t = await continueFlow(f, t.state!, { text: '12345' }, io);
    expect(texts(t)).toEqual(['验证码?']); // no retryPrompt: the prompt again
    const good = await continueFlow(f, t.state!, { text: ' 123456 ' }, io);
    expect(texts(good)).toEqual(['收到 123456']);
    const bad = await continueFlow(f, t.state!, { text: 'abc' }, io);
    expect(texts(bad)).toEqual(['算了']);
    expect(bad.handoff).toBeNull();
  });

  it('the loop guard stops a loop without input after 50 steps and hands off', async () => {
    const d = doc([
      { id: 'a', type: 'set', assign: { n: 'x' }, next: 'b' },
      { id: 'b', type: 'branch', cases: [{ when: [{ variable: 'n', op: 'eq', value: 'x' }], next: 'a' }], otherwise: 'end' },
      { id: 'end', type: 'end' },
    ]);
    const { io } = fakeIO();
    const t = await startFlow({ id: 'f', version: 1, document: d }, { text: 'go' }, io);
    expect(t.trace).toHaveLength(MAX_STEPS_PER_TURN);
    expect(t.state).toBeNull();
    expect(t.handoff?.reason).toBe('flow_loop');
    expect(t.replies).toHaveLength(1);
  });

  it('a state pointing at a step that no longer exists hands off instead of getting stuck', async () => {
    const { io } = fakeIO();
    const state: FlowState = { flowId: 'f1', version: 2, stepId: 'gone', variables: {}, attempts: 0, updatedAt: '2026-11-26T09:00:00Z' };
    const t = await continueFlow(flow(), state, { text: 'hi' }, io);
    expect(t.handoff?.reason).toBe('flow_error');
    expect(t.replies).toHaveLength(1);
  });

  it('http: URL-escaped url, JSON-escaped body, secrets only in the request, responseMap paths', async () => {
    const d = doc([
      { id: 'ask', type: 'ask', slot: 'q', prompt: '?', next: 'call' },
      {
        id: 'call', type: 'http', method: 'POST', url: 'https://api.example.test/s/{{q}}?k={{secret.flow.KEY}}&o={{secret.llm.api_key}}',
        headers: { authorization: 'Bearer {{secret.flow.KEY}}', 'x-q': '{{q}}' }, body: '{"q":"{{q}}","name":"{{contact.name}}"}',
        responseMap: { first: 'items.0.name', missing: 'nope.deep' }, next: 'say',
      },
      { id: 'say', type: 'message', text: '{{first}}|{{missing}}|{{secret.flow.KEY}}|{{contact.name}}', next: null },
    ]);
    const requests: FlowHttpRequest[] = [];
    const io: FlowIO = {
      extract: () => [],
      http: async (req) => (requests.push(req), { status: 201, body: JSON.stringify({ items: [{ name: '结果' }] }) }),
      secret: async (n) => (n === 'flow.KEY' ? 's3cr3t' : n === 'llm.api_key' ? 'sk-not-for-flows' : undefined),
      now: () => new Date(0),
    };
    const f = { id: 'f', version: 1, document: d };
    const t1 = await startFlow(f, { text: 'x', variables: { contact: { name: 'Li "Lei"' } } }, io);
    const t2 = await continueFlow(f, t1.state!, { text: 'a/b?c "d"\r\nX-Evil: 1' }, io);
    const req = requests[0]!;
    // Only flow.… secrets are read: another vault secret (the LLM key) stays out of the request.
    expect(req.url).toBe(`https://api.example.test/s/${encodeURIComponent('a/b?c "d"\r\nX-Evil: 1')}?k=s3cr3t&o=`);
    expect(JSON.parse(req.body!)).toEqual({ q: 'a/b?c "d"\r\nX-Evil: 1', name: 'Li "Lei"' });
    expect(req.headers).toEqual({ authorization: 'Bearer s3cr3t', 'x-q': 'a/b?c "d" X-Evil: 1', 'content-type': 'application/json' });
    expect(req.timeoutMs).toBe(5000);
    expect(texts(t2)).toEqual(['结果|||Li "Lei"']);
    expect(JSON.stringify(t2)).not.toContain('s3cr3t');
  });

  it('branch operators and set', async () => {
    const d = doc([
      { id: 's', type: 'set', assign: { n: '{{amount}}', copy: '{{n}}' }, next: 'b' },
      {
        id: 'b', type: 'branch',
        cases: [
          { when: [{ variable: 'n', op: 'gt', value: 100 }, { variable: 'tier', op: 'in', value: ['gold', 'vip'] }], next: 'big' },
          { when: [{ variable: 'copy', op: 'exists' }], next: 'copied' },
          { when: [{ variable: 'tier', op: 'not_exists' }], next: 'none' },
        ],
        otherwise: 'other',
      },
      ...['big', 'copied', 'none', 'other'].map((id) => ({ id, type: 'end', message: id })),
    ]);
    const { io } = fakeIO();
    const f = { id: 'f', version: 1, document: d };
    const run = async (variables: Record<string, unknown>) => texts(await startFlow(f, { text: '', variables }, io));
    expect(await run({ amount: 150, tier: 'vip' })).toEqual(['big']);
    expect(await run({ amount: 50, tier: 'vip' })).toEqual(['other']); // copy saw n before the step: empty
    expect(await run({ amount: 50 })).toEqual(['none']);
  });
});

describe('renderTemplate', () => {
  it('fills dotted paths, leaves unknown variables empty, escapes for URLs and JSON', () => {
    const vars = { order_id: 'A1', contact: { name: '王 五' }, items: [{ n: 1 }], obj: { a: 1 } };
    expect(renderTemplate('订单{{order_id}} {{ contact.name }} {{items.0.n}} {{nope}} {{obj}}', vars)).toBe('订单A1 王 五 1  {"a":1}');
    expect(renderTemplate('/x/{{contact.name}}', vars, 'url')).toBe('/x/%E7%8E%8B%20%E4%BA%94');
    expect(renderTemplate('{"a":"{{v}}"}', { v: 'say "hi"\n' }, 'json')).toBe('{"a":"say \\"hi\\"\\n"}');
    expect(renderTemplate('{{constructor}}{{toString}}', {})).toBe('');
  });
});
