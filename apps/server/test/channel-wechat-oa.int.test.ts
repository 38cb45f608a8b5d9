/**
 * WeChat Official Account end to end through a real server and the real adapter, against the local fake
 * WeChat API (packages/channels/test/fakes/wechat-fake.ts): an admin configures the inbox over the API,
 * WeChat verifies the server URL, a follower's encrypted and signed image push becomes conversation,
 * message and stored picture (with the UnionID as a verified key), WeChat's retry of it is stored once,
 * the agent's reply reaches the customer-service API with the follower's OpenID, a second Official
 * Account's follower with the same UnionID lands on the same contact, and forged, stale or hostile
 * pushes are refused without storing anything.
 *
 * The webhook answers as soon as the push is verified and its pull job stored; the job (UnionID lookup,
 * media download, storing) runs afterwards, so the tests wait for what a push stores. The last case
 * makes WeChat's user/info and media/get slower than WeChat's 5-second limit: the answer still comes at
 * once, and the message arrives once.
 */
import { randomUUID } from 'node:crypto';
import { PULL_QUEUE } from '@huiliu/core/channels/channel-pulls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decryptMessage, parseEncodingAesKey, wechatSignature } from '../../../packages/channels/src/wechat/crypto.ts';
import { parseWechatXml, xmlText } from '../../../packages/channels/src/wechat/xml.ts';
import { startWechatFake, wechatPush, wechatVerification, type PushOptions, type WechatAccount, type WechatFake } from '../../../packages/channels/test/fakes/wechat-fake.ts';
import { SAMPLE_JPEG as JPEG, channelFixture, channelTestKit, createChannelInbox, startChannelTestServer, storedMessages, type InboxRef } from './helpers/channels.ts';
import { httpRequest, type TestServer } from './helpers/test-server.ts';

const ACCOUNT: WechatAccount = { appId: 'wxa1b2c3d4e5f60718', token: 'huiliuWechatToken2026', encodingAesKey: 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C' };
const APP_SECRET = '3c9d2f1e8b7a6c5d4e3f2a1b0c9d8e7f';
/** A second Official Account of the same company (same WeChat Open Platform account, so same UnionIDs). */
const ACCOUNT_2: WechatAccount = { appId: 'wx0f1e2d3c4b5a6978', token: 'secondAccountToken', encodingAesKey: 'Q2VjaWxpYSBhbmQgdGhlIGh1aWxpdSB0ZXN0IGtleTA' };
const APP_SECRET_2 = 'b1a2c3d4e5f60718293a4b5c6d7e8f90';
const OPENID = 'oyORnuP8q7ou2gfYjqLzSIWZf0rs';
const OPENID_2 = 'o6_bmjrPTlm6_2sgVt7hMZOPfL2M';
const UNIONID = 'o6_bmasdasdsad6_2sgVt7hMZOPfL';
const WELCOME = '欢迎关注！有问题请直接留言。';
const fixture = (name: string) => channelFixture('wechat_oa', name);

/** A documentation example with a realistic follower, a MsgId of its own and, for media, the fake's MediaId. */
function pushXml(file: string, o: { from?: string; msgId?: string; mediaId?: string } = {}): string {
  let xml = fixture(file).replace(/<FromUserName><!\[CDATA\[[^\]]*\]\]><\/FromUserName>/, `<FromUserName><![CDATA[${o.from ?? OPENID}]]></FromUserName>`);
  if (o.msgId) xml = xml.replace('<MsgId>1234567890123456</MsgId>', `<MsgId>${o.msgId}</MsgId>`);
  if (o.mediaId) xml = xml.replace('<MediaId><![CDATA[media_id]]></MediaId>', `<MediaId><![CDATA[${o.mediaId}]]></MediaId>`);
  return xml;
}

let server: TestServer;
let fake: WechatFake;
let fake2: WechatFake;
let token = '';
let inbox: InboxRef;
let inbox2: InboxRef;
let conversationId = '';
let contactId = '';

