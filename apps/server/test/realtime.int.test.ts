import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import { startTestServer, type TestServer } from './helpers/test-server.ts';

let t: TestServer;
let adminToken: string;
let adminId: string;

beforeAll(async () => {
  t = await startTestServer();
  adminToken = await t.login(t.demo.adminEmail);
  adminId = (await t.api('GET', '/api/v1/auth/me', { token: adminToken })).body.user.id;
});
afterAll(() => t?.close());

/** Collects events of one name on a socket, with a helper to wait for the n-th. */
function collect<T = any>(socket: Socket, event: string) {
  const items: T[] = [];
  const waiters: (() => void)[] = [];
  socket.on(event, (x: T) => {
    items.push(x);
    waiters.splice(0).forEach((w) => w());
  });
  return {
    items,
    async waitFor(pred: (items: T[]) => boolean, ms = 5000): Promise<T[]> {
      const deadline = Date.now() + ms;
      while (!pred(items)) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${event}; got ${JSON.stringify(items).slice(0, 500)}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
      return items;
    },
  };
}

async function visitor() {
  const s = await t.api('POST', '/api/widget/v1/sessions', { body: { inboxPublicId: t.demo.widgetInboxPublicId } });
  const c = await t.api('POST', '/api/widget/v1/conversations', { token: s.body.visitorToken, body: {} });
  return { token: s.body.visitorToken as string, conversationId: c.body.conversation.id as string };
}

const text = (clientId: string, conversationId: string, body: string) => ({ conversationId, clientId, contentType: 'text', text: body, attachmentIds: [] });

