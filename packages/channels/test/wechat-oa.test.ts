/**
 * The WeChat Official Account adapter against the local fake API (fakes/wechat-fake.ts) and pushes built
 * from the documentation's examples (fixtures/wechat_oa, URLs in its README), encrypted and signed the
 * way WeChat does it with Tencent's sample account (Token "spamtest", its EncodingAESKey and AppID).
 *
 * A push takes two steps, as core runs it: `receive` verifies it and answers at once with the push as a
 * pull request; `pull` (core's durable job) builds the normalized event and delivers it. Most cases below
 * run both (`handle`) and check the events; "answering within WeChat's 5 seconds" checks the split.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type {
  ChannelAdapter, ChannelContext, ChannelEvent, ChannelHttp, InboundHttpRequest, InboundMessageEvent, NormalizedInbound, OutboundAttachment, OutboundMessage, OutboundHttpResponse, PollSink, PullRequest, SharedTokens,
} from '../src/adapter.ts';
import { ChannelError } from '../src/adapter.ts';
import { decryptMessage, parseEncodingAesKey, wechatSignature } from '../src/wechat/crypto.ts';
import { parseWechatXml, xmlText } from '../src/wechat/xml.ts';
import { wechatOaAdapter, type WechatOaConfig } from '../src/wechat-oa/index.ts';
import { pullToPush, pushToPull } from '../src/wechat-oa/pull.ts';
import { forgetUnionIds } from '../src/wechat-oa/unionid.ts';
import { adapterFor } from '../src/registry.ts';
import { describeChannelContract, httpFailingOnce, testHttp } from './contract.ts';
import { startFakeServer } from './fakes/fake-server.ts';
import { startWechatFake, wechatPushRequest, wechatVerification, type PushOptions, type WechatAccount, type WechatFake } from './fakes/wechat-fake.ts';
import { memoryTokens } from './memory-tokens.ts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/wechat_oa/${name}`, import.meta.url), 'utf8');
const sample = JSON.parse(fixture('sample.json')) as { token: string; encoding_aes_key: string; app_id: string };
const apiExamples = JSON.parse(fixture('api-examples.json')) as Record<string, Record<string, unknown>>;
const APP_SECRET = 'a6f1e0d3c2b14f5e9d8c7b6a5f4e3d2c';
const account: WechatAccount = { token: sample.token, appId: sample.app_id, encodingAesKey: sample.encoding_aes_key };
const secrets = { appSecret: APP_SECRET, token: sample.token, encodingAesKey: sample.encoding_aes_key };
const OPENID = 'oyORnuP8q7ou2gfYjqLzSIWZf0rs';

/** A sink keeping what a pull delivers, batch by batch. The WeChat OA pull keeps no cursor. */
function memorySink(): PollSink & { batches: NormalizedInbound[][] } {
  const batches: NormalizedInbound[][] = [];
  return {
    batches,
    state: { get: async () => null, set: async () => { throw new Error('the WeChat OA pull saves no cursor'); } },
    deliver: async (events) => { batches.push(events); },
  };
}

/**
 * A push as core handles it: `receive` gives the answer and the pulls; each pull, stored as JSON in the
 * job table, is then run by `pull`, and the events it delivers are collected.
 */
async function receiveAndPull(req: InboundHttpRequest, c: ChannelContext<WechatOaConfig>): Promise<{ response: OutboundHttpResponse; pulls: PullRequest[]; events: NormalizedInbound[] }> {
  const result = await wechatOaAdapter.receive!(req, c);
  const pulls = result.pulls ?? [];
  const sink = memorySink();
  for (const request of pulls) await wechatOaAdapter.pull!(JSON.parse(JSON.stringify(request)) as PullRequest, c, sink);
  return { response: result.response, pulls, events: [...result.events, ...sink.batches.flat()] };
}

/** The contract reads a push's events from `receive`; here they come from the pull it returns, run as core runs it. */
const receiveThenPull: ChannelAdapter<WechatOaConfig> = {
  ...wechatOaAdapter,
  receive: async (req, c) => {
    const { response, events } = await receiveAndPull(req, c);
    return { response, events };
  },
};

describeChannelContract<WechatOaConfig>({
  adapter: receiveThenPull,
  startFake: () => startWechatFake({ appId: sample.app_id, appSecret: APP_SECRET }),
  context: (fake) => ({ config: wechatOaAdapter.configSchema.parse({ appId: sample.app_id, apiBaseUrl: fake.baseUrl, fetchUnionId: false }), secrets: { ...secrets } }),
  invalidConfig: { appId: sample.app_id, encryptionMode: 'safe', originalId: 'gh_10f6c3c3ac5a' },
  webhook: {
    textMessage: () => wechatPushRequest(fixture('text.xml'), account, { mode: 'safe' }),
    expectText: { externalId: '1234567890123456', sourceId: 'fromUser', text: 'this is a test' },
    forged: () => wechatPushRequest(fixture('text.xml'), { ...account, token: 'guessedtoken' }, { mode: 'safe' }),
    malformed: () => wechatPushRequest('{"MsgType":"text","Content":"not XML"}', account, { mode: 'safe' }),
    unknownType: () => wechatPushRequest(fixture('text.xml').replace('<![CDATA[text]]>', '<![CDATA[hologram]]>'), account, { mode: 'safe' }),
  },
  recipient: OPENID,
});

