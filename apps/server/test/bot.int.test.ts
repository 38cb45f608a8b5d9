/**
 * The AI bot (issue 7) end to end through the real server: the training loop (intents → train → report,
 * misrecognized messages back into examples), the bot answering first in its inboxes (greeting, the
 * 查询订单 flow against a local order API, knowledge-base answers), every handoff reason landing in the
 * routing engine with a summary for the agent, the simulator, analytics and authorization.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { one } from '@huiliu/core/db/database';
import { orderStatusFlow } from '@huiliu/core/bot/dialog/order-status-flow';
import { startFakeOpenAi, type FakeOpenAi } from '@huiliu/testing';
import { startTestServer, type TestServer } from './helpers/test-server.ts';
import { createWorld, until, type World } from './helpers/world.ts';

let t: TestServer;
let orderApi: Server;
let orderApiUrl: string;
let orderApiDown = false;

const INTENTS: Record<string, string[]> = {
  query_order: ['我的订单到哪了', '帮我查一下订单', '订单什么时候到', '查询订单状态', '我想看看我的订单', '快递到哪里了', '我买的东西发货了吗', '查物流'],
  return_goods: ['我要退货', '这个商品怎么退', '申请退货退款', '东西不想要了能退吗', '退货流程是什么', '质量有问题我要退', '怎么办理退货', '退回去运费谁出'],
  invoice: ['怎么开发票', '我需要发票', '发票什么时候寄', '可以开专票吗', '发票抬头写错了', '电子发票在哪里下载', '帮我开个发票', '增值税发票怎么开'],
  change_address: ['我要改收货地址', '地址填错了', '修改配送地址', '能换个地址送吗', '收货地址怎么改', '帮我改一下地址', '送到公司地址', '更换收件地址'],
};

beforeAll(async () => {
  t = await startTestServer();
  orderApi = createServer((req, res) => {
    const m = /^\/orders\/([^/?]+)/.exec(req.url ?? '');
    if (orderApiDown) {
      res.writeHead(503).end();
      return;
    }
    if (!m) return void res.writeHead(404).end();
    const id = decodeURIComponent(m[1]!);
    const orders: Record<string, object> = {
      A123456789: { status: 'shipped', trackingNumber: 'SF1234567890', carrier: '顺丰' },
      B987654321: { status: 'pending' },
    };
    const order = orders[id];
    res.writeHead(order ? 200 : 404, { 'content-type': 'application/json' }).end(JSON.stringify(order ?? { error: 'not found' }));
  });
  await new Promise<void>((r) => orderApi.listen(0, '127.0.0.1', r));
  orderApiUrl = `http://127.0.0.1:${(orderApi.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => orderApi?.close(r));
  await t?.close();
});

/** A workspace with trained intents, the published 查询订单 flow and the bot on its web inbox. */
async function botWorld(settings: Record<string, unknown> = {}): Promise<World> {
  const w = await createWorld(t, 1, 'bot');
  const allow = await t.api('PATCH', '/api/v1/workspace', { token: w.admin, body: { settings: { networkAllowlist: ['127.0.0.1'] } } });
  expect(allow.status).toBe(200);
  for (const [name, examples] of Object.entries(INTENTS)) {
    const r = await t.api('POST', '/api/v1/bot/intents', { token: w.admin, body: { name, examples } });
    expect(r.status).toBe(201);
  }
  const trained = await t.api('POST', '/api/v1/bot/train', { token: w.admin });
  expect(trained.status).toBe(200);
  expect(trained.body.status).toBe('trained');
  const flow = await t.api('POST', '/api/v1/bot/flows', { token: w.admin, body: { name: '查询订单', draft: orderStatusFlow(orderApiUrl) } });
  expect(flow.status).toBe(201);
  const published = await t.api('POST', `/api/v1/bot/flows/${flow.body.id}/publish`, { token: w.admin });
  expect(published.status).toBe(200);
  const s = await t.api('PATCH', '/api/v1/bot/settings', { token: w.admin, body: { inboxIds: [w.inboxId], ...settings } });
  expect(s.status).toBe(200);
  expect(s.body.inboxIds).toEqual([w.inboxId]);
  return w;
}

