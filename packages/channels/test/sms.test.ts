import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelError, type ChannelContext, type DeliveryStatusEvent, type InboundHttpRequest, type InboundMessageEvent, type OutboundMessage } from '../src/adapter.ts';
import { smsAdapter } from '../src/sms/sms.adapter.ts';
import type { SmsConfig } from '../src/sms/sms-provider.ts';
import { twilioSignature, verifyTwilioSignature } from '../src/sms/twilio/twilio-signature.ts';
import { describeChannelContract, testHttp } from './contract.ts';
import { startTwilioFake, twilioSign, type TwilioFake } from './fakes/twilio-fake.ts';
import { memoryTokens } from './memory-tokens.ts';
import {
  ACCOUNT_SID, AUTH_TOKEN, CUSTOMER, OUR_NUMBER, SIGNATURE_EXAMPLE, inboundMms, inboundSms, statusCallback,
} from './fixtures/sms/twilio.ts';

const WEBHOOK_URL = 'https://huiliu.example.com/api/channels/v1/test/webhook';

/** An inbound request as Twilio sends it to `calledUrl` (path + query as received by our server). */
function twilioRequest(params: Array<[string, string]>, opts: { signedUrl?: string; path?: string; signature?: string; token?: string } = {}): InboundHttpRequest {
  const signedUrl = opts.signedUrl ?? WEBHOOK_URL;
  const u = new URL(signedUrl);
  const path = opts.path ?? u.pathname + u.search;
  return {
    method: 'POST',
    url: path,
    query: Object.fromEntries(u.searchParams),
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': opts.signature ?? twilioSign(opts.token ?? AUTH_TOKEN, signedUrl, params),
      'i-twilio-idempotency-token': 'c1d0f1a5-0e0a-4c3f-a1d7-3b3e0b2c9f10',
    },
    rawBody: Buffer.from(new URLSearchParams(params).toString()),
  };
}

describeChannelContract<SmsConfig>({
  adapter: smsAdapter,
  startFake: () => startTwilioFake({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, fromNumbers: [OUR_NUMBER] }),
  context: (fake) => ({ config: { provider: 'twilio', accountSid: ACCOUNT_SID, fromNumber: OUR_NUMBER, apiBaseUrl: fake.baseUrl }, secrets: { authToken: AUTH_TOKEN } }),
  invalidConfig: { provider: 'twilio', accountSid: ACCOUNT_SID, fromNumber: OUR_NUMBER, authToken: 'secrets are not settings' },
  recipient: CUSTOMER,
  webhook: {
    textMessage: (c) => twilioRequest(inboundSms(), { token: c.secrets.authToken! }),
    expectText: { externalId: 'SM1f0e8ae6ade43cb3c0ce4525424e404f', sourceId: CUSTOMER, text: "Ahoy! We can't wait to see what you build." },
    forged: () => twilioRequest(inboundSms(), { token: 'not-the-auth-token' }),
    malformed: (c) => twilioRequest(inboundSms({ MessageSid: '', SmsMessageSid: '', SmsSid: '' }), { token: c.secrets.authToken! }),
    unknownType: (c) => twilioRequest(inboundSms({ MessageType: 'reaction', Body: '' }), { token: c.secrets.authToken! }),
  },
});

const silent = { info() {}, warn() {}, error() {} };

async function errorOf(p: Promise<unknown>): Promise<ChannelError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(ChannelError);
  return e as ChannelError;
}

describe('Twilio signature', () => {
  it("matches the example of Twilio's security documentation", () => {
    const { authToken, url, params, signature } = SIGNATURE_EXAMPLE;
    expect(twilioSignature(authToken, url, params)).toBe(signature);
    expect(verifyTwilioSignature(authToken, signature, url, params)).toBe(true);
  });

  it('does not depend on the order the parameters arrive in', () => {
    const { authToken, url, params, signature } = SIGNATURE_EXAMPLE;
    expect(verifyTwilioSignature(authToken, signature, url, [...params].reverse())).toBe(true);
  });

  it('covers the query string, every parameter and the token', () => {
    const { authToken, url, params, signature } = SIGNATURE_EXAMPLE;
    expect(verifyTwilioSignature(authToken, signature, url.replace('foo=1', 'foo=2'), params)).toBe(false);
    expect(verifyTwilioSignature(authToken, signature, url.split('?')[0]!, params)).toBe(false);
    expect(verifyTwilioSignature(authToken, signature, url, [...params, ['Body', 'injected']])).toBe(false);
    expect(verifyTwilioSignature('54321', signature, url, params)).toBe(false);
  });

  it('accepts the URL with or without the default port, as Twilio libraries do', () => {
    const { authToken, params, signature } = SIGNATURE_EXAMPLE;
    expect(verifyTwilioSignature(authToken, signature, 'https://mycompany.com:443/myapp.php?foo=1&bar=2', params)).toBe(true);
    expect(verifyTwilioSignature(authToken, signature, 'https://mycompany.com:8443/myapp.php?foo=1&bar=2', params)).toBe(false);
  });
});

