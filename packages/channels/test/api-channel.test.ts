import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiChannelInbound, ApiChannelWebhookPayload, apiChannelFieldPath } from '@huiliu/contracts';
import { ChannelError, type ChannelContext, type InboundHttpRequest, type InboundMessageEvent, type OutboundMessage } from '../src/adapter.ts';
import { apiChannelAdapter, type ApiChannelConfig } from '../src/api/api-channel.adapter.ts';
import { signWebhook } from '../src/api/signature.ts';
import { describeChannelContract, testHttp } from './contract.ts';
import { startApiReceiverFake, type ApiReceiverFake } from './fakes/api-receiver-fake.ts';
import { batch, singleMessage, unknownType } from './fixtures/api/messages.ts';
import { memoryTokens } from './memory-tokens.ts';

const API_KEY = 'hl_api_7QmZ2kq9R4vX1sT8wE3yU6pA';
const WEBHOOK_SECRET = 'whsec_3c1f8a2b9d7e4f60a5b1c2d3e4f5a6b7';

function post(body: unknown, apiKey: string | null = API_KEY, raw?: string): InboundHttpRequest {
  return {
    method: 'POST',
    url: '/api/channels/v1/pub_test/webhook',
    query: {},
    headers: { 'content-type': 'application/json', ...(apiKey !== null ? { authorization: `Bearer ${apiKey}` } : {}) },
    rawBody: Buffer.from(raw ?? JSON.stringify(body)),
  };
}

describeChannelContract<ApiChannelConfig>({
  adapter: apiChannelAdapter,
  startFake: () => startApiReceiverFake({ secret: WEBHOOK_SECRET }),
  context: (fake) => ({ config: { webhookUrl: `${fake.baseUrl}/hooks/huiliu` } as ApiChannelConfig, secrets: { apiKey: API_KEY, webhookSecret: WEBHOOK_SECRET } }),
  invalidConfig: { webhookUrl: 'https://crm.example.com/hooks', webhookSecret: 'secrets are not settings' },
  recipient: 'cust-42',
  webhook: {
    textMessage: (c) => post(singleMessage, c.secrets.apiKey!),
    expectText: { externalId: singleMessage.externalId, sourceId: singleMessage.sender.id, text: singleMessage.text },
    forged: () => post(singleMessage, 'hl_api_guessed_key'),
    malformed: (c) => post({ externalId: 'x', sender: { name: 'no id' }, text: 'hi' }, c.secrets.apiKey!),
    unknownType: (c) => post(unknownType, c.secrets.apiKey!),
  },
});

const silent = { info() {}, warn() {}, error() {} };
const NOW = new Date('2026-11-20T09:00:00Z');

function ctxFor(config: Partial<ApiChannelConfig>, secrets: Record<string, string> = { apiKey: API_KEY, webhookSecret: WEBHOOK_SECRET }, now = () => NOW): ChannelContext<ApiChannelConfig> {
  return { config: apiChannelAdapter.configSchema.parse(config), secrets, http: testHttp, webhookUrl: 'https://huiliu.example.com/api/channels/v1/pub_test/webhook', now, logger: silent, tokens: memoryTokens() };
}

const reply = (over: Partial<OutboundMessage> = {}): OutboundMessage => ({
  idempotencyKey: '0b6f7d1e-8c3a-4e55-9a2b-1f0e9d8c7b6a', conversationId: '5d0c2c4e-7b1a-4f3e-9c2d-8e7f6a5b4c3d', createdAt: new Date('2026-11-21T08:00:00Z'), recipient: { sourceId: 'cust-42' }, text: '已为您催促仓库 / we chased the warehouse', attachments: [], senderName: '客服小李', ...over,
});

async function errorOf(p: Promise<unknown>): Promise<ChannelError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(ChannelError);
  return e as ChannelError;
}

