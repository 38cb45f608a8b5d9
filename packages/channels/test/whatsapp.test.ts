import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelContext, DeliveryStatusEvent, InboundHttpRequest, InboundMessageEvent, OutboundAttachment, OutboundMessage } from '../src/adapter.ts';
import { ChannelError } from '../src/adapter.ts';
import { whatsappAdapter, type WhatsAppConfig } from '../src/whatsapp/index.ts';
import { adapterFor } from '../src/registry.ts';
import { describeChannelContract, testHttp } from './contract.ts';
import { hubSignature, startWhatsAppFake, whatsappWebhookRequest, type WhatsAppFake } from './fakes/whatsapp-fake.ts';
import { memoryTokens } from './memory-tokens.ts';

const ACCESS_TOKEN = 'EAAGm0PX4ZCpsBAEXAMPLEtokenZBZCvZBtZCEZA';
const APP_SECRET = '5f3c1e0b9a8d7c6b5a4f3e2d1c0b9a8d';
const VERIFY_TOKEN = 'huiliu-verify-0f9e8d';
const PHONE_NUMBER_ID = '106540352242922';
/** Fixtures are sent byte for byte: the signature covers the exact bytes. */
const fixture = (name: string) => readFileSync(new URL(`./fixtures/whatsapp/${name}`, import.meta.url), 'utf8');
const secrets = { accessToken: ACCESS_TOKEN, appSecret: APP_SECRET, verifyToken: VERIFY_TOKEN };

