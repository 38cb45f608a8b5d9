/**
 * WhatsApp Cloud API end to end through a real server and the real WhatsApp adapter, against the local
 * fake Graph API (packages/channels/test/fakes/whatsapp-fake.ts): configuration over the API, Meta's
 * GET verification, signed notifications (message with an image, delivery statuses), the agent's reply
 * in the documented shape, and the 24 h customer-service window: free text refused outside it with the
 * reason, an approved template sent instead.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubSignature, startWhatsAppFake, type WhatsAppFake } from '../../../packages/channels/test/fakes/whatsapp-fake.ts';
import { SAMPLE_JPEG as JPEG, channelFixture, channelTestKit, createChannelInbox, postWebhook, startChannelTestServer, storedMessages, type InboxRef } from './helpers/channels.ts';
import { httpRequest, type TestServer } from './helpers/test-server.ts';

const ACCESS_TOKEN = 'EAAGm0PX4ZCpsBAIntegrationTestTokenZDZD';
const APP_SECRET = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const VERIFY_TOKEN = 'huiliu-verify-token-7c1d';
const PHONE_NUMBER_ID = '106540352242922';
const CUSTOMER = '16505551234';
const fixture = (name: string) => channelFixture('whatsapp', name);

let server: TestServer;
let fake: WhatsAppFake;
let token = '';
let inbox: InboxRef;
let conversationId = '';

const { api, messagesOf, waitUntil, waitForDeliveryStatus } = channelTestKit(() => ({ server, token }));
/** POSTs the body byte for byte with the signature Meta would compute (or the given header). */
const notify = (body: string, signature: string | null = hubSignature(body, APP_SECRET)) =>
  postWebhook(server, inbox.publicId, body, signature !== null ? { 'x-hub-signature-256': signature } : {});
const message = async (id: string) => (await messagesOf(conversationId)).find((m) => m.id === id);
const statusWebhook = (file: 'status-delivered.json' | 'status-failed.json', wamid: string, status?: string) => {
  const body = JSON.parse(fixture(file));
  body.entry[0].changes[0].value.statuses[0].id = wamid;
  if (status) body.entry[0].changes[0].value.statuses[0].status = status;
  return JSON.stringify(body);
};

beforeAll(async () => {
  ({ server, token } = await startChannelTestServer());
  fake = await startWhatsAppFake({ accessToken: ACCESS_TOKEN, phoneNumberId: PHONE_NUMBER_ID });
});
afterAll(async () => {
  await server?.close();
  await fake?.close();
});

