/**
 * The API channel end to end through a real server and the real adapter: an admin creates and configures
 * the inbox over the admin API, an integrator posts customer messages with the inbox API key (documented
 * route and generic webhook), and agent replies reach the integrator's receiver
 * (packages/channels/test/fakes/api-receiver-fake.ts), which verifies X-Huiliu-Signature as docs/channels.md
 * tells integrators to. Retries on 5xx show up in the inbox's delivery log.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiReceiverFake, type ApiReceiverFake } from '../../../packages/channels/test/fakes/api-receiver-fake.ts';
import { batch, singleMessage } from '../../../packages/channels/test/fixtures/api/messages.ts';
import { SAMPLE_PNG as PNG, channelTestKit, createChannelInbox, startChannelTestServer, startMediaHost, storedMessages, type InboxRef } from './helpers/channels.ts';
import { httpRequest, type TestServer } from './helpers/test-server.ts';

const API_KEY = 'hl_api_Yp4q8N2vK7rT1wZ9mB3xC6';
const WEBHOOK_SECRET = 'whsec_0f9e8d7c6b5a49382716afbecd';

let server: TestServer;
let receiver: ApiReceiverFake;
let mediaHost: Awaited<ReturnType<typeof startMediaHost>>;
let token = '';
let inbox: InboxRef;
let conversationId = '';

const { api, messagesOf, waitUntil, waitForDeliveryStatus } = channelTestKit(() => ({ server, token }), { timeoutMs: 20_000 });
/** What the integrator's backend does: POST JSON with the inbox API key. */
const postMessages = (body: unknown, o: { key?: string | null; path?: 'messages' | 'webhook'; raw?: string } = {}) =>
  httpRequest(server.url, 'POST', `/api/channels/v1/${inbox.publicId}/${o.path ?? 'messages'}`, {
    ...(o.raw !== undefined ? { rawBody: o.raw } : { body }),
    headers: { 'content-type': 'application/json', ...(o.key === null ? {} : { authorization: `Bearer ${o.key ?? API_KEY}` }) },
  });
const storedByExternalId = (externalId: string) => storedMessages(server.node.services.db, inbox.id, externalId);

beforeAll(async () => {
  ({ server, token } = await startChannelTestServer());
  receiver = await startApiReceiverFake({ secret: WEBHOOK_SECRET });
  mediaHost = await startMediaHost({ bytes: PNG, contentType: 'image/png', fileName: 'parcel.png' });
});
afterAll(async () => {
  await server?.close();
  await receiver?.close();
  await mediaHost?.close();
});

