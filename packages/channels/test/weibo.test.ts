import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelContext, InboundHttpRequest, InboundMessageEvent, OutboundMessage } from '../src/adapter.ts';
import { ChannelError } from '../src/adapter.ts';
import { weiboAdapter, type WeiboConfig } from '../src/weibo/index.ts';
import { parseCreatedAt, parseWeiboJson } from '../src/weibo/parse-push.ts';
import { weiboSignature } from '../src/weibo/signature.ts';
import { adapterFor } from '../src/registry.ts';
import { describeChannelContract, testHttp } from './contract.ts';
import { startWeiboFake, weiboPushRequest, weiboUrlCheckRequest, type WeiboFake } from './fakes/weibo-fake.ts';
import { memoryTokens } from './memory-tokens.ts';

const APP_SECRET = '8c1f4e2a9b7d6c5e3f0a1b2c3d4e5f60';
const ACCESS_TOKEN = '2.00Huiliu_FansService_Token_0123456789abcdef';
/** Receiver and sender of every documented example. */
const ACCOUNT = '1902538057';
const USER = '2489518277';
const secrets = { appSecret: APP_SECRET, accessToken: ACCESS_TOKEN };
const fixture = (name: string) => readFileSync(new URL(`./fixtures/weibo/${name}`, import.meta.url), 'utf8');
/** 2012-07-16T10:09:20Z, the created_at of the documented examples. */
const DOC_SECONDS = 1342433360;
const TEXT_ID = `wb:${USER}:${DOC_SECONDS}:text:a731c5ff013fe15a`;
const config = (fake: { baseUrl: string }, over: Partial<WeiboConfig> = {}) => ({ apiBaseUrl: fake.baseUrl, mediaBaseUrl: fake.baseUrl, accountUid: ACCOUNT, ...over });

describeChannelContract<WeiboConfig>({
  adapter: weiboAdapter,
  startFake: () => startWeiboFake({ accessToken: ACCESS_TOKEN, accountUid: ACCOUNT }),
  context: (fake) => ({ config: weiboAdapter.configSchema.parse(config(fake)), secrets: { ...secrets } }),
  invalidConfig: { accountUid: ACCOUNT, appKey: '2234567890' },
  webhook: {
    textMessage: (c) => weiboPushRequest(fixture('text.json'), c.secrets.appSecret!),
    expectText: { externalId: TEXT_ID, sourceId: USER, text: 'the content of a general message' },
    forged: () => weiboPushRequest(fixture('text.json'), 'not-the-app-secret'),
    malformed: (c) => weiboPushRequest('{"type":"text","sender_id":', c.secrets.appSecret!),
    unknownType: (c) => weiboPushRequest(fixture('mention.json'), c.secrets.appSecret!),
  },
  recipient: USER,
});