describe('wechat_oa adapter', () => {
  let fake: WechatFake;
  const logs: Array<{ level: string; obj: object; msg: string }> = [];
  const logger = {
    info: (obj: object, msg: string) => { logs.push({ level: 'info', obj, msg }); },
    warn: (obj: object, msg: string) => { logs.push({ level: 'warn', obj, msg }); },
    error: (obj: object, msg: string) => { logs.push({ level: 'error', obj, msg }); },
  };
  let tokens: ReturnType<typeof memoryTokens>;
  const ctx = (over: { config?: Record<string, unknown>; secrets?: Record<string, string>; now?: Date; http?: ChannelHttp; tokens?: SharedTokens } = {}): ChannelContext<WechatOaConfig> => ({
    config: wechatOaAdapter.configSchema.parse({ appId: sample.app_id, apiBaseUrl: fake.baseUrl, fetchUnionId: false, ...over.config }),
    secrets: over.secrets ?? secrets,
    http: over.http ?? testHttp,
    webhookUrl: 'https://huiliu.example.com/api/channels/v1/wx-inbox/webhook',
    now: () => over.now ?? new Date(),
    logger,
    tokens: over.tokens ?? tokens,
  });
  /** Only the webhook's half: verification, the answer and the pulls. */
  const receive = (req: InboundHttpRequest, c = ctx()) => wechatOaAdapter.receive!(req, c);
  /** Both halves: the answer, and the events the pull job delivers. */
  const handle = (req: InboundHttpRequest, c = ctx()) => receiveAndPull(req, c);
  const push = (file: string, o: Partial<PushOptions> = {}, c = ctx()) => handle(wechatPushRequest(fixture(file), account, { mode: 'safe', ...o }), c);
  const onlyEvent = async (file: string, o: Partial<PushOptions> = {}, c = ctx()) => {
    const r = await push(file, o, c);
    expect(r.events).toHaveLength(1);
    return { result: r, event: r.events[0]! };
  };
  const verification = (query: Record<string, string>): InboundHttpRequest => ({
    method: 'GET', url: `/api/channels/v1/wx-inbox/webhook?${new URLSearchParams(query)}`, query, headers: {}, rawBody: Buffer.alloc(0),
  });
  const outbound = (over: Partial<OutboundMessage> & { card?: unknown } = {}): OutboundMessage => ({
    idempotencyKey: '7c9e6679-7425-40de-944b-e07fc1f90ae7', conversationId: '5d0c2c4e-7b1a-4f3e-9c2d-8e7f6a5b4c3d', createdAt: new Date('2026-11-21T08:00:00Z'), recipient: { sourceId: OPENID }, text: '您好，已为您查询 / we looked it up', attachments: [], ...over,
  });
  const attachment = (fileName: string, contentType: string, bytes: Buffer): OutboundAttachment => ({
    fileName, contentType, size: bytes.length, read: async () => bytes, url: `https://huiliu.example.com/files/${fileName}`,
  });
  const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a ChannelError'); }, (e: unknown) => {
    expect(e).toBeInstanceOf(ChannelError);
    return e as ChannelError;
  });
  const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('JFIF customer photo'), Buffer.from([0xff, 0xd9])]);

  beforeAll(async () => { fake = await startWechatFake({ appId: sample.app_id, appSecret: APP_SECRET }); });
  afterAll(async () => { await fake.close(); });
  beforeEach(() => {
    tokens = memoryTokens();
    forgetUnionIds();
    logs.length = 0;
    fake.rejected.length = 0;
  });

  it('is registered under its kind', () => {
    expect(adapterFor('wechat_oa')).toBe(wechatOaAdapter);
  });

  describe('settings', () => {
    it('defaults to safe mode, a 5-minute timestamp window, UnionID lookups and WeChat\'s 48 h / 5 messages rule', () => {
      const config = wechatOaAdapter.configSchema.parse({ appId: sample.app_id });
      expect(config).toEqual({
        appId: sample.app_id, encryptionMode: 'safe', timestampToleranceSeconds: 300, fetchUnionId: true,
        sendWindowHours: 48, maxMessagesPerCustomerMessage: 5, apiBaseUrl: 'https://api.weixin.qq.com',
      });
      expect(wechatOaAdapter.capabilities(config)).toMatchObject({
        contentTypes: ['text', 'image', 'card'], sendWindow: { hours: 48, maxMessages: 5, outside: 'blocked' }, templates: false, deliveryReports: false,
      });
      const custom = wechatOaAdapter.configSchema.parse({ appId: sample.app_id, sendWindowHours: 24, maxMessagesPerCustomerMessage: 20 });
      expect(wechatOaAdapter.capabilities(custom).sendWindow).toEqual({ hours: 24, maxMessages: 20, outside: 'blocked' });
    });

    it('refuses an AppID that is not one, a window beyond WeChat\'s 48 hours and an unknown mode, naming the field', () => {
      const bad = wechatOaAdapter.configSchema.safeParse({ appId: 'gh_10f6c3c3ac5a' });
      expect(bad.success).toBe(false);
      expect(JSON.stringify(bad.error?.issues)).toContain('appId');
      expect(wechatOaAdapter.configSchema.safeParse({ appId: sample.app_id, sendWindowHours: 72 }).success).toBe(false);
      expect(wechatOaAdapter.configSchema.safeParse({ appId: sample.app_id, encryptionMode: 'aes' }).success).toBe(false);
      expect(wechatOaAdapter.secrets.map((s) => [s.name, s.required])).toEqual([['appSecret', true], ['token', true], ['encodingAesKey', true]]);
    });
  });

  describe('server URL verification (GET)', () => {
    it('answers echostr as text/plain when the signature matches the Token, in every mode', async () => {
      for (const encryptionMode of ['safe', 'compatible', 'plain']) {
        const r = await receive(verification(wechatVerification(sample.token, '5838479218127813673')), ctx({ config: { encryptionMode } }));
        expect(r).toEqual({ response: { status: 200, contentType: 'text/plain', body: '5838479218127813673' }, events: [] });
      }
    });

    it('refuses another Token\'s signature, a missing parameter, a stale timestamp and a strange echostr', async () => {
      const wrong = await failure(receive(verification(wechatVerification('othertoken', '123'))));
      expect(wrong.code).toBe('signature_invalid');
      const { echostr: _e, ...incomplete } = wechatVerification(sample.token, '123');
      expect((await failure(receive(verification(incomplete)))).code).toBe('malformed');
      const stale = wechatVerification(sample.token, '123', { timestamp: String(Math.floor(Date.now() / 1000) - 3600) });
      expect((await failure(receive(verification(stale)))).code).toBe('replayed');
      expect((await failure(receive(verification(wechatVerification(sample.token, '<script>'))))).code).toBe('malformed');
    });
  });

  describe('answering within WeChat\'s 5 seconds (receive answers, the pull job does the slow part)', () => {
    /** An HTTP client that records and refuses every call: receive must not need WeChat's API. */
    const noNetwork = () => {
      const calls: string[] = [];
      const http: ChannelHttp = async (url) => { calls.push(url); throw new Error('receive called out'); };
      return { calls, http };
    };
    const SCANCODE_PUSH = [
      // The scancode_push example of https://developers.weixin.qq.com/doc/offiaccount/Custom_Menus/Custom_Menu_Push_Events.html
      '<xml><ToUserName><![CDATA[gh_e136c6e50636]]></ToUserName>',
      '<FromUserName><![CDATA[oMgHVjngRipVsoxg6TuX3vz6glDg]]></FromUserName>',
      '<CreateTime>1408090502</CreateTime>',
      '<MsgType><![CDATA[event]]></MsgType>',
      '<Event><![CDATA[scancode_push]]></Event>',
      '<EventKey><![CDATA[6]]></EventKey>',
      '<ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType>',
      '<ScanResult><![CDATA[1]]></ScanResult>',
      '</ScanCodeInfo>',
      '</xml>',
    ].join('\n');

    it('receive answers "success" with no events and the push\'s fields as one pull, calling nothing — even with UnionID lookups on and media to download', async () => {
      const net = noNetwork();
      const r = await receive(wechatPushRequest(fixture('image.xml'), account, { mode: 'safe' }), ctx({ config: { fetchUnionId: true }, http: net.http }));
      expect(r).toEqual({
        response: { status: 200, contentType: 'text/plain', body: 'success' },
        events: [],
        pulls: [{ ToUserName: 'toUser', FromUserName: 'fromUser', CreateTime: '1348831860', MsgType: 'image', PicUrl: 'this is a url', MediaId: 'media_id', MsgId: '1234567890123456' }],
      });
      expect(net.calls).toEqual([]);
      expect(tokens.refreshes).toBe(0);
    });

    it('receive answers a follow with the encrypted welcome reply at once; the pull records the follow', async () => {
      const net = noNetwork();
      const c = ctx({ config: { welcomeMessage: '欢迎关注', fetchUnionId: true }, http: net.http });
      const r = await receive(wechatPushRequest(fixture('event-subscribe.xml'), account, { mode: 'safe' }), c);
      expect(r.events).toEqual([]);
      expect(r.response.contentType).toBe('application/xml');
      expect(Object.keys(parseWechatXml(r.response.body))).toEqual(['Encrypt', 'MsgSignature', 'TimeStamp', 'Nonce']);
      expect(r.pulls).toEqual([{ ToUserName: 'toUser', FromUserName: 'FromUser', CreateTime: '123456789', MsgType: 'event', Event: 'subscribe' }]);
      const sink = memorySink();
      await wechatOaAdapter.pull!(r.pulls![0]!, c, sink);
      expect(sink.batches).toEqual([[{ kind: 'event', externalId: 'FromUser:123456789:subscribe', event: 'subscribe', sender: { sourceId: 'FromUser' }, at: new Date(123456789 * 1000) }]]);
      expect(net.calls).toEqual([]);
    });

    it('pull looks up the UnionID and delivers the message with its MediaId, which core\'s ingest then downloads', async () => {
      fake.addFollower('fromUser', 'o6_bmasdasdsad6_2sgVt7hMZOPfL');
      const c = ctx({ config: { fetchUnionId: true } });
      const { pulls } = await receive(wechatPushRequest(fixture('image.xml'), account, { mode: 'safe' }), c);
      const lookups = fake.userInfoLookups.length;
      const downloads = fake.downloads.length;
      const sink = memorySink();
      await wechatOaAdapter.pull!(JSON.parse(JSON.stringify(pulls![0])) as PullRequest, c, sink);
      expect(sink.batches).toEqual([[{
        kind: 'message', externalId: '1234567890123456',
        sender: { sourceId: 'fromUser', verifiedKeys: [{ kind: 'unionid', value: 'o6_bmasdasdsad6_2sgVt7hMZOPfL' }] },
        content: { type: 'image', media: [{ ref: 'media_id' }] }, sentAt: new Date(1348831860 * 1000),
      }]]);
      expect(fake.userInfoLookups.length - lookups).toBe(1);
      expect(fake.downloads.length).toBe(downloads);
      expect(fake.rejected).toEqual([]);
    });

    it('keeps a push\'s nested elements (menu scan events) through the job table', async () => {
      const doc = parseWechatXml(SCANCODE_PUSH);
      const r = await handle(wechatPushRequest(SCANCODE_PUSH, account, { mode: 'safe' }));
      expect(r.pulls).toEqual([{
        ToUserName: 'gh_e136c6e50636', FromUserName: 'oMgHVjngRipVsoxg6TuX3vz6glDg', CreateTime: '1408090502', MsgType: 'event', Event: 'scancode_push', EventKey: '6',
        ScanCodeInfo: '{"ScanType":"qrcode","ScanResult":"1"}', '@json': 'ScanCodeInfo',
      }]);
      expect(r.events).toEqual([{ kind: 'event', externalId: 'oMgHVjngRipVsoxg6TuX3vz6glDg:1408090502:scancode_push', event: 'scancode_push: 6', sender: { sourceId: 'oMgHVjngRipVsoxg6TuX3vz6glDg' }, at: new Date(1408090502 * 1000) }]);
      expect(pullToPush(JSON.parse(JSON.stringify(pushToPull(doc))) as PullRequest)).toEqual(doc);
      // A message of an unknown type keeps the whole push, nested parts as they came.
      const unknown = await handle(wechatPushRequest(SCANCODE_PUSH.replace('<![CDATA[event]]>', '<![CDATA[hologram]]>'), account, { mode: 'safe' }));
      expect((unknown.events[0] as InboundMessageEvent).content).toEqual({ type: 'unsupported', text: '[WeChat hologram message]', raw: { type: 'hologram', ...doc, MsgType: 'hologram' } });
    });

    it('pull refuses a request it did not write as final, and fails when delivery fails so core retries the job', async () => {
      const foreign = await failure(wechatOaAdapter.pull!({ FromUserName: 'fromUser', MsgType: 'text', CreateTime: 1348831860 }, ctx(), memorySink()));
      expect([foreign.code, foreign.retryable]).toEqual(['malformed', false]);
      const noSender = await failure(wechatOaAdapter.pull!({ MsgType: 'text', Content: 'hello' }, ctx(), memorySink()));
      expect([noSender.code, noSender.retryable]).toEqual(['malformed', false]);
      const storageDown: PollSink = { ...memorySink(), deliver: async () => { throw new Error('database unavailable'); } };
      await expect(wechatOaAdapter.pull!(pushToPull(parseWechatXml(fixture('text.xml'))), ctx(), storageDown)).rejects.toThrow('database unavailable');
    });
  });

  describe('message types (safe mode, documentation examples)', () => {
    const cases: Array<[string, InboundMessageEvent['content'], number]> = [
      ['text.xml', { type: 'text', text: 'this is a test' }, 1348831860],
      ['image.xml', { type: 'image', media: [{ ref: 'media_id' }] }, 1348831860],
      ['voice.xml', { type: 'audio', media: [{ ref: 'media_id' }] }, 1357290913],
      ['voice-recognition.xml', { type: 'audio', text: '腾讯微信团队', media: [{ ref: 'media_id' }] }, 1357290913],
      ['video.xml', { type: 'video', media: [{ ref: 'media_id' }] }, 1357290913],
      ['shortvideo.xml', { type: 'video', media: [{ ref: 'media_id' }] }, 1357290913],
      ['location.xml', { type: 'location', location: { latitude: 23.134521, longitude: 113.358803, address: '位置信息' } }, 1351776360],
      ['link.xml', { type: 'card', card: { title: '公众平台官网链接', description: '公众平台官网链接', url: 'url' } }, 1351776360],
    ];
    for (const [file, content, createTime] of cases) {
      it(`${file} → ${content.type}, deduplicated by MsgId, answered "success"`, async () => {
        const { result, event } = await onlyEvent(file);
        expect(event).toEqual({ kind: 'message', externalId: '1234567890123456', sender: { sourceId: 'fromUser' }, content, sentAt: new Date(createTime * 1000) });
        expect(result.response).toEqual({ status: 200, contentType: 'text/plain', body: 'success' });
      });
    }

    it('keeps an unknown message type as unsupported content with the whole push', async () => {
      const r = await handle(wechatPushRequest(fixture('text.xml').replace('<![CDATA[text]]>', '<![CDATA[miniprogrampage]]>'), account, { mode: 'safe' }));
      const m = r.events[0] as InboundMessageEvent;
      expect(m.content).toEqual({ type: 'unsupported', text: '[WeChat miniprogrampage message]', raw: expect.objectContaining({ type: 'miniprogrampage', MsgType: 'miniprogrampage', Content: 'this is a test', MsgId: '1234567890123456' }) });
    });

    it('keeps a 19-digit MsgId exactly (beyond a JavaScript number)', async () => {
      const r = await handle(wechatPushRequest(fixture('text.xml').replace('1234567890123456', '6054768590064713728'), account, { mode: 'safe' }));
      expect(r.events[0]!.externalId).toBe('6054768590064713728');
    });
  });

  describe('events', () => {
    const cases: Array<[string, string, string]> = [
      ['event-subscribe.xml', 'subscribe', 'FromUser:123456789:subscribe'],
      ['event-subscribe-qrscene.xml', 'subscribe (QR code scene 123123)', 'FromUser:123456789:subscribe'],
      ['event-unsubscribe.xml', 'unsubscribe', 'FromUser:123456789:unsubscribe'],
      ['event-scan.xml', 'scan (QR code scene SCENE_VALUE)', 'FromUser:123456789:SCAN'],
      ['event-click.xml', 'menu click: EVENTKEY', 'FromUser:123456789:CLICK'],
      ['event-view.xml', 'menu link: www.qq.com', 'FromUser:123456789:VIEW'],
      ['event-location.xml', 'location report: 23.137466, 113.352425 (precision 119.385040)', 'fromUser:123456789:LOCATION'],
    ];
    for (const [file, name, externalId] of cases) {
      it(`${file} → event "${name}", deduplicated by FromUserName + CreateTime + Event`, async () => {
        const { event, result } = await onlyEvent(file);
        expect(event).toEqual({ kind: 'event', externalId, event: name, sender: { sourceId: externalId.split(':')[0]! }, at: new Date(123456789 * 1000) } satisfies ChannelEvent);
        expect(result.response.body).toBe('success');
      });
    }

    it('a push retried by WeChat (new timestamp and nonce) yields the same dedupe key', async () => {
      const first = await push('text.xml', { timestamp: String(Math.floor(Date.now() / 1000) - 10), nonce: '111' });
      const retry = await push('text.xml', { nonce: '222' });
      expect(retry.events[0]!.externalId).toBe(first.events[0]!.externalId);
      const ev1 = await push('event-subscribe.xml', { nonce: '333' });
      const ev2 = await push('event-subscribe.xml', { nonce: '444' });
      expect(ev2.events[0]!.externalId).toBe(ev1.events[0]!.externalId);
    });
  });

  describe('welcome message (passive reply to subscribe)', () => {
    const welcome = '欢迎关注汇流！有问题随时留言 / Welcome!';

    it('answers a subscribe push in safe mode with the reply encrypted and signed as documented', async () => {
      const now = new Date();
      const { result } = await onlyEvent('event-subscribe.xml', {}, ctx({ config: { welcomeMessage: welcome }, now }));
      expect(result.response.contentType).toBe('application/xml');
      const outer = parseWechatXml(result.response.body);
      expect(Object.keys(outer)).toEqual(['Encrypt', 'MsgSignature', 'TimeStamp', 'Nonce']);
      const [encrypt, signature, timestamp, nonce] = ['Encrypt', 'MsgSignature', 'TimeStamp', 'Nonce'].map((k) => xmlText(outer, k)) as [string, string, string, string];
      expect(timestamp).toBe(String(Math.floor(now.getTime() / 1000)));
      expect(signature).toBe(wechatSignature(sample.token, timestamp, nonce, encrypt));
      const inner = parseWechatXml(decryptMessage(parseEncodingAesKey(sample.encoding_aes_key), encrypt, sample.app_id));
      expect(inner).toEqual({ ToUserName: 'FromUser', FromUserName: 'toUser', CreateTime: timestamp, MsgType: 'text', Content: welcome });
    });

    it('answers in plain XML to a plain push, and "success" to other events or without a welcome message', async () => {
      const plain = ctx({ config: { welcomeMessage: welcome, encryptionMode: 'plain' } });
      const { result } = await onlyEvent('event-subscribe-qrscene.xml', { mode: 'plain' }, plain);
      expect(parseWechatXml(result.response.body)).toMatchObject({ ToUserName: 'FromUser', FromUserName: 'toUser', MsgType: 'text', Content: welcome });
      expect((await push('event-scan.xml', {}, ctx({ config: { welcomeMessage: welcome } }))).response.body).toBe('success');
      expect((await push('text.xml', {}, ctx({ config: { welcomeMessage: welcome } }))).response.body).toBe('success');
      expect((await push('event-subscribe.xml', {}, ctx({ config: { welcomeMessage: '  ' } }))).response.body).toBe('success');
    });
  });

  describe('encryption modes and signatures', () => {
    it('plain mode: accepts a plain push with the right signature, refuses a wrong one', async () => {
      const plain = ctx({ config: { encryptionMode: 'plain' } });
      const { event } = await onlyEvent('text.xml', { mode: 'plain' }, plain);
      expect(event).toMatchObject({ kind: 'message', content: { type: 'text', text: 'this is a test' } });
      const forged = wechatPushRequest(fixture('text.xml'), { ...account, token: 'guessedtoken' }, { mode: 'plain' });
      expect((await failure(receive(forged, plain))).code).toBe('signature_invalid');
    });

    it('safe and compatible inboxes refuse an unencrypted push, whose signature does not cover the body', async () => {
      for (const encryptionMode of ['safe', 'compatible']) {
        const e = await failure(push('text.xml', { mode: 'plain' }, ctx({ config: { encryptionMode } })));
        expect(e.code).toBe('signature_invalid');
        expect(e.message).toContain(`expects ${encryptionMode} mode`);
      }
    });

    it('compatible mode: reads only the signed, encrypted copy, not the plaintext fields beside it', async () => {
      const req = wechatPushRequest(fixture('text.xml'), account, { mode: 'compatible' });
      const body = req.rawBody.toString();
      expect(body).toContain('<Content><![CDATA[this is a test]]></Content>');
      expect(body).toContain('<Encrypt>');
      const swapped = { ...req, rawBody: Buffer.from(body.replace('this is a test', 'transfer money to account 123')) };
      const r = await handle(swapped, ctx({ config: { encryptionMode: 'compatible' } }));
      expect((r.events[0] as InboundMessageEvent).content).toEqual({ type: 'text', text: 'this is a test' });
    });

    it('an encrypted push also works for an inbox still set to plain (the stronger form is always accepted)', async () => {
      const { event } = await onlyEvent('text.xml', { mode: 'safe' }, ctx({ config: { encryptionMode: 'plain' } }));
      expect(event.kind).toBe('message');
    });

    it('refuses a push encrypted for another AppID even with a valid msg_signature', async () => {
      const e = await failure(push('text.xml', { encryptFor: 'wx0000000000000000' }));
      expect(e.code).toBe('signature_invalid');
      expect(e.message).toContain('another account');
    });

    it('refuses tampered ciphertext: with the original msg_signature as a forgery, re-signed as undecryptable', async () => {
      const flip = (encrypt: string) => {
        const bytes = Buffer.from(encrypt, 'base64');
        bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
        return bytes.toString('base64');
      };
      // Re-signed: someone who knows the Token but not the EncodingAESKey.
      const resigned = await failure(push('text.xml', { replaceEncrypt: flip }));
      expect(resigned.code).toBe('malformed');
      // The original signature over a changed ciphertext.
      const req = wechatPushRequest(fixture('text.xml'), account, { mode: 'safe' });
      const encrypt = /<Encrypt><!\[CDATA\[([^\]]+)\]\]>/.exec(req.rawBody.toString())![1]!;
      const tampered = { ...req, rawBody: Buffer.from(req.rawBody.toString().replace(encrypt, flip(encrypt))) };
      expect((await failure(receive(tampered))).code).toBe('signature_invalid');
      // No msg_signature at all.
      const { msg_signature: _m, ...unsigned } = req.query;
      expect((await failure(receive({ ...req, query: unsigned }))).code).toBe('signature_invalid');
    });

    it('refuses a stale or future timestamp as a replay; the window is configurable', async () => {
      const now = new Date('2026-11-21T08:00:00Z');
      const at = (offset: number) => String(Math.floor(now.getTime() / 1000) + offset);
      expect((await failure(push('text.xml', { timestamp: at(-301) }, ctx({ now })))).code).toBe('replayed');
      expect((await failure(push('text.xml', { timestamp: at(400) }, ctx({ now })))).code).toBe('replayed');
      expect((await push('text.xml', { timestamp: at(-299) }, ctx({ now }))).events).toHaveLength(1);
      expect((await push('text.xml', { timestamp: at(-500) }, ctx({ now, config: { timestampToleranceSeconds: 600 } }))).events).toHaveLength(1);
      const missing = wechatPushRequest(fixture('text.xml'), account, { mode: 'safe' });
      const { timestamp: _t, ...noTimestamp } = missing.query;
      expect((await failure(receive({ ...missing, query: noTimestamp }))).code).toBe('malformed');
    });

    it('refuses a request while the Token or EncodingAESKey is missing or malformed, as not configured', async () => {
      expect((await failure(push('text.xml', {}, ctx({ secrets: { appSecret: APP_SECRET, encodingAesKey: sample.encoding_aes_key } })))).code).toBe('not_configured');
      expect((await failure(push('text.xml', {}, ctx({ secrets: { appSecret: APP_SECRET, token: sample.token } })))).code).toBe('not_configured');
      expect((await failure(push('text.xml', {}, ctx({ secrets: { ...secrets, encodingAesKey: 'short' } })))).code).toBe('not_configured');
    });
  });

  describe('hostile bodies', () => {
    it('refuses XML with a DOCTYPE / external entity, outside or inside the encryption, without fetching anything', async () => {
      let hits = 0;
      const bait = await startFakeServer((_req, res) => { hits++; res.end('secret'); });
      try {
        const xxe = `<?xml version="1.0"?>\n<!DOCTYPE xml [<!ENTITY x SYSTEM "${bait.baseUrl}/x"><!ENTITY y SYSTEM "file:///etc/passwd">]>\n<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[fromUser]]></FromUserName><CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType><Content>&x;&y;</Content><MsgId>1234567890123456</MsgId></xml>`;
        const plain = wechatPushRequest(xxe, account, { mode: 'plain' });
        const outer = await failure(receive(plain, ctx({ config: { encryptionMode: 'plain' } })));
        expect(outer.code).toBe('malformed');
        expect(outer.message).toMatch(/DOCTYPE/);
        const inner = await failure(receive(wechatPushRequest(xxe, account, { mode: 'safe' })));
        expect(inner.code).toBe('malformed');
        // Entity expansion ("billion laughs"), declared in lower case.
        const laughs = '<!doctype lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><xml><Content>&lol2;</Content></xml>';
        expect((await failure(receive(wechatPushRequest(laughs, account, { mode: 'plain' }), ctx({ config: { encryptionMode: 'plain' } })))).code).toBe('malformed');
        expect(hits).toBe(0);
      } finally {
        await bait.close();
      }
    });

    it('keeps a customer\'s text that merely mentions <!DOCTYPE inside CDATA, but not a declaration hidden behind comments', async () => {
      const pasted = '<!DOCTYPE html><html><!ENTITY x "y"></html> 这个页面打不开';
      const text = await handle(wechatPushRequest(fixture('text.xml').replace('this is a test', pasted), account, { mode: 'safe' }));
      expect((text.events[0] as InboundMessageEvent).content).toEqual({ type: 'text', text: pasted });
      const hidden = `<!-- <![CDATA[ --><!DOCTYPE xml [<!ENTITY e "boom">]>${fixture('text.xml').replace('this is a test', ']]>&e;')}`;
      const refused = await failure(receive(wechatPushRequest(hidden, account, { mode: 'safe' })));
      expect([refused.code, refused.message]).toEqual(['malformed', 'XML with a DOCTYPE or entity declarations is refused']);
    });

    it('does not let a comment or CDATA opener inside an attribute value hide a DOCTYPE', async () => {
      // The parser reads attribute values as values, so the DOCTYPE between the two tags is live to it.
      for (const [open, close] of [['<!--', '-->'], ['<![CDATA[', ']]>']]) {
        const doc = fixture('text.xml').replace('<xml>', `<xml><A x="${open}"/><!DOCTYPE xml [<!ENTITY e "boom">]><B y="${close}"/>`).replace('this is a test', ']]>&e;<![CDATA[');
        const refused = await failure(receive(wechatPushRequest(doc, account, { mode: 'safe' })));
        expect([refused.code, refused.message]).toEqual(['malformed', 'XML with a DOCTYPE or entity declarations is refused']);
      }
    });

    it('refuses an oversized body before parsing it', async () => {
      const huge = fixture('text.xml').replace('this is a test', 'x'.repeat(70 * 1024));
      const e = await failure(receive(wechatPushRequest(huge, account, { mode: 'plain' }), ctx({ config: { encryptionMode: 'plain' } })));
      expect(e.code).toBe('malformed');
      expect(e.message).toMatch(/bytes/);
      expect((await failure(receive(wechatPushRequest(huge, account, { mode: 'safe' })))).code).toBe('malformed');
    });

    it('refuses a push without FromUserName or MsgType, an unknown encrypt_type and other methods', async () => {
      const noFrom = fixture('text.xml').replace(/<FromUserName>.*<\/FromUserName>/, '');
      expect((await failure(receive(wechatPushRequest(noFrom, account, { mode: 'safe', openid: 'x' })))).code).toBe('malformed');
      const req = wechatPushRequest(fixture('text.xml'), account, { mode: 'safe' });
      expect((await failure(receive({ ...req, query: { ...req.query, encrypt_type: 'rsa' } }))).code).toBe('malformed');
      expect((await failure(receive({ ...req, method: 'PUT' }))).code).toBe('malformed');
    });
  });

  describe('UnionID', () => {
    it('adds the follower\'s UnionID as a verified key, looked up once per OpenID', async () => {
      fake.addFollower('fromUser', 'o6_bmasdasdsad6_2sgVt7hMZOPfL');
      const lookups = fake.userInfoLookups.length;
      const c = ctx({ config: { fetchUnionId: true } });
      const first = (await push('text.xml', {}, c)).events[0] as InboundMessageEvent;
      expect(first.sender).toEqual({ sourceId: 'fromUser', verifiedKeys: [{ kind: 'unionid', value: 'o6_bmasdasdsad6_2sgVt7hMZOPfL' }] });
      const second = (await push('image.xml', {}, c)).events[0] as InboundMessageEvent;
      expect(second.sender.verifiedKeys).toEqual([{ kind: 'unionid', value: 'o6_bmasdasdsad6_2sgVt7hMZOPfL' }]);
      expect(fake.userInfoLookups.length - lookups).toBe(1);
      // Events carry no identity for core to resolve: no lookup for them.
      await push('event-click.xml', {}, c);
      expect(fake.userInfoLookups.length - lookups).toBe(1);
      expect(fake.rejected).toEqual([]);
    });

    it('stores the message under the OpenID alone when there is no UnionID, the lookup is forbidden or WeChat is unreachable', async () => {
      fake.addFollower('fromUser', null);
      const none = (await push('text.xml', {}, ctx({ config: { fetchUnionId: true } }))).events[0] as InboundMessageEvent;
      expect(none.sender).toEqual({ sourceId: 'fromUser' });

      forgetUnionIds();
      fake.forbidUserInfo(true);
      try {
        const forbidden = await push('text.xml', {}, ctx({ config: { fetchUnionId: true } }));
        expect((forbidden.events[0] as InboundMessageEvent).sender).toEqual({ sourceId: 'fromUser' });
        expect(logs.some((l) => l.level === 'warn' && /not permitted/.test(l.msg))).toBe(true);
        // Not asked again for a while: the next push does not wait on a refused lookup.
        const rejectedBefore = fake.rejected.length;
        await push('image.xml', {}, ctx({ config: { fetchUnionId: true } }));
        expect(fake.rejected.length).toBe(rejectedBefore);
      } finally {
        fake.forbidUserInfo(false);
      }

      forgetUnionIds();
      const down = await push('text.xml', {}, ctx({ config: { fetchUnionId: true, apiBaseUrl: 'http://127.0.0.1:9' } }));
      expect((down.events[0] as InboundMessageEvent).sender).toEqual({ sourceId: 'fromUser' });
      expect(down.response.body).toBe('success');
      fake.rejected.length = 0;
    });

    it('does not look anything up when fetchUnionId is off', async () => {
      const lookups = fake.userInfoLookups.length;
      await push('text.xml', {}, ctx({ config: { fetchUnionId: false } }));
      expect(fake.userInfoLookups.length).toBe(lookups);
    });
  });

  describe('outbound', () => {
    it('sends text in the documented custom/send shape and returns a stable id derived from our message id', async () => {
      const r = await wechatOaAdapter.send(outbound(), ctx());
      const last = fake.sent.at(-1)!;
      const documented = apiExamples.custom_send_text!;
      expect(last.body).toEqual({ ...documented, touser: OPENID, text: { content: '您好，已为您查询 / we looked it up' } });
      expect(r.externalId).toBe('wxoa:7c9e6679-7425-40de-944b-e07fc1f90ae7');
      expect((await wechatOaAdapter.send(outbound(), ctx())).externalId).toBe(r.externalId);
      expect(fake.rejected).toEqual([]);
    });

    it('gets the access token from stable_token once and reuses it', async () => {
      const before = fake.accepted.filter((a) => a.path === '/cgi-bin/stable_token').length;
      await wechatOaAdapter.send(outbound(), ctx());
      await wechatOaAdapter.send(outbound(), ctx());
      const calls = fake.accepted.filter((a) => a.path === '/cgi-bin/stable_token').slice(before);
      expect(calls.map((c) => c.body)).toEqual([{ grant_type: 'client_credential', appid: sample.app_id, secret: '<secret>', force_refresh: false }]);
      expect(tokens.refreshes).toBe(1);
    });

    it('uploads an image first (media/upload, type=image) and sends it by media_id after the text', async () => {
      const before = fake.sent.length;
      await wechatOaAdapter.send(outbound({ text: '这是发票 / the invoice', attachments: [attachment('发票.JPG', 'image/jpeg', JPEG)] }), ctx());
      const sent = fake.sent.slice(before);
      expect(sent.map((s) => s.msgtype)).toEqual(['text', 'image']);
      const mediaId = (sent[1]!.body.image as { media_id: string }).media_id;
      expect(sent[1]!.body).toEqual({ ...apiExamples.custom_send_image, touser: OPENID, image: { media_id: mediaId } });
      expect(fake.uploads.get(mediaId)).toMatchObject({ bytes: JPEG, contentType: 'image/jpeg', fileName: '发票.jpg', type: 'image' });
      expect(fake.rejected).toEqual([]);
    });

    it('uploads every image before sending anything, so a failed upload retried by core sends the text once', async () => {
      const flaky = httpFailingOnce('/cgi-bin/media/upload');
      const msg = outbound({ text: '这是发票 / the invoice', attachments: [attachment('发票.jpg', 'image/jpeg', JPEG)] });
      const before = fake.sent.length;
      const first = await failure(wechatOaAdapter.send(msg, ctx({ http: flaky })));
      expect([first.code, first.retryable]).toEqual(['network', true]);
      expect(fake.sent.length).toBe(before);
      await wechatOaAdapter.send(msg, ctx({ http: flaky }));
      expect(fake.sent.slice(before).map((s) => s.msgtype)).toEqual(['text', 'image']);
    });

    it('sends a card as a news message with one article', async () => {
      const before = fake.sent.length;
      await wechatOaAdapter.send(outbound({ text: '', card: { title: '退货流程', description: '7 天无理由退货', url: 'https://shop.example.com/returns', imageUrl: 'https://shop.example.com/r.png' } }), ctx());
      const [news] = fake.sent.slice(before);
      expect(Object.keys(news!.body)).toEqual(Object.keys(apiExamples.custom_send_news!));
      expect(news!.body.news).toEqual({ articles: [{ title: '退货流程', description: '7 天无理由退货', url: 'https://shop.example.com/returns', picurl: 'https://shop.example.com/r.png' }] });
      expect(fake.rejected).toEqual([]);
    });

    it('refuses files WeChat cannot carry, oversized images, too long text and non-OpenIDs before calling WeChat', async () => {
      const before = fake.accepted.length;
      const pdf = await failure(wechatOaAdapter.send(outbound({ attachments: [attachment('manual.pdf', 'application/pdf', Buffer.from('%PDF'))] }), ctx()));
      expect([pdf.code, pdf.retryable]).toEqual(['content_unsupported', false]);
      const big = await failure(wechatOaAdapter.send(outbound({ attachments: [{ ...attachment('big.png', 'image/png', Buffer.alloc(8)), size: 11 * 1024 * 1024 }] }), ctx()));
      expect(big.code).toBe('media_too_large');
      expect((await failure(wechatOaAdapter.send(outbound({ text: 'x'.repeat(2049) }), ctx()))).code).toBe('content_unsupported');
      expect((await failure(wechatOaAdapter.send(outbound({ recipient: { sourceId: 'someone@example.com' } }), ctx()))).code).toBe('recipient_invalid');
      expect((await failure(wechatOaAdapter.send(outbound({ text: ' ' }), ctx()))).code).toBe('content_unsupported');
      expect(fake.accepted.length).toBe(before);
    });

    it('on 40001 (token reset elsewhere) invalidates the cached token and retries once with a fresh one', async () => {
      const c = ctx();
      await wechatOaAdapter.send(outbound(), c);
      const old = fake.currentToken;
      fake.revokeToken();
      const before = fake.sent.length;
      await wechatOaAdapter.send(outbound({ text: 'after the reset' }), c);
      expect(fake.sent.slice(before).map((s) => s.body.text)).toEqual([{ content: 'after the reset' }]);
      expect(fake.rejected.map((r) => r.reason)).toEqual(['access_token refused (40001)']);
      expect(fake.currentToken).not.toBe(old);
      expect(tokens.refreshes).toBe(2);
      expect(logs.some((l) => /fetching a fresh one/.test(l.msg) && JSON.stringify(l.obj) === '{"errcode":40001}')).toBe(true);
    });

    it('on 42001 (token expired early) does the same', async () => {
      const c = ctx();
      await wechatOaAdapter.send(outbound(), c);
      fake.expireToken();
      await wechatOaAdapter.send(outbound({ text: 'after expiry' }), c);
      expect(fake.sent.at(-1)!.body.text).toEqual({ content: 'after expiry' });
      expect(fake.rejected.map((r) => r.reason)).toEqual(['access_token refused (42001)']);
    });

    it('a token refused twice is final, and no message names the token', async () => {
      const stale: SharedTokens = { get: async () => 'stale-token-ZmFrZQ', invalidate: async () => {} };
      const e = await failure(wechatOaAdapter.send(outbound(), ctx({ tokens: stale })));
      expect([e.code, e.retryable]).toEqual(['unauthorized', false]);
      expect(e.message).not.toContain('stale-token-ZmFrZQ');
      expect(fake.rejected).toHaveLength(2);
      fake.rejected.length = 0;
    });

    const mapped: Array<[number, string, string, boolean]> = [
      [45015, 'response out of time limit or subscription is canceled', 'window_closed', false],
      [45047, 'out of response count limit', 'window_closed', false],
      [45009, 'reach max api daily quota limit', 'rate_limited', true],
      [45011, 'api minute-quota reach limit  mustslower  retry next minute', 'rate_limited', true],
      [-1, 'system error', 'provider_error', true],
      [40003, 'invalid openid', 'recipient_invalid', false],
      [43004, 'require subscribe', 'recipient_invalid', false],
      [45002, 'content size out of limit', 'content_unsupported', false],
      [48001, 'api unauthorized', 'unauthorized', false],
    ];
    for (const [errcode, errmsg, code, retryable] of mapped) {
      it(`maps ${errcode} (${errmsg}) to ${code}${retryable ? ', retried' : ', final'}`, async () => {
        fake.failNextWith(errcode, errmsg);
        const e = await failure(wechatOaAdapter.send(outbound(), ctx()));
        expect([e.code, e.retryable]).toEqual([code, retryable]);
        expect(e.message).toContain(String(errcode));
        if (code === 'window_closed') expect(e.message).toMatch(/once the customer sends a message/);
        expect(fake.rejected).toEqual([]);
      });
    }

    it('reports the gateway\'s 5xx as retryable', async () => {
      fake.failNext(502);
      const e = await failure(wechatOaAdapter.send(outbound(), ctx()));
      expect([e.code, e.retryable]).toEqual(['provider_error', true]);
    });

    it('redacts the access token from transport errors', async () => {
      const c = ctx();
      await wechatOaAdapter.send(outbound(), c);
      const failing: ChannelHttp = async (url) => { throw new Error(`connect ECONNRESET while calling ${url}`); };
      const e = await failure(wechatOaAdapter.send(outbound(), { ...c, http: failing }));
      expect(e.code).toBe('network');
      expect(e.message).toContain('access_token=<redacted>');
      expect(e.message).not.toContain(fake.currentToken!);
    });
  });

  describe('media download', () => {
    it('fetches a customer\'s image through media/get with the file name WeChat gives', async () => {
      const mediaId = fake.addMedia(JPEG, 'image/jpeg');
      const r = await handle(wechatPushRequest(fixture('image.xml').replace('<![CDATA[media_id]]>', `<![CDATA[${mediaId}]]>`), account, { mode: 'safe' }));
      const m = r.events[0] as InboundMessageEvent;
      if (m.content.type !== 'image') throw new Error('expected an image');
      const got = await wechatOaAdapter.fetchMedia!(m.content.media[0]!, ctx());
      expect(got).toEqual({ bytes: JPEG, contentType: 'image/jpeg', fileName: `${mediaId}.jpg` });
      expect(fake.downloads.at(-1)).toBe(mediaId);
    });

    it('follows the video_url media/get answers for a video', async () => {
      const mp4 = Buffer.from('\x00\x00\x00\x18ftypmp42 customer video', 'latin1');
      const mediaId = fake.addMedia(mp4, 'video/mp4', { video: true });
      const got = await wechatOaAdapter.fetchMedia!({ ref: mediaId }, ctx());
      expect(got.bytes.equals(mp4)).toBe(true);
      expect(got.contentType).toBe('video/mp4');
    });

    it('reports an unknown or expired media id as a final error, and retries the download once on 40001', async () => {
      const unknown = await failure(wechatOaAdapter.fetchMedia!({ ref: 'expired-media-id' }, ctx()));
      expect([unknown.code, unknown.retryable]).toEqual(['provider_error', false]);
      expect(unknown.message).toContain('40007');
      fake.rejected.length = 0;

      const c = ctx();
      const mediaId = fake.addMedia(JPEG, 'image/jpeg');
      await wechatOaAdapter.send(outbound(), c);
      fake.revokeToken();
      expect((await wechatOaAdapter.fetchMedia!({ ref: mediaId }, c)).bytes.equals(JPEG)).toBe(true);
      expect(fake.rejected.map((r) => r.reason)).toEqual(['access_token refused (40001)']);
    });
  });

  describe('test connection', () => {
    it('passes with the right AppID and AppSecret', async () => {
      expect(await wechatOaAdapter.check!(ctx())).toEqual({ ok: true });
    });

    it('names a wrong AppSecret, a wrong AppID and an IP missing from the whitelist, without echoing the secret', async () => {
      const secret = await wechatOaAdapter.check!(ctx({ secrets: { ...secrets, appSecret: 'ffffffffffffffffffffffffffffffff' } }));
      expect(secret.ok).toBe(false);
      expect(!secret.ok && secret.message).toMatch(/40125.*AppSecret is invalid/);
      expect(JSON.stringify(secret)).not.toContain('ffffffffffffffffffffffffffffffff');
      const appId = await wechatOaAdapter.check!(ctx({ config: { appId: 'wx0000000000000000' } }));
      expect(!appId.ok && appId.message).toMatch(/40013.*AppID is invalid/);
      fake.rejectCallerIp(true);
      try {
        const ip = await wechatOaAdapter.check!(ctx());
        expect(!ip.ok && ip.message).toMatch(/40164 invalid ip 127\.0\.0\.1.*add this server's IP address.*IP whitelist/);
      } finally {
        fake.rejectCallerIp(false);
      }
    });

    it('names a Token or EncodingAESKey WeChat would not accept', async () => {
      const token = await wechatOaAdapter.check!(ctx({ secrets: { ...secrets, token: 'ab' } }));
      expect(!token.ok && token.message).toMatch(/Token must be 3-32 letters or digits/);
      const key = await wechatOaAdapter.check!(ctx({ secrets: { ...secrets, encodingAesKey: 'not-a-key' } }));
      expect(!key.ok && key.message).toMatch(/EncodingAESKey/);
    });
  });
});