describe('API channel', () => {
  it('is created and configured by an admin; the API key and signing secret are never returned', async () => {
    const { inbox: created, channel: r } = await createChannelInbox(server, token, {
      kind: 'api',
      name: 'CRM integration',
      config: { webhookUrl: receiver.webhookUrl, webhookTimeoutMs: 5000 },
      secrets: { apiKey: API_KEY, webhookSecret: WEBHOOK_SECRET },
    });
    inbox = created;
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      kind: 'api', ready: true, config: { webhookUrl: receiver.webhookUrl, webhookTimeoutMs: 5000 },
      capabilities: { contentTypes: ['text', 'image', 'file'], deliveryReports: false, sendWindow: null },
    });
    expect(r.body.secrets.map((s: any) => [s.name, s.set])).toEqual([['apiKey', true], ['webhookSecret', true]]);
    expect(r.text).not.toContain(API_KEY);
    expect(r.text).not.toContain(WEBHOOK_SECRET);
  });

  it('is described in /openapi.json: the inbound route with its body, and the outbound webhook', async () => {
    const doc = (await api('GET', '/openapi.json')).body;
    const op = doc.paths['/api/channels/v1/{publicId}/messages'].post;
    expect(op['x-huiliu-auth']).toBe('public');
    expect(Object.keys(op.responses)).toContain('202');
    expect(JSON.stringify(op.requestBody)).toContain('externalId');
    const hook = doc.webhooks.apiChannelMessageCreated.post;
    expect(hook.parameters.map((p: any) => p.name)).toEqual(['X-Huiliu-Signature', 'X-Huiliu-Delivery', 'X-Huiliu-Event']);
    expect(Object.keys(hook.requestBody.content['application/json'].schema.properties)).toEqual(['event', 'message', 'recipient']);
  });

  it('a customer message posted with the API key opens a conversation', async () => {
    const r = await postMessages(singleMessage);
    expect(r.status).toBe(202);
    expect(r.json).toEqual({ accepted: 1 });
    const list = await api('GET', `/api/v1/conversations?status=all&inboxId=${inbox.id}`);
    expect(list.body.items).toHaveLength(1);
    conversationId = list.body.items[0].id;
    expect(list.body.items[0].contact.name).toBe('王小明');
    const [m] = await messagesOf(conversationId);
    expect(m).toMatchObject({ direction: 'incoming', contentType: 'text', externalId: 'crm-msg-10001', text: singleMessage.text });
    const identities = await api('GET', `/api/v1/contacts/${list.body.items[0].contactId}/identities`);
    expect(identities.body).toMatchObject([{ inboxId: inbox.id, channelType: 'api', sourceId: 'cust-42' }]);
  });

  it('a wrong or missing API key is refused with 401 and stores nothing', async () => {
    const msg = { ...singleMessage, externalId: 'crm-msg-forged' };
    for (const key of [null, 'hl_api_guessed', `${API_KEY}0`]) {
      const r = await postMessages(msg, { key });
      expect(r.status).toBe(401);
      expect(r.json.error.code).toBe('unauthenticated');
    }
    // The generic webhook address of the inbox checks the same key.
    expect((await postMessages(msg, { key: 'hl_api_guessed', path: 'webhook' })).status).toBe(401);
    expect(await storedByExternalId('crm-msg-forged')).toHaveLength(0);
  });

  it('a bad body is refused with 400 naming the field', async () => {
    const r = await postMessages({ messages: [{ externalId: 'crm-msg-bad', sender: { name: 'no id' }, text: 'hi' }] });
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe('validation_failed');
    expect(r.json.error.message).toMatch(/messages.*0.*sender\.id: required/);
    const unknown = await postMessages({ ...singleMessage, externalId: 'crm-msg-bad2', priority: 'high' });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.message).toContain('priority');
    const notJson = await postMessages(undefined, { raw: '{"externalId":' });
    expect(notJson.status).toBe(400);
    // Through the generic webhook the adapter's own check names the field the same way.
    const generic = await postMessages({ externalId: 'crm-msg-bad3', sender: { id: 'c' }, text: 'hi', sentAt: 'yesterday' }, { path: 'webhook' });
    expect(generic.status).toBe(400);
    expect(generic.json.error.message).toMatch(/^sentAt: an ISO-8601 timestamp/);
    for (const id of ['crm-msg-bad', 'crm-msg-bad2', 'crm-msg-bad3']) expect(await storedByExternalId(id)).toHaveLength(0);
  });

  it('the same externalId posted twice is stored once', async () => {
    const again = await postMessages(singleMessage);
    expect(again.status).toBe(202);
    const viaWebhook = await postMessages(singleMessage, { path: 'webhook' });
    expect(viaWebhook.status).toBe(202);
    expect(await storedByExternalId('crm-msg-10001')).toHaveLength(1);
  });

  it('a batch is stored in order, with its picture downloaded', async () => {
    const withLocalMedia = structuredClone(batch);
    withLocalMedia.messages[1]!.attachments = [{ url: mediaHost.url, fileName: 'parcel.png', contentType: 'image/png' }];
    const r = await postMessages(withLocalMedia);
    expect(r.status).toBe(202);
    expect(r.json).toEqual({ accepted: 3 });
    const mine = (await messagesOf(conversationId)).map((m) => [m.externalId, m.contentType]);
    expect(mine).toEqual([['crm-msg-10001', 'text'], ['crm-msg-10002', 'text'], ['crm-msg-10003', 'image']]);
    const image = (await messagesOf(conversationId)).find((m) => m.externalId === 'crm-msg-10003');
    expect(image.attachments).toMatchObject([{ fileName: 'parcel.png', contentType: 'image/png', size: PNG.length }]);
    // Another sender id is another customer: their location opened a conversation of its own.
    const other = await server.node.services.db.query(`SELECT content_type FROM messages WHERE inbox_id = $1 AND external_id = 'crm-msg-10004'`, [inbox.id]);
    expect(other).toEqual([{ content_type: 'location' }]);
  });

  it("an agent's reply reaches the integrator as a correctly signed webhook", async () => {
    const reply = await api('POST', `/api/v1/conversations/${conversationId}/messages`, { clientId: randomUUID(), text: '已为您加急 / expedited for you' });
    expect(reply.status).toBe(201);
    const id = reply.body.message.id as string;
    await waitUntil('the webhook at the receiver', async () => receiver.delivered.includes(id));
    expect(receiver.rejected).toEqual([]);
    const got = receiver.accepted.find((a) => (a.body as any).message.id === id)!.body as any;
    expect(got).toMatchObject({ event: 'message.created', message: { id, text: '已为您加急 / expedited for you', attachments: [] }, recipient: { id: 'cust-42' } });
    const stored = await waitForDeliveryStatus(conversationId, id, 'sent');
    expect(stored.externalId).toMatch(/^rcv_\d+$/);
  });

  it('a receiver answering 500 twice then 200 gets the reply once, and the delivery log shows every attempt', { timeout: 60_000 }, async () => {
    receiver.failNext(500);
    receiver.failNext(500);
    const reply = await api('POST', `/api/v1/conversations/${conversationId}/messages`, { clientId: randomUUID(), text: 'Your replacement ships today.' });
    expect(reply.status).toBe(201);
    const id = reply.body.message.id as string;
    await waitForDeliveryStatus(conversationId, id, 'sent', { timeoutMs: 45_000 });
    expect(receiver.attempts.filter((a) => a.deliveryId === id).map((a) => a.status)).toEqual([500, 500, 200]);
    expect(receiver.delivered.filter((d) => d === id)).toHaveLength(1);
    const log = await api('GET', `/api/v1/inboxes/${inbox.id}/deliveries`);
    expect(log.status).toBe(200);
    const attempts = (log.body as any[]).filter((a) => a.messageId === id).sort((a, b) => a.attempt - b.attempt);
    expect(attempts.map((a) => [a.attempt, a.outcome])).toEqual([[1, 'retry'], [2, 'retry'], [3, 'sent']]);
    expect(attempts[0].error).toContain('HTTP 500');
    expect(attempts[2].externalId).toMatch(/^rcv_/);
  });

  it('a receiver refusing with 400 fails the reply at once, without retries', async () => {
    receiver.failNext(400);
    const reply = await api('POST', `/api/v1/conversations/${conversationId}/messages`, { clientId: randomUUID(), text: 'This one is refused.' });
    const id = reply.body.message.id as string;
    const failed = await waitForDeliveryStatus(conversationId, id, 'failed');
    expect(failed.deliveryError).toContain('HTTP 400');
    const log = await api('GET', `/api/v1/inboxes/${inbox.id}/deliveries?outcome=failed`);
    expect((log.body as any[]).filter((a) => a.messageId === id)).toHaveLength(1);
    expect(receiver.attempts.filter((a) => a.deliveryId === id).map((a) => a.status)).toEqual([400]);
  });
});
