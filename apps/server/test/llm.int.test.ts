import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeOpenAi, type FakeOpenAi } from '@huiliu/testing';
import { groundedAnswer, summarizeConversation, classifyIntent } from '@huiliu/core/bot/llm/llm-tasks';
import { startTestServer, type TestServer } from './helpers/test-server.ts';

let t: TestServer;
let fake: FakeOpenAi;
let admin: string;
let agent: string;
let workspaceId: string;

beforeAll(async () => {
  [t, fake] = await Promise.all([startTestServer(), startFakeOpenAi()]);
  admin = await t.login(t.demo.adminEmail);
  agent = await t.login(t.demo.agentEmails[0]!);
  workspaceId = (await t.api('GET', '/api/v1/auth/me', { token: admin })).body.workspace.id;
  // The fake listens on loopback: only reachable once the admin allowlists it (SSRF guard).
  const ws = await t.api('PATCH', '/api/v1/workspace', { token: admin, body: { settings: { networkAllowlist: ['127.0.0.1'] } } });
  expect(ws.status).toBe(200);
});
afterAll(async () => {
  await t?.close();
  await fake?.close();
});
beforeEach(() => fake.reset());

const configure = (body: Record<string, unknown> = {}) =>
  t.api('PATCH', '/api/v1/bot/llm', { token: admin, body: { enabled: true, preset: 'custom', baseUrl: fake.baseUrl, chatModel: 'fake-chat', embeddingModel: 'fake-embedding', apiKey: fake.apiKey, ...body } });

describe('LLM provider settings', () => {
  it('starts disabled, stores the key write-only, and never returns it', async () => {
    const before = await t.api('GET', '/api/v1/bot/llm', { token: admin });
    expect(before.status).toBe(200);
    expect(before.body).toMatchObject({ enabled: false, hasApiKey: false, baseUrl: null });

    const r = await configure();
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ enabled: true, preset: 'custom', baseUrl: fake.baseUrl, chatModel: 'fake-chat', hasApiKey: true });
    expect(JSON.stringify(r.body)).not.toContain(fake.apiKey!);

    const got = await t.api('GET', '/api/v1/bot/llm', { token: admin });
    expect(got.body.hasApiKey).toBe(true);
    expect(JSON.stringify(got.body)).not.toContain(fake.apiKey!);
    expect(got.body).not.toHaveProperty('apiKey');

    // The key belongs to its endpoint: pointing the provider at another origin without a new key drops it,
    // so nobody who may edit the bot can send the stored key to a server of their choosing.
    const moved = await t.api('PATCH', '/api/v1/bot/llm', { token: admin, body: { baseUrl: 'https://llm.attacker.example/v1' } });
    expect(moved.status).toBe(200);
    expect(moved.body.hasApiKey).toBe(false);
    expect((await configure()).body.hasApiKey).toBe(true);
  });

  it('choosing a preset fills in its base URL', async () => {
    const r = await t.api('PATCH', '/api/v1/bot/llm', { token: admin, body: { enabled: false, preset: 'deepseek' } });
    expect(r.status).toBe(200);
    // The custom URL typed before is kept: a preset only fills empty or preset-default values.
    expect(r.body.baseUrl).toBe(fake.baseUrl);
    // An explicit null clears the URL; picking a preset then fills in the preset's.
    expect((await t.api('PATCH', '/api/v1/bot/llm', { token: admin, body: { baseUrl: null, chatModel: null } })).body.baseUrl).toBeNull();
    const qwen = await t.api('PATCH', '/api/v1/bot/llm', { token: admin, body: { preset: 'qwen' } });
    expect(qwen.body).toMatchObject({ baseUrl: 'https://dashscope.aliyuncs.com/compatible-mode/v1', chatModel: 'qwen-plus' });
    // Enabling without a base URL is refused with the field named.
    const noUrl = await t.api('PATCH', '/api/v1/bot/llm', { token: admin, body: { preset: 'custom', baseUrl: null, enabled: true } });
    expect(noUrl.status).toBe(400);
    expect(noUrl.body.error.issues[0].path).toBe('body.baseUrl');
    expect((await configure()).status).toBe(200);
  });

  it('a bad base URL is a validation error naming body.baseUrl', async () => {
    const r = await t.api('PATCH', '/api/v1/bot/llm', { token: admin, body: { baseUrl: 'not a url' } });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('validation_failed');
    expect(r.body.error.issues.map((i: { path: string }) => i.path)).toContain('body.baseUrl');
    const ftp = await t.api('PATCH', '/api/v1/bot/llm', { token: admin, body: { baseUrl: 'ftp://example.com/v1' } });
    expect(ftp.status).toBe(400);
    expect(ftp.body.error.issues[0].path).toBe('body.baseUrl');
  });

  it('an agent without bot.manage gets 403 on every route', async () => {
    expect((await t.api('GET', '/api/v1/bot/llm', { token: agent })).status).toBe(403);
    expect((await t.api('PATCH', '/api/v1/bot/llm', { token: agent, body: { enabled: false } })).status).toBe(403);
    expect((await t.api('POST', '/api/v1/bot/llm/test', { token: agent })).status).toBe(403);
    expect((await t.api('GET', '/api/v1/bot/llm/usage', { token: agent })).status).toBe(403);
  });
});

