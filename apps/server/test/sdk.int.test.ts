/**
 * @huiliu/sdk through the real server: the mini-program build (wx.connectSocket with the SDK's own
 * Engine.IO / Socket.IO implementation, wx.request, wx.uploadFile) against a fake `wx` whose sockets,
 * requests and uploads are real network calls, and the Node build (socket.io-client + fetch).
 *
 * Identity verification uses the inbox's identity key exactly as a customer's backend would: HMAC-SHA256
 * of the app's user id.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { Socket } from 'socket.io-client';
import type { Message } from '@huiliu/contracts';
import { one } from '@huiliu/core/db/database';
// Relative imports until the workspace link for @huiliu/sdk exists (npm install).
import { createHuiliu as createNodeHuiliu, type Huiliu, type HuiliuEvents } from '@huiliu/sdk';
import * as miniProgramSdk from '@huiliu/sdk/miniprogram';
import { createFakeWx, type FakeWx } from '../../../packages/sdk/test/fake-wx.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';
import { createWorld, until, type World } from './helpers/world.ts';

let t: TestServer;
let w: World;
let identityKey: string;
const chats: Huiliu[] = [];
const wxs: FakeWx[] = [];

/** A 1×1 PNG: the server decides the type from the bytes. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

const sign = (identifier: string) => createHmac('sha256', identityKey).update(identifier).digest('hex');
const uid = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  t = await startTestServer({ seed: false });
  w = await createWorld(t, 1, 'sdk');
  const r = await t.api('POST', `/api/v1/inboxes/${w.inboxId}/identity-key`, { token: w.admin });
  expect(r.status).toBe(201);
  identityKey = r.body.key;
});

afterAll(async () => {
  for (const c of chats) c.destroy();
  for (const wx of wxs) wx.closeAll();
  await t?.close();
});

function fakeWx(): FakeWx {
  const wx = createFakeWx();
  wxs.push(wx);
  return wx;
}

function miniProgram(wx: FakeWx, identifier?: string, extra: { hash?: string; name?: string; historyPageSize?: number } = {}): Huiliu {
  const chat = miniProgramSdk.createHuiliu({
    baseUrl: t.url,
    inboxId: w.publicId,
    wx,
    ...(identifier ? { identity: { identifier, identifierHash: extra.hash ?? sign(identifier), ...(extra.name ? { name: extra.name } : {}) } } : {}),
    ...(extra.historyPageSize ? { historyPageSize: extra.historyPageSize } : {}),
    client: { ackTimeoutMs: 3000, retryDelayMs: 100, maxRetryDelayMs: 500 },
  });
  chats.push(chat);
  return chat;
}

/** Collects one SDK event. */
function collect<K extends keyof HuiliuEvents>(chat: Huiliu, event: K) {
  const items: Array<Parameters<HuiliuEvents[K]>[0]> = [];
  chat.on(event, ((x: Parameters<HuiliuEvents[K]>[0]) => items.push(x)) as HuiliuEvents[K]);
  return items;
}

function onSocket<T = any>(socket: Socket, event: string): T[] {
  const items: T[] = [];
  socket.on(event, (x: T) => items.push(x));
  return items;
}

async function agentReply(conversationId: string, text: string): Promise<Message> {
  const r = await t.api('POST', `/api/v1/conversations/${conversationId}/messages`, { token: w.admin, body: { clientId: uid('agent'), text } });
  expect(r.status).toBe(201);
  return r.body.message;
}

async function stored(conversationId: string): Promise<Message[]> {
  const r = await t.api('GET', `/api/v1/conversations/${conversationId}/messages?limit=500`, { token: w.admin });
  expect(r.status).toBe(200);
  return r.body.items;
}

const seqs = (ms: readonly Message[]) => ms.map((m) => m.seq);