interface Chat {
  conversationId: string;
  token: string;
  say(text: string): Promise<void>;
  /** Waits until the bot has written `n` messages in total and returns their texts. */
  botSaid(n: number): Promise<string[]>;
}

async function chat(w: World, first: string): Promise<Chat> {
  const session = await t.api('POST', '/api/widget/v1/sessions', { body: { inboxPublicId: w.publicId } });
  const token = session.body.visitorToken as string;
  const opened = await t.api('POST', '/api/widget/v1/conversations', { token, body: { text: first } });
  expect(opened.status).toBe(201);
  const conversationId = opened.body.conversation.id as string;
  return {
    conversationId,
    token,
    async say(text) {
      const r = await t.api('POST', `/api/widget/v1/conversations/${conversationId}/messages`, { token, body: { text, clientId: `c${Date.now()}${Math.random().toString(36).slice(2, 8)}` } });
      expect(r.status).toBe(201);
    },
    async botSaid(n) {
      return until(async () => {
        const r = await t.api('GET', `/api/widget/v1/conversations/${conversationId}/messages`, { token });
        const bot = (r.body.items ?? r.body).filter((m: any) => m.senderType === 'bot').map((m: any) => m.text as string);
        return bot.length >= n ? bot : undefined;
      }, `${n} bot messages`);
    },
  };
}

async function conversationRow(id: string) {
  return (await one(t.node.services.db, `SELECT bot_status, assignee_id, queued_at FROM conversations WHERE id = $1`, [id]))!;
}