describe('API channel inbound', () => {
  const ctx = ctxFor({});

  it('accepts a batch and answers 202 with the count', async () => {
    const r = await apiChannelAdapter.receive!(post(batch), ctx);
    expect(r.response.status).toBe(202);
    expect(JSON.parse(r.response.body)).toEqual({ accepted: 3 });
    const m = r.events as InboundMessageEvent[];
    expect(m.map((e) => e.externalId)).toEqual(['crm-msg-10002', 'crm-msg-10003', 'crm-msg-10004']);
    expect(m[0]!.content).toEqual({ type: 'text', text: '订单号 A-1029' });
    expect(m[1]!.content).toEqual({
      type: 'image', text: '这是照片 / here is a photo',
      media: [{ ref: 'https://files.example.com/p/parcel.jpg', fileName: 'parcel.jpg', contentType: 'image/jpeg' }],
    });
    expect(m[2]!.content).toEqual({ type: 'location', location: { latitude: 31.2304, longitude: 121.4737, name: '上海' } });
    expect(m[2]!.sender).toMatchObject({ sourceId: 'cust-7', name: 'Ada' });
    // No sentAt: the time it arrived.
    expect(m[0]!.sentAt).toEqual(NOW);
  });

  it('keeps the sender details and sentAt, and vouches for email/phone only when the inbox trusts the integrator', async () => {
    const plain = (await apiChannelAdapter.receive!(post(singleMessage), ctx)).events[0] as InboundMessageEvent;
    expect(plain.sender).toEqual({ sourceId: 'cust-42', name: '王小明', email: 'xiaoming.wang@example.com', phone: '+8613800138000' });
    expect(plain.sentAt).toEqual(new Date('2026-11-20T08:30:00Z'));
    const trusted = (await apiChannelAdapter.receive!(post(singleMessage), ctxFor({ trustSenderContacts: true }))).events[0] as InboundMessageEvent;
    expect(trusted.sender.verifiedKeys).toEqual([{ kind: 'email', value: 'xiaoming.wang@example.com' }, { kind: 'phone', value: '+8613800138000' }]);
  });

  it.each([
    [{ messages: [{ externalId: 'a', sender: {}, text: 'hi' }] }, 'messages[0].sender.id: required'],
    [{ messages: [{ externalId: 'a', sender: { id: 'c' }, text: 'hi' }, { sender: { id: 'c' }, text: 'x' }] }, 'messages[1].externalId: required'],
    [{ externalId: 'a', sender: { id: 'c' }, text: 'hi', colour: 'red' }, 'colour: unknown field; remove it'],
    [{ externalId: 'a', sender: { id: 'c', phone: '138 0013 8000' }, text: 'hi' }, 'sender.phone: a phone number in E.164 form'],
    [{ externalId: 'a', sender: { id: 'c' } }, 'text: a message needs text, attachments or a location'],
    [{ externalId: 'a', sender: { id: 'c' }, type: 'image', text: 'no file' }, 'attachments: required for type "image"'],
    [{ externalId: 'a', sender: { id: 'c' }, attachments: [{ url: 'ftp://files.example.com/a' }] }, 'attachments[0].url: an http(s) URL'],
    [{ externalId: 'a', sender: { id: 'c' }, text: 'hi', sentAt: 'yesterday' }, 'sentAt: an ISO-8601 timestamp'],
    [{ messages: [] }, 'messages: '],
    [{ messages: Array.from({ length: 101 }, (_, i) => ({ externalId: `m${i}`, sender: { id: 'c' }, text: 'x' })) }, 'messages: at most 100 messages per request'],
    [[{ externalId: 'a' }], 'body: send a JSON object'],
  ])('refuses %j naming the field', async (body, expected) => {
    const e = await errorOf(apiChannelAdapter.receive!(post(body), ctx));
    expect(e.code).toBe('malformed');
    expect(e.message).toContain(expected);
    // The documented route validates with the schema too: its first issue names the same field.
    const issue = ApiChannelInbound.safeParse(body).error!.issues[0]!;
    const routeText = issue.code === 'invalid_union' ? issue.message : `${apiChannelFieldPath(issue.path) || 'body'}: ${issue.message}`;
    expect(routeText).toContain(expected.split(':')[0]!);
  });

  it('refuses a body that is not JSON', async () => {
    const e = await errorOf(apiChannelAdapter.receive!(post(null, API_KEY, '{"externalId": '), ctx));
    expect(e.code).toBe('malformed');
    expect(e.message).toMatch(/not valid JSON/);
  });

  it('refuses a missing or wrong API key before reading the body, and an inbox without a key', async () => {
    expect((await errorOf(apiChannelAdapter.receive!(post(singleMessage, null), ctx))).code).toBe('unauthorized');
    expect((await errorOf(apiChannelAdapter.receive!(post('not even json', 'wrong'), ctx))).code).toBe('unauthorized');
    expect((await errorOf(apiChannelAdapter.receive!(post(singleMessage, `${API_KEY}x`), ctx))).code).toBe('unauthorized');
    expect((await errorOf(apiChannelAdapter.receive!(post(singleMessage), ctxFor({}, {})))).code).toBe('not_configured');
  });

  it('refuses unknown settings and non-http webhook URLs', () => {
    expect(apiChannelAdapter.configSchema.safeParse({ webhookUrl: 'ftp://crm.example.com/h' }).success).toBe(false);
    expect(apiChannelAdapter.configSchema.safeParse({}).success).toBe(true);
    expect(apiChannelAdapter.capabilities(ctx.config)).toMatchObject({ contentTypes: ['text', 'image', 'file'], deliveryReports: false, sendWindow: null });
  });
});