describe('SDK on the mini-program transport (fake wx, real sockets and HTTP)', () => {
  it('identifies with a valid identifierHash and is refused with a clear error for a wrong one', async () => {
    const identifier = uid('app-user');
    const good = miniProgram(fakeWx(), identifier, { name: '王小明' });
    const session = await good.connect();
    expect(good.status).toBe('online');
    expect(session.conversationId).toBeNull();
    const key = await one(
      t.node.services.db,
      `SELECT i.contact_id FROM identity_keys k JOIN contact_identities i ON i.id = k.identity_id WHERE k.kind = 'user_id' AND k.value = $1`,
      [identifier],
    );
    expect(key?.contact_id).toBe(session.contactId);
    const contact = await t.api('GET', `/api/v1/contacts/${session.contactId}`, { token: w.admin });
    expect(contact.body.name).toBe('王小明');

    const wx = fakeWx();
    const bad = miniProgram(wx, identifier, { hash: sign(`${identifier}-tampered`) });
    const refused = await bad.connect().catch((e: unknown) => e);
    expect(refused).toMatchObject({ name: 'HuiliuError', code: 'unauthenticated', status: 401 });
    expect((refused as Error).message).toMatch(/identifierHash does not match identifier/);
    expect(wx.sockets).toHaveLength(0); // no socket without a session
    // A session over wx.request: POST with a JSON string body.
    expect(wx.requests[0]).toMatchObject({ method: 'POST', url: `${t.url}/api/widget/v1/sessions` });
  });

  it('sends, receives the agent reply live, and exchanges typing and read receipts both ways', async () => {
    const chat = miniProgram(fakeWx(), uid('buyer'));
    const incoming = collect(chat, 'message');
    const typing = collect(chat, 'typing');
    const reads = collect(chat, 'read');
    await chat.connect();
    const agent = await t.socket({ token: w.admin });
    const agentTyping = onSocket(agent, 'typing');
    const agentReads = onSocket(agent, 'read');

    const sent = await chat.send('你好，我的订单还没到').result;
    expect(sent).toMatchObject({ ok: true, duplicate: false, message: { seq: 1, direction: 'incoming', senderType: 'contact', text: '你好，我的订单还没到' } });
    const conversationId = chat.conversationId!;
    expect(conversationId).toBeTruthy();
    expect((await stored(conversationId)).map((m) => [m.senderType, m.text])).toEqual([['contact', '你好，我的订单还没到']]);

    // Visitor → agent typing.
    chat.typing(true);
    await until(async () => agentTyping.some((e) => e.conversationId === conversationId && e.senderType === 'contact' && e.typing), 'agent sees the visitor typing');

    // Agent → visitor typing, then the reply, live.
    expect(await agent.emitWithAck('typing', { conversationId, typing: true })).toEqual({ ok: true });
    await until(async () => typing.some((e) => e.conversationId === conversationId && e.senderType === 'user' && e.typing), 'visitor sees the agent typing');
    const reply = await agentReply(conversationId, '您好，我帮您查一下');
    await until(async () => incoming.some((m) => m.id === reply.id), 'visitor receives the reply');
    expect(incoming.map((m) => [m.seq, m.direction, m.text])).toEqual([
      [1, 'incoming', '你好，我的订单还没到'],
      [2, 'outgoing', '您好，我帮您查一下'],
    ]);
    expect(chat.messages().map((m) => m.seq)).toEqual([1, 2]);

    // Read receipts: the visitor read the reply; the agent read the question.
    chat.markRead();
    await until(async () => agentReads.some((e) => e.conversationId === conversationId && e.readerType === 'contact' && e.seq === 2), 'agent sees the visitor read receipt');
    expect(await agent.emitWithAck('read', { conversationId, seq: 1 })).toEqual({ ok: true });
    await until(async () => reads.some((e) => e.conversationId === conversationId && e.readerType === 'user' && e.seq === 1), 'visitor sees the agent read receipt');
  });

  it('uploads a file through wx.uploadFile (real multipart POST) and sends it as an image', async () => {
    const wx = fakeWx();
    const chat = miniProgram(wx, uid('photographer'));
    await chat.connect();
    const path = wx.addTempFile('photo.png', PNG);
    const progress: number[] = [];
    const r = await chat.send({ file: { path }, text: '看这张图', onProgress: (f) => progress.push(f) }).result;
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.message).toMatchObject({ contentType: 'image', text: '看这张图', attachments: [{ contentType: 'image/png', size: PNG.length }] });
    expect(r.message.attachments[0]!.fileName).toMatch(/photo\.png$/);
    expect(progress.at(-1)).toBe(1);
    expect(wx.uploads).toEqual([
      { url: `${t.url}/api/widget/v1/attachments`, filePath: path, name: 'file', header: expect.objectContaining({ authorization: expect.stringMatching(/^Bearer /) }) },
    ]);

    const atAgent = (await stored(chat.conversationId!)).find((m) => m.id === r.message.id)!;
    expect(atAgent.attachments[0]!.id).toBe(r.message.attachments[0]!.id);
    const download = await fetch(chat.absoluteUrl(r.message.attachments[0]!.url));
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(PNG)).toBe(true);

    // wx.uploadFile only reads local files: bytes in memory are refused with a clear error.
    const inMemory = await chat.send({ file: { data: new Uint8Array(PNG), name: 'x.png' } }).result;
    expect(inMemory).toMatchObject({ ok: false, error: { code: 'invalid_input', message: expect.stringMatching(/tempFilePath/) } });
  });

  it('pages history, and resumes the same visitor and conversation from wx storage after a restart', async () => {
    const wx = fakeWx();
    const first = miniProgram(wx); // anonymous visitor
    const s1 = await first.connect();
    expect((await first.send('first question').result).ok).toBe(true);
    const conversationId = first.conversationId!;
    for (let i = 1; i <= 24; i++) await agentReply(conversationId, `answer ${i}`);
    first.destroy();

    // "Restart" the mini-program: a new SDK instance on the same wx storage, with small history pages.
    const chat = miniProgram(wx, undefined, { historyPageSize: 10 });
    const timelines = collect(chat, 'messages');
    const s2 = await chat.connect();
    expect(s2.contactId).toBe(s1.contactId);
    expect(s2.conversationId).toBe(conversationId);
    expect(seqs(chat.messages())).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    expect(chat.hasEarlier).toBe(true);
    expect(timelines.length).toBeGreaterThan(0);

    const page2 = await chat.loadEarlier();
    expect(seqs(page2.messages)).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect(page2.hasMore).toBe(true);
    const page3 = await chat.loadEarlier();
    expect(seqs(page3.messages)).toEqual([1, 2, 3, 4, 5]);
    expect(page3.hasMore).toBe(false);
    expect(chat.hasEarlier).toBe(false);
    expect(seqs(chat.messages())).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(chat.messages()[0]!.text).toBe('first question');
    expect((await chat.loadEarlier()).messages).toEqual([]);

    // Live messages continue after the paged history.
    const live = collect(chat, 'message');
    await agentReply(conversationId, 'answer 25');
    await until(async () => live.length === 1, 'live message after paging');
    expect(live[0]).toMatchObject({ seq: 26, text: 'answer 25' });
  });

  it('survives a dropped socket: resyncs what it missed and stores nothing twice', async () => {
    const wx = fakeWx();
    const chat = miniProgram(wx, uid('commuter'));
    const seen = collect(chat, 'message');
    const statuses = collect(chat, 'status');
    await chat.connect();
    expect((await chat.send('before the tunnel').result).ok).toBe(true);
    const conversationId = chat.conversationId!;

    // The train enters a tunnel: the socket drops and reconnecting fails until the network is back.
    wx.refuseConnect = 'network is down';
    wx.dropSockets();
    await until(async () => chat.status === 'connecting', 'client notices the drop');
    await agentReply(conversationId, 'missed 1');
    await agentReply(conversationId, 'missed 2');
    const offline = ['typed offline 1', 'typed offline 2'].map((text) => chat.send(text));
    await new Promise((r) => setTimeout(r, 200));
    expect(seen.map((m) => m.text)).toEqual(['before the tunnel']);

    wx.refuseConnect = null;
    wx.setNetwork(true);
    const results = await Promise.all(offline.map((h) => h.result));
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    await until(async () => seen.length === 5, `five messages seen (have ${seen.map((m) => m.text).join(' | ')})`);
    expect(statuses).toContain('connecting');
    expect(chat.status).toBe('online');

    // A send the server stored but whose ack never arrived is resent after the reconnect with the same
    // clientId: stored once, reported once.
    const socket = wx.sockets.at(-1)!;
    socket.loseIncoming();
    const racing = chat.send('ack lost');
    await until(async () => (await stored(conversationId)).some((m) => m.text === 'ack lost'), 'the server stored it');
    expect(socket.frames.some((f) => f.dir === 'out' && typeof f.data === 'string' && f.data.includes('ack lost'))).toBe(true);
    wx.dropSockets();
    expect(await racing.result).toMatchObject({ ok: true, message: { seq: 6, text: 'ack lost' } });
    await until(async () => seen.length === 6, 'the message with the lost ack seen');

    const all = await stored(conversationId);
    expect(all.map((m) => m.text)).toEqual(['before the tunnel', 'missed 1', 'missed 2', 'typed offline 1', 'typed offline 2', 'ack lost']);
    expect(seqs(all)).toEqual([1, 2, 3, 4, 5, 6]);
    // Each stored message reached the app exactly once, in seq order.
    expect(seqs(seen)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(new Set(seen.map((m) => m.id)).size).toBe(6);
    expect(chat.timeline().filter((i) => i.kind === 'outgoing')).toEqual([]);
    expect(wx.sockets.length).toBeGreaterThanOrEqual(3);
  });

  it('never hands a stored session to another user on the same device; reset() forgets it', async () => {
    const wx = fakeWx();
    const alice = miniProgram(wx, uid('alice'));
    const a = await alice.connect();
    expect((await alice.send('alice private question').result).ok).toBe(true);
    alice.destroy();

    const bob = miniProgram(wx, uid('bob'));
    const b = await bob.connect();
    expect(b.contactId).not.toBe(a.contactId);
    expect(b.conversationId).toBeNull();
    expect(bob.messages()).toEqual([]);

    const ours = () => [...wx.storage.keys()].filter((k) => k.startsWith(`huiliu.sdk.${w.publicId}.`) && wx.storage.get(k));
    expect(ours()).toContain(`huiliu.sdk.${w.publicId}.session`);
    await bob.reset();
    expect(ours()).toEqual([]);
  });
});

