/**
 * Douyin (抖音) private messages end to end through a real server and the real Douyin adapter, against
 * the local fake OpenAPI (packages/channels/test/fakes/douyin-fake.ts): an admin configures the inbox over
 * the API and "test connection" refreshes the account's token, the webhook URL check is answered, a
 * signed customer message becomes a conversation the agent sees (a retried push stored once), the
 * agent's reply reaches the fake answering that message, and forged or stale pushes are refused.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { douyinSignature } from '../../../packages/channels/src/douyin/signature.ts';
import { startDouyinFake, withCreateTime, type DouyinFake } from '../../../packages/channels/test/fakes/douyin-fake.ts';
import { channelFixture, channelTestKit, createChannelInbox, postWebhook, startChannelTestServer, storedMessages, type InboxRef } from './helpers/channels.ts';
import type { TestServer } from './helpers/test-server.ts';

const CLIENT_KEY = 'awhuiliu7f3k2q9x';
const CLIENT_SECRET = '9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a';
const REFRESH_TOKEN = 'rft.5e1f0c2b7a9d4e3f8a6b0c1d2e3f4a5b';
const CUSTOMER = 'ac6479a5-d7a6-4018-84be-c29bfc00000';
const ACCOUNT = 'aaa-7ae0-4399-914a-5eb1df5861ba';
const CONVERSATION = '@c29bfc000+MNggFhRkwGuX1ntuc0QfA0VnmRejrzWUBwDdDYrU9MpJSYEVV6/2hKU0il5iay8J99+0t5j3zrbA==';
const SERVER_MESSAGE_ID = '@c29bfc000+MNggFhRkwGuX1ntuc0RPc0VHF0c9qZ4SU3Uc+dbhT1WBAhZ0cwBXl0mPu8JxZ4HfN5b0Q7mMzxQ2tXw==';
const MSG_ID = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
const EXTERNAL_ID = `dy:${MSG_ID}|${CONVERSATION}|${SERVER_MESSAGE_ID}`;
/** The documented example with the current create_time (the adapter refuses day-old pushes). */
const textPush = () => withCreateTime(channelFixture('douyin', 'im-receive-msg-text.json'), new Date());

let server: TestServer;
let fake: DouyinFake;
let token = '';
let inbox: InboxRef;
let conversationId = '';

const { api, messagesOf, waitUntil, waitForDeliveryStatus } = channelTestKit(() => ({ server, token }));
/** POSTs the body byte for byte as Douyin does, signed with `secret` (null: no signature header). */
const push = (body: string, msgId: string, secret: string | null = CLIENT_SECRET) =>
  postWebhook(server, inbox.publicId, body, { 'msg-id': msgId, ...(secret !== null ? { 'x-douyin-signature': douyinSignature(secret, body) } : {}) });

beforeAll(async () => {
  ({ server, token } = await startChannelTestServer());
  fake = await startDouyinFake({ clientKey: CLIENT_KEY, clientSecret: CLIENT_SECRET, accountOpenId: ACCOUNT, refreshToken: REFRESH_TOKEN });
  fake.registerMessage({ conversationShortId: CONVERSATION, serverMessageId: SERVER_MESSAGE_ID, openId: CUSTOMER });
});
afterAll(async () => {
  await server?.close();
  await fake?.close();
});