describe('WhatsApp channel', () => {
  it('is configured by an admin over the API and its credentials check against the Graph API', async () => {
    const { inbox: created, channel: r } = await createChannelInbox(server, token, {
      kind: 'whatsapp',
      name: 'WhatsApp support',
      config: { graphBaseUrl: fake.baseUrl, apiVersion: 'v21.0', phoneNumberId: PHONE_NUMBER_ID },
      secrets: { accessToken: ACCESS_TOKEN, appSecret: APP_SECRET, verifyToken: VERIFY_TOKEN },
    });
    inbox = created;
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ kind: 'whatsapp', ready: true, capabilities: { sendWindow: { hours: 24, outside: 'templates' }, templates: true } });
    for (const secret of [ACCESS_TOKEN, APP_SECRET, VERIFY_TOKEN]) expect(r.text).not.toContain(secret);
    const check = await api('POST', `/api/v1/inboxes/${inbox.id}/channel/check`);
    expect(check.body).toMatchObject({ ok: true });
  });

  it('answers Meta\'s verification request with the challenge, and refuses a wrong verify token', async () => {
    const url = (verifyToken: string) => `/api/channels/v1/${inbox.publicId}/webhook?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=${encodeURIComponent(verifyToken)}`;
    const ok = await httpRequest(server.url, 'GET', url(VERIFY_TOKEN));
    expect(ok.status).toBe(200);
    expect(ok.text).toBe('1158201444');
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain/);
    const wrong = await httpRequest(server.url, 'GET', url('not-it'));
    expect(wrong.status).toBe(401);
    expect(wrong.text).not.toContain('1158201444');
  });

  it('a signed image message becomes conversation, message and stored picture; the phone number is the contact\'s', async () => {
    const mediaId = fake.addMedia(JPEG, 'image/jpeg');
    const r = await notify(fixture('image-message.json').replace('MEDIA_ID_PLACEHOLDER', mediaId));
    expect(r.status).toBe(200);
    const list = await api('GET', `/api/v1/conversations?status=all&inboxId=${inbox.id}`);
    expect(list.body.items).toHaveLength(1);
    const conv = list.body.items[0];
    conversationId = conv.id;
    expect(conv.contact.name).toBe('Sheena Nelson');
    const [m] = await messagesOf(conv.id);
    expect(m).toMatchObject({ direction: 'incoming', contentType: 'image', text: 'Here is the damaged box', externalId: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQjVCNDhDMjU3NTNBOEQ0RjNFAA==' });
    expect(m.attachments[0]).toMatchObject({ contentType: 'image/jpeg', size: JPEG.length });
    const file = await fetch(new URL(m.attachments[0].url, server.url));
    expect(Buffer.from(await file.arrayBuffer()).equals(JPEG)).toBe(true);
    expect(fake.downloads).toEqual([mediaId]);
    const contact = await api('GET', `/api/v1/contacts/${conv.contactId}`);
    expect(contact.body.phone).toBe('+16505551234');
    const identities = await api('GET', `/api/v1/contacts/${conv.contactId}/identities`);
    expect(identities.body).toMatchObject([{ inboxId: inbox.id, channelType: 'whatsapp', sourceId: CUSTOMER }]);
  });

  it('a replayed notification is stored once; a forged or re-serialized one is refused with 401', async () => {
    const text = fixture('text-message.json');
    for (let i = 0; i < 2; i++) expect((await notify(text)).status).toBe(200);
    expect(await storedMessages(server.node.services.db, inbox.id, 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=')).toHaveLength(1);
    const forged = JSON.parse(text);
    forged.entry[0].changes[0].value.messages[0].id = 'wamid.forged';
    const forgedBody = JSON.stringify(forged);
    expect((await notify(forgedBody, hubSignature(forgedBody, 'someone-elses-secret'))).status).toBe(401);
    expect((await notify(forgedBody, null)).status).toBe(401);
    // The signature covers the bytes Meta sent: the same JSON serialized differently does not verify.
    expect((await notify(JSON.stringify(JSON.parse(text)), hubSignature(text, APP_SECRET))).status).toBe(401);
    expect(await storedMessages(server.node.services.db, inbox.id, 'wamid.forged')).toHaveLength(0);
  });

  it('the agent\'s reply is sent in the documented shape; status notifications move it to delivered and read', async () => {
    const reply = await api('POST', `/api/v1/conversations/${conversationId}/messages`, { clientId: randomUUID(), text: 'Sorry about that! A new one is on its way.' });
    expect(reply.status).toBe(201);
    const sent = await waitUntil('the reply at the fake', async () => fake.sent.find((s) => (s.body.text as any)?.body === 'Sorry about that! A new one is on its way.'));
    expect(sent.body).toEqual({ messaging_product: 'whatsapp', recipient_type: 'individual', to: CUSTOMER, type: 'text', text: { preview_url: false, body: 'Sorry about that! A new one is on its way.' } });
    const stored = await waitForDeliveryStatus(conversationId, reply.body.message.id, 'sent');
    expect(stored.externalId).toBe(sent.id);

    expect((await notify(statusWebhook('status-delivered.json', sent.id))).status).toBe(200);
    expect((await message(reply.body.message.id)).deliveryStatus).toBe('delivered');
    expect((await notify(statusWebhook('status-delivered.json', sent.id, 'read'))).status).toBe(200);
    expect((await message(reply.body.message.id)).deliveryStatus).toBe('read');
    // A late "delivered" after "read" does not move it back.
    expect((await notify(statusWebhook('status-delivered.json', sent.id))).status).toBe(200);
    expect((await message(reply.body.message.id)).deliveryStatus).toBe('read');
    expect(fake.rejected).toEqual([]);
  });

  describe('after 24 hours without a customer message', () => {
    beforeAll(async () => {
      await server.node.services.db.query(`UPDATE conversations SET last_incoming_at = now() - interval '25 hours' WHERE id = $1`, [conversationId]);
      fake.approveTemplate('order_update', 'en_US', 2);
    });

    it('the composer is told only templates are possible', async () => {
      const w = await api('GET', `/api/v1/conversations/${conversationId}/send-window`);
      expect(w.status).toBe(200);
      expect(w.body).toMatchObject({ channelType: 'whatsapp', allowed: false, templatesOnly: true, reasonCode: 'window_closed' });
      expect(w.body.reason).toMatch(/24/);
    });

    it('free text is refused with the window reason and never reaches WhatsApp', async () => {
      const before = fake.accepted.length;
      const r = await api('POST', `/api/v1/conversations/${conversationId}/messages`, { clientId: randomUUID(), text: 'Hello again?' });
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('send_window_closed');
      expect(r.body.error.message).toMatch(/24/);
      await server.node.services.outbound.catchUp();
      expect(fake.accepted.length).toBe(before);
    });

    it('an approved template goes through with its variables; a failed status shows the platform\'s reason', async () => {
      const r = await api('POST', `/api/v1/conversations/${conversationId}/messages`, {
        clientId: randomUUID(), text: '', template: { name: 'order_update', language: 'en_US', variables: ['Sheena', '#4521'] },
      });
      expect(r.status).toBe(201);
      const sent = await waitUntil('the template at the fake', async () => fake.sent.find((s) => s.type === 'template'));
      expect(sent.body).toEqual({
        messaging_product: 'whatsapp', recipient_type: 'individual', to: CUSTOMER, type: 'template',
        template: { name: 'order_update', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'Sheena' }, { type: 'text', text: '#4521' }] }] },
      });
      await waitForDeliveryStatus(conversationId, r.body.message.id, 'sent', { what: 'the template marked sent' });

      expect((await notify(statusWebhook('status-failed.json', sent.id))).status).toBe(200);
      const failed = await message(r.body.message.id);
      expect(failed.deliveryStatus).toBe('failed');
      expect(failed.deliveryError).toContain('Message undeliverable');
      expect(fake.rejected).toEqual([]);
    });
  });
});