describe('realtime protocol', () => {
  it('delivers a visitor message to inbox agents and to the visitor’s other tabs, after an ack with seq', async () => {
    const v = await visitor();
    const agent = await t.socket({ token: adminToken });
    const tab1 = await t.socket({ visitorToken: v.token });
    const tab2 = await t.socket({ visitorToken: v.token });
    const atAgent = collect(agent, 'message.created');
    const atTab2 = collect(tab2, 'message.created');
    const ack = await tab1.emitWithAck('message.send', text('c1', v.conversationId, '你好 <b>not html</b>'));
    expect(ack).toMatchObject({ ok: true, duplicate: false, message: { seq: 1, direction: 'incoming', text: '你好 <b>not html</b>' } });
    await atAgent.waitFor((xs) => xs.some((m) => m.clientId === 'c1'));
    await atTab2.waitFor((xs) => xs.some((m) => m.clientId === 'c1'));
    const again = await tab1.emitWithAck('message.send', text('c1', v.conversationId, '你好 <b>not html</b>'));
    expect(again).toMatchObject({ ok: true, duplicate: true, message: { id: ack.message.id, seq: 1 } });
  });

  it('sends agent replies to the visitor but never private notes', async () => {
    const v = await visitor();
    const agent = await t.socket({ token: adminToken });
    const tab = await t.socket({ visitorToken: v.token });
    const atVisitor = collect(tab, 'message.created');
    const atAgent = collect(agent, 'message.created');
    expect((await agent.emitWithAck('message.send', { ...text('n1', v.conversationId, 'secret note'), private: true })).ok).toBe(true);
    expect((await agent.emitWithAck('message.send', text('r1', v.conversationId, 'public reply'))).ok).toBe(true);
    await atVisitor.waitFor((xs) => xs.some((m) => m.clientId === 'r1'));
    await atAgent.waitFor((xs) => xs.some((m) => m.clientId === 'n1') && xs.some((m) => m.clientId === 'r1'));
    expect(atVisitor.items.map((m) => m.text)).toEqual(['public reply']);
  });

  it('replays exactly the missed messages, in order, after a reconnect (sync from the last seq)', async () => {
    const v = await visitor();
    const tab = await t.socket({ visitorToken: v.token });
    await tab.emitWithAck('message.send', text('a', v.conversationId, 'one'));
    tab.close();
    const agent = await t.socket({ token: adminToken });
    await agent.emitWithAck('message.send', text('b', v.conversationId, 'two'));
    await agent.emitWithAck('message.send', { ...text('note', v.conversationId, 'hidden'), private: true });
    await agent.emitWithAck('message.send', text('c', v.conversationId, 'three'));
    const back = await t.socket({ visitorToken: v.token });
    const sync = await back.emitWithAck('sync', { conversations: [{ conversationId: v.conversationId, afterSeq: 1 }] });
    expect(sync.ok).toBe(true);
    expect(sync.results[0].messages.map((m: { seq: number; text: string }) => `${m.seq}:${m.text}`)).toEqual(['2:two', '4:three']);
    expect(sync.results[0]).toMatchObject({ lastSeq: 4, hasMore: false });
    const agentReplay = await agent.emitWithAck('conversation.subscribe', { conversationId: v.conversationId, afterSeq: 0 });
    expect(agentReplay.messages.map((m: { seq: number }) => m.seq)).toEqual([1, 2, 3, 4]);
  });

  it('routes an assigned conversation to its assignee only, and live-updates assignment', async () => {
    const v = await visitor();
    const liToken = await t.login(t.demo.agentEmails[0]!);
    const admin = await t.socket({ token: adminToken });
    const li = await t.socket({ token: liToken });
    const liMessages = collect(li, 'message.created');
    const adminMessages = collect(admin, 'message.created');
    const liUpdates = collect(li, 'conversation.updated');
    await t.api('POST', `/api/v1/conversations/${v.conversationId}/assign`, { token: adminToken, body: { assigneeId: adminId } });
    await liUpdates.waitFor((xs) => xs.some((c) => c.id === v.conversationId && c.assigneeId === adminId));
    const tab = await t.socket({ visitorToken: v.token });
    await tab.emitWithAck('message.send', text('x1', v.conversationId, 'for the assignee'));
    await adminMessages.waitFor((xs) => xs.some((m) => m.clientId === 'x1'));
    // li subscribed to nothing and is not the assignee: after the admin got it, li must not get it.
    await new Promise((r) => setTimeout(r, 200));
    expect(liMessages.items.some((m) => m.clientId === 'x1')).toBe(false);
    // Opening the conversation (subscribe) makes li a live watcher of it.
    await li.emitWithAck('conversation.subscribe', { conversationId: v.conversationId, afterSeq: 0 });
    await tab.emitWithAck('message.send', text('x2', v.conversationId, 'watched'));
    await liMessages.waitFor((xs) => xs.some((m) => m.clientId === 'x2'));
  });

  it('forwards typing and read receipts between visitor and agents', async () => {
    const v = await visitor();
    const agent = await t.socket({ token: adminToken });
    const tab = await t.socket({ visitorToken: v.token });
    const typingAtAgent = collect(agent, 'typing');
    const readAtVisitor = collect(tab, 'read');
    await tab.emitWithAck('typing', { conversationId: v.conversationId, typing: true });
    await typingAtAgent.waitFor((xs) => xs.some((e) => e.conversationId === v.conversationId && e.senderType === 'contact' && e.typing));
    await tab.emitWithAck('message.send', text('r', v.conversationId, 'read me'));
    expect(await agent.emitWithAck('read', { conversationId: v.conversationId, seq: 1 })).toEqual({ ok: true });
    const reads = await readAtVisitor.waitFor((xs) => xs.length > 0);
    expect(reads[0]).toMatchObject({ conversationId: v.conversationId, readerType: 'user', seq: 1 });
  });

  it('answers bad payloads with validation errors naming the field, and unknown conversations with not_found', async () => {
    const v = await visitor();
    const tab = await t.socket({ visitorToken: v.token });
    const bad = await tab.emitWithAck('message.send', { conversationId: v.conversationId, clientId: 'z', text: 'x', extra: 1 });
    expect(bad).toMatchObject({ ok: false, error: { code: 'validation_failed', issues: [{ path: 'body.extra' }] } });
    const other = await visitor();
    const foreign = await tab.emitWithAck('conversation.subscribe', { conversationId: other.conversationId, afterSeq: 0 });
    expect(foreign).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });

  it('rejects handshakes without valid credentials', async () => {
    await expect(t.socket({ token: 'hls_forged' })).rejects.toMatchObject({ data: { code: 'session_expired' } });
    await expect(t.socket({ visitorToken: 'v1.abc.def' })).rejects.toMatchObject({ data: { code: 'unauthenticated' } });
    await expect(t.socket({})).rejects.toMatchObject({ data: { code: 'validation_failed' } });
  });

  it('rate-limits a flooding socket with a rate_limited ack', async () => {
    const v = await visitor();
    const tab = await t.socket({ visitorToken: v.token });
    const acks = await Promise.all(Array.from({ length: 100 }, () => tab.emitWithAck('typing', { conversationId: v.conversationId, typing: true })));
    expect(acks.some((a) => a.ok === false && a.error.code === 'rate_limited')).toBe(true);
  });
});