describe('Douyin channel', () => {
  it('is configured by an admin over the API; "test connection" refreshes the account\'s token; secrets never come back', async () => {
    const { inbox: created, channel: r } = await createChannelInbox(server, token, {
      kind: 'douyin',
      name: '抖音私信',
      config: { apiBaseUrl: fake.baseUrl, clientKey: CLIENT_KEY, accountOpenId: ACCOUNT },
      secrets: { clientSecret: CLIENT_SECRET, refreshToken: REFRESH_TOKEN },
    });
    inbox = created;
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ kind: 'douyin', ready: true, capabilities: { contentTypes: ['text'], sendWindow: { hours: 24, outside: 'blocked' } } });
    for (const secret of [CLIENT_SECRET, REFRESH_TOKEN]) expect(r.text).not.toContain(secret);
    const check = await api('POST', `/api/v1/inboxes/${inbox.id}/channel/check`);
    expect(check.body).toMatchObject({ ok: true });
    expect(fake.tokenRequests).toContain('refresh_token');
  });

  it('answers Douyin\'s URL check (verify_webhook) with the challenge as JSON', async () => {
    const r = await push(channelFixture('douyin', 'verify-webhook.json'), 'verify-1');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(JSON.parse(r.text)).toEqual({ challenge: 12345 });
  });

  it('a signed customer message becomes a conversation the agent sees, named from user_infos', async () => {
    const r = await push(textPush(), MSG_ID);
    expect(r.status).toBe(200);
    const list = await api('GET', `/api/v1/conversations?status=all&inboxId=${inbox.id}`);
    expect(list.body.items).toHaveLength(1);
    const conv = list.body.items[0];
    conversationId = conv.id;
    expect(conv.contact.name).toBe('抖音用户小林');
    const [m] = await messagesOf(conv.id);
    expect(m).toMatchObject({ direction: 'incoming', contentType: 'text', text: '你好，这款耳机还有货吗？', externalId: EXTERNAL_ID });
    const identities = await api('GET', `/api/v1/contacts/${conv.contactId}/identities`);
    expect(identities.body).toMatchObject([{ inboxId: inbox.id, channelType: 'douyin', sourceId: CUSTOMER }]);
  });

  it('the same push delivered again (Douyin retries, same Msg-Id) is stored once; the account\'s own messages are not stored', async () => {
    for (let i = 0; i < 2; i++) expect((await push(textPush(), MSG_ID)).status).toBe(200);
    expect(await storedMessages(server.node.services.db, inbox.id, EXTERNAL_ID)).toHaveLength(1);
    expect((await push(withCreateTime(channelFixture('douyin', 'im-send-msg.json'), new Date()), 'echo-1')).status).toBe(200);
    expect(await messagesOf(conversationId)).toHaveLength(1);
  });

  it('the agent\'s reply answers the customer\'s message in the documented shape and is marked sent', async () => {
    const text = '有货的，今天下单明天发。';
    const reply = await api('POST', `/api/v1/conversations/${conversationId}/messages`, { clientId: randomUUID(), text });
    expect(reply.status).toBe(201);
    const sent = await waitUntil('the reply at the fake', async () => fake.sent.find((s) => (s.body.content as any)?.text?.text === text));
    expect(sent.openId).toBe(ACCOUNT);
    expect(sent.body).toEqual({ msg_id: SERVER_MESSAGE_ID, conversation_id: CONVERSATION, to_user_id: CUSTOMER, content: { msg_type: 1, text: { text } }, scene: 'im_replay_msg' });
    const stored = await waitForDeliveryStatus(conversationId, reply.body.message.id, 'sent');
    expect(stored.externalId).toBe(`dy-out:${sent.msgId}`);
    expect(fake.rejected).toEqual([]);
  });

  it('a forged, unsigned or stale push is refused and stores nothing', async () => {
    const forged = textPush().replace(SERVER_MESSAGE_ID, '@forged-server-message-id');
    const forgedId = `dy:forged-1|${CONVERSATION}|@forged-server-message-id`;
    expect((await push(forged, 'forged-1', 'someone-elses-secret')).status).toBe(401);
    expect((await push(forged, 'forged-1', null)).status).toBe(401);
    // Signed over other bytes: the same JSON re-serialized does not verify.
    const resent = await postWebhook(server, inbox.publicId, JSON.stringify(JSON.parse(forged)), { 'msg-id': 'forged-1', 'x-douyin-signature': douyinSignature(CLIENT_SECRET, forged) });
    expect(resent.status).toBe(401);
    expect(await storedMessages(server.node.services.db, inbox.id, forgedId)).toHaveLength(0);
    const stale = withCreateTime(forged, new Date(Date.now() - 3 * 24 * 3600_000));
    expect((await push(stale, 'forged-1')).status).toBe(409);
    expect(await storedMessages(server.node.services.db, inbox.id, forgedId)).toHaveLength(0);
  });
});