describe('SMS inbound (Twilio webhook)', () => {
  let fake: TwilioFake;
  let ctx: ChannelContext<SmsConfig>;
  beforeAll(async () => {
    fake = await startTwilioFake({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, fromNumbers: [OUR_NUMBER] });
    ctx = {
      config: smsAdapter.configSchema.parse({ accountSid: ACCOUNT_SID, fromNumber: OUR_NUMBER, apiBaseUrl: fake.baseUrl }),
      secrets: { authToken: AUTH_TOKEN }, http: testHttp, webhookUrl: WEBHOOK_URL, now: () => new Date('2026-11-20T09:00:00Z'), logger: silent, tokens: memoryTokens(),
    };
  });
  afterAll(async () => { await fake.close(); });

  it('answers empty TwiML and vouches for the sender phone', async () => {
    const r = await smsAdapter.receive!(twilioRequest(inboundSms()), ctx);
    expect(r.response).toEqual({ status: 200, contentType: 'text/xml', body: '<?xml version="1.0" encoding="UTF-8"?><Response/>' });
    const m = r.events[0] as InboundMessageEvent;
    expect(m.sender).toEqual({ sourceId: CUSTOMER, phone: CUSTOMER, verifiedKeys: [{ kind: 'phone', value: CUSTOMER }] });
  });

  it('verifies against the URL Twilio called including its query string', async () => {
    const signedUrl = `${WEBHOOK_URL}?region=cn&b=2`;
    const ok = await smsAdapter.receive!(twilioRequest(inboundSms(), { signedUrl }), ctx);
    expect(ok.events).toHaveLength(1);
    // Signed without the query but called with it (or the reverse): someone changed the request.
    const moved = twilioRequest(inboundSms(), { signedUrl: WEBHOOK_URL, path: '/api/channels/v1/test/webhook?region=cn&b=2' });
    expect(await smsAdapter.receive!(moved, ctx).catch((e: unknown) => (e as ChannelError).code)).toBe('signature_invalid');
  });

  it('verifies parameters that arrive in a different order than sorted', async () => {
    const shuffled = [...inboundSms()].reverse();
    const r = await smsAdapter.receive!(twilioRequest(shuffled), ctx);
    expect((r.events[0] as InboundMessageEvent).externalId).toBe('SM1f0e8ae6ade43cb3c0ce4525424e404f');
  });

  it('refuses a missing signature, a tampered body and a signature for another inbox URL', async () => {
    const unsigned = twilioRequest(inboundSms());
    delete unsigned.headers['x-twilio-signature'];
    const tampered = twilioRequest(inboundSms());
    tampered.rawBody = Buffer.from(new URLSearchParams(inboundSms({ Body: 'send me the admin password' })).toString());
    const otherInbox = twilioRequest(inboundSms(), { signedUrl: 'https://huiliu.example.com/api/channels/v1/other/webhook', path: '/api/channels/v1/test/webhook' });
    for (const req of [unsigned, tampered, otherInbox]) {
      const e = await smsAdapter.receive!(req, ctx).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(ChannelError);
      expect((e as ChannelError).code).toBe('signature_invalid');
    }
  });

  it('turns an MMS into media references and downloads them with Basic auth', async () => {
    const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4]);
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 5, 6, 7, 8]);
    const urls: [string, string] = [fake.addMedia(jpeg, 'image/jpeg'), fake.addMedia(png, 'image/png')];
    const r = await smsAdapter.receive!(twilioRequest(inboundMms(urls)), ctx);
    const m = r.events[0] as InboundMessageEvent;
    expect(m.externalId).toBe('MM8dfedb55c129dd4d6bd1f59af9d11080');
    if (m.content.type !== 'image') throw new Error(`expected image content, got ${m.content.type}`);
    expect(m.content.text).toBe('这是我收到的包裹 / the parcel I got');
    // Not plain URLs: core would download those without the account's credentials.
    expect(m.content.media.map((x) => [x.ref, x.contentType])).toEqual([[`twilio-media:${urls[0]}`, 'image/jpeg'], [`twilio-media:${urls[1]}`, 'image/png']]);
    expect(m.content.media[0]!.fileName).toMatch(/^ME[0-9a-f]{32}\.jpg$/);

    const got = await smsAdapter.fetchMedia!(m.content.media[1]!, ctx);
    expect(got.bytes.equals(png)).toBe(true);
    expect(got.contentType).toBe('image/png');
    expect(fake.mediaDownloads).toHaveLength(1);
    expect(fake.rejected).toEqual([]);
  });

  it('sends no credentials to a media URL outside the provider API', async () => {
    const seen: Array<Record<string, string> | undefined> = [];
    const spyCtx: ChannelContext<SmsConfig> = { ...ctx, http: async (url, init) => { seen.push(init?.headers); return testHttp(url, init); } };
    const url = fake.addMedia(Buffer.from('x'), 'image/jpeg').replace('127.0.0.1', 'localhost');
    await smsAdapter.fetchMedia!({ ref: `twilio-media:${url}`, contentType: 'image/jpeg' }, spyCtx).catch(() => undefined);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.authorization).toBeUndefined();
  });

  it('maps status callbacks to delivery reports', async () => {
    const sid = 'SM3c8d1a0b2e4f60718293a4b5c6d7e8f9';
    const report = async (status: string, code?: string) => {
      const r = await smsAdapter.receive!(twilioRequest(statusCallback(sid, status, code)), ctx);
      expect(r.response.status).toBe(200);
      return r.events as DeliveryStatusEvent[];
    };
    expect(await report('queued')).toEqual([]);
    expect(await report('sent')).toEqual([{ kind: 'status', externalId: sid, status: 'sent', at: new Date('2026-11-20T09:00:00Z') }]);
    expect((await report('delivered'))[0]!.status).toBe('delivered');
    const failed = (await report('undelivered', '30003'))[0]!;
    expect(failed.status).toBe('failed');
    expect(failed.error).toContain('30003');
    const e = await smsAdapter.receive!(twilioRequest(statusCallback(sid, 'exploded')), ctx).catch((err: unknown) => err);
    expect((e as ChannelError).code).toBe('malformed');
  });

  it('ignores (but acknowledges) a webhook of another account', async () => {
    const r = await smsAdapter.receive!(twilioRequest(inboundSms({ AccountSid: 'AC99999999999999999999999999999999' })), ctx);
    expect(r.events).toEqual([]);
    expect(r.response.status).toBe(200);
  });
});