const { api, messagesOf, waitUntil, waitForDeliveryStatus } = channelTestKit(() => ({ server, token }));
const webhookPath = (publicId: string, query: Record<string, string>) => `/api/channels/v1/${publicId}/webhook?${new URLSearchParams(query)}`;
/** POSTs a push the way WeChat does: query string with the signatures, XML body. */
function deliver(xml: string, o: Partial<PushOptions> = {}, to: { inbox: InboxRef; account: WechatAccount } = { inbox, account: ACCOUNT }) {
  const { query, body } = wechatPush(xml, to.account, { mode: 'safe', ...o });
  return httpRequest(server.url, 'POST', webhookPath(to.inbox.publicId, query), { rawBody: body, headers: { 'content-type': 'text/xml' } });
}
/**
 * Waits until every push answered so far has been through its pull job. The job is stored before WeChat
 * gets its answer, so once none is queued or running, what the pushes store is there.
 */
const pullsDone = () => waitUntil('the pushes\' pull jobs to run', async () =>
  (await server.node.services.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM jobs WHERE queue = $1 AND status IN ('queued', 'running')`, [PULL_QUEUE]))[0]!.n === 0);
/** The newest pull job's id (0 when none): a baseline for `pullJobsAfter`. */
const lastPullJob = async () =>
  (await server.node.services.db.query<{ id: number }>(`SELECT coalesce(max(id), 0)::int AS id FROM jobs WHERE queue = $1`, [PULL_QUEUE]))[0]!.id;
/** Pull jobs stored after the baseline, whatever their state, with their payload (dropped once done: it copies the push). */
const pullJobsAfter = (baseline: number) =>
  server.node.services.db.query<{ status: string; payload: unknown }>(`SELECT status, payload FROM jobs WHERE queue = $1 AND id > $2 ORDER BY id`, [PULL_QUEUE, baseline]);
const DONE_PULL = { status: 'done', payload: {} };

beforeAll(async () => {
  ({ server, token } = await startChannelTestServer());
  fake = await startWechatFake({ appId: ACCOUNT.appId, appSecret: APP_SECRET, followers: { [OPENID]: UNIONID } });
  fake2 = await startWechatFake({ appId: ACCOUNT_2.appId, appSecret: APP_SECRET_2, followers: { [OPENID_2]: UNIONID } });
});
afterAll(async () => {
  await server?.close();
  await fake?.close();
  await fake2?.close();
});

describe('WeChat Official Account channel', () => {
  it('is configured by an admin over the API; "test connection" gets an access token; secrets are never returned', async () => {
    const { inbox: created, channel: r } = await createChannelInbox(server, token, {
      kind: 'wechat_oa',
      name: '公众号客服',
      config: { appId: ACCOUNT.appId, apiBaseUrl: fake.baseUrl, welcomeMessage: WELCOME },
      secrets: { appSecret: APP_SECRET, token: ACCOUNT.token, encodingAesKey: ACCOUNT.encodingAesKey },
    });
    inbox = created;
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({
      kind: 'wechat_oa', ready: true, webhookUrl: `${server.url}/api/channels/v1/${inbox.publicId}/webhook`,
      capabilities: { sendWindow: { hours: 48, maxMessages: 5, outside: 'blocked' }, contentTypes: ['text', 'image', 'card'] },
    });
    for (const secret of [APP_SECRET, ACCOUNT.token, ACCOUNT.encodingAesKey]) expect(r.text).not.toContain(secret);
    const check = await api('POST', `/api/v1/inboxes/${inbox.id}/channel/check`);
    expect(check.body).toMatchObject({ ok: true });
    expect(fake.accepted.filter((a) => a.path === '/cgi-bin/stable_token')).toHaveLength(1);
  });

  it('answers WeChat\'s server URL verification with echostr, and refuses another Token\'s signature', async () => {
    const ok = await httpRequest(server.url, 'GET', webhookPath(inbox.publicId, wechatVerification(ACCOUNT.token, '5838479218127813673')));
    expect(ok.status).toBe(200);
    expect(ok.text).toBe('5838479218127813673');
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain/);
    const wrong = await httpRequest(server.url, 'GET', webhookPath(inbox.publicId, wechatVerification('notTheToken', '5838479218127813673')));
    expect(wrong.status).toBe(401);
    expect(wrong.text).not.toContain('5838479218127813673');
  });

  it('an encrypted image push becomes conversation, message and stored picture; the UnionID is a verified key', async () => {
    const mediaId = fake.addMedia(JPEG, 'image/jpeg');
    const r = await deliver(pushXml('image.xml', { msgId: '6054768590064713701', mediaId }));
    expect(r.status, r.text).toBe(200);
    expect(r.text).toBe('success');

    // Stored by the push's pull job, after the answer.
    await waitUntil('the image push stored', async () => (await storedMessages(server.node.services.db, inbox.id, '6054768590064713701')).length > 0);
    const list = await api('GET', `/api/v1/conversations?status=all&inboxId=${inbox.id}`);
    expect(list.body.items).toHaveLength(1);
    const conv = list.body.items[0];
    conversationId = conv.id;
    contactId = conv.contactId;
    const [m] = await messagesOf(conv.id);
    expect(m).toMatchObject({ direction: 'incoming', contentType: 'image', externalId: '6054768590064713701' });
    expect(m.attachments).toHaveLength(1);
    expect(m.attachments[0]).toMatchObject({ fileName: `${mediaId}.jpg`, contentType: 'image/jpeg', size: JPEG.length });
    const file = await fetch(new URL(m.attachments[0].url, server.url));
    expect(Buffer.from(await file.arrayBuffer()).equals(JPEG)).toBe(true);
    expect(fake.downloads).toEqual([mediaId]);
    expect(fake.userInfoLookups).toEqual([OPENID]);

    const identities = await api('GET', `/api/v1/contacts/${contactId}/identities`);
    expect(identities.body).toMatchObject([{ inboxId: inbox.id, channelType: 'wechat_oa', sourceId: OPENID, verified: true }]);
    const keys = await server.node.services.db.query(`SELECT kind, value FROM identity_keys WHERE workspace_id = (SELECT workspace_id FROM inboxes WHERE id = $1)`, [inbox.id]);
    expect(keys).toEqual([{ kind: 'unionid', value: UNIONID }]);
  });

  it('WeChat\'s retry of the same push (new timestamp and nonce) is stored once', async () => {
    const mediaId = fake.downloads[0]!;
    const baseline = await lastPullJob();
    for (let i = 0; i < 2; i++) {
      const r = await deliver(pushXml('image.xml', { msgId: '6054768590064713701', mediaId }));
      expect(r.status).toBe(200);
      expect(r.text).toBe('success');
    }
    await pullsDone();
    // Each retry became a pull job of its own; ingest recognized the MsgId and stored nothing more.
    expect(await pullJobsAfter(baseline)).toEqual([DONE_PULL, DONE_PULL]);
    expect(await storedMessages(server.node.services.db, inbox.id, '6054768590064713701')).toHaveLength(1);
    expect(await messagesOf(conversationId)).toHaveLength(1);
    expect(fake.downloads).toHaveLength(1);
  });

  it('the agent\'s reply reaches the customer-service API with the follower\'s OpenID and is marked sent', async () => {
    expect((await deliver(pushXml('text.xml', { msgId: '6054768590064713702' }))).status).toBe(200);
    await pullsDone();
    expect(await storedMessages(server.node.services.db, inbox.id, '6054768590064713702')).toHaveLength(1);
    const text = '您好，我们已为您补发 / a replacement is on its way';
    const reply = await api('POST', `/api/v1/conversations/${conversationId}/messages`, { clientId: randomUUID(), text });
    expect(reply.status, JSON.stringify(reply.body)).toBe(201);
    const sent = await waitUntil('the reply at the fake', async () => fake.sent.find((s) => (s.body.text as { content?: string } | undefined)?.content === text));
    expect(sent.body).toEqual({ touser: OPENID, msgtype: 'text', text: { content: text } });
    const stored = await waitForDeliveryStatus(conversationId, reply.body.message.id, 'sent');
    expect(stored.externalId).toBe(`wxoa:${reply.body.message.id}`);
    expect(fake.rejected).toEqual([]);
    // One token for everything so far: check, user/info, media/get, custom/send.
    expect(fake.tokensIssued).toBe(1);
  });

  it('a reply after WeChat reset the token (40001) goes out with a fresh one', async () => {
    fake.revokeToken();
    const text = 'still here';
    const reply = await api('POST', `/api/v1/conversations/${conversationId}/messages`, { clientId: randomUUID(), text });
    expect(reply.status).toBe(201);
    await waitForDeliveryStatus(conversationId, reply.body.message.id, 'sent');
    expect(fake.sent.at(-1)!.body).toEqual({ touser: OPENID, msgtype: 'text', text: { content: text } });
    expect(fake.rejected.map((r) => r.reason)).toEqual(['access_token refused (40001)']);
    expect(fake.tokensIssued).toBe(2);
    fake.rejected.length = 0;
  });

  it('45015 from WeChat fails the reply at once with the window reason', async () => {
    fake.failNextWith(45015, 'response out of time limit or subscription is canceled');
    const reply = await api('POST', `/api/v1/conversations/${conversationId}/messages`, { clientId: randomUUID(), text: 'Are you still there?' });
    expect(reply.status).toBe(201);
    const failed = await waitForDeliveryStatus(conversationId, reply.body.message.id, 'failed');
    expect(failed.deliveryError).toMatch(/45015.*once the customer sends a message/);
    const log = await api('GET', `/api/v1/inboxes/${inbox.id}/deliveries`);
    const attempts = log.body.filter((a: any) => a.messageId === reply.body.message.id);
    expect(attempts.map((a: any) => [a.outcome, a.errorCode])).toEqual([['failed', 'window_closed']]);
  });

  it('a follow (subscribe) is answered with the encrypted welcome reply', async () => {
    const r = await deliver(pushXml('event-subscribe.xml'));
    expect(r.status).toBe(200);
    const outer = parseWechatXml(r.text);
    const encrypt = xmlText(outer, 'Encrypt');
    expect(xmlText(outer, 'MsgSignature')).toBe(wechatSignature(ACCOUNT.token, xmlText(outer, 'TimeStamp'), xmlText(outer, 'Nonce'), encrypt));
    const inner = parseWechatXml(decryptMessage(parseEncodingAesKey(ACCOUNT.encodingAesKey), encrypt, ACCOUNT.appId));
    expect(inner).toMatchObject({ ToUserName: OPENID, FromUserName: 'toUser', MsgType: 'text', Content: WELCOME });
    // Recorded as activity in the follower's open conversation, once.
    expect((await deliver(pushXml('event-subscribe.xml'))).status).toBe(200);
    await pullsDone();
    const activity = (await messagesOf(conversationId)).filter((m) => m.direction === 'activity' && /subscribe/.test(m.text));
    expect(activity).toHaveLength(1);
  });

  it('a forged, stale, misaddressed or hostile push is refused and stores nothing', async () => {
    const xml = pushXml('text.xml', { msgId: '6054768590064713799' });
    const baseline = await lastPullJob();
    const forged = await deliver(xml, {}, { inbox, account: { ...ACCOUNT, token: 'guessedToken' } });
    expect(forged.status).toBe(401);
    expect(forged.json.error.code).toBe('unauthenticated');
    const otherKey = await deliver(xml, {}, { inbox, account: { ...ACCOUNT, encodingAesKey: ACCOUNT_2.encodingAesKey } });
    expect(otherKey.status).toBe(400);
    const otherAppId = await deliver(xml, { encryptFor: ACCOUNT_2.appId });
    expect(otherAppId.status).toBe(401);
    const plain = await deliver(xml, { mode: 'plain' });
    expect(plain.status).toBe(401);
    const stale = await deliver(xml, { timestamp: String(Math.floor(Date.now() / 1000) - 3600) });
    expect(stale.status).toBe(409);
    const xxe = await deliver(`<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]>${xml.replace('this is a test', '&e;')}`);
    expect(xxe.status).toBe(400);
    const { query } = wechatPush(xml, ACCOUNT, { mode: 'safe' });
    const huge = await httpRequest(server.url, 'POST', webhookPath(inbox.publicId, query), { rawBody: `<xml>${'x'.repeat(2 * 1024 * 1024)}</xml>`, headers: { 'content-type': 'text/xml' } });
    expect(huge.status).toBe(413);
    // Refused while WeChat waits for the answer: no pull job was stored for any of them.
    expect(await pullJobsAfter(baseline)).toEqual([]);
    await pullsDone();
    expect(await storedMessages(server.node.services.db, inbox.id, '6054768590064713799')).toHaveLength(0);
  });

  it('the same person writing to a second Official Account lands on the same contact (same UnionID)', async () => {
    const { inbox: created, channel } = await createChannelInbox(server, token, {
      kind: 'wechat_oa',
      name: '第二个公众号',
      config: { appId: ACCOUNT_2.appId, apiBaseUrl: fake2.baseUrl },
      secrets: { appSecret: APP_SECRET_2, token: ACCOUNT_2.token, encodingAesKey: ACCOUNT_2.encodingAesKey },
    });
    inbox2 = created;
    expect(channel.status, channel.text).toBe(200);
    const r = await deliver(pushXml('text.xml', { from: OPENID_2, msgId: '7054768590064713701' }), {}, { inbox: inbox2, account: ACCOUNT_2 });
    expect(r.status, r.text).toBe(200);
    const list = await waitUntil('the second account\'s conversation', async () => {
      const l = await api('GET', `/api/v1/conversations?status=all&inboxId=${inbox2.id}`);
      return l.body.items.length > 0 && l;
    });
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0].contactId).toBe(contactId);
    const identities = await api('GET', `/api/v1/contacts/${contactId}/identities`);
    expect(identities.body.map((i: any) => [i.inboxId, i.sourceId]).sort()).toEqual([[inbox.id, OPENID], [inbox2.id, OPENID_2]].sort());
  });

  it('answers "success" at once while user/info and media/get take longer than WeChat waits; the message then arrives once', async () => {
    // A follower of its own: the lookup that runs out of time is remembered for its OpenID only.
    const follower = 'oyORnuSlowWechatApiFollower1';
    const msgId = '6054768590064713750';
    fake.addFollower(follower, 'o6_bmSlowWechatApiUnionId000');
    const mediaId = fake.addMedia(JPEG, 'image/jpeg');
    const baseline = await lastPullJob();
    fake.delay('/cgi-bin/user/info', 6_000);
    fake.delay('/cgi-bin/media/get', 6_000);
    try {
      const xml = pushXml('image.xml', { from: follower, msgId, mediaId });
      const first = await deliver(xml);
      expect([first.status, first.text]).toEqual([200, 'success']);
      // Answered before WeChat's API served anything for this push: nothing downloaded, nothing stored.
      expect(fake.downloads).not.toContain(mediaId);
      expect(await storedMessages(server.node.services.db, inbox.id, msgId)).toHaveLength(0);
      // A retry WeChat sends anyway is answered at once too.
      const retry = await deliver(xml);
      expect([retry.status, retry.text]).toEqual([200, 'success']);

      await waitUntil('the image pushed during the slow API stored', async () => (await storedMessages(server.node.services.db, inbox.id, msgId)).length > 0, 30_000);
      await pullsDone();
      expect(await storedMessages(server.node.services.db, inbox.id, msgId)).toHaveLength(1);
      expect(fake.downloads.filter((id) => id === mediaId)).toHaveLength(1);
      expect(await pullJobsAfter(baseline)).toEqual([DONE_PULL, DONE_PULL]);
      const [row] = await storedMessages(server.node.services.db, inbox.id, msgId);
      const stored = (await messagesOf(String(row!.conversation_id))).find((m) => m.externalId === msgId);
      expect(stored).toMatchObject({ direction: 'incoming', contentType: 'image' });
      expect(stored.attachments).toHaveLength(1);
      expect(stored.attachments[0]).toMatchObject({ contentType: 'image/jpeg', size: JPEG.length });
    } finally {
      fake.delay('/cgi-bin/user/info', 0);
      fake.delay('/cgi-bin/media/get', 0);
    }
  }, 60_000);
});
