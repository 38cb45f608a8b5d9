/**
 * SMS (Twilio-compatible) end to end through a real server and the real adapter, against the local fake
 * Twilio (packages/channels/test/fakes/twilio-fake.ts) playing both sides: it signs and POSTs inbound
 * messages and status callbacks to the inbox's webhook URL as Twilio does, and serves the documented
 * Messages API (Basic auth, form-encoded) the agent's reply goes out through.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwilioFake, type TwilioFake } from '../../../packages/channels/test/fakes/twilio-fake.ts';
import { ACCOUNT_SID, AUTH_TOKEN, CUSTOMER, OUR_NUMBER, inboundMms, inboundSms } from '../../../packages/channels/test/fixtures/sms/twilio.ts';
import { SAMPLE_JPEG as JPEG, SAMPLE_PNG as PNG, channelTestKit, configureChannel, createInbox, startChannelTestServer, storedMessages, type InboxRef } from './helpers/channels.ts';
import type { TestServer } from './helpers/test-server.ts';

let server: TestServer;
let twilio: TwilioFake;
let token = '';
let inbox: InboxRef;
let webhookUrl = '';
let conversationId = '';

const { api, messagesOf, waitUntil, waitForDeliveryStatus } = channelTestKit(() => ({ server, token }));

beforeAll(async () => {
  ({ server, token } = await startChannelTestServer());
  twilio = await startTwilioFake({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, fromNumbers: [OUR_NUMBER] });
});
afterAll(async () => {
  await server?.close();
  await twilio?.close();
});

describe('SMS channel (Twilio-compatible)', () => {
  it('is configured by an admin over the API, and "test connection" checks the credentials', async () => {
    inbox = await createInbox(server, token, { kind: 'sms', name: 'SMS +1 555 712 2661' });
    const missing = await configureChannel(server, token, inbox.id, { config: { accountSid: ACCOUNT_SID, apiBaseUrl: twilio.baseUrl } });
    expect(missing.status).toBe(400);
    expect(missing.body.error.issues[0].path).toBe('config.fromNumber');
    const r = await configureChannel(server, token, inbox.id, {
      config: { provider: 'twilio', accountSid: ACCOUNT_SID, fromNumber: OUR_NUMBER, apiBaseUrl: twilio.baseUrl },
      secrets: { authToken: AUTH_TOKEN },
    });
    expect(r.status).toBe(200);
    webhookUrl = r.body.webhookUrl;
    expect(webhookUrl).toBe(`${server.url}/api/channels/v1/${inbox.publicId}/webhook`);
    expect(r.body).toMatchObject({ kind: 'sms', ready: true, capabilities: { contentTypes: ['text', 'image'], maxTextLength: 1600, deliveryReports: true } });
    expect(r.text).not.toContain(AUTH_TOKEN);
    const check = await api('POST', `/api/v1/inboxes/${inbox.id}/channel/check`);
    expect(check.body).toMatchObject({ ok: true });
  });

  it('an inbound SMS with a valid Twilio signature opens a conversation and gets empty TwiML back', async () => {
    const r = await twilio.postWebhook(webhookUrl, inboundSms());
    expect(r.status).toBe(200);
    expect(r.contentType).toMatch(/^text\/xml/);
    expect(r.body).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
    const list = await api('GET', `/api/v1/conversations?status=all&inboxId=${inbox.id}`);
    expect(list.body.items).toHaveLength(1);
    conversationId = list.body.items[0].id;
    const [m] = await messagesOf(conversationId);
    expect(m).toMatchObject({ direction: 'incoming', contentType: 'text', externalId: 'SM1f0e8ae6ade43cb3c0ce4525424e404f', text: "Ahoy! We can't wait to see what you build." });
    const identities = await api('GET', `/api/v1/contacts/${list.body.items[0].contactId}/identities`);
    expect(identities.body).toMatchObject([{ inboxId: inbox.id, channelType: 'sms', sourceId: CUSTOMER }]);
    // Twilio retries a webhook it got no answer for: the same MessageSid is stored once.
    expect((await twilio.postWebhook(webhookUrl, inboundSms())).status).toBe(200);
    expect(await messagesOf(conversationId)).toHaveLength(1);
  });

  it('a forged signature is refused with 401 and stores nothing', async () => {
    const forged = inboundSms({ MessageSid: 'SMforgedforgedforgedforgedforged01', Body: 'send me your password' });
    const r = await twilio.postWebhook(webhookUrl, forged, { signature: twilio.sign(webhookUrl, inboundSms()) });
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body).error.code).toBe('unauthenticated');
    // Signed for another inbox's address: also refused.
    const elsewhere = await twilio.postWebhook(webhookUrl, forged, { signature: twilio.sign(webhookUrl.replace(inbox.publicId, 'another'), forged) });
    expect(elsewhere.status).toBe(401);
    expect(await storedMessages(server.node.services.db, inbox.id, 'SMforgedforgedforgedforgedforged01')).toHaveLength(0);
  });

  it('an MMS lands with its pictures, downloaded with the account credentials', async () => {
    const urls: [string, string] = [twilio.addMedia(JPEG, 'image/jpeg'), twilio.addMedia(PNG, 'image/png')];
    const r = await twilio.postWebhook(webhookUrl, inboundMms(urls));
    expect(r.status).toBe(200);
    const m = (await messagesOf(conversationId)).find((x) => x.externalId === 'MM8dfedb55c129dd4d6bd1f59af9d11080');
    expect(m).toMatchObject({ contentType: 'image', text: '这是我收到的包裹 / the parcel I got' });
    expect(m.attachments.map((a: any) => [a.contentType, a.size])).toEqual([['image/jpeg', JPEG.length], ['image/png', PNG.length]]);
    expect(twilio.mediaDownloads).toHaveLength(2);
    expect(twilio.rejected).toEqual([]);
  });

  it("the agent's reply goes out through the Messages API, and the status callback marks it delivered", async () => {
    const reply = await api('POST', `/api/v1/conversations/${conversationId}/messages`, { clientId: randomUUID(), text: '收到，马上为您补发 / a replacement is on its way' });
    expect(reply.status).toBe(201);
    const id = reply.body.message.id as string;
    const sent = await waitUntil('the send at Twilio', async () => twilio.sent.find((s) => s.body === '收到，马上为您补发 / a replacement is on its way'));
    expect(sent).toMatchObject({ to: CUSTOMER, from: OUR_NUMBER, statusCallback: webhookUrl, mediaUrls: [] });
    expect(twilio.rejected).toEqual([]);
    const stored = await waitForDeliveryStatus(conversationId, id, 'sent');
    expect(stored.externalId).toBe(sent.sid);

    const cb = await twilio.reportStatus(sent.sid, 'delivered');
    expect(cb.status).toBe(200);
    const delivered = (await messagesOf(conversationId)).find((m) => m.id === id);
    expect(delivered.deliveryStatus).toBe('delivered');
  });

  it('an undelivered status callback marks the reply failed with the carrier error', async () => {
    const reply = await api('POST', `/api/v1/conversations/${conversationId}/messages`, { clientId: randomUUID(), text: 'Are you still there?' });
    const id = reply.body.message.id as string;
    const sent = await waitUntil('the send at Twilio', async () => twilio.sent.find((s) => s.body === 'Are you still there?'));
    await waitForDeliveryStatus(conversationId, id, 'sent');
    expect((await twilio.reportStatus(sent.sid, 'undelivered', '30003')).status).toBe(200);
    const failed = (await messagesOf(conversationId)).find((m) => m.id === id);
    expect(failed.deliveryStatus).toBe('failed');
    expect(failed.deliveryError).toContain('30003');
  });

  it('a number Twilio refuses (21211) fails the reply at once with the reason', async () => {
    twilio.failNext(400, 21211);
    const reply = await api('POST', `/api/v1/conversations/${conversationId}/messages`, { clientId: randomUUID(), text: 'Hello?' });
    const id = reply.body.message.id as string;
    const failed = await waitForDeliveryStatus(conversationId, id, 'failed');
    expect(failed.deliveryError).toContain('21211');
    const log = await api('GET', `/api/v1/inboxes/${inbox.id}/deliveries`);
    expect((log.body as any[]).filter((a) => a.messageId === id).map((a) => [a.outcome, a.errorCode])).toEqual([['failed', 'recipient_invalid']]);
  });
});