describe('the example mini-program page (packages/sdk/examples/miniprogram)', () => {
  it('runs against the server with a fake Page(): connects, sends text and a photo, shows the reply and the read receipt', async () => {
    const wx = Object.assign(fakeWx(), {
      chooseMedia(o: { success: (r: { tempFiles: Array<{ tempFilePath: string }> }) => void }) {
        setTimeout(() => o.success({ tempFiles: [{ tempFilePath: wx.addTempFile('camera.png', PNG) }] }), 0);
      },
    });
    // The page as WeChat would run it: CommonJS with `Page` and `wx` globals; its two requires resolved to
    // the SDK's mini-program entry (what libs/huiliu-sdk.js is built from) and a config for this server.
    const source = readFileSync(new URL('../../../packages/sdk/examples/miniprogram/pages/chat/index.js', import.meta.url), 'utf8');
    let definition: any;
    const requireShim = (path: string) => {
      if (path === '../../libs/huiliu-sdk.js') return miniProgramSdk;
      if (path === '../../config.js') return { baseUrl: t.url, inboxId: w.publicId, identityEndpoint: null };
      throw new Error(`unexpected require ${path}`);
    };
    new Function('require', 'Page', 'wx', source)(requireShim, (d: unknown) => (definition = d), wx);
    // In a mini-program `wx` is a global, which is where the SDK looks for it.
    (globalThis as { wx?: unknown }).wx = wx;
    onTestFinished(() => {
      delete (globalThis as { wx?: unknown }).wx;
    });
    const page = Object.assign(Object.create(definition), {
      data: structuredClone(definition.data),
      setData(patch: Record<string, unknown>) {
        Object.assign(this.data, patch);
      },
    });
    page.onLoad();
    page.onShow();
    await until(async () => page.data.status === 'online' && page.chat.contactId, 'the page is online');
    chats.push(page.chat);

    page.onInput({ detail: { value: '在吗？' } });
    page.send();
    await until(async () => page.data.items.some((i: any) => i.text === '在吗？' && i.mine && i.state === ''), 'own message shown as stored');
    const conversationId = page.chat.conversationId as string;
    page.chooseImage();
    await until(async () => page.data.items.some((i: any) => i.image.startsWith(`${t.url}/files/`)), 'photo shown with an absolute URL');

    const agent = await t.socket({ token: w.admin });
    await agentReply(conversationId, '在的，请讲');
    await until(async () => page.data.items.some((i: any) => i.text === '在的，请讲' && !i.mine), 'agent reply shown');
    expect(await agent.emitWithAck('read', { conversationId, seq: 2 })).toEqual({ ok: true });
    await until(async () => page.data.items.filter((i: any) => i.state === '已读').length === 2, 'read receipt shown');
    expect(page.data.items.map((i: any) => [i.mine, i.text || (i.image ? 'photo' : '')])).toEqual([
      [true, '在吗？'],
      [true, 'photo'],
      [false, '在的，请讲'],
    ]);
    expect(page.data.error).toBe('');
    page.onUnload();
  });
});

