import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelContext, InboundMessageEvent, OutboundAttachment, OutboundMessage } from '../src/adapter.ts';
import { ChannelError } from '../src/adapter.ts';
import { telegramAdapter, type TelegramConfig } from '../src/telegram/index.ts';
import { adapterFor } from '../src/registry.ts';
import { describeChannelContract, testHttp } from './contract.ts';
import { startTelegramFake, telegramWebhookRequest, type TelegramFake } from './fakes/telegram-fake.ts';
import { memoryTokens } from './memory-tokens.ts';

const TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';
const SECRET = 'huiliu_webhook-Secret_0123456789';
/** Fixtures are sent byte for byte, as Telegram would. */
const fixture = (name: string) => readFileSync(new URL(`./fixtures/telegram/${name}`, import.meta.url), 'utf8');

describeChannelContract<TelegramConfig>({
  adapter: telegramAdapter,
  startFake: () => startTelegramFake({ token: TOKEN }),
  context: (fake) => ({ config: { apiBaseUrl: fake.baseUrl }, secrets: { botToken: TOKEN, webhookSecret: SECRET } }),
  invalidConfig: { apiBaseUrl: 'https://api.telegram.org', botNmae: 'typo' },
  webhook: {
    textMessage: (c) => telegramWebhookRequest(fixture('text-message.json'), c.secrets.webhookSecret),
    expectText: { externalId: '1111111:1365', sourceId: '1111111', text: '/start' },
    forged: () => telegramWebhookRequest(fixture('text-message.json'), 'guessed-secret'),
    malformed: (c) => telegramWebhookRequest('{"message":{"text":"an update without update_id"}}', c.secrets.webhookSecret),
    unknownType: (c) => telegramWebhookRequest(fixture('sticker-message.json'), c.secrets.webhookSecret),
  },
  recipient: '1111111',
});

