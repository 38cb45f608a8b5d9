/**
 * Telegram end to end through a real server and the real Telegram adapter, against the local fake Bot
 * API (packages/channels/test/fakes/telegram-fake.ts): an admin configures the inbox over the API, a
 * customer's update with a photo arrives signed with the secret token, the agent sees conversation,
 * message and picture, and the agent's reply reaches the fake as a documented sendMessage.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTelegramFake, type TelegramFake } from '../../../packages/channels/test/fakes/telegram-fake.ts';
import { SAMPLE_JPEG as JPEG, channelFixture, channelTestKit, createChannelInbox, postWebhook, startChannelTestServer, storedMessages, type InboxRef } from './helpers/channels.ts';
import type { TestServer } from './helpers/test-server.ts';

const BOT_TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';
const WEBHOOK_SECRET = 'huiliu_tg-secret_9f8e7d6c5b4a';
const fixture = (name: string) => channelFixture('telegram', name);

let server: TestServer;
let fake: TelegramFake;
let token = '';
let inbox: InboxRef;
let conversationId = '';

const { api, messagesOf, waitUntil, waitForDeliveryStatus } = channelTestKit(() => ({ server, token }));
const webhook = (body: string, secret: string | null = WEBHOOK_SECRET) =>
  postWebhook(server, inbox.publicId, body, secret !== null ? { 'x-telegram-bot-api-secret-token': secret } : {});

beforeAll(async () => {
  ({ server, token } = await startChannelTestServer());
  fake = await startTelegramFake({ token: BOT_TOKEN, botUsername: 'huiliu_support_bot' });
});
afterAll(async () => {
  await server?.close();
  await fake?.close();
});

describe('Telegram channel', () => {
  it('is configured by an admin over the API; secrets are never returned', async () => {
    const { inbox: created, channel: r } = await createChannelInbox(server, token, {
      kind: 'telegram',
      name: 'Telegram support',
      config: { apiBaseUrl: fake.baseUrl, botUsername: 'huiliu_support_bot' },
      secrets: { botToken: BOT_TOKEN, webhookSecret: WEBHOOK_SECRET },
    });
    inbox = created;
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ kind: 'telegram', ready: true, webhookUrl: `${server.url}/api/channels/v1/${inbox.publicId}/webhook`, capabilities: { sendWindow: null, maxTextLength: 4096 } });
    expect(r.body.secrets.map((s: any) => [s.name, s.set])).toEqual([['botToken', true], ['webhookSecret', true]]);
    expect(r.text).not.toContain(BOT_TOKEN);
    expect(r.text).not.toContain(WEBHOOK_SECRET);
  });

  it('"test connection" checks the token and reports that Telegram needs an HTTPS webhook URL', async () => {
    const r = await api('POST', `/api/v1/inboxes/${inbox.id}/channel/check`);
    expect(r.status).toBe(200);
    expect(r.body.ok).toBe(false);
    expect(r.body.message).toMatch(/An HTTPS URL must be provided for webhook/);
    expect(r.text).not.toContain(BOT_TOKEN);
    expect(fake.accepted.some((a) => a.path === '/bot<token>/getMe')).toBe(true);
    fake.rejected.length = 0;
  });

  it('a customer photo with a caption becomes conversation, message and stored picture for the agent', async () => {
    fake.addFile(JPEG, { fileId: 'AgACAgIAAxkBAAIBsmA-large', path: 'photos/file_1.jpg' });
    const r = await webhook(fixture('photo-message.json'));
    expect(r.status).toBe(200);

    const list = await api('GET', `/api/v1/conversations?status=all&inboxId=${inbox.id}`);
    expect(list.body.items).toHaveLength(1);
    const conv = list.body.items[0];
    conversationId = conv.id;
    expect(conv.contact.name).toBe('Test Firstname Test Lastname');
    const [m] = await messagesOf(conv.id);
    expect(m).toMatchObject({ direction: 'incoming', contentType: 'image', externalId: '1111111:1366', text: '这个包裹破了 / the parcel arrived broken' });
    expect(m.attachments).toHaveLength(1);
    expect(m.attachments[0]).toMatchObject({ fileName: 'photo-1366.jpg', contentType: 'image/jpeg', size: JPEG.length });
    const file = await fetch(new URL(m.attachments[0].url, server.url));
    expect(file.status).toBe(200);
    expect(Buffer.from(await file.arrayBuffer()).equals(JPEG)).toBe(true);
    // Fetched through getFile and the file path, never by guessing a URL.
    expect(fake.downloads).toEqual(['photos/file_1.jpg']);

    const identities = await api('GET', `/api/v1/contacts/${conv.contactId}/identities`);
    expect(identities.body).toMatchObject([{ inboxId: inbox.id, channelType: 'telegram', sourceId: '1111111' }]);
  });

  it('the same update delivered again is stored once', async () => {
    for (let i = 0; i < 2; i++) expect((await webhook(fixture('photo-message.json'))).status).toBe(200);
    expect(await messagesOf(conversationId)).toHaveLength(1);
    expect(fake.downloads).toHaveLength(1);
  });

  it('an update without the secret token, or with a wrong one, is refused with 401 and stores nothing', async () => {
    const text = fixture('text-message.json');
    for (const secret of [null, 'guessed-secret']) {
      const r = await webhook(text, secret);
      expect(r.status).toBe(401);
      expect(r.json.error.code).toBe('unauthenticated');
    }
    expect(await storedMessages(server.node.services.db, inbox.id, '1111111:1365')).toHaveLength(0);
  });

  it('the agent\'s reply reaches Telegram as sendMessage to the customer\'s chat and is marked sent', async () => {
    const reply = await api('POST', `/api/v1/conversations/${conversationId}/messages`, { clientId: randomUUID(), text: '很抱歉！We will send a replacement today.' });
    expect(reply.status).toBe(201);
    expect(reply.body.message.deliveryStatus).toBe('pending');
    const sent = await waitUntil('the reply at the fake', async () => fake.sent.find((s) => s.text === '很抱歉！We will send a replacement today.'));
    expect(sent).toMatchObject({ method: 'sendMessage', chatId: '1111111' });
    const stored = await waitForDeliveryStatus(conversationId, reply.body.message.id, 'sent');
    expect(stored.externalId).toBe(`1111111:${sent.messageId}`);
    expect(fake.rejected).toEqual([]);
  });

  it('a customer who blocked the bot: the reply fails at once with the reason, without retries', async () => {
    fake.failNext(403);
    const reply = await api('POST', `/api/v1/conversations/${conversationId}/messages`, { clientId: randomUUID(), text: 'Are you still there?' });
    expect(reply.status).toBe(201);
    const failed = await waitForDeliveryStatus(conversationId, reply.body.message.id, 'failed');
    expect(failed.deliveryError).toMatch(/Telegram refused the recipient: .*bot was blocked by the user/);
    const log = await api('GET', `/api/v1/inboxes/${inbox.id}/deliveries`);
    expect(log.status).toBe(200);
    const attempts = log.body.filter((a: any) => a.messageId === reply.body.message.id);
    expect(attempts.map((a: any) => [a.outcome, a.errorCode])).toEqual([['failed', 'recipient_invalid']]);
  });
});