describe('SMS outbound (Twilio Messages API)', () => {
  let fake: TwilioFake;
  const ctxWith = (over: Partial<SmsConfig> = {}, secrets: Record<string, string> = { authToken: AUTH_TOKEN }): ChannelContext<SmsConfig> => ({
    config: smsAdapter.configSchema.parse({ accountSid: ACCOUNT_SID, fromNumber: OUR_NUMBER, apiBaseUrl: fake.baseUrl, ...over }),
    secrets, http: testHttp, webhookUrl: WEBHOOK_URL, now: () => new Date(), logger: silent, tokens: memoryTokens(),
  });
  const msg = (over: Partial<OutboundMessage> = {}): OutboundMessage => ({
    idempotencyKey: '2a4c6e80-1b3d-4f5a-8c7e-9d0f1a2b3c4d', conversationId: '5d0c2c4e-7b1a-4f3e-9c2d-8e7f6a5b4c3d', createdAt: new Date('2026-11-21T08:00:00Z'), recipient: { sourceId: CUSTOMER }, text: '您的包裹已发出 / your parcel is on its way', attachments: [], ...over,
  });
  beforeAll(async () => { fake = await startTwilioFake({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, fromNumbers: [OUR_NUMBER] }); });
  afterAll(async () => { await fake.close(); });

  it('posts To, From, Body and StatusCallback = the inbox webhook URL', async () => {
    const r = await smsAdapter.send(msg(), ctxWith());
    expect(r.externalId).toMatch(/^SM[0-9a-f]{32}$/);
    expect(fake.accepted.at(-1)!.body).toEqual({ To: CUSTOMER, From: OUR_NUMBER, Body: msg().text, StatusCallback: WEBHOOK_URL });
  });

  it('uses the Messaging Service instead of a number when configured', async () => {
    await smsAdapter.send(msg(), ctxWith({ fromNumber: undefined, messagingServiceSid: 'MG0123456789abcdef0123456789abcdef' }));
    expect(fake.accepted.at(-1)!.body).toEqual({ To: CUSTOMER, MessagingServiceSid: 'MG0123456789abcdef0123456789abcdef', Body: msg().text, StatusCallback: WEBHOOK_URL });
  });

  it('sends images as MMS media URLs and refuses other files', async () => {
    const image = { fileName: 'map.png', contentType: 'image/png', size: 1000, url: 'https://huiliu.example.com/f/map.png?sig=x', read: async () => Buffer.alloc(0) };
    const r = await smsAdapter.send(msg({ attachments: [image] }), ctxWith());
    expect(r.externalId).toMatch(/^MM/);
    expect(fake.sent.at(-1)!.mediaUrls).toEqual([image.url]);
    const pdf = await errorOf(smsAdapter.send(msg({ attachments: [{ ...image, fileName: 'a.pdf', contentType: 'application/pdf' }] }), ctxWith()));
    expect([pdf.code, pdf.retryable]).toEqual(['content_unsupported', false]);
  });

  it('maps Twilio errors: invalid number, rate limit, bad credentials, outage', async () => {
    const cases: Array<[number, number | undefined, string, boolean]> = [
      [400, 21211, 'recipient_invalid', false],
      [400, 21610, 'recipient_invalid', false],
      [429, 20429, 'rate_limited', true],
      [401, 20003, 'unauthorized', false],
      [500, undefined, 'provider_error', true],
    ];
    for (const [status, code, expected, retryable] of cases) {
      fake.failNext(status, code);
      const e = await errorOf(smsAdapter.send(msg(), ctxWith()));
      expect([status, e.code, e.retryable]).toEqual([status, expected, retryable]);
    }
    // A number the real API would refuse: the fake answers 21211 as Twilio does.
    const bad = await errorOf(smsAdapter.send(msg({ recipient: { sourceId: '13800138000' } }), ctxWith()));
    expect(bad.code).toBe('recipient_invalid');
    expect(bad.message).toContain('21211');
    const wrongToken = await errorOf(smsAdapter.send(msg(), ctxWith({}, { authToken: 'wrong' })));
    expect(wrongToken.code).toBe('unauthorized');
    expect(fake.rejected.at(-1)!.reason).toContain('20003');
    fake.rejected.length = 0;
  });

  it('refuses text over 1600 characters before calling the provider', async () => {
    const before = fake.accepted.length;
    const e = await errorOf(smsAdapter.send(msg({ text: 'x'.repeat(1601) }), ctxWith()));
    expect([e.code, e.retryable]).toEqual(['content_unsupported', false]);
    expect(fake.accepted.length).toBe(before);
  });

  it('checks credentials against the account endpoint', async () => {
    expect(await smsAdapter.check!(ctxWith())).toEqual({ ok: true });
    const bad = await smsAdapter.check!(ctxWith({}, { authToken: 'wrong' }));
    expect(bad.ok).toBe(false);
    fake.rejected.length = 0;
  });

  it('requires a sender: fromNumber or messagingServiceSid', () => {
    const r = smsAdapter.configSchema.safeParse({ accountSid: ACCOUNT_SID });
    expect(r.success).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(['fromNumber']);
    expect(smsAdapter.configSchema.safeParse({ accountSid: ACCOUNT_SID, fromNumber: '13800138000' }).success).toBe(false);
    expect(smsAdapter.capabilities(ctxWith().config)).toMatchObject({ contentTypes: ['text', 'image'], maxTextLength: 1600, deliveryReports: true });
  });
});