describeChannelContract<WhatsAppConfig>({
  adapter: whatsappAdapter,
  startFake: () => startWhatsAppFake({ accessToken: ACCESS_TOKEN, phoneNumberId: PHONE_NUMBER_ID }),
  context: (fake) => ({ config: { graphBaseUrl: fake.baseUrl, apiVersion: 'v21.0', phoneNumberId: PHONE_NUMBER_ID }, secrets: { ...secrets } }),
  invalidConfig: { graphBaseUrl: 'https://graph.facebook.com', apiVersion: 'v21.0', phoneNumberId: PHONE_NUMBER_ID, phoneNumber: '+15550783881' },
  webhook: {
    textMessage: (c) => whatsappWebhookRequest(fixture('text-message.json'), c.secrets.appSecret!),
    expectText: { externalId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=', sourceId: '16505551234', text: 'Does it come in another color?' },
    forged: () => whatsappWebhookRequest(fixture('text-message.json'), 'not-the-app-secret'),
    malformed: (c) => whatsappWebhookRequest('{"object":"page","entry":"nope"}', c.secrets.appSecret!),
    unknownType: (c) => whatsappWebhookRequest(fixture('reaction-message.json'), c.secrets.appSecret!),
  },
  recipient: '16505551234',
});

describe('whatsapp adapter', () => {
  let fake: WhatsAppFake;
  const logs: Array<{ level: string; obj: object; msg: string }> = [];
  const logger = {
    info: (obj: object, msg: string) => { logs.push({ level: 'info', obj, msg }); },
    warn: (obj: object, msg: string) => { logs.push({ level: 'warn', obj, msg }); },
    error: (obj: object, msg: string) => { logs.push({ level: 'error', obj, msg }); },
  };
  const ctx = (over: { secrets?: Record<string, string> } = {}): ChannelContext<WhatsAppConfig> => ({
    config: whatsappAdapter.configSchema.parse({ graphBaseUrl: fake.baseUrl, apiVersion: 'v21.0', phoneNumberId: PHONE_NUMBER_ID }),
    secrets: over.secrets ?? secrets,
    http: testHttp,
    webhookUrl: 'https://huiliu.example.com/api/channels/v1/wa-inbox/webhook',
    now: () => new Date(),
    logger,
    tokens: memoryTokens(),
  });
  const receive = (req: InboundHttpRequest, c = ctx()) => whatsappAdapter.receive!(req, c);
  const post = (body: string) => receive(whatsappWebhookRequest(body, APP_SECRET));
  const verification = (query: Record<string, string>): InboundHttpRequest => ({
    method: 'GET', url: `/api/channels/v1/wa-inbox/webhook?${new URLSearchParams(query)}`, query, headers: {}, rawBody: Buffer.alloc(0),
  });
  const messages = (events: Awaited<ReturnType<typeof post>>['events']) => events.filter((e): e is InboundMessageEvent => e.kind === 'message');
  const outbound = (over: Partial<OutboundMessage> = {}): OutboundMessage => ({
    idempotencyKey: '3d0c4b2e-6a1f-4c55-8d0e-5b1f2a3c4d5e', conversationId: '5d0c2c4e-7b1a-4f3e-9c2d-8e7f6a5b4c3d', createdAt: new Date('2026-11-21T08:00:00Z'), recipient: { sourceId: '16505551234' }, text: 'Yes, it comes in blue too.', attachments: [], ...over,
  });
  const attachment = (fileName: string, contentType: string, bytes: Buffer): OutboundAttachment => ({
    fileName, contentType, size: bytes.length, read: async () => bytes, url: `https://huiliu.example.com/files/${fileName}`,
  });
  const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a ChannelError'); }, (e: unknown) => {
    expect(e).toBeInstanceOf(ChannelError);
    return e as ChannelError;
  });

  beforeAll(async () => { fake = await startWhatsAppFake({ accessToken: ACCESS_TOKEN, phoneNumberId: PHONE_NUMBER_ID }); });
  afterAll(async () => { await fake.close(); });

  it('is registered under its kind', () => {
    expect(adapterFor('whatsapp')).toBe(whatsappAdapter);
  });

  describe('webhook verification (GET)', () => {
    it('answers hub.challenge as text/plain when the verify token matches', async () => {
      const r = await receive(verification({ 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY_TOKEN, 'hub.challenge': '1158201444' }));
      expect(r).toEqual({ response: { status: 200, contentType: 'text/plain', body: '1158201444' }, events: [] });
    });

    it('refuses a wrong verify token as unauthorized and an incomplete request as malformed', async () => {
      const wrong = await failure(receive(verification({ 'hub.mode': 'subscribe', 'hub.verify_token': 'guess', 'hub.challenge': '1158201444' })));
      expect(wrong.code).toBe('unauthorized');
      const incomplete = await failure(receive(verification({ 'hub.mode': 'subscribe', 'hub.challenge': '1' })));
      expect(incomplete.code).toBe('malformed');
    });
  });

  describe('signature', () => {
    it('is computed over the exact raw bytes: the same JSON re-serialized fails', async () => {
      const raw = fixture('text-message.json');
      const signed = whatsappWebhookRequest(raw, APP_SECRET);
      expect((await receive(signed)).events).toHaveLength(1);
      const reserialized = Buffer.from(JSON.stringify(JSON.parse(raw)));
      expect(reserialized.equals(signed.rawBody)).toBe(false);
      const e = await failure(receive({ ...signed, rawBody: reserialized }));
      expect(e.code).toBe('signature_invalid');
    });

    it('refuses a missing header, a malformed header and a request while the app secret is not set', async () => {
      const raw = fixture('text-message.json');
      expect((await failure(receive(whatsappWebhookRequest(raw, null)))).message).toMatch(/no X-Hub-Signature-256/);
      const sha1 = whatsappWebhookRequest(raw, null);
      sha1.headers['x-hub-signature-256'] = hubSignature(raw, APP_SECRET).replace('sha256=', 'sha1=');
      expect((await failure(receive(sha1))).code).toBe('signature_invalid');
      const unset = await failure(receive(whatsappWebhookRequest(raw, APP_SECRET), ctx({ secrets: { accessToken: ACCESS_TOKEN, verifyToken: VERIFY_TOKEN } })));
      expect(unset.code).toBe('not_configured');
    });
  });

  describe('inbound', () => {
    it('vouches for the sender\'s phone number and names them from contacts', async () => {
      const [m] = messages((await post(fixture('text-message.json'))).events);
      expect(m!.sender).toEqual({ sourceId: '16505551234', name: 'Sheena Nelson', phone: '+16505551234', verifiedKeys: [{ kind: 'phone', value: '+16505551234' }] });
      expect(m!.sentAt.getTime()).toBe(1749416383 * 1000);
    });

    it('keeps an image with its caption and downloads it through the media URL with the bearer token', async () => {
      const jpeg = Buffer.from('\xff\xd8\xff\xe0 customer photo', 'latin1');
      const mediaId = fake.addMedia(jpeg, 'image/jpeg');
      const [m] = messages((await post(fixture('image-message.json').replace('MEDIA_ID_PLACEHOLDER', mediaId))).events);
      expect(m!.content).toEqual({ type: 'image', text: 'Here is the damaged box', media: [{ ref: mediaId, contentType: 'image/jpeg', fileName: `whatsapp-image-${mediaId}.jpg` }] });
      if (m!.content.type !== 'image') return;
      const got = await whatsappAdapter.fetchMedia!(m!.content.media[0]!, ctx());
      expect(got).toEqual({ bytes: jpeg, contentType: 'image/jpeg', fileName: `whatsapp-image-${mediaId}.jpg` });
      expect(fake.downloads).toContain(mediaId);
      expect(fake.rejected).toEqual([]);
    });

    it('reports an unknown media id as a final provider error', async () => {
      const e = await failure(whatsappAdapter.fetchMedia!({ ref: '123456789' }, ctx()));
      expect(e.code).toBe('provider_error');
      expect(e.retryable).toBe(false);
      fake.rejected.length = 0;
    });

    it('maps locations and turns button replies into text', async () => {
      const [loc] = messages((await post(fixture('location-message.json'))).events);
      expect(loc!.content).toEqual({ type: 'location', location: { latitude: 37.483307, longitude: -122.148981, name: 'Main Campus', address: '1 Hacker Way, Menlo Park, CA 94025' } });
      const [btn] = messages((await post(fixture('button-reply-message.json'))).events);
      expect(btn!.content).toEqual({ type: 'text', text: 'Change' });
    });

    it('keeps reactions and "unsupported" messages as unsupported content with the raw message', async () => {
      const [reaction] = messages((await post(fixture('reaction-message.json'))).events);
      expect(reaction!.content).toMatchObject({ type: 'unsupported', text: '[WhatsApp reaction]', raw: { type: 'reaction', reaction: { emoji: '👍' } } });
      const [unsupported] = messages((await post(fixture('unsupported-message.json'))).events);
      expect(unsupported!.content).toMatchObject({ type: 'unsupported', text: '[WhatsApp unsupported: Message type unknown]' });
    });

    it('turns statuses into delivery reports, with the error of a failed one', async () => {
      const delivered = (await post(fixture('status-delivered.json'))).events;
      expect(delivered).toEqual([{ kind: 'status', externalId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MTE5MjY5OTQ1ODg4NzQ4MQA=', status: 'delivered', at: new Date(1750263773 * 1000) }]);
      const failed = (await post(fixture('status-failed.json'))).events as DeliveryStatusEvent[];
      expect(failed).toEqual([{ kind: 'status', externalId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJCOEM1NkI4RjZBNUFCNUY0MUYA', status: 'failed', error: '131026 — Message undeliverable — Message Undeliverable.', at: new Date(1750263900 * 1000) }]);
    });

    it('reads every entry and change of one payload, skipping other fields and other phone numbers with a reason', async () => {
      logs.length = 0;
      const events = (await post(fixture('multi-entry.json'))).events;
      expect(events.map((e) => `${e.kind}:${e.externalId}`)).toEqual(['message:wamid.multi.1', 'message:wamid.multi.2', 'status:wamid.ours.1', 'message:wamid.multi.3']);
      expect((events[1] as InboundMessageEvent).sender).toMatchObject({ sourceId: '8613800138000', name: 'Wang Fang', phone: '+8613800138000' });
      expect(logs.map((l) => l.msg)).toEqual([
        'whatsapp webhook change ignored: only the "messages" field is handled',
        'whatsapp webhook change ignored: it is for another phone number than this inbox\'s (one Meta app webhook per inbox)',
      ]);
    });

    it('refuses a message without an id as malformed', async () => {
      const body = fixture('text-message.json').replace('"id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",', '');
      const e = await failure(post(body));
      expect(e.code).toBe('malformed');
    });
  });

  describe('outbound', () => {
    it('sends text in the documented shape and returns the wamid', async () => {
      const r = await whatsappAdapter.send(outbound(), ctx());
      const last = fake.sent.at(-1)!;
      expect(last.body).toEqual({ messaging_product: 'whatsapp', recipient_type: 'individual', to: '16505551234', type: 'text', text: { preview_url: false, body: 'Yes, it comes in blue too.' } });
      expect(r.externalId).toBe(last.id);
      expect(r.externalId).toMatch(/^wamid\./);
    });

    it('sends a template with the variables as body parameters', async () => {
      fake.approveTemplate('order_update', 'en_US', 2);
      await whatsappAdapter.send(outbound({ text: '', template: { name: 'order_update', language: 'en_US', variables: ['Sheena', '#4521'] } }), ctx());
      expect(fake.sent.at(-1)!.body).toEqual({
        messaging_product: 'whatsapp', recipient_type: 'individual', to: '16505551234', type: 'template',
        template: { name: 'order_update', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'Sheena' }, { type: 'text', text: '#4521' }] }] },
      });
      await whatsappAdapter.send(outbound({ text: '', template: { name: 'hello_world', language: 'en_US', variables: [] } }), ctx());
      expect(fake.sent.at(-1)!.body.template).toEqual({ name: 'hello_world', language: { code: 'en_US' } });
      expect(fake.rejected).toEqual([]);
    });

    it('uploads an image first and sends it by media id with the caption', async () => {
      const png = Buffer.from('\x89PNG\r\n\x1a\n product', 'latin1');
      const before = fake.sent.length;
      await whatsappAdapter.send(outbound({ text: 'the blue one', attachments: [attachment('blue.png', 'image/png', png)] }), ctx());
      const sent = fake.sent.slice(before);
      expect(sent).toHaveLength(1);
      const image = sent[0]!.body.image as { id: string; caption: string };
      expect(sent[0]!.body.type).toBe('image');
      expect(image.caption).toBe('the blue one');
      expect(fake.uploads.get(image.id)).toEqual({ bytes: png, contentType: 'image/png', fileName: 'blue.png' });
      expect(fake.rejected).toEqual([]);
    });

    it('sends audio without caption (the text goes first) and other files as documents with their name', async () => {
      const before = fake.sent.length;
      await whatsappAdapter.send(outbound({ text: 'listen', attachments: [attachment('note.ogg', 'audio/ogg', Buffer.from('OggS')), attachment('manual.pdf', 'application/pdf', Buffer.from('%PDF-1.7'))] }), ctx());
      const sent = fake.sent.slice(before);
      expect(sent.map((s) => s.type)).toEqual(['audio', 'document']);
      expect(sent[1]!.body.document).toMatchObject({ caption: 'listen', filename: 'manual.pdf' });
      const before2 = fake.sent.length;
      await whatsappAdapter.send(outbound({ text: 'hear this', attachments: [attachment('note.ogg', 'audio/ogg', Buffer.from('OggS'))] }), ctx());
      expect(fake.sent.slice(before2).map((s) => s.type)).toEqual(['text', 'audio']);
      expect(fake.rejected).toEqual([]);
    });

    it('maps 131047 (outside the 24 h window) to window_closed, not retried', async () => {
      const documented = JSON.parse(fixture('error-131047.json')).error as { code: number; message: string; error_data: { details: string } };
      fake.failNextWith(400, documented.code, documented.message, documented.error_data.details);
      const e = await failure(whatsappAdapter.send(outbound(), ctx()));
      expect(e.code).toBe('window_closed');
      expect(e.retryable).toBe(false);
      expect(e.message).toContain('more than 24 hours have passed');
    });

    it('maps 131026 to recipient_invalid and 130429 / 131048 to retryable rate limits', async () => {
      fake.failNextWith(400, 131026, '(#131026) Message undeliverable', 'Message Undeliverable.');
      const undeliverable = await failure(whatsappAdapter.send(outbound(), ctx()));
      expect([undeliverable.code, undeliverable.retryable]).toEqual(['recipient_invalid', false]);
      fake.failNext(429);
      const throughput = await failure(whatsappAdapter.send(outbound(), ctx()));
      expect([throughput.code, throughput.retryable]).toEqual(['rate_limited', true]);
      fake.failNextWith(400, 131048, '(#131048) Spam rate limit hit', 'Message failed to send because there are restrictions on how many messages can be sent from this phone number.');
      const spam = await failure(whatsappAdapter.send(outbound(), ctx()));
      expect([spam.code, spam.retryable]).toEqual(['rate_limited', true]);
    });

    it('refuses an unknown template with the platform\'s reason, and a bad token as unauthorized', async () => {
      const tpl = await failure(whatsappAdapter.send(outbound({ template: { name: 'nope', language: 'en_US', variables: [] } }), ctx()));
      expect(tpl.code).toBe('provider_error');
      expect(tpl.retryable).toBe(false);
      expect(tpl.message).toContain('132001');
      const auth = await failure(whatsappAdapter.send(outbound(), ctx({ secrets: { ...secrets, accessToken: 'expired' } })));
      expect(auth.code).toBe('unauthorized');
      expect(auth.message).not.toContain(ACCESS_TOKEN);
      fake.rejected.length = 0;
    });

    it('refuses a recipient that is not a WhatsApp id and oversized media without calling the API', async () => {
      const before = fake.accepted.length;
      expect((await failure(whatsappAdapter.send(outbound({ recipient: { sourceId: 'someone@example.com' } }), ctx()))).code).toBe('recipient_invalid');
      const big = attachment('big.png', 'image/png', Buffer.alloc(10));
      expect((await failure(whatsappAdapter.send(outbound({ attachments: [{ ...big, size: 6 * 1024 * 1024 }] }), ctx()))).code).toBe('media_too_large');
      expect(fake.accepted.length).toBe(before);
    });
  });

  it('checks the token against the phone number', async () => {
    expect(await whatsappAdapter.check!(ctx())).toEqual({ ok: true });
    const bad = await whatsappAdapter.check!(ctx({ secrets: { ...secrets, accessToken: 'expired' } }));
    expect(bad.ok).toBe(false);
    fake.rejected.length = 0;
  });

  it('declares the 24 h window with templates outside it', () => {
    expect(whatsappAdapter.capabilities(ctx().config)).toMatchObject({
      sendWindow: { hours: 24, outside: 'templates' }, templates: true, deliveryReports: true, readReceipts: true,
    });
  });
});
