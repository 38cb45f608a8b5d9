/**
 * WeCom customer service (微信客服) end to end through a real server and the real adapter, against the local
 * fake WeCom API (packages/channels/test/fakes/wecom-fake.ts):
 *
 * an admin configures the inbox over the API → WeCom verifies the callback URL (encrypted echostr) → an
 * encrypted kf_msg_or_event callback (no content) becomes a pull job → sync_msg pages bring the customer's
 * text and picture into a conversation the agent sees (nickname and UnionID from customer/batchget) → the
 * same callback again stores nothing new → assigning an agent keeps the WeCom session on the API side
 * (service_state 0 → 1) → the agent's replies reach send_msg from the kf account the customer wrote to →
 * a 6th reply without a new customer message is refused with the reason → resolving ends the WeCom session
 * (→ 4). Then the other session mode (hand-over to the agent's WeCom account, state 3, where WeCom refuses
 * API replies) and WeCom ending a session on its side.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PULL_QUEUE } from '@huiliu/core/channels/channel-pulls';
import { SESSION_SYNC_QUEUE } from '@huiliu/core/channels/session-sync';
import { startWecomFake, type WecomFake } from '../../../packages/channels/test/fakes/wecom-fake.ts';
import { SAMPLE_JPEG as JPEG, channelFixture, channelTestKit, createChannelInbox, startChannelTestServer, storedMessages, type InboxRef } from './helpers/channels.ts';
import { httpRequest, type TestServer } from './helpers/test-server.ts';

const CORP_ID = 'ww1a2b3c4d5e6f7a8b';
const SECRET = 'kf-app-secret-integration-7d1c9e0b2a';
const CALLBACK_TOKEN = 'HuiliuKfCallback2026';
const AES_KEY = 'Q2VjaWxpYSBhbmQgdGhlIGh1aWxpdSB3ZWNvbSBrZXk';
const KF = 'wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q';
const CUSTOMER = 'wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw';
const NICKNAME = '王小明';
const UNIONID = 'oxasdaosaosdasdasdasd';
const SOURCE_ID = `${KF}:${CUSTOMER}`;

let server: TestServer;
let fake: WecomFake;
let token = '';
let inbox: InboxRef;
let conversationId = '';
let agent: { id: string; email: string; name: string };
let seq = 0;

const { api, messagesOf, waitUntil, waitForDeliveryStatus } = channelTestKit(() => ({ server, token }));

/** A documented sync_msg item (fixtures/wecom_kf) from our customer, with its own msgid. */
function item(name: string, patch: (i: Record<string, any>) => void = () => {}): Record<string, any> {
  const i = JSON.parse(channelFixture('wecom_kf', `${name}.json`)) as Record<string, any>;
  i.msgid = `it_${++seq}_${name}`;
  if (i.origin === 4) {
    i.event.open_kfid = KF;
    if (i.event.external_userid) i.event.external_userid = CUSTOMER;
  } else {
    i.open_kfid = KF;
    i.external_userid = CUSTOMER;
  }
  i.send_time = Math.floor(Date.now() / 1000);
  patch(i);
  return i;
}
const text = (t: string) => item('text', (i) => { i.text = { content: t }; });