describe('telegram adapter', () => {
  let fake: TelegramFake;
  const logs: Array<{ level: string; obj: object; msg: string }> = [];
  const logger = {
    info: (obj: object, msg: string) => { logs.push({ level: 'info', obj, msg }); },
    warn: (obj: object, msg: string) => { logs.push({ level: 'warn', obj, msg }); },
    error: (obj: object, msg: string) => { logs.push({ level: 'error', obj, msg }); },
  };
  const ctx = (over: { config?: Partial<TelegramConfig>; secrets?: Record<string, string> } = {}): ChannelContext<TelegramConfig> => ({
    config: telegramAdapter.configSchema.parse({ apiBaseUrl: fake.baseUrl, ...over.config }),
    secrets: over.secrets ?? { botToken: TOKEN, webhookSecret: SECRET },
    http: testHttp,
    webhookUrl: 'https://huiliu.example.com/api/channels/v1/tg-inbox/webhook',
    now: () => new Date(),
    logger,
    tokens: memoryTokens(),
  });
  /** secret null: the request carries no secret header at all. */
  const receive = (body: string, secret: string | null = SECRET, c = ctx()) => telegramAdapter.receive!(telegramWebhookRequest(body, secret ?? undefined), c);
  const onlyMessage = async (body: string): Promise<InboundMessageEvent> => {
    const r = await receive(body);
    expect(r.events).toHaveLength(1);
    expect(r.events[0]!.kind).toBe('message');
    return r.events[0] as InboundMessageEvent;
  };
  const outbound = (over: Partial<OutboundMessage> = {}): OutboundMessage => ({
    idempotencyKey: '0b7e4a53-1c55-4c3f-8f0e-59e1f63b2a10', conversationId: '5d0c2c4e-7b1a-4f3e-9c2d-8e7f6a5b4c3d', createdAt: new Date('2026-11-21T08:00:00Z'), recipient: { sourceId: '1111111' }, text: '您好 / hello', attachments: [], ...over,
  });
  const attachment = (fileName: string, contentType: string, bytes: Buffer): OutboundAttachment => ({
    fileName, contentType, size: bytes.length, read: async () => bytes, url: `https://huiliu.example.com/files/${fileName}`,
  });
  const failure = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a ChannelError'); }, (e: unknown) => {
    expect(e).toBeInstanceOf(ChannelError);
    return e as ChannelError;
  });

  beforeAll(async () => { fake = await startTelegramFake({ token: TOKEN, botUsername: 'huiliu_support_bot' }); });
  afterAll(async () => { await fake.close(); });

  it('is registered under its kind', () => {
    expect(adapterFor('telegram')).toBe(telegramAdapter);
  });

  describe('inbound', () => {
    it('refuses a request without the secret token header, and one with a wrong token', async () => {
      const missing = await failure(receive(fixture('text-message.json'), null));
      expect(missing.code).toBe('signature_invalid');
      expect(missing.message).toMatch(/no X-Telegram-Bot-Api-Secret-Token/);
      const wrong = await failure(receive(fixture('text-message.json'), `${SECRET}x`));
      expect(wrong.code).toBe('signature_invalid');
    });

    it('refuses every request while the inbox has no webhook secret', async () => {
      const e = await failure(receive(fixture('text-message.json'), SECRET, ctx({ secrets: { botToken: TOKEN } })));
      expect(e.code).toBe('not_configured');
    });

    it('refuses a GET and a body that is not JSON', async () => {
      const get = await failure(telegramAdapter.receive!({ ...telegramWebhookRequest(fixture('text-message.json'), SECRET), method: 'GET' }, ctx()));
      expect(get.code).toBe('malformed');
      const junk = await failure(receive('not json at all'));
      expect(junk.code).toBe('malformed');
      const noChat = await failure(receive('{"update_id":5,"message":{"message_id":1,"date":1}}'));
      expect(noChat.message).toMatch(/chat\.id/);
    });

    it('names the customer from the private chat and dates the message from the update', async () => {
      const m = await onlyMessage(fixture('text-message.json'));
      expect(m.sender).toEqual({ sourceId: '1111111', name: 'Test Firstname Test Lastname' });
      expect(m.sentAt.toISOString()).toBe(new Date(1441645532 * 1000).toISOString());
    });

    it('keeps a photo as an image with its caption, pointing at the largest size', async () => {
      const m = await onlyMessage(fixture('photo-message.json'));
      expect(m.externalId).toBe('1111111:1366');
      expect(m.content).toEqual({
        type: 'image',
        text: '这个包裹破了 / the parcel arrived broken',
        media: [{ ref: 'AgACAgIAAxkBAAIBsmA-large', fileName: 'photo-1366.jpg', contentType: 'image/jpeg', size: 81044 }],
      });
    });

    it('maps voice, audio and documents with the declared type, name and size', async () => {
      expect((await onlyMessage(fixture('voice-message.json'))).content).toEqual({
        type: 'audio', media: [{ ref: 'AwADBAADbXXXXXXXXXXXGBdhD2l6_XX', fileName: 'voice-1365.ogg', contentType: 'audio/ogg', size: 23000 }],
      });
      expect((await onlyMessage(fixture('audio-message.json'))).content).toEqual({
        type: 'audio', media: [{ ref: 'AwADBAADbXXXXXXXXXXXGBdhD2l6_XX', fileName: 'Test music file.mp3', contentType: 'audio/mpeg', size: 3897500 }],
      });
      expect((await onlyMessage(fixture('document-message.json'))).content).toEqual({
        type: 'file', media: [{ ref: 'AwADBAADbXXXXXXXXXXXGBdhD2l6_XX', fileName: 'Testfile.pdf', contentType: 'application/pdf', size: 536392 }],
      });
    });

    it('maps a location', async () => {
      expect((await onlyMessage(fixture('location-message.json'))).content).toEqual({ type: 'location', location: { latitude: 31.230416, longitude: 121.473701 } });
    });

    it('takes the phone number of a contact the customer shared of themselves as verified', async () => {
      const m = await onlyMessage(fixture('own-contact-message.json'));
      expect(m.sender.verifiedKeys).toEqual([{ kind: 'phone', value: '+8613800138000' }]);
      expect(m.content.type).toBe('card');
      // Someone else's contact card says nothing about the sender.
      const other = JSON.parse(fixture('own-contact-message.json'));
      other.message.contact.user_id = 2222222;
      const m2 = await onlyMessage(JSON.stringify(other));
      expect(m2.sender.verifiedKeys).toBeUndefined();
    });

    it('stores an edit as a new message marked edited, distinct from the original', async () => {
      const m = await onlyMessage(fixture('edited-message.json'));
      expect(m.externalId).toBe('1111111:1365:edit:1441646600');
      expect(m.content).toEqual({ type: 'text', text: '(edited) Edited text' });
      expect(m.sentAt.getTime()).toBe(1441646600 * 1000);
    });

    it('keeps a sticker as unsupported content with the raw message', async () => {
      const m = await onlyMessage(fixture('sticker-message.json'));
      expect(m.content.type).toBe('unsupported');
      if (m.content.type !== 'unsupported') return;
      expect(m.content.text).toBe('[Telegram sticker 👍]');
      expect((m.content.raw as { sticker: { file_id: string } }).sticker.file_id).toBe('CAACAgIAAxkBAAIBs2A-sticker');
    });

    it('ignores channel posts and callback queries with a logged reason and answers 200', async () => {
      logs.length = 0;
      const post = await receive(fixture('channel-post.json'));
      expect(post.events).toEqual([]);
      expect(post.response.status).toBe(200);
      const cb = await receive(fixture('callback-query.json'));
      expect(cb.events).toEqual([]);
      expect(logs.map((l) => l.msg)).toEqual([
        'telegram update ignored: channel posts are not customer conversations',
        'telegram update ignored: not a customer message',
      ]);
      expect(logs[1]!.obj).toMatchObject({ updateId: 10000, kind: 'callback_query' });
    });

    it('turns the customer blocking the bot into an unsubscribe event', async () => {
      const r = await receive(fixture('my-chat-member-kicked.json'));
      expect(r.events).toEqual([{ kind: 'event', externalId: 'update:10006', event: 'unsubscribe', sender: { sourceId: '1111111', name: 'Test Firstname Test Lastname' }, at: new Date(1441646100 * 1000) }]);
    });
  });

  describe('media', () => {
    it('downloads a photo through getFile and the file path', async () => {
      const bytes = Buffer.from('\xff\xd8\xff\xe0 fake jpeg bytes', 'latin1');
      fake.addFile(bytes, { fileId: 'AgACAgIAAxkBAAIBsmA-large', path: 'photos/file_7.jpg' });
      const m = await onlyMessage(fixture('photo-message.json'));
      if (m.content.type !== 'image') throw new Error('expected an image');
      const got = await telegramAdapter.fetchMedia!(m.content.media[0]!, ctx());
      expect(got).toEqual({ bytes, contentType: 'image/jpeg', fileName: 'photo-1366.jpg' });
      expect(fake.downloads).toContain('photos/file_7.jpg');
      expect(fake.rejected).toEqual([]);
    });

    it('refuses media over the 20 MB bot download limit before downloading', async () => {
      const before = fake.accepted.length;
      const declared = await failure(telegramAdapter.fetchMedia!({ ref: 'whatever', size: 21 * 1024 * 1024 }, ctx()));
      expect(declared.code).toBe('media_too_large');
      expect(fake.accepted.length).toBe(before);
      const id = fake.addFile(Buffer.from('tiny'), { path: 'documents/huge.zip', fileSize: 30 * 1024 * 1024 });
      const big = await failure(telegramAdapter.fetchMedia!({ ref: id }, ctx()));
      expect(big.code).toBe('media_too_large');
      expect(big.retryable).toBe(false);
      expect(fake.downloads).not.toContain('documents/huge.zip');
    });
  });

  describe('outbound', () => {
    it('sends text with sendMessage to the chat id and returns chat:message id', async () => {
      const r = await telegramAdapter.send(outbound(), ctx());
      const last = fake.sent.at(-1)!;
      expect(last).toMatchObject({ method: 'sendMessage', chatId: '1111111', text: '您好 / hello' });
      expect(r.externalId).toBe(`1111111:${last.messageId}`);
    });

    it('uploads an image with sendPhoto carrying the text as caption', async () => {
      const png = Buffer.from('\x89PNG\r\n\x1a\n fake png', 'latin1');
      const before = fake.sent.length;
      await telegramAdapter.send(outbound({ text: 'see attached', attachments: [attachment('shot.png', 'image/png', png)] }), ctx());
      const sent = fake.sent.slice(before);
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatchObject({ method: 'sendPhoto', chatId: '1111111', caption: 'see attached', file: { field: 'photo', fileName: 'shot.png', contentType: 'image/png', bytes: png } });
      expect(fake.rejected).toEqual([]);
    });

    it('sends other files with sendDocument, and text too long for a caption as its own message first', async () => {
      const pdf = Buffer.from('%PDF-1.4 fake');
      const long = 'x'.repeat(1500);
      const before = fake.sent.length;
      await telegramAdapter.send(outbound({ text: long, attachments: [attachment('invoice.pdf', 'application/pdf', pdf)] }), ctx());
      const sent = fake.sent.slice(before);
      expect(sent.map((s) => s.method)).toEqual(['sendMessage', 'sendDocument']);
      expect(sent[0]!.text).toBe(long);
      expect(sent[1]!.caption).toBeUndefined();
      expect(sent[1]!.file?.bytes).toEqual(pdf);
    });

    it('refuses text over 4096 characters without calling Telegram', async () => {
      const before = fake.accepted.length;
      const e = await failure(telegramAdapter.send(outbound({ text: 'y'.repeat(4097) }), ctx()));
      expect(e.code).toBe('content_unsupported');
      expect(e.retryable).toBe(false);
      expect(fake.accepted.length).toBe(before);
    });

    it('reports flood control as rate_limited with Telegram\'s retry_after', async () => {
      fake.failNext(429);
      const e = await failure(telegramAdapter.send(outbound(), ctx()));
      expect(e.code).toBe('rate_limited');
      expect(e.retryable).toBe(true);
      expect(e.retryAfterMs).toBe(7000);
    });

    it('reports a customer who blocked the bot as recipient_invalid, not retried', async () => {
      fake.failNext(403);
      const e = await failure(telegramAdapter.send(outbound(), ctx()));
      expect(e.code).toBe('recipient_invalid');
      expect(e.retryable).toBe(false);
      expect(e.message).toContain('Forbidden: bot was blocked by the user');
    });

    it('reports a revoked token as unauthorized and never puts the token in a message', async () => {
      const e = await failure(telegramAdapter.send(outbound(), ctx({ secrets: { botToken: '999:revoked', webhookSecret: SECRET } })));
      expect(e.code).toBe('unauthorized');
      expect(fake.rejected.at(-1)?.reason).toBe('wrong bot token in the path');
      fake.rejected.length = 0;
      const unreachable = await failure(telegramAdapter.send(outbound(), { ...ctx(), config: { apiBaseUrl: 'http://127.0.0.1:1' } }));
      expect(unreachable.code).toBe('network');
      expect(unreachable.retryable).toBe(true);
      expect(unreachable.message).not.toContain(TOKEN);
    });
  });

  describe('check and webhook registration', () => {
    it('verifies the token with getMe and registers the webhook with the secret', async () => {
      const r = await telegramAdapter.check!(ctx({ config: { botUsername: 'huiliu_support_bot' } }));
      expect(r).toEqual({ ok: true });
      expect(fake.webhook).toEqual({
        url: 'https://huiliu.example.com/api/channels/v1/tg-inbox/webhook',
        secretToken: SECRET,
        allowedUpdates: ['message', 'edited_message', 'my_chat_member'],
      });
    });

    it('says which bot a token belongs to when it is not the configured one', async () => {
      const r = await telegramAdapter.check!(ctx({ config: { botUsername: 'another_bot' } }));
      expect(r).toEqual({ ok: false, message: 'The bot token belongs to @huiliu_support_bot, not @another_bot: fix the token or the bot username' });
    });

    it('refuses a webhook secret Telegram would refuse, and reports setWebhook errors', async () => {
      const bad = await telegramAdapter.check!(ctx({ secrets: { botToken: TOKEN, webhookSecret: 'has spaces!' } }));
      expect(bad.ok).toBe(false);
      expect(!bad.ok && bad.message).toMatch(/A-Z, a-z, 0-9, _ and -/);
      const http = await telegramAdapter.check!({ ...ctx(), webhookUrl: 'http://localhost:3000/api/channels/v1/x/webhook' });
      expect(http.ok).toBe(false);
      expect(!http.ok && http.message).toMatch(/HTTPS URL must be provided/);
      fake.rejected.length = 0;
    });
  });

  it('declares capabilities without a send window', () => {
    const caps = telegramAdapter.capabilities(ctx().config);
    expect(caps).toMatchObject({ maxTextLength: 4096, typing: true, deliveryReports: false, templates: false, sendWindow: null });
    expect(caps.contentTypes).toEqual(['text', 'image', 'file', 'audio', 'video', 'location']);
  });
});