describe('the training loop', () => {
  it('trains on the examples and reports accuracy per intent; an unusable set fails with errors naming the problem', async () => {
    const w = await createWorld(t, 0, 'bot-train');
    const lonely = await t.api('POST', '/api/v1/bot/intents', { token: w.admin, body: { name: 'only_one', examples: ['只有一个意图'] } });
    expect(lonely.status).toBe(201);
    const failed = await t.api('POST', '/api/v1/bot/train', { token: w.admin });
    expect(failed.body.status).toBe('failed');
    expect(failed.body.errors.length).toBeGreaterThan(0);

    await t.api('DELETE', `/api/v1/bot/intents/${lonely.body.id}`, { token: w.admin });
    for (const [name, examples] of Object.entries(INTENTS)) await t.api('POST', '/api/v1/bot/intents', { token: w.admin, body: { name, examples } });
    const dup = await t.api('POST', '/api/v1/bot/intents', { token: w.admin, body: { name: 'invoice', examples: ['x'] } });
    expect(dup.status).toBe(409);
    const report = await t.api('POST', '/api/v1/bot/train', { token: w.admin });
    expect(report.body).toMatchObject({ status: 'trained', examples: 32, intents: 4 });
    expect(report.body.perIntent.map((p: any) => p.intent).sort()).toEqual(Object.keys(INTENTS).sort());
    expect(report.body.accuracy).toBeGreaterThan(0.5);
    const again = await t.api('GET', '/api/v1/bot/training-report', { token: w.admin });
    expect(again.body.trainedAt).toBe(report.body.trainedAt);
  });

  it('refuses bad entity definitions naming the field, and stores good ones', async () => {
    const w = await createWorld(t, 0, 'bot-entities');
    const bad = await t.api('PUT', '/api/v1/bot/entities', { token: w.admin, body: { entities: [{ name: 'sku', kind: 'regex', pattern: '([A-Z' }] } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/entities\.0/);
    const good = await t.api('PUT', '/api/v1/bot/entities', { token: w.admin, body: { entities: [{ name: 'color', kind: 'enum', values: [{ value: 'red', synonyms: ['红色', '红'] }] }] } });
    expect(good.status).toBe(200);
    expect((await t.api('GET', '/api/v1/bot/entities', { token: w.admin })).body.entities).toHaveLength(1);
  });
});

describe('the bot in conversations', () => {
  it('greets, runs the 查询订单 flow against the order API, and keeps the conversation out of routing', async () => {
    const w = await botWorld();
    await t.api('PUT', '/api/v1/presence', { token: w.agents[0]!.token, body: { status: 'online' } });
    const c = await chat(w, '你好');
    expect((await c.botSaid(1))[0]).toContain('智能助手');
    await c.say('查询订单');
    expect((await c.botSaid(2))[1]).toContain('请提供您的订单号');
    await c.say('订单号是A123456789');
    const said = await c.botSaid(4);
    expect(said[2]).toBe('您的订单A123456789状态为:shipped');
    expect(said[3]).toContain('SF1234567890');
    const row = await conversationRow(c.conversationId);
    expect(row.bot_status).toBe('bot');
    expect(row.assignee_id).toBeNull();

    const state = await t.api('GET', `/api/v1/conversations/${c.conversationId}/bot`, { token: w.admin });
    expect(state.body).toMatchObject({ status: 'bot', slots: { order_id: 'A123456789', status: 'shipped' } });
  });

  it('hands over when the customer asks for a person: routed to the online agent, who gets the summary', async () => {
    const w = await botWorld();
    await t.api('PUT', '/api/v1/presence', { token: w.agents[0]!.token, body: { status: 'online' } });
    const c = await chat(w, '查一下订单 B987654321');
    await c.botSaid(2);
    const before = (await c.botSaid(2)).length;
    await c.say('转人工');
    const said = await c.botSaid(before + 1);
    expect(said.at(-1)).toBe('正在为您转接人工客服，请稍候…');
    const row = await until(async () => {
      const r = await conversationRow(c.conversationId);
      return r.assignee_id ? r : undefined;
    }, 'the handoff to be routed');
    expect(row.bot_status).toBe('handed_off');
    expect(row.assignee_id).toBe(w.agents[0]!.id);
    const state = await t.api('GET', `/api/v1/conversations/${c.conversationId}/bot`, { token: w.agents[0]!.token });
    expect(state.body).toMatchObject({ status: 'handed_off', handoffReason: 'customer_request', slots: { order_id: 'B987654321' } });
    expect(state.body.summary).toContain('customer_request');
    const messages = await t.api('GET', `/api/v1/conversations/${c.conversationId}/messages`, { token: w.agents[0]!.token });
    const note = (messages.body.items as any[]).find((m) => m.private && m.senderType === 'bot');
    expect(note.text).toContain('B987654321');
    // The bot stays quiet once a human has the conversation.
    await c.say('你好？');
    await new Promise((r) => setTimeout(r, 500));
    expect((await c.botSaid(before + 1)).length).toBe(before + 1);
  });

  it('hands over on negative sentiment, and after repeated misunderstanding; misrecognized messages feed the training', async () => {
    const w = await botWorld({ lowConfidenceTurns: 2 });
    const angry = await chat(w, '你们这什么垃圾服务，太差了，我要投诉！');
    await angry.botSaid(1);
    await until(async () => (await conversationRow(angry.conversationId)).bot_status === 'handed_off', 'the angry customer to be handed over');
    const angryState = await t.api('GET', `/api/v1/conversations/${angry.conversationId}/bot`, { token: w.admin });
    expect(angryState.body.handoffReason).toBe('negative_sentiment');

    const lost = await chat(w, '请问今天的天气怎么样呢，会下雨吗');
    expect((await lost.botSaid(1))[0]).toContain('没有理解');
    await lost.say('给我讲个笑话吧，要好笑的那种');
    await until(async () => (await conversationRow(lost.conversationId)).bot_status === 'handed_off', 'the low-confidence handoff').catch(async (err) => {
      throw new Error(`${(err as Error).message}; the bot said ${JSON.stringify(await lost.botSaid(1))}`);
    });
    const lostState = await t.api('GET', `/api/v1/conversations/${lost.conversationId}/bot`, { token: w.admin });
    expect(lostState.body.handoffReason).toBe('low_confidence');

    const mis = await t.api('GET', '/api/v1/bot/misrecognized', { token: w.admin });
    const weather = (mis.body as any[]).find((m) => m.text.includes('天气'));
    expect(weather).toBeTruthy();
    const resolved = await t.api('POST', `/api/v1/bot/misrecognized/${weather.id}/resolve`, { token: w.admin, body: { intent: 'query_order' } });
    expect(resolved.status).toBe(204);
    const intents = await t.api('GET', '/api/v1/bot/intents', { token: w.admin });
    expect(intents.body.find((i: any) => i.name === 'query_order').examples).toContain(weather.text);
    expect((await t.api('GET', '/api/v1/bot/misrecognized', { token: w.admin })).body.find((m: any) => m.id === weather.id)).toBeUndefined();

    const analytics = await t.api('GET', '/api/v1/bot/analytics', { token: w.admin });
    expect(analytics.body).toMatchObject({ conversations: 2, handedOff: 2, contained: 0, containmentRate: 0 });
    expect(analytics.body.handoffReasons.map((r: any) => r.reason).sort()).toEqual(['low_confidence', 'negative_sentiment']);
  });

  it('answers from the knowledge base and cites the entry; agents get it as a suggestion', async () => {
    const w = await botWorld();
    const entry = await t.api('POST', '/api/v1/kb/entries', {
      token: w.admin,
      body: { kind: 'faq', title: '多久可以退款到账', similarQuestions: ['退款什么时候到账', '退款需要几天'], body: '退款审核通过后1-3个工作日原路退回。', category: '售后' },
    });
    expect(entry.status).toBe(201);
    const c = await chat(w, '退款一般几天能到账啊');
    const said = await c.botSaid(1);
    expect(said[0]).toBe('退款审核通过后1-3个工作日原路退回。');
    const suggestions = await t.api('GET', `/api/v1/conversations/${c.conversationId}/suggestions`, { token: w.admin });
    expect(suggestions.body[0]).toMatchObject({ kind: 'knowledge', entryId: entry.body.id });
  });

  it('apologizes and hands over when the order API is down (never a stuck conversation)', async () => {
    const w = await botWorld();
    orderApiDown = true;
    try {
      const c = await chat(w, '查询订单 A123456789');
      const said = await c.botSaid(1);
      expect(said.at(-1)).toContain('暂时无法查询');
      await until(async () => (await conversationRow(c.conversationId)).bot_status === 'handed_off', 'the handoff after the API failed');
    } finally {
      orderApiDown = false;
    }
  });
});

describe('with an LLM provider (local fake OpenAI-compatible server)', () => {
  let fake: FakeOpenAi;
  beforeAll(async () => {
    fake = await startFakeOpenAi();
  });
  afterAll(() => fake?.close());

  it('grounds answers in the knowledge base, refuses without one, masks PII and writes the handoff summary', async () => {
    const w = await botWorld();
    const llm = await t.api('PATCH', '/api/v1/bot/llm', { token: w.admin, body: { enabled: true, preset: 'custom', baseUrl: fake.baseUrl, chatModel: 'fake-chat', apiKey: fake.apiKey } });
    expect(llm.status).toBe(200);
    const entry = await t.api('POST', '/api/v1/kb/entries', {
      token: w.admin,
      body: { kind: 'article', title: '会员积分规则', body: '每消费1元累计1积分。积分可在下单时抵扣现金，100积分抵1元。积分有效期为一年。', similarQuestions: ['积分怎么用', '积分规则'] },
    });
    expect(entry.status).toBe(201);

    const c = await chat(w, '积分怎么用？我的手机号是13812345678');
    const said = await c.botSaid(1);
    // The fake quotes the first passage it was given and cites it: the answer came through the LLM, grounded.
    expect(said[0]).toBe('每消费1元累计1积分。');
    const chatRequests = fake.requests.filter((r) => r.path.endsWith('/chat/completions'));
    expect(chatRequests.length).toBeGreaterThan(0);
    expect(fake.sentTexts().join('\n')).not.toContain('13812345678');
    expect(fake.sentTexts().join('\n')).toContain('138****5678');

    // The LLM finds no answer in the passages: the bot does not answer from them; it says it did not understand.
    fake.setReply(() => 'NO_ANSWER');
    await c.say('积分规则里有没有说生日双倍');
    expect((await c.botSaid(2))[1]).toContain('没有理解');

    // Handoff: the agent's summary is the LLM's.
    fake.setReply((messages) => (messages[0]!.content.includes('交接摘要') || messages[0]!.content.includes('handoff summary') ? '客户咨询积分使用规则，已提供手机号。' : 'NO_ANSWER'));
    await c.say('转人工');
    await until(async () => (await conversationRow(c.conversationId)).bot_status === 'handed_off', 'the handoff');
    const state = await t.api('GET', `/api/v1/conversations/${c.conversationId}/bot`, { token: w.admin });
    expect(state.body.summary).toBe('客户咨询积分使用规则，已提供手机号。');
    const usage = await t.api('GET', '/api/v1/bot/llm/usage?days=1', { token: w.admin });
    expect(usage.body.map((u: any) => u.purpose)).toEqual(expect.arrayContaining(['answer', 'summary']));
  });
});

describe('the simulator and access', () => {
  it('chats with a flow draft across turns without a customer', async () => {
    const w = await botWorld();
    const flow = await t.api('POST', '/api/v1/bot/flows', { token: w.admin, body: { name: 'draft order', draft: orderStatusFlow(orderApiUrl) } });
    const first = await t.api('POST', '/api/v1/bot/simulate', { token: w.admin, body: { text: '我想查订单', flowId: flow.body.id } });
    expect(first.status).toBe(200);
    expect(first.body.replies[0].text).toContain('请提供您的订单号');
    expect(first.body.trace.flow.step).toBe('ask_order');
    const second = await t.api('POST', '/api/v1/bot/simulate', { token: w.admin, body: { text: 'B987654321', sessionId: first.body.sessionId, flowId: flow.body.id } });
    expect(second.body.replies[0].text).toBe('您的订单B987654321状态为:pending');
    expect(second.body.trace.flow.variables.order_id).toBe('B987654321');
  });

  it('keeps the bot to admins and the conversation state to people who may read it', async () => {
    const w = await botWorld();
    const other = await createWorld(t, 0, 'bot-other');
    const agent = w.agents[0]!.token;
    expect((await t.api('GET', '/api/v1/bot/settings', { token: agent })).status).toBe(403);
    expect((await t.api('POST', '/api/v1/bot/train', { token: agent })).status).toBe(403);
    expect((await t.api('POST', '/api/v1/bot/simulate', { token: agent, body: { text: 'hi' } })).status).toBe(403);
    const c = await chat(w, '你好');
    await c.botSaid(1);
    expect((await t.api('GET', `/api/v1/conversations/${c.conversationId}/bot`, { token: agent })).status).toBe(200);
    expect((await t.api('GET', `/api/v1/conversations/${c.conversationId}/bot`, { token: other.admin })).status).toBe(404);
    const badInbox = await t.api('PATCH', '/api/v1/bot/settings', { token: other.admin, body: { inboxIds: [w.inboxId] } });
    expect(badInbox.status).toBe(400);
    expect(badInbox.body.error.message).toContain('body.inboxIds');
    // Patterns run on customer text: a slow (cubic) one is refused at save time.
    const slow = await t.api('PATCH', '/api/v1/bot/settings', { token: w.admin, body: { orderNumberPatterns: ['\\d*\\d*\\d*x'] } });
    expect(slow.status).toBe(400);
    expect(slow.body.error.message).toMatch(/body\.orderNumberPatterns\.0: .*unbounded repetitions/);
  });

  it('a person assigning a bot conversation takes it from the bot: the bot is quiet and a later unassign reaches routing', async () => {
    const w = await botWorld();
    const c = await chat(w, '你好');
    await c.botSaid(1);
    const assigned = await t.api('POST', `/api/v1/conversations/${c.conversationId}/assign`, { token: w.admin, body: { assigneeId: w.agents[0]!.id } });
    expect(assigned.status).toBe(200);
    expect(assigned.body.botStatus).toBe('handed_off');
    await c.say('查询订单');
    await new Promise((r) => setTimeout(r, 500));
    expect(await c.botSaid(1)).toHaveLength(1);
  });
});