describe('API channel outbound webhook', () => {
  let fake: ApiReceiverFake;
  beforeAll(async () => { fake = await startApiReceiverFake({ secret: WEBHOOK_SECRET, now: () => NOW.getTime() }); });
  afterAll(async () => { await fake.close(); });

  it('signs "<t>.<raw body>" with HMAC-SHA256 and sends the documented payload', async () => {
    const ctx = ctxFor({ webhookUrl: fake.webhookUrl });
    const msg = reply({
      attachments: [{ fileName: 'invoice.pdf', contentType: 'application/pdf', size: 2048, url: 'https://huiliu.example.com/f/abc?sig=1', read: async () => Buffer.alloc(0) }],
    });
    const r = await apiChannelAdapter.send(Object.assign(msg, { conversationId: '5d1c8f0e-2b7a-4c3e-9f1d-7e6a5b4c3d2e', createdAt: new Date('2026-11-20T08:59:00Z') }), ctx);
    expect(r.externalId).toMatch(/^rcv_\d+$/);
    expect(fake.rejected).toEqual([]);
    const body = fake.accepted.at(-1)!.body;
    expect(ApiChannelWebhookPayload.parse(body)).toEqual({
      event: 'message.created',
      message: {
        id: msg.idempotencyKey, conversationId: '5d1c8f0e-2b7a-4c3e-9f1d-7e6a5b4c3d2e', text: msg.text,
        attachments: [{ url: 'https://huiliu.example.com/f/abc?sig=1', fileName: 'invoice.pdf', contentType: 'application/pdf', size: 2048 }],
        senderName: '客服小李', createdAt: '2026-11-20T08:59:00.000Z',
      },
      recipient: { id: 'cust-42' },
    });
  });

  it('produces the signature an integrator computes by hand', () => {
    const raw = '{"event":"message.created"}';
    const t = 1_795_000_000;
    const expected = createHmac('sha256', WEBHOOK_SECRET).update(`${t}.${raw}`).digest('hex');
    expect(signWebhook(WEBHOOK_SECRET, raw, t)).toBe(`t=${t},v1=${expected}`);
    // The timestamp is part of what is signed: the same body at another time has another signature.
    expect(signWebhook(WEBHOOK_SECRET, raw, t + 1)).not.toContain(expected);
  });

  it('is refused by the receiver when the secret differs or the signature is stale', async () => {
    const wrong = await errorOf(apiChannelAdapter.send(reply(), ctxFor({ webhookUrl: fake.webhookUrl }, { apiKey: API_KEY, webhookSecret: 'whsec_other' })));
    expect(wrong.retryable).toBe(false);
    expect(fake.rejected.at(-1)!.reason).toMatch(/signature does not match/);
    const stale = await errorOf(apiChannelAdapter.send(reply(), ctxFor({ webhookUrl: fake.webhookUrl }, undefined, () => new Date(NOW.getTime() - 10 * 60_000))));
    expect(stale.message).toContain('401');
    expect(fake.rejected.at(-1)!.reason).toMatch(/stale/);
    fake.rejected.length = 0;
  });

  it('retries 5xx, 408 and 429 but not other 4xx, and keeps the delivery id across attempts', async () => {
    const ctx = ctxFor({ webhookUrl: fake.webhookUrl });
    for (const [status, retryable, code] of [[500, true, 'provider_error'], [408, true, 'provider_error'], [429, true, 'rate_limited'], [404, false, 'provider_error'], [422, false, 'provider_error']] as const) {
      fake.failNext(status);
      const e = await errorOf(apiChannelAdapter.send(reply({ idempotencyKey: `k-${status}` }), ctx));
      expect([e.code, e.retryable]).toEqual([code, retryable]);
    }
    const r = await apiChannelAdapter.send(reply({ idempotencyKey: 'k-500' }), ctx);
    expect(r.externalId).toMatch(/^rcv_/);
    expect(fake.attempts.filter((a) => a.deliveryId === 'k-500').map((a) => a.status)).toEqual([500, 200]);
    expect(fake.rejected).toEqual([]);
  });

  it('reports an unreachable receiver as a retryable network error', async () => {
    const e = await errorOf(apiChannelAdapter.send(reply(), ctxFor({ webhookUrl: 'http://127.0.0.1:9/hooks' })));
    expect([e.code, e.retryable]).toEqual(['network', true]);
  });

  it('without a webhook URL the reply is kept for the REST API; with one but no secret it is refused', async () => {
    expect(await apiChannelAdapter.send(reply(), ctxFor({}))).toEqual({ externalId: reply().idempotencyKey });
    const e = await errorOf(apiChannelAdapter.send(reply(), ctxFor({ webhookUrl: fake.webhookUrl }, { apiKey: API_KEY })));
    expect([e.code, e.retryable]).toEqual(['not_configured', false]);
  });
});