describe('LLM connection test and usage', () => {
  it('tests the connection with the stored key', async () => {
    const r = await t.api('POST', '/api/v1/bot/llm/test', { token: admin });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ ok: true, error: null });
    expect(typeof r.body.latencyMs).toBe('number');
    expect(fake.requests.at(-1)!.authorization).toBe(`Bearer ${fake.apiKey}`);
  });

  it('reports a wrong key as llm_auth_failed without echoing it', async () => {
    await configure({ apiKey: 'sk-wrong-key-for-this-test-123456' });
    const r = await t.api('POST', '/api/v1/bot/llm/test', { token: admin });
    expect(r.body.ok).toBe(false);
    expect(r.body.error).toMatch(/^llm_auth_failed/);
    expect(r.body.error).not.toContain('sk-wrong-key-for-this-test-123456');
    await configure();
  });

  it('answers from passages with PII masked before it leaves, and records usage per purpose', async () => {
    const passages = [{ id: 'kb-1', title: '退货政策', text: '收到商品7天内可以无理由退货。运费由买家承担。' }];
    const r = await groundedAnswer(t.node.services.llm, workspaceId, '我的手机13800138000，订单能退货吗？', passages);
    expect(r).toEqual({ text: '收到商品7天内可以无理由退货。', sourceIds: ['kb-1'] });
    const sent = fake.sentTexts().join('\n');
    expect(sent).toContain('138****8000');
    expect(sent).not.toContain('13800138000');

    // Nothing retrieved → refused without asking the provider.
    const calls = fake.requests.length;
    expect(await groundedAnswer(t.node.services.llm, workspaceId, '天气怎么样', [])).toEqual({ refused: true });
    expect(fake.requests.length).toBe(calls);

    fake.setReply(() => 'order_status');
    expect(await classifyIntent(t.node.services.llm, workspaceId, '我的快递到哪了', [{ name: 'order_status', description: '查询订单', examples: ['订单到哪了'] }])).toEqual({ intent: 'order_status' });
    fake.setReply(() => 'weather_forecast');
    expect(await classifyIntent(t.node.services.llm, workspaceId, '天气', [{ name: 'order_status', description: '查询订单', examples: [] }])).toEqual({ intent: null });

    const usage = await t.api('GET', '/api/v1/bot/llm/usage?days=7', { token: admin });
    expect(usage.status).toBe(200);
    const answer = usage.body.find((u: { purpose: string }) => u.purpose === 'answer');
    expect(answer).toMatchObject({ requests: 1, failures: 0 });
    expect(answer.promptTokens).toBeGreaterThan(0);
    expect(answer.completionTokens).toBeGreaterThan(0);
    expect(usage.body.find((u: { purpose: string }) => u.purpose === 'intent')).toMatchObject({ requests: 2, failures: 0 });
  });

  it('masks PII in embeddings, and a provider failure returns null and counts as a failure', async () => {
    const vectors = await t.node.services.llm.embed(workspaceId, ['邮箱 alice@example.com 卡 4111 1111 1111 1111']);
    expect(vectors).toHaveLength(1);
    expect(fake.sentTexts()).toEqual(['邮箱 a***@example.com 卡 ****1111']);

    fake.failNext(500);
    const summary = await summarizeConversation(t.node.services.llm, workspaceId, [{ from: 'customer', text: '我要投诉' }]);
    expect(summary).toBeNull();
    const usage = (await t.api('GET', '/api/v1/bot/llm/usage', { token: admin })).body;
    expect(usage.find((u: { purpose: string }) => u.purpose === 'summary')).toMatchObject({ requests: 1, failures: 1 });
    expect(usage.find((u: { purpose: string }) => u.purpose === 'embedding')).toMatchObject({ requests: 1, failures: 0 });
  });

  it('a feature turned off or the provider disabled means null without any request', async () => {
    await t.api('PATCH', '/api/v1/bot/llm', { token: admin, body: { features: { summaries: false } } });
    expect(await t.node.services.llm.isEnabled(workspaceId, 'summaries')).toBe(false);
    expect(await t.node.services.llm.isEnabled(workspaceId, 'answers')).toBe(true);
    expect(await summarizeConversation(t.node.services.llm, workspaceId, [{ from: 'customer', text: 'hello' }])).toBeNull();
    await t.api('PATCH', '/api/v1/bot/llm', { token: admin, body: { enabled: false } });
    expect(await t.node.services.llm.chat(workspaceId, 'answer', [{ role: 'user', content: 'hi' }])).toBeNull();
    expect(await t.node.services.llm.embed(workspaceId, ['hi'])).toBeNull();
    expect(fake.requests).toHaveLength(0);
  });
});
