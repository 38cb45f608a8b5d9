import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelContext, ChannelEvent, InboundHttpRequest, InboundMessageEvent, OutboundMessage } from '../src/adapter.ts';
import { ChannelError } from '../src/adapter.ts';
import { douyinAdapter, type DouyinConfig } from '../src/douyin/index.ts';
import { decodeReplyRef, encodeReplyRef, latestReplyRef } from '../src/douyin/reply-ref.ts';
import { douyinSignature } from '../src/douyin/signature.ts';
import { adapterFor } from '../src/registry.ts';
import { describeChannelContract, testHttp } from './contract.ts';
import { douyinWebhookRequest, startDouyinFake, withCreateTime, type DouyinFake } from './fakes/douyin-fake.ts';
import { memoryTokens } from './memory-tokens.ts';

const CLIENT_KEY = 'awhuiliu7f3k2q9x';
const CLIENT_SECRET = '3c5e8a1f0b9d7c6e5a4f3b2c1d0e9f8a';
const REFRESH_TOKEN = 'rft.a736b70544519999a623d67e0f1c2b3a';
/** The customer and the account of the documented im_receive_msg example. */
const CUSTOMER = 'ac6479a5-d7a6-4018-84be-c29bfc00000';
const ACCOUNT = 'aaa-7ae0-4399-914a-5eb1df5861ba';
const CONVERSATION = '@c29bfc000+MNggFhRkwGuX1ntuc0QfA0VnmRejrzWUBwDdDYrU9MpJSYEVV6/2hKU0il5iay8J99+0t5j3zrbA==';
const TEXT_MESSAGE_ID = '@c29bfc000+MNggFhRkwGuX1ntuc0RPc0VHF0c9qZ4SU3Uc+dbhT1WBAhZ0cwBXl0mPu8JxZ4HfN5b0Q7mMzxQ2tXw==';
const MSG_ID = '6f9a1c0e2b7d4e5f8a9b0c1d2e3f4a5b';
const secrets = { clientSecret: CLIENT_SECRET, refreshToken: REFRESH_TOKEN };
const fixture = (name: string) => readFileSync(new URL(`./fixtures/douyin/${name}`, import.meta.url), 'utf8');
/** Fixtures keep their bytes; only create_time is moved to now, for the freshness check. */
const fresh = (name: string, at = new Date()) => withCreateTime(fixture(name), at);
const textRef = { msgId: MSG_ID, conversationShortId: CONVERSATION, serverMessageId: TEXT_MESSAGE_ID };
const config = (fake: { baseUrl: string }, over: Partial<DouyinConfig> = {}) => ({ apiBaseUrl: fake.baseUrl, clientKey: CLIENT_KEY, accountOpenId: ACCOUNT, ...over });
const fakeOptions = { clientKey: CLIENT_KEY, clientSecret: CLIENT_SECRET, accountOpenId: ACCOUNT, refreshToken: REFRESH_TOKEN };

describeChannelContract<DouyinConfig>({
  // Core hands `send` the external ids of the conversation's earlier messages (thread.references); the
  // contract's bare message has none, so this passes the customer message being answered, as core would.
  adapter: { ...douyinAdapter, send: (m, c) => douyinAdapter.send({ ...m, thread: m.thread ?? { references: [encodeReplyRef(textRef)] } }, c) },
  startFake: async () => {
    const fake = await startDouyinFake(fakeOptions);
    fake.registerMessage({ conversationShortId: CONVERSATION, serverMessageId: TEXT_MESSAGE_ID, openId: CUSTOMER });
    return fake;
  },
  context: (fake) => ({ config: douyinAdapter.configSchema.parse(config(fake)), secrets: { ...secrets } }),
  invalidConfig: { clientKey: CLIENT_KEY, accountOpenId: ACCOUNT, appId: 'tt123' },
  webhook: {
    textMessage: (c) => douyinWebhookRequest(fresh('im-receive-msg-text.json'), c.secrets.clientSecret!, MSG_ID),
    expectText: { externalId: encodeReplyRef(textRef), sourceId: CUSTOMER, text: '你好，这款耳机还有货吗？' },
    forged: () => douyinWebhookRequest(fresh('im-receive-msg-text.json'), 'not-the-client-secret', MSG_ID),
    malformed: (c) => douyinWebhookRequest('{"event":"im_receive_msg","content":"{not json"}', c.secrets.clientSecret!),
    unknownType: (c) => douyinWebhookRequest(fresh('im-receive-msg-other.json'), c.secrets.clientSecret!),
  },
  recipient: CUSTOMER,
});

