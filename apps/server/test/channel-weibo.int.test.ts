/**
 * Weibo (微博) fans-service private messages end to end through a real server and the real Weibo adapter,
 * against the local fake (packages/channels/test/fakes/weibo-fake.ts): an admin configures the inbox over
 * the API, the GET URL check is answered with echostr, a signed picture push becomes a conversation with
 * the picture downloaded by its tovfid, Weibo's retries are stored once, the agent's reply reaches the
 * fake in the documented form, and forged or stale pushes are refused.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWeiboFake, weiboSignedQuery, type WeiboFake } from '../../../packages/channels/test/fakes/weibo-fake.ts';
import { SAMPLE_JPEG as JPEG, channelFixture, channelTestKit, createChannelInbox, startChannelTestServer, storedMessages, type InboxRef } from './helpers/channels.ts';
import { httpRequest, type TestServer } from './helpers/test-server.ts';

const APP_SECRET = '4d3c2b1a0f9e8d7c6b5a49382716f5e4';
const ACCESS_TOKEN = '2.00HuiliuIntegration_FansService_abcdef0123';
const ACCOUNT = '1902538057';
const USER = '2489518277';
/** Pushes of the documented examples: created_at 2012-07-16T10:09:20Z. */
const TEXT_ID = `wb:${USER}:1342433360:text:a731c5ff013fe15a`;
const fixture = (name: string) => channelFixture('weibo', name);

let server: TestServer;
let fake: WeiboFake;
let token = '';
let inbox: InboxRef;
let conversationId = '';

const { api, messagesOf, waitUntil, waitForDeliveryStatus } = channelTestKit(() => ({ server, token }));
const webhookPath = (query: Record<string, string>) => `/api/channels/v1/${inbox.publicId}/webhook?${new URLSearchParams(query)}`;
/** POSTs the body byte for byte with the query Weibo signs (signature over the sorted App Secret, timestamp, nonce). */
const push = (body: string, secret: string = APP_SECRET, o: { timestamp?: string } = {}) =>
  httpRequest(server.url, 'POST', webhookPath(weiboSignedQuery(secret, o)), { rawBody: body, headers: { 'content-type': 'application/json' } });

beforeAll(async () => {
  ({ server, token } = await startChannelTestServer());
  fake = await startWeiboFake({ accessToken: ACCESS_TOKEN, accountUid: ACCOUNT });
});
afterAll(async () => {
  await server?.close();
  await fake?.close();
});

describe('Weibo channel', () => {
  it('is configured by an admin over the API; secrets never come back', async () => {
    const { inbox: created, channel: r } = await createChannelInbox(server, token, {
      kind: 'weibo',
      name: '微博私信',
      config: { apiBaseUrl: fake.baseUrl, mediaBaseUrl: fake.baseUrl, accountUid: ACCOUNT },
      secrets: { appSecret: APP_SECRET, accessToken: ACCESS_TOKEN },
    });
    inbox = created;
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ kind: 'weibo', ready: true, capabilities: { contentTypes: ['text'], sendWindow: { hours: 48, outside: 'blocked' } } });
    for (const secret of [APP_SECRET, ACCESS_TOKEN]) expect(r.text).not.toContain(secret);
  });

  it('answers the GET URL check with echostr, and refuses a wrong signature', async () => {
    const ok = await httpRequest(server.url, 'GET', webhookPath(weiboSignedQuery(APP_SECRET, { echostr: 'KeyDMwtf672' })));
    expect(ok.status).toBe(200);
    expect(ok.text).toBe('KeyDMwtf672');
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain/);
    const wrong = await httpRequest(server.url, 'GET', webhookPath(weiboSignedQuery('guessed', { echostr: 'KeyDMwtf672' })));
    expect(wrong.status).toBe(401);
    expect(wrong.text).not.toContain('KeyDMwtf672');
  });

  it('a signed picture push becomes conversation and message with the picture fetched by its tovfid', async () => {
    const fid = fake.addMedia(JPEG, 'image/jpeg');
    const r = await push(fixture('image.json').replace('"tovfid": 821804469', `"tovfid": ${fid}`));
    expect(r.status).toBe(200);
    expect(r.text).toBe('');
    const list = await api('GET', `/api/v1/conversations?status=all&inboxId=${inbox.id}`);
    expect(list.body.items).toHaveLength(1);
    conversationId = list.body.items[0].id;
    const [m] = await messagesOf(conversationId);
    expect(m).toMatchObject({ direction: 'incoming', contentType: 'image' });
    expect(m.externalId).toMatch(new RegExp(`^wb:${USER}:1342433360:image:[0-9a-f]{16}$`));
    expect(m.attachments[0]).toMatchObject({ contentType: 'image/jpeg', size: JPEG.length });
    const file = await fetch(new URL(m.attachments[0].url, server.url));
    expect(Buffer.from(await file.arrayBuffer()).equals(JPEG)).toBe(true);
    expect(fake.downloads).toEqual([fid]);
    const identities = await api('GET', `/api/v1/contacts/${list.body.items[0].contactId}/identities`);
    expect(identities.body).toMatchObject([{ inboxId: inbox.id, channelType: 'weibo', sourceId: USER }]);
  });

  it('a text push retried by Weibo (new nonce and timestamp, same body) is stored once, in the same conversation', async () => {
    for (let i = 0; i < 3; i++) expect((await push(fixture('text.json'))).status).toBe(200);
    expect(await storedMessages(server.node.services.db, inbox.id, TEXT_ID)).toHaveLength(1);
    const texts = (await messagesOf(conversationId)).map((m: any) => m.text);
    expect(texts).toContain('the content of a general message');
  });

  it('the agent\'s reply reaches the reply API in the documented form and is marked sent', async () => {
    const text = '您好！已为您安排发货 & 优惠 5%';
    const reply = await api('POST', `/api/v1/conversations/${conversationId}/messages`, { clientId: randomUUID(), text });
    expect(reply.status).toBe(201);
    const sent = await waitUntil('the reply at the fake', async () => fake.sent.find((s) => s.data.text === text));
    expect(sent).toEqual({ receiverId: USER, type: 'text', data: { text }, saveSenderBox: '1' });
    const stored = await waitForDeliveryStatus(conversationId, reply.body.message.id, 'sent');
    expect(stored.externalId).toBe(`wb-out:${reply.body.message.id}`);
    expect(fake.rejected).toEqual([]);
  });

  it('a forged or stale push is refused and stores nothing', async () => {
    const body = fixture('text.json').replace('the content of a general message', 'forged message');
    expect((await push(body, 'someone-elses-secret')).status).toBe(401);
    const unsigned = await httpRequest(server.url, 'POST', `/api/channels/v1/${inbox.publicId}/webhook`, { rawBody: body });
    expect(unsigned.status).toBe(401);
    const stale = await push(body, APP_SECRET, { timestamp: String(Date.now() - 3600_000) });
    expect(stale.status).toBe(409);
    const texts = (await messagesOf(conversationId)).map((m: any) => m.text);
    expect(texts).not.toContain('forged message');
  });
});