describe('SDK on the Node transport (socket.io-client + fetch)', () => {
  it('identifies, sends text and a file, receives replies live and pages history', async () => {
    const identifier = uid('node-user');
    const chat = createNodeHuiliu({
      baseUrl: t.url,
      inboxId: w.publicId,
      platform: 'node',
      identity: { identifier, identifierHash: sign(identifier) },
      historyPageSize: 2,
    });
    chats.push(chat);
    const incoming = collect(chat, 'message');
    await chat.connect();
    expect((await chat.send('hello from node').result).ok).toBe(true);
    const conversationId = chat.conversationId!;
    const file = await chat.send({ file: { data: PNG, name: 'node.png' } }).result;
    expect(file).toMatchObject({ ok: true, message: { contentType: 'image', attachments: [{ fileName: 'node.png', contentType: 'image/png' }] } });
    await agentReply(conversationId, 'hello node');
    await until(async () => incoming.some((m) => m.text === 'hello node'), 'node client receives the reply');
    expect(seqs(incoming)).toEqual([1, 2, 3]);

    // Same identity, another "device": the same contact and conversation, history paged 2 at a time.
    const other = createNodeHuiliu({ baseUrl: t.url, inboxId: w.publicId, platform: 'node', identity: { identifier, identifierHash: sign(identifier) }, historyPageSize: 2 });
    chats.push(other);
    const s = await other.connect();
    expect(s.conversationId).toBe(conversationId);
    expect(seqs(other.messages())).toEqual([2, 3]);
    expect(seqs((await other.loadEarlier()).messages)).toEqual([1]);
    expect(other.hasEarlier).toBe(false);

    const refused = createNodeHuiliu({ baseUrl: t.url, inboxId: w.publicId, platform: 'node', identity: { identifier, identifierHash: '0'.repeat(64) } });
    chats.push(refused);
    await expect(refused.connect()).rejects.toMatchObject({ code: 'unauthenticated', message: expect.stringMatching(/identifierHash does not match/) });
  });
});
