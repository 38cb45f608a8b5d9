import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFakeOpenAi, fakeEmbedding, type FakeOpenAi } from '@huiliu/testing/fake-openai';
import { createSafeHttpClient } from '../../src/net/safe-http.ts';
import { createOpenAiCompatibleClient, LlmError, sseData, type LlmFetch } from '../../src/bot/llm/openai-compatible.ts';

let fake: FakeOpenAi;
const http = createSafeHttpClient();
// The workspace allowlist is what lets an admin reach a local endpoint; here it names the fake server.
const fetch: LlmFetch = (url, init) => http.request(url, { ...init, allowHosts: ['127.0.0.1'] });

beforeAll(async () => {
  fake = await startFakeOpenAi();
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => fake.reset());

const client = (apiKey = fake.apiKey, timeoutMs?: number) => createOpenAiCompatibleClient({ baseUrl: fake.baseUrl, apiKey, fetch, ...(timeoutMs ? { timeoutMs } : {}) });

async function codeOf(p: Promise<unknown>): Promise<LlmError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(LlmError);
    return err as LlmError;
  }
  throw new Error('expected a failure');
}

describe('OpenAI-compatible driver against the fake server', () => {
  it('chats, sends the key as a bearer token and reports usage', async () => {
    fake.setReply((messages) => `echo: ${messages.at(-1)!.content}`);
    const r = await client().chat({ model: 'fake-chat', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: '你好 world' }], temperature: 0.2, maxTokens: 50 });
    expect(r.text).toBe('echo: 你好 world');
    expect(r.usage.promptTokens).toBeGreaterThan(0);
    expect(r.usage.completionTokens).toBeGreaterThan(0);
    const sent = fake.requests[0]!;
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.authorization).toBe(`Bearer ${fake.apiKey}`);
    expect(sent.body).toMatchObject({ model: 'fake-chat', temperature: 0.2, max_tokens: 50, stream: false });
  });

  it('assembles streamed deltas in order and reads the usage chunk', async () => {
    const answer = '收到商品7天内可以无理由退货。Returns are free within 7 days.';
    fake.setReply(() => answer);
    const deltas: string[] = [];
    const r = await client().chatStream({ model: 'fake-chat', messages: [{ role: 'user', content: 'returns?' }] }, (d) => deltas.push(d));
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.join('')).toBe(answer);
    expect(r.text).toBe(answer);
    expect(r.usage.completionTokens).toBeGreaterThan(0);
    expect(fake.requests[0]!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('default fake reply quotes the first passage with [1], or refuses without passages', async () => {
    const withPassages = await client().chat({ model: 'm', messages: [{ role: 'user', content: 'Passages:\n[1] 退货政策\n收到商品7天内可以无理由退货。运费由买家承担。\n\nQuestion: 可以退货吗' }] });
    expect(withPassages.text).toBe('收到商品7天内可以无理由退货。 [1]');
    const without = await client().chat({ model: 'm', messages: [{ role: 'user', content: 'what is the weather' }] });
    expect(without.text).toBe('NO_ANSWER');
  });

  it('embeds in input order; similar texts get closer vectors than unrelated ones', async () => {
    const vectors = await client().embed({ model: 'fake-embedding', input: ['如何申请退货', '怎么申请退货退款', 'weather in Paris'] });
    expect(vectors).toHaveLength(3);
    expect(vectors[0]).toEqual(fakeEmbedding('如何申请退货'));
    const cos = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
    expect(cos(vectors[0]!, vectors[1]!)).toBeGreaterThan(cos(vectors[0]!, vectors[2]!));
    expect(await client().embed({ model: 'fake-embedding', input: [] })).toEqual([]);
  });

  it('lists models', async () => {
    expect(await client().models()).toEqual(['fake-chat', 'fake-embedding']);
  });

  it('401 → llm_auth_failed, and the message never contains the key (even when the provider echoes it)', async () => {
    const wrongKey = 'sk-wrong-secret-key-987654321';
    const err = await codeOf(client(wrongKey).chat({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }));
    expect(err.code).toBe('llm_auth_failed');
    expect(err.status).toBe(401);
    expect(err.message).not.toContain(wrongKey);
    expect(err.message).not.toContain('987654321');
    expect(err.message).toContain('Incorrect API key');
    expect(fake.requests[0]!.authorization).toBe(`Bearer ${wrongKey}`);
  });

  it('maps 429 and 5xx, and names a non-JSON answer a bad response', async () => {
    fake.failNext(429);
    expect((await codeOf(client().chat({ model: 'm', messages: [{ role: 'user', content: 'x' }] }))).code).toBe('llm_rate_limited');
    fake.failNext(503);
    expect((await codeOf(client().chat({ model: 'm', messages: [{ role: 'user', content: 'x' }] }))).code).toBe('llm_unreachable');
    fake.failNext(400, { message: 'model not found' });
    const bad = await codeOf(client().chat({ model: 'm', messages: [{ role: 'user', content: 'x' }] }));
    expect(bad.code).toBe('llm_bad_response');
    expect(bad.message).toContain('model not found');
  });

  it('times out with llm_timeout', async () => {
    fake.setDelay(2_000);
    const err = await codeOf(client(fake.apiKey, 300).chat({ model: 'm', messages: [{ role: 'user', content: 'slow' }] }));
    expect(err.code).toBe('llm_timeout');
  });

  it('an unreachable or non-allowlisted endpoint is llm_unreachable', async () => {
    const closed = createOpenAiCompatibleClient({ baseUrl: 'http://127.0.0.1:1/v1', apiKey: 'k', fetch });
    expect((await codeOf(closed.models())).code).toBe('llm_unreachable');
    // Without the allowlist the SSRF guard refuses a loopback address before any byte is sent.
    const guarded = createOpenAiCompatibleClient({ baseUrl: fake.baseUrl, apiKey: 'k', fetch: (url, init) => http.request(url, init) });
    const err = await codeOf(guarded.models());
    expect(err.code).toBe('llm_unreachable');
    expect(err.message).toContain('networkAllowlist');
    expect(fake.requests).toHaveLength(0);
  });

  it('parses SSE data lines', () => {
    expect([...sseData('data: {"a":1}\n\n: comment\n\ndata: [DONE]\n\n')]).toEqual(['{"a":1}', '[DONE]']);
  });
});