describe('douyin adapter', () => {
  let fake: DouyinFake;
  const logs: Array<{ level: string; obj: object; msg: string }> = [];
  const logger = {
    info: (obj: object, msg: string) => { logs.push({ level: 'info', obj, msg }); },
    warn: (obj: object, msg: string) => { logs.push({ level: 'warn', obj, msg }); },
    error: (obj: object, msg: string) => { logs.push({ level: 'error', obj, msg }); },
  };
  let tokens = memoryTokens();
  const ctx = (over: { secrets?: Record<string, string>; config?: Partial<DouyinConfig>; now?: () => Date } = {}): ChannelContext<DouyinConfig> => ({
    config: douyinAdapter.configSchema.parse(config(fake, over.config)),
    secrets: over.secrets ?? secrets,
    http: testHttp,
    webhookUrl: 'https://huiliu.example.com/api/channels/v1/dy-inbox/webhook',
    now: over.now ?? (() => new Date()),
    logger,
    tokens,
  });
  const receive = (req: InboundHttpRequest, c = ctx()) => douyinAdapter.receive!(req, c);
  const push = (body: string, msgId = MSG_ID) => receive(douyinWebhookRequest(body, CLIENT_SECRET, msgId));
  const messages = (events: Awaited<ReturnType<typeof push>>['events']) => events.filter((e): e is InboundMessageEvent => e.kind === 'message');
  const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a ChannelError'); }, (e: unknown) => {
    expect(e).toBeInstanceOf(ChannelError);
    return e as ChannelError;
  });
  const outbound = (over: Partial<OutboundMessage> = {}): OutboundMessage => ({
    idempotencyKey: '0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9', conversationId: '5d0c2c4e-7b1a-4f3e-9c2d-8e7f6a5b4c3d', createdAt: new Date(),
    recipient: { sourceId: CUSTOMER }, text: '有货的，今天下单明天发。', attachments: [],
    thread: { inReplyTo: encodeReplyRef(textRef), references: [encodeReplyRef(textRef)] }, ...over,
  });

  beforeAll(async () => {
    fake = await startDouyinFake(fakeOptions);
    fake.registerMessage({ conversationShortId: CONVERSATION, serverMessageId: TEXT_MESSAGE_ID, openId: CUSTOMER });
  });
  afterAll(async () => { await fake.close(); });

  it('is registered under its kind and declares a text-only channel with the reply window from its settings', () => {
    expect(adapterFor('douyin')).toBe(douyinAdapter);
    const caps = douyinAdapter.capabilities(ctx().config);
    expect(caps).toMatchObject({ contentTypes: ['text'], sendWindow: { hours: 24, outside: 'blocked' } });
    expect(douyinAdapter.capabilities(ctx({ config: { replyWindowHours: 12 } }).config).sendWindow).toEqual({ hours: 12, outside: 'blocked' });
    const bad = douyinAdapter.configSchema.safeParse({ clientKey: CLIENT_KEY, accountOpenId: ACCOUNT, sendPath: 'im/send/msg' });
    expect(bad.success).toBe(false);
  });

  describe('webhook URL check (verify_webhook)', () => {
    it('answers the documented example with {"challenge": 12345} as JSON', async () => {
      const r = await push(fixture('verify-webhook.json'));
      expect(r).toEqual({ response: { status: 200, contentType: 'application/json', body: '{"challenge":12345}' }, events: [] });
    });

    it('keeps a string challenge a string, and refuses an unsigned or incomplete check', async () => {
      const r = await push('{"event":"verify_webhook","client_key":"","content":{"challenge":"a1b2"}}');
      expect(r.response.body).toBe('{"challenge":"a1b2"}');
      const unsigned = await failure(receive(douyinWebhookRequest(fixture('verify-webhook.json'), null)));
      expect(unsigned.code).toBe('signature_invalid');
      const incomplete = await failure(push('{"event":"verify_webhook","content":{}}'));
      expect(incomplete.code).toBe('malformed');
    });
  });

  describe('signature', () => {
    it('is hex SHA1 of the Client Secret followed by the raw body (the documented Go example; values from Python hashlib)', () => {
      const body = '{"event":"verify_webhook","client_key":"abc","content":{"challenge":12345}}';
      expect(douyinSignature('***', body)).toBe('f76a589bf14313f3a63d2a5e1904d5033c35db77');
      expect(douyinSignature('汇流', Buffer.from(body))).toBe('0568195fd67bd1a70344402fe947db79faf5147f');
    });

    it('covers the exact bytes: the same JSON re-serialized is refused', async () => {
      const raw = fresh('im-receive-msg-text.json');
      const signed = douyinWebhookRequest(raw, CLIENT_SECRET, MSG_ID);
      expect(messages((await receive(signed)).events)).toHaveLength(1);
      const e = await failure(receive({ ...signed, rawBody: Buffer.from(JSON.stringify(JSON.parse(raw))) }));
      expect(e.code).toBe('signature_invalid');
    });

    it('refuses a missing or malformed header, and answers not_configured while the Client Secret is unset', async () => {
      const raw = fresh('im-receive-msg-text.json');
      expect((await failure(receive(douyinWebhookRequest(raw, null)))).message).toMatch(/no X-Douyin-Signature/);
      const bad = douyinWebhookRequest(raw, null);
      bad.headers['x-douyin-signature'] = 'sha1=abc';
      expect((await failure(receive(bad))).code).toBe('signature_invalid');
      const upper = douyinWebhookRequest(raw, CLIENT_SECRET, MSG_ID);
      upper.headers['x-douyin-signature'] = upper.headers['x-douyin-signature']!.toUpperCase();
      expect(messages((await receive(upper)).events)).toHaveLength(1);
      expect((await failure(receive(douyinWebhookRequest(raw, CLIENT_SECRET), ctx({ secrets: { refreshToken: REFRESH_TOKEN } })))).code).toBe('not_configured');
    });
  });

  describe('inbound', () => {
    it('turns im_receive_msg into a message from the customer, named from user_infos, dated by create_time', async () => {
      const at = new Date(Date.now() - 60_000);
      const [m] = messages((await push(fresh('im-receive-msg-text.json', at))).events);
      expect(m).toEqual({
        kind: 'message',
        externalId: `dy:${MSG_ID}|${CONVERSATION}|${TEXT_MESSAGE_ID}`,
        sender: { sourceId: CUSTOMER, name: '抖音用户小林' },
        content: { type: 'text', text: '你好，这款耳机还有货吗？' },
        sentAt: at,
      });
      expect(decodeReplyRef(m!.externalId)).toEqual(textRef);
    });

    it('dedupes by the Msg-Id header: a retry has the same id, another push another', async () => {
      const body = fresh('im-receive-msg-text.json');
      const [a] = messages((await push(body, MSG_ID)).events);
      const [b] = messages((await push(body, MSG_ID)).events);
      const [c] = messages((await push(body, 'another-msg-id')).events);
      expect(a!.externalId).toBe(b!.externalId);
      expect(c!.externalId).not.toBe(a!.externalId);
      const [noHeader] = messages((await receive({ ...douyinWebhookRequest(body, CLIENT_SECRET), headers: { 'x-douyin-signature': douyinSignature(CLIENT_SECRET, body) } })).events);
      expect(noHeader!.externalId).toBe(`dy:smid:${TEXT_MESSAGE_ID}|${CONVERSATION}|${TEXT_MESSAGE_ID}`);
    });

    it('reads content sent as a JSON string (the webhook overview\'s type) like the object form', async () => {
      const doc = JSON.parse(fresh('im-receive-msg-text.json'));
      doc.content = JSON.stringify(doc.content);
      const [m] = messages((await push(JSON.stringify(doc))).events);
      expect(m!.content).toEqual({ type: 'text', text: '你好，这款耳机还有货吗？' });
    });

    it('keeps an image without URL as unsupported with the reason, and downloads a local image by its resource_url', async () => {
      const [image] = messages((await push(fresh('im-receive-msg-image.json'))).events);
      expect(image!.content).toMatchObject({ type: 'unsupported', raw: { message_type: 'image' } });
      expect(image!.content.type === 'unsupported' && image!.content.text).toMatch(/Douyin image: Douyin does not deliver it through the API; open the conversation in the Douyin app/);
      const local = fresh('im-receive-msg-local-image.json').replace('RESOURCE_URL_PLACEHOLDER', 'https://p3-im.douyinpic.com/img/example~tplv.jpeg');
      const [m] = messages((await push(local)).events);
      expect(m!.content).toEqual({ type: 'image', media: [{ ref: 'https://p3-im.douyinpic.com/img/example~tplv.jpeg' }] });
    });

    it('turns a shared video into a card and a contact card into a card with its fields', async () => {
      const [video] = messages((await push(fresh('im-receive-msg-video.json'))).events);
      expect(video!.content).toMatchObject({ type: 'card', card: { title: '抖音视频 / Douyin video', description: expect.stringMatching(/^item_id @9VwL2Oa3/) } });
      const [card] = messages((await push(fresh('im-receive-msg-retain-consult-card.json'))).events);
      expect(card!.content).toEqual({ type: 'card', card: { title: '留资卡片 / Contact card', description: '姓名: 林先生\n手机号: 138****5678' } });
    });

    it('keeps "other" and unknown message types as unsupported with the raw content', async () => {
      const [other] = messages((await push(fresh('im-receive-msg-other.json'))).events);
      expect(other!.content).toMatchObject({ type: 'unsupported', text: '[抖音消息 / Douyin other message]', raw: { message_type: 'other', type: 'other' } });
      const doc = JSON.parse(fresh('im-receive-msg-text.json'));
      doc.content.message_type = 'hongbao';
      const [unknown] = messages((await push(JSON.stringify(doc))).events);
      expect(unknown!.content).toMatchObject({ type: 'unsupported', raw: { message_type: 'hongbao', text: '你好，这款耳机还有货吗？' } });
    });

    it('marks im_send_msg (the account\'s own messages) as echoes of the customer\'s conversation', async () => {
      const [echo] = messages((await push(fresh('im-send-msg.json'))).events);
      expect(echo).toMatchObject({ kind: 'message', echo: true, sender: { sourceId: CUSTOMER }, content: { type: 'text', text: '有货的，今天下单明天发。' } });
    });

    it('records im_enter_direct_msg as an event of the customer, never as customer text', async () => {
      const r = await push(fresh('im-enter-direct-msg.json'), 'enter-1');
      expect(r.events).toEqual([{ kind: 'event', externalId: 'dy-event:enter-1', event: 'im_enter_direct_msg', sender: { sourceId: CUSTOMER, name: '抖音用户小林' }, at: expect.any(Date) }] satisfies ChannelEvent[]);
    });

    it('skips, with a logged reason, messages for another account of the same app', async () => {
      logs.length = 0;
      const r = await push(fresh('im-receive-msg-text.json').replace(`"to_user_id": "${ACCOUNT}"`, '"to_user_id": "other-account-open-id"'));
      expect(r.events).toEqual([]);
      expect(r.response.status).toBe(200);
      expect(logs.map((l) => l.msg)).toEqual(['douyin webhook ignored: it is for another account than this inbox\'s accountOpenId (one Douyin app per inbox)']);
    });
  });

  describe('bad input', () => {
    it('refuses non-JSON, a body without event, a content string that is not JSON and a message without ids as malformed', async () => {
      for (const body of ['not json', '{"content":{}}', '{"event":"im_receive_msg","content":"{nope"}', '{"event":"im_receive_msg","from_user_id":"a","to_user_id":"b","content":{"message_type":"text","text":"hi"}}', '[]']) {
        const e = await failure(push(body));
        expect(e.code).toBe('malformed');
      }
    });

    it('refuses an oversized body before checking anything else, and a GET', async () => {
      const big = `{"event":"im_receive_msg","pad":"${'x'.repeat(300 * 1024)}"}`;
      expect((await failure(push(big))).message).toMatch(/bytes; Douyin's events are a few KB/);
      const get = await failure(receive({ method: 'GET', url: '/w', query: {}, headers: {}, rawBody: Buffer.alloc(0) }));
      expect(get.code).toBe('malformed');
    });

    it('refuses a push created outside maxEventAgeSeconds as replayed; 0 turns the check off', async () => {
      const old = fixture('im-receive-msg-text.json');
      const e = await failure(push(old));
      expect(e.code).toBe('replayed');
      expect(e.message).toMatch(/maxEventAgeSeconds/);
      const r = await receive(douyinWebhookRequest(old, CLIENT_SECRET, MSG_ID), ctx({ config: { maxEventAgeSeconds: 0 } }));
      expect(messages(r.events)).toHaveLength(1);
    });
  });

  describe('outbound', () => {
    beforeAll(() => { tokens = memoryTokens(); });

    it('answers the customer\'s newest message in the documented shape, with one token refresh for several sends', async () => {
      const older = { msgId: 'old', conversationShortId: CONVERSATION, serverMessageId: 'old-server-id' };
      const before = fake.tokenRequests.length;
      const r = await douyinAdapter.send(outbound({ thread: { references: [encodeReplyRef(older), 'dy-out:@ours', encodeReplyRef(textRef), 'event:dy-event:x', 'dy-out:@ours2'] } }), ctx());
      const last = fake.sent.at(-1)!;
      expect(last.openId).toBe(ACCOUNT);
      expect(last.body).toEqual({ msg_id: TEXT_MESSAGE_ID, conversation_id: CONVERSATION, to_user_id: CUSTOMER, content: { msg_type: 1, text: { text: '有货的，今天下单明天发。' } }, scene: 'im_replay_msg' });
      expect(r.externalId).toBe(`dy-out:${last.msgId}`);
      await douyinAdapter.send(outbound(), ctx());
      expect(fake.tokenRequests.slice(before)).toEqual(['refresh_token']);
      expect(fake.rejected).toEqual([]);
    });

    it('refuses to send without a customer message to answer, with attachments, or with too long a text', async () => {
      const none = await failure(douyinAdapter.send(outbound({ thread: { references: ['dy-out:@ours'] } }), ctx()));
      expect([none.code, none.retryable]).toEqual(['window_closed', false]);
      const file = await failure(douyinAdapter.send(outbound({ attachments: [{ fileName: 'a.png', contentType: 'image/png', size: 3, read: async () => Buffer.from('png'), url: 'https://x/a.png' }] }), ctx()));
      expect(file.code).toBe('content_unsupported');
      const long = await failure(douyinAdapter.send(outbound({ text: '好'.repeat(501) }), ctx()));
      expect(long.code).toBe('content_unsupported');
    });

    it('gets a new token once when Douyin says the cached one expired, and sends', async () => {
      fake.expireTokens();
      const before = fake.tokenRequests.length;
      const sentBefore = fake.sent.length;
      await douyinAdapter.send(outbound(), ctx());
      expect(fake.tokenRequests.slice(before)).toEqual(['refresh_token']);
      expect(fake.sent.length).toBe(sentBefore + 1);
      expect(fake.rejected.map((r) => r.reason)).toEqual(['expired access-token']);
      fake.rejected.length = 0;
    });

    it('fails a reply to a message older than 24 hours with Douyin\'s reason, not retried', async () => {
      fake.registerMessage({ conversationShortId: CONVERSATION, serverMessageId: 'stale-id', openId: CUSTOMER, at: new Date(Date.now() - 25 * 3600_000) });
      const stale = { msgId: 'm', conversationShortId: CONVERSATION, serverMessageId: 'stale-id' };
      const e = await failure(douyinAdapter.send(outbound({ thread: { references: [encodeReplyRef(stale)] } }), ctx()));
      expect([e.code, e.retryable]).toEqual(['provider_error', false]);
      expect(e.message).toContain('msg_id 已过期');
      fake.rejected.length = 0;
    });

    it('maps busy and rate-limit codes to retries, permission codes to unauthorized', async () => {
      fake.failNextWith(200, 28001005, '系统繁忙，此时请开发者稍候再试');
      expect(await failure(douyinAdapter.send(outbound(), ctx()))).toMatchObject({ code: 'provider_error', retryable: true });
      fake.failNextWith(200, 28003018, '请求频率过高');
      expect(await failure(douyinAdapter.send(outbound(), ctx()))).toMatchObject({ code: 'rate_limited', retryable: true });
      fake.failNextWith(200, 28001018, '应用未获得该能力');
      const perm = await failure(douyinAdapter.send(outbound(), ctx()));
      expect([perm.code, perm.retryable]).toEqual(['unauthorized', false]);
      expect(perm.message).toMatch(/im\.direct_message/);
      fake.failNextWith(200, 28001046, '用户已被封禁');
      expect(await failure(douyinAdapter.send(outbound(), ctx()))).toMatchObject({ code: 'recipient_invalid', retryable: false });
    });

    it('refuses a wrong refresh token as unauthorized without repeating it, and one of another account', async () => {
      const wrong = 'rft.not-the-right-one-0000';
      const e = await failure(douyinAdapter.send(outbound(), { ...ctx({ secrets: { clientSecret: CLIENT_SECRET, refreshToken: wrong } }), tokens: memoryTokens() }));
      expect([e.code, e.retryable]).toEqual(['unauthorized', false]);
      expect(e.message).toMatch(/10010/);
      expect(e.message).not.toContain(wrong);
      const other = await failure(douyinAdapter.send(outbound(), { ...ctx({ config: { accountOpenId: 'other-account-0001' } }), tokens: memoryTokens() }));
      expect(other.message).toMatch(/belongs to the Douyin account aaa-7ae0-4399-914a-5eb1df5861ba, not to the inbox's accountOpenId other-account-0001/);
      const unset = await failure(douyinAdapter.send(outbound(), { ...ctx({ secrets: { clientSecret: CLIENT_SECRET } }), tokens: memoryTokens() }));
      expect(unset.code).toBe('not_configured');
      fake.rejected.length = 0;
    });

    it('in client_token mode takes the app token from /oauth/client_token/ (the fake, like the docs, wants the account\'s token to send)', async () => {
      const c = { ...ctx({ config: { tokenMode: 'client_token' } }), tokens: memoryTokens() };
      const before = fake.tokenRequests.length;
      const e = await failure(douyinAdapter.send(outbound(), c));
      expect(fake.tokenRequests.slice(before)).toEqual(['client_token']);
      expect([e.code, e.retryable]).toEqual(['unauthorized', false]);
      expect(e.message).toContain('28001012');
      fake.rejected.length = 0;
    });

    it('reports a dead platform as a retryable network error that names no secret', async () => {
      const c = { ...ctx({ config: { apiBaseUrl: 'http://127.0.0.1:9' } }), tokens: memoryTokens() };
      const e = await failure(douyinAdapter.send(outbound(), c));
      expect([e.code, e.retryable]).toEqual(['network', true]);
      expect(e.message).not.toContain(REFRESH_TOKEN);
    });

    it('"test connection" issues a token now and names what is wrong otherwise', async () => {
      expect(await douyinAdapter.check!(ctx())).toEqual({ ok: true });
      const bad = await douyinAdapter.check!({ ...ctx({ secrets: { clientSecret: CLIENT_SECRET, refreshToken: 'rft.expired' } }), tokens: memoryTokens() });
      expect(bad.ok).toBe(false);
      expect(bad.ok === false && bad.message).toMatch(/refresh token/);
      expect(await douyinAdapter.check!({ ...ctx({ config: { tokenMode: 'client_token' } }), tokens: memoryTokens() })).toEqual({ ok: true });
      fake.rejected.length = 0;
    });
  });

  it('reply references survive ids containing the separator', () => {
    const ref = { msgId: 'a|b%7C', conversationShortId: '@c|d', serverMessageId: '%e' };
    expect(decodeReplyRef(encodeReplyRef(ref))).toEqual(ref);
    expect(latestReplyRef(['x', encodeReplyRef(ref)], 'y')).toEqual(ref);
    expect(decodeReplyRef('dy:only|two')).toBeNull();
    expect(decodeReplyRef('wamid.123')).toBeNull();
  });
});