const openJobs = async (queue: string) =>
  (await server.node.services.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM jobs WHERE queue = $1 AND status IN ('queued', 'running')`, [queue]))[0]!.n;
/** POSTs WeCom's encrypted callback byte for byte; returns the answer. */
const postCallback = (cb: { url: string; rawBody: Buffer }) =>
  httpRequest(server.url, 'POST', cb.url, { rawBody: cb.rawBody.toString('utf8'), headers: { 'content-type': 'text/xml' } });
/** The customer writes: the items join WeCom's log and WeCom calls back; waits until the pull job ran. */
async function customerWrites(...items: Array<Record<string, any>>) {
  fake.pushItems(KF, items);
  const calls = fake.syncCalls.length;
  const r = await postCallback(fake.callback({ openKfId: KF, path: `/api/channels/v1/${inbox.publicId}/webhook` }));
  expect(r.status, r.text).toBe(200);
  expect(r.text).toBe('success');
  await waitUntil('the pull job to run', async () => fake.syncCalls.length > calls && (await openJobs(PULL_QUEUE)) === 0);
}
const reply = (t: string) => api('POST', `/api/v1/conversations/${conversationId}/messages`, { clientId: randomUUID(), text: t });
const settledSessions = async () => {
  await server.node.services.sessionSync.catchUp();
  await waitUntil('the session syncs to finish', async () => (await openJobs(SESSION_SYNC_QUEUE)) === 0);
};

beforeAll(async () => {
  ({ server, token } = await startChannelTestServer());
  fake = await startWecomFake({ corpId: CORP_ID, secret: SECRET, accounts: { [KF]: '咨询客服' }, servicers: ['zhangsan'], callbackToken: CALLBACK_TOKEN, encodingAesKey: AES_KEY, pageSize: 1 });
  fake.addCustomer({ externalUserId: CUSTOMER, nickname: NICKNAME, unionid: UNIONID });
  agent = (await server.node.services.db.query<{ id: string; email: string; name: string }>(`SELECT id, email, name FROM users WHERE email = $1`, [server.demo.agentEmails[0]]))[0]!;
});
afterAll(async () => {
  await server?.close();
  await fake?.close();
});

describe('WeCom customer service channel', () => {
  it('is configured by an admin over the API; "test connection" gets a token and lists the kf accounts; secrets stay hidden', async () => {
    const { inbox: created, channel: r } = await createChannelInbox(server, token, {
      kind: 'wecom_kf',
      name: '微信客服',
      config: { corpId: CORP_ID, apiBaseUrl: fake.baseUrl },
      secrets: { secret: SECRET, token: CALLBACK_TOKEN, encodingAesKey: AES_KEY },
    });
    inbox = created;
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ kind: 'wecom_kf', ready: true, capabilities: { sendWindow: { hours: 48, maxMessages: 5, outside: 'blocked' }, templates: false } });
    for (const secret of [SECRET, CALLBACK_TOKEN, AES_KEY]) expect(r.text).not.toContain(secret);
    const check = await api('POST', `/api/v1/inboxes/${inbox.id}/channel/check`);
    expect(check.body, check.text).toMatchObject({ ok: true });
    expect(fake.accepted.map((a) => a.path)).toEqual(['/cgi-bin/gettoken', '/cgi-bin/kf/account/list']);
    const members = await api('PUT', `/api/v1/inboxes/${inbox.id}/members`, { userIds: [agent.id] });
    expect(members.status, members.text).toBe(200);
  });

  it('answers WeCom\'s URL verification with the decrypted echostr; a forged one gets 401', async () => {
    const v = fake.verification('8516209867385403212', { path: `/api/channels/v1/${inbox.publicId}/webhook` });
    const ok = await httpRequest(server.url, 'GET', v.url);
    expect([ok.status, ok.text]).toEqual([200, '8516209867385403212']);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain/);
    const forged = await httpRequest(server.url, 'GET', v.url.replace(/msg_signature=[0-9a-f]+/, `msg_signature=${'0'.repeat(40)}`));
    expect(forged.status).toBe(401);
    expect(forged.text).not.toContain('8516209867385403212');
  });

  it('a kf_msg_or_event callback is pulled with sync_msg: the customer\'s text and picture appear in a conversation', async () => {
    const mediaId = fake.addMedia(JPEG, 'image/jpeg', 'photo.jpg');
    await customerWrites(text('你好，我的订单还没发货'), item('image', (i) => { i.image.media_id = mediaId; }));
    // pageSize 1: two pages, each with the callback's Token.
    expect(fake.syncCalls.map((c) => [c.cursor === null, c.token])).toEqual([[true, true], [false, true]]);

    const list = await api('GET', `/api/v1/conversations?status=all&inboxId=${inbox.id}`);
    expect(list.body.items).toHaveLength(1);
    const conv = list.body.items[0];
    conversationId = conv.id;
    expect(conv.contact.name).toBe(NICKNAME);
    const msgs = await messagesOf(conversationId);
    expect(msgs.map((m) => [m.direction, m.contentType, m.text])).toEqual([['incoming', 'text', '你好，我的订单还没发货'], ['incoming', 'image', '']]);
    expect(msgs[1].attachments[0]).toMatchObject({ contentType: 'image/jpeg', size: JPEG.length });
    const file = await fetch(new URL(msgs[1].attachments[0].url, server.url));
    expect(Buffer.from(await file.arrayBuffer()).equals(JPEG)).toBe(true);
    expect(fake.mediaDownloads).toEqual([mediaId]);
    const identities = await api('GET', `/api/v1/contacts/${conv.contactId}/identities`);
    expect(identities.body).toMatchObject([{ inboxId: inbox.id, channelType: 'wecom_kf', sourceId: SOURCE_ID }]);
    expect(fake.rejected).toEqual([]);
  });

  it('the same callback again stores nothing new; a forged or stale one is refused', async () => {
    const cb = fake.callback({ openKfId: KF, path: `/api/channels/v1/${inbox.publicId}/webhook` });
    for (let i = 0; i < 2; i++) {
      const calls = fake.syncCalls.length;
      expect((await postCallback(cb)).status).toBe(200);
      await waitUntil('the pull job to run', async () => fake.syncCalls.length > calls && (await openJobs(PULL_QUEUE)) === 0);
    }
    expect(await messagesOf(conversationId)).toHaveLength(2);
    const first = (await messagesOf(conversationId))[0];
    expect(await storedMessages(server.node.services.db, inbox.id, first.externalId)).toHaveLength(1);

    const forged = { ...cb, url: cb.url.replace(/msg_signature=[0-9a-f]+/, `msg_signature=${'1'.repeat(40)}`) };
    expect((await postCallback(forged)).status).toBe(401);
    const stale = fake.callback({ openKfId: KF, timestamp: Math.floor(Date.now() / 1000) - 3600, path: `/api/channels/v1/${inbox.publicId}/webhook` });
    expect((await postCallback(stale)).status).toBe(409);
    const xxe = { url: cb.url, rawBody: Buffer.from('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><Encrypt>&x;</Encrypt></xml>') };
    expect((await postCallback(xxe)).status).toBe(400);
  });

  it('assigning an agent keeps the WeCom session on the API side (service_state 0 → 1)', async () => {
    expect(fake.sessionState(KF, CUSTOMER)).toEqual({ state: 0, servicer: null });
    const r = await api('POST', `/api/v1/conversations/${conversationId}/assign`, { assigneeId: agent.id });
    expect(r.status, r.text).toBe(200);
    await waitUntil('the session sync at WeCom', async () => fake.transitions.length === 1);
    expect(fake.transitions).toEqual([{ openKfId: KF, externalUserId: CUSTOMER, from: 0, to: 1, servicer: null }]);
    expect(fake.accepted.filter((a) => a.path === '/cgi-bin/kf/service_state/get')).toHaveLength(1);
  });

  it('the agent\'s replies reach send_msg from the kf account the customer wrote to; a 6th is refused until the customer writes', async () => {
    const first = await reply('您好，马上为您查询');
    expect(first.status, first.text).toBe(201);
    const sent = await waitUntil('the reply at WeCom', async () => fake.sent.find((s) => (s.body.text as any)?.content === '您好，马上为您查询'));
    const msgid = (first.body.message.id as string).replaceAll('-', '');
    expect(sent.body).toEqual({ touser: CUSTOMER, open_kfid: KF, msgid, msgtype: 'text', text: { content: '您好，马上为您查询' } });
    expect((await waitForDeliveryStatus(conversationId, first.body.message.id, 'sent')).externalId).toBe(msgid);

    for (let i = 2; i <= 5; i++) expect((await reply(`第${i}条回复`)).status).toBe(201);
    await waitUntil('five replies at WeCom', async () => fake.sent.length === 5);
    const window = await api('GET', `/api/v1/conversations/${conversationId}/send-window`);
    expect(window.body).toMatchObject({ channelType: 'wecom_kf', allowed: false, reasonCode: 'quota_exhausted', remainingMessages: 0 });
    const sixth = await reply('第6条回复');
    expect(sixth.status).toBe(409);
    expect(sixth.body.error.code).toBe('send_window_closed');
    expect(sixth.body.error.message).toMatch(/at most 5 messages per customer message/);
    await server.node.services.outbound.catchUp();
    expect(fake.sent).toHaveLength(5);

    await customerWrites(text('好的，谢谢'));
    expect((await messagesOf(conversationId)).at(-1)).toMatchObject({ direction: 'incoming', text: '好的，谢谢' });
    expect((await reply('不客气')).status).toBe(201);
    await waitUntil('the reply after the customer wrote again', async () => fake.sent.length === 6);
    expect(fake.rejected).toEqual([]);
  });

  it('resolving the conversation ends the WeCom session (→ 4)', async () => {
    expect((await api('PATCH', `/api/v1/conversations/${conversationId}`, { status: 'resolved' })).status).toBe(200);
    await waitUntil('the session ended at WeCom', async () => fake.transitions.length === 2);
    expect(fake.transitions[1]).toEqual({ openKfId: KF, externalUserId: CUSTOMER, from: 1, to: 4, servicer: null });
    await settledSessions();
    expect(fake.transitions).toHaveLength(2);
  });

  describe('sessionMode servicer: the session goes to the agent\'s WeCom account', () => {
    beforeAll(async () => {
      const r = await api('PUT', `/api/v1/inboxes/${inbox.id}/channel`, { config: { corpId: CORP_ID, apiBaseUrl: fake.baseUrl, sessionMode: 'servicer', servicerUserIds: { [agent.email]: 'zhangsan' } } });
      expect(r.status, r.text).toBe(200);
    });

    it('the customer writes again, the agent takes it: state 3 with their WeCom userid; WeCom refuses API replies there, visibly', async () => {
      await customerWrites(text('又有一个问题'));
      const list = await api('GET', `/api/v1/conversations?status=open&inboxId=${inbox.id}`);
      conversationId = list.body.items[0].id;
      expect(fake.sessionState(KF, CUSTOMER).state).toBe(0);
      expect((await api('POST', `/api/v1/conversations/${conversationId}/assign`, { assigneeId: agent.id })).status).toBe(200);
      await waitUntil('the hand-over at WeCom', async () => fake.transitions.length === 3);
      expect(fake.transitions[2]).toEqual({ openKfId: KF, externalUserId: CUSTOMER, from: 0, to: 3, servicer: 'zhangsan' });

      const r = await reply('在企业微信里回复');
      expect(r.status).toBe(201);
      const failed = await waitForDeliveryStatus(conversationId, r.body.message.id, 'failed');
      expect(failed.deliveryError).toContain('95018');
      expect(failed.deliveryError).toContain('WeCom app');
    });

    it('WeCom ending the session on its side (session_status_change 3) resolves the conversation without telling WeCom back', async () => {
      const ended = item('event-session_status_change', (i) => { i.event.change_type = 3; });
      await customerWrites(ended);
      await waitUntil('the conversation resolved', async () => (await api('GET', `/api/v1/conversations/${conversationId}`)).body.status === 'resolved');
      await settledSessions();
      expect(fake.transitions).toHaveLength(3);
      expect(fake.rejected).toEqual([]);
    });
  });
});