describe('weibo adapter', () => {
  let fake: WeiboFake;
  const logs: Array<{ level: string; obj: object; msg: string }> = [];
  const logger = {
    info: (obj: object, msg: string) => { logs.push({ level: 'info', obj, msg }); },
    warn: (obj: object, msg: string) => { logs.push({ level: 'warn', obj, msg }); },
    error: (obj: object, msg: string) => { logs.push({ level: 'error', obj, msg }); },
  };
  const ctx = (over: { secrets?: Record<string, string>; config?: Partial<WeiboConfig>; now?: () => Date } = {}): ChannelContext<WeiboConfig> => ({
    config: weiboAdapter.configSchema.parse(config(fake, over.config)),
    secrets: over.secrets ?? secrets,
    http: testHttp,
    webhookUrl: 'https://huiliu.example.com/api/channels/v1/wb-inbox/webhook',
    now: over.now ?? (() => new Date()),
    logger,
    tokens: memoryTokens(),
  });
  const receive = (req: InboundHttpRequest, c = ctx()) => weiboAdapter.receive!(req, c);
  const push = (body: string) => receive(weiboPushRequest(body, APP_SECRET));
  const messages = (events: Awaited<ReturnType<typeof push>>['events']) => events.filter((e): e is InboundMessageEvent => e.kind === 'message');
  const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a ChannelError'); }, (e: unknown) => {
    expect(e).toBeInstanceOf(ChannelError);
    return e as ChannelError;
  });
  const outbound = (over: Partial<OutboundMessage> = {}): OutboundMessage => ({
    idempotencyKey: '7e6d5c4b-3a29-4817-9605-f4e3d2c1b0a9', conversationId: '5d0c2c4e-7b1a-4f3e-9c2d-8e7f6a5b4c3d', createdAt: new Date(),
    recipient: { sourceId: USER }, text: '您好，订单今天发出 & 明天到 100%', attachments: [], ...over,
  });

  beforeAll(async () => { fake = await startWeiboFake({ accessToken: ACCESS_TOKEN, accountUid: ACCOUNT }); });
  afterAll(async () => { await fake.close(); });

  it('is registered under its kind and declares text only with a 48-hour reply window', () => {
    expect(adapterFor('weibo')).toBe(weiboAdapter);
    expect(weiboAdapter.capabilities(ctx().config)).toMatchObject({ contentTypes: ['text'], maxTextLength: 299, sendWindow: { hours: 48, outside: 'blocked' } });
    expect(weiboAdapter.configSchema.safeParse({ accountUid: 'not-a-uid' }).success).toBe(false);
  });

  describe('signature and URL check', () => {
    it('matches the wiki\'s worked example', () => {
      expect(weiboSignature('xyz123xyz', '1397022061823', '57155157')).toBe('90e4c22c90a58f26526c2dd5b6c56c8822edeaa1');
    });

    it('answers the GET check with echostr as text/plain, and refuses a wrong signature or a missing echostr', async () => {
      const r = await receive(weiboUrlCheckRequest(APP_SECRET, 'KeyDMwtf672'));
      expect(r).toEqual({ response: { status: 200, contentType: 'text/plain', body: 'KeyDMwtf672' }, events: [] });
      expect((await failure(receive(weiboUrlCheckRequest('guess', 'KeyDMwtf672')))).code).toBe('signature_invalid');
      const noEcho = weiboUrlCheckRequest(APP_SECRET, 'x');
      delete noEcho.query.echostr;
      expect((await failure(receive(noEcho))).code).toBe('malformed');
    });

    it('accepts the documented millisecond timestamp within the window and refuses a stale or future one as replayed', async () => {
      const t = 1397022061823;
      const at = (ms: number) => ctx({ now: () => new Date(ms) });
      const req = weiboPushRequest(fixture('text.json'), APP_SECRET, { timestamp: String(t), nonce: '57155157' });
      expect(messages((await receive(req, at(t + 299_000))).events)).toHaveLength(1);
      const stale = await failure(receive(req, at(t + 301_000)));
      expect(stale.code).toBe('replayed');
      expect(stale.message).toMatch(/timestampToleranceSeconds/);
      expect((await failure(receive(req, at(t - 3_600_000)))).code).toBe('replayed');
      // Seconds work too, and the window is a setting.
      const seconds = weiboPushRequest(fixture('text.json'), APP_SECRET, { timestamp: String(Math.floor(t / 1000)) });
      expect(messages((await receive(seconds, ctx({ now: () => new Date(t + 500_000), config: { timestampToleranceSeconds: 600 } }))).events)).toHaveLength(1);
    });

    it('refuses a missing signature, a signature over other parameters, and answers not_configured without the App Secret', async () => {
      const req = weiboPushRequest(fixture('text.json'), APP_SECRET);
      const { signature: _s, ...unsigned } = req.query;
      expect((await failure(receive({ ...req, query: unsigned }))).code).toBe('signature_invalid');
      expect((await failure(receive({ ...req, query: { ...req.query, nonce: '1' } }))).code).toBe('signature_invalid');
      const garbled = await failure(receive({ ...req, query: { ...req.query, timestamp: 'yesterday', signature: weiboSignature(APP_SECRET, 'yesterday', req.query.nonce!) } }));
      expect(garbled.code).toBe('malformed');
      expect((await failure(receive(req, ctx({ secrets: { accessToken: ACCESS_TOKEN } })))).code).toBe('not_configured');
    });
  });

  describe('inbound', () => {
    it('turns a text push into a message from the user, dated by created_at', async () => {
      const [m] = messages((await push(fixture('text.json'))).events);
      expect(m).toEqual({ kind: 'message', externalId: TEXT_ID, sender: { sourceId: USER }, content: { type: 'text', text: 'the content of a general message' }, sentAt: new Date(DOC_SECONDS * 1000) });
    });

    it('gives a retried push the same id whatever its key order, and content of the same second another id', async () => {
      const doc = JSON.parse(fixture('text.json'));
      const reordered = JSON.stringify({ data: doc.data, text: doc.text, created_at: doc.created_at, sender_id: doc.sender_id, receiver_id: doc.receiver_id, type: doc.type });
      const [again] = messages((await push(reordered)).events);
      expect(again!.externalId).toBe(TEXT_ID);
      const [other] = messages((await push(fixture('text.json').replace('the content of a general message', 'a second message'))).events);
      const [position] = messages((await push(fixture('position.json'))).events);
      expect(new Set([TEXT_ID, other!.externalId, position!.externalId]).size).toBe(3);
      expect(position!.externalId).toBe(`wb:${USER}:${DOC_SECONDS}:position:4a9ec92688fabeca`);
    });

    it('maps a position to a location with the text', async () => {
      const [m] = messages((await push(fixture('position.json'))).events);
      expect(m!.content).toEqual({ type: 'location', text: '我在这里: http://t.cn/zQgLLYO', location: { latitude: 39.982525, longitude: 116.308586 } });
    });

    it('keeps voice and image as media named by tovfid (placeholder text dropped) and downloads them with the token', async () => {
      const [voice] = messages((await push(fixture('voice.json'))).events);
      expect(voice!.content).toEqual({ type: 'audio', media: [{ ref: '821804469' }] });
      const jpeg = Buffer.from('\xff\xd8\xff\xe0 weibo photo', 'latin1');
      const fid = fake.addMedia(jpeg, 'image/jpeg');
      expect(Number.isSafeInteger(Number(fid))).toBe(false);
      const [image] = messages((await push(fixture('image.json').replace('"tovfid": 821804469', `"tovfid": ${fid}`))).events);
      expect(image!.content).toEqual({ type: 'image', media: [{ ref: fid }] });
      if (image!.content.type !== 'image') return;
      expect(await weiboAdapter.fetchMedia!(image!.content.media[0]!, ctx())).toEqual({ bytes: jpeg, contentType: 'image/jpeg', fileName: `weibo-${fid}.jpg` });
      expect(fake.downloads).toEqual([fid]);
    });

    it('reports a refused download with Weibo\'s reason and never the token', async () => {
      const e = await failure(weiboAdapter.fetchMedia!({ ref: '123' }, ctx()));
      expect([e.code, e.retryable]).toEqual(['provider_error', false]);
      expect(e.message).toContain('10017');
      const auth = await failure(weiboAdapter.fetchMedia!({ ref: '123' }, ctx({ secrets: { ...secrets, accessToken: 'expired-token-value' } })));
      expect(auth.code).toBe('unauthorized');
      expect(auth.message).not.toContain('expired-token-value');
      fake.rejected.length = 0;
    });

    it('turns follow, subscribe and menu clicks into events, never customer text', async () => {
      const follow = (await push(fixture('event-follow.json'))).events;
      expect(follow).toEqual([{ kind: 'event', externalId: expect.stringMatching(new RegExp(`^wb:${USER}:${DOC_SECONDS}:event:[0-9a-f]{16}$`)), event: 'follow', sender: { sourceId: USER }, at: new Date(DOC_SECONDS * 1000) }]);
      expect((await push(fixture('event-subscribe.json'))).events[0]).toMatchObject({ kind: 'event', event: 'subscribe' });
      expect((await push(fixture('event-click.json'))).events[0]).toMatchObject({ kind: 'event', event: 'click:EVENT_KEY' });
    });

    it('keeps mentions and unknown types as unsupported with the whole push', async () => {
      const [mention] = messages((await push(fixture('mention.json'))).events);
      expect(mention!.content).toMatchObject({ type: 'unsupported', text: '[微博 @提及 / Weibo mention] @汇流客服 我的订单什么时候发货？', raw: { type: 'mention', sender_id: USER } });
      const [card] = messages((await push(fixture('text.json').replace('"type": "text"', '"type": "card"'))).events);
      expect(card!.content).toMatchObject({ type: 'unsupported', raw: { type: 'card' } });
      const [badPosition] = messages((await push(fixture('position.json').replace('"39.982525"', '"north"'))).events);
      expect(badPosition!.content.type).toBe('unsupported');
    });

    it('keeps int64 ids exact and reads Weibo\'s created_at', () => {
      expect(parseWeiboJson('{"sender_id": 9007199254740993, "data": {"tovfid":4012345678901234567}}')).toEqual({ sender_id: '9007199254740993', data: { tovfid: '4012345678901234567' } });
      expect(parseCreatedAt('Mon Jul 16 18:09:20 +0800 2012')).toEqual(new Date('2012-07-16T10:09:20Z'));
      expect(parseCreatedAt('Tue Nov 24 09:00:00 -0500 2026')).toEqual(new Date('2026-11-24T14:00:00Z'));
      expect(parseCreatedAt('yesterday')).toBeNull();
    });

    it('skips, with a logged reason, pushes for another account', async () => {
      logs.length = 0;
      const r = await push(fixture('text.json').replace('1902538057', '1111111111'));
      expect(r.events).toEqual([]);
      expect(logs.map((l) => l.msg)).toEqual(['weibo push ignored: it is for another account than this inbox\'s accountUid']);
    });
  });

  describe('bad input', () => {
    it('refuses non-JSON, missing fields and a non-object data as malformed', async () => {
      for (const body of ['<xml/>', '[]', '{"type":"text","sender_id":1,"receiver_id":1902538057}', fixture('text.json').replace('"data": {}', '"data": "x"')]) {
        expect((await failure(push(body))).code).toBe('malformed');
      }
    });

    it('refuses an oversized body and other methods', async () => {
      expect((await failure(push(`{"pad":"${'x'.repeat(70 * 1024)}"}`))).message).toMatch(/this inbox accepts at most/);
      const put = weiboPushRequest(fixture('text.json'), APP_SECRET);
      expect((await failure(receive({ ...put, method: 'PUT' }))).code).toBe('malformed');
    });
  });

  describe('outbound', () => {
    it('replies in the documented form: URL-encoded JSON data, receiver_id, save_sender_box', async () => {
      const r = await weiboAdapter.send(outbound(), ctx());
      expect(fake.sent.at(-1)).toEqual({ receiverId: USER, type: 'text', data: { text: '您好，订单今天发出 & 明天到 100%' }, saveSenderBox: '1' });
      expect(r.externalId).toBe('wb-out:7e6d5c4b-3a29-4817-9605-f4e3d2c1b0a9');
      await weiboAdapter.send(outbound(), ctx({ config: { saveSenderBox: false } }));
      expect(fake.sent.at(-1)!.saveSenderBox).toBe('0');
      expect(fake.rejected).toEqual([]);
    });

    it('refuses a non-uid recipient, attachments and texts of 300 characters or more before calling Weibo', async () => {
      const before = fake.accepted.length;
      expect((await failure(weiboAdapter.send(outbound({ recipient: { sourceId: 'someone' } }), ctx()))).code).toBe('recipient_invalid');
      expect((await failure(weiboAdapter.send(outbound({ attachments: [{ fileName: 'a.png', contentType: 'image/png', size: 1, read: async () => Buffer.from('a'), url: 'https://x/a.png' }] }), ctx()))).code).toBe('content_unsupported');
      expect((await failure(weiboAdapter.send(outbound({ text: '字'.repeat(300) }), ctx()))).code).toBe('content_unsupported');
      await weiboAdapter.send(outbound({ text: '字'.repeat(299) }), ctx());
      expect(fake.accepted.length).toBe(before + 1);
    });

    it('maps token, rate-limit, user and system errors; unknown refusals are final with the 48-hour hint', async () => {
      const token = await failure(weiboAdapter.send(outbound(), ctx({ secrets: { ...secrets, accessToken: 'revoked-token' } })));
      expect([token.code, token.retryable]).toEqual(['unauthorized', false]);
      expect(token.message).toMatch(/开发者模式/);
      expect(token.message).not.toContain('revoked-token');
      fake.rejected.length = 0;
      fake.failNext(429);
      expect(await failure(weiboAdapter.send(outbound(), ctx()))).toMatchObject({ code: 'rate_limited', retryable: true });
      fake.failNextWith(400, 20003, 'User does not exists!');
      expect(await failure(weiboAdapter.send(outbound(), ctx()))).toMatchObject({ code: 'recipient_invalid', retryable: false });
      fake.failNextWith(200, 10001, 'System error');
      expect(await failure(weiboAdapter.send(outbound(), ctx()))).toMatchObject({ code: 'provider_error', retryable: true });
      fake.failNextWith(403, 21602, 'no quota to send message');
      const quota = await failure(weiboAdapter.send(outbound(), ctx()));
      expect([quota.code, quota.retryable]).toEqual(['provider_error', false]);
      expect(quota.message).toMatch(/no quota to send message.*48 hours/);
    });

    it('reports an unreachable Weibo as a retryable network error without the token', async () => {
      const e = await failure(weiboAdapter.send(outbound(), ctx({ config: { apiBaseUrl: 'http://127.0.0.1:9' } })));
      expect([e.code, e.retryable]).toEqual(['network', true]);
      expect(e.message).not.toContain(ACCESS_TOKEN);
    });
  });
});
