import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
// The real Socket.IO server (a dependency of apps/server, hoisted): the hand-written protocol in the wx
// transport must satisfy it, frame for frame. The Huiliu server itself is covered by
// apps/server/test/sdk.int.test.ts.
import { Server } from 'socket.io';
import { isTransportError, type ConnectError, type Transport } from '@huiliu/client';
import { createWxSocketTransport, socketUrl, type WxSocketTransportOptions } from '../src/wx-socket-transport.ts';
import { createFakeWx, type FakeWx } from './fake-wx.ts';

let http: HttpServer;
let io: Server;
let url: string;
const serverDisconnects: string[] = [];
const transports: Transport[] = [];
let wx: FakeWx;

beforeAll(async () => {
  http = createServer();
  // Short heartbeat so several ping/pong rounds (and a stalled link) happen within a test.
  io = new Server(http, { pingInterval: 80, pingTimeout: 400 });
  io.use((socket, next) => {
    const auth = socket.handshake.auth as { visitorToken?: string };
    if (auth.visitorToken === 'good') return next();
    if (auth.visitorToken === 'hang') return; // never answers the CONNECT
    const err = new Error('refused') as Error & { data: unknown };
    err.data = { code: 'unauthenticated', message: 'the visitor token is invalid or expired; start a new widget session' };
    next(err);
  });
  io.on('connection', (socket) => {
    socket.on('disconnect', (reason) => serverDisconnects.push(reason));
    socket.on('sync', (payload: unknown, ack: (r: unknown) => void) => ack({ ok: true, results: [], echo: payload }));
    socket.on('typing', () => undefined); // never acks
    socket.on('read', () => socket.conn.close()); // drops the connection instead of answering
    socket.on('conversation.unsubscribe', (_p: unknown, ack: (r: unknown) => void) => {
      socket.emit('typing', { conversationId: 'c1', senderType: 'user', senderId: null, senderName: '李娜', typing: true });
      ack({ ok: true });
    });
    socket.on('presence.set', (_p: unknown, ack: (r: unknown) => void) => {
      ack({ ok: true, status: 'online' });
      socket.disconnect(true); // server-side kick
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});

afterEach(() => {
  for (const t of transports.splice(0)) t.disconnect();
  wx?.closeAll();
});

afterAll(async () => {
  await new Promise<void>((resolve) => io.close(() => resolve()));
});

function open(auth: WxSocketTransportOptions['auth'], extra: Partial<WxSocketTransportOptions> = {}): Transport {
  wx = createFakeWx();
  const t = createWxSocketTransport({ wx, url, auth, ackTimeoutMs: 500, reconnectDelayMs: 20, reconnectDelayMaxMs: 50, ...extra });
  transports.push(t);
  return t;
}

async function connected(t: Transport): Promise<void> {
  t.connect();
  await vi.waitFor(() => expect(t.connected).toBe(true));
}

const outFrames = () => wx.sockets.flatMap((s) => s.frames.filter((f) => f.dir === 'out').map((f) => f.data));
const inFrames = () => wx.sockets.flatMap((s) => s.frames.filter((f) => f.dir === 'in').map((f) => f.data));

describe('wx.connectSocket transport against a real Socket.IO server', () => {
  it('builds the Engine.IO WebSocket URL from an http(s) origin and a path', () => {
    expect(socketUrl('https://kf.example.com/', '/socket.io')).toBe('wss://kf.example.com/socket.io/?EIO=4&transport=websocket');
    expect(socketUrl('http://127.0.0.1:3000', '/prefix/socket.io/')).toBe('ws://127.0.0.1:3000/prefix/socket.io/?EIO=4&transport=websocket');
    expect(() => socketUrl('ftp://x', '/socket.io')).toThrow(/must start with/);
  });

  it('handshakes with the auth payload, emits with acks and receives server events', async () => {
    const auth = vi.fn(async () => ({ visitorToken: 'good' }));
    const t = open(auth);
    const typing: unknown[] = [];
    t.on('typing', (e) => typing.push(e));
    await connected(t);
    expect(wx.sockets[0]!.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/socket\.io\/\?EIO=4&transport=websocket$/);
    expect(inFrames()[0]).toMatch(/^0\{"sid":/);
    expect(outFrames()[0]).toBe('40{"visitorToken":"good"}');
    expect(inFrames()[1]).toMatch(/^40\{"sid":"[^"]+"\}$/);

    expect(await t.emit('sync', { conversations: [] })).toEqual({ ok: true, results: [], echo: { conversations: [] } });
    expect(outFrames()).toContain('420["sync",{"conversations":[]}]');
    expect(inFrames()).toContain('430[{"ok":true,"results":[],"echo":{"conversations":[]}}]');

    await t.emit('conversation.unsubscribe', { conversationId: 'c1' });
    await vi.waitFor(() => expect(typing).toEqual([{ conversationId: 'c1', senderType: 'user', senderId: null, senderName: '李娜', typing: true }]));
    expect(auth).toHaveBeenCalledTimes(1);
  });

  it('answers every server ping with a pong, so the server keeps the connection', async () => {
    const t = open({ visitorToken: 'good' });
    const drops: string[] = [];
    t.onDisconnect((reason) => drops.push(reason));
    await connected(t);
    await vi.waitFor(() => expect(inFrames().filter((f) => f === '2').length).toBeGreaterThanOrEqual(5), { timeout: 3000 });
    expect(outFrames().filter((f) => f === '3').length).toBeGreaterThanOrEqual(5);
    expect(drops).toEqual([]);
    expect(wx.sockets).toHaveLength(1);
    expect(await t.emit('sync', { conversations: [] })).toMatchObject({ ok: true });
  });

  it('rejects a late ack with timeout, pending emits with disconnected on a drop, then reconnects with fresh auth', async () => {
    let n = 0;
    const t = open(() => ({ visitorToken: (n++, 'good') }));
    const drops: Array<[string, boolean]> = [];
    let connects = 0;
    t.onDisconnect((reason, willReconnect) => drops.push([reason, willReconnect]));
    t.onConnect(() => connects++);
    await connected(t);

    const late = await t.emit('typing', { conversationId: 'c1', typing: true }, { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(isTransportError(late) && late.code).toBe('timeout');

    const pending = t.emit('typing', { conversationId: 'c1', typing: true }, { timeoutMs: 5000 });
    const dropped = await t.emit('read', { conversationId: 'c1', seq: 1 }).catch((e: unknown) => e);
    expect(isTransportError(dropped) && dropped.code).toBe('disconnected');
    const alsoDropped = await pending.catch((e: unknown) => e);
    expect(isTransportError(alsoDropped) && alsoDropped.code).toBe('disconnected');
    expect(drops[0]?.[1]).toBe(true);

    // Never buffered while down: rejected at once.
    if (!t.connected) {
      const offline = await t.emit('sync', { conversations: [] }).catch((e: unknown) => e);
      expect(isTransportError(offline) && offline.code).toBe('disconnected');
    }
    await vi.waitFor(() => expect(connects).toBe(2));
    expect(n).toBe(2); // the auth function ran again for the new connection
    expect(await t.emit('sync', { conversations: [] })).toMatchObject({ ok: true });
  });

  it('reconnects after the network drops the socket (SocketTask onClose 1006)', async () => {
    const t = open({ visitorToken: 'good' });
    const drops: Array<[string, boolean]> = [];
    let connects = 0;
    t.onDisconnect((reason, willReconnect) => drops.push([reason, willReconnect]));
    t.onConnect(() => connects++);
    await connected(t);
    wx.dropSockets();
    await vi.waitFor(() => expect(connects).toBe(2));
    expect(drops).toEqual([['socket closed (1006 abnormal closure)', true]]);
    expect(wx.sockets).toHaveLength(2);
    expect(await t.emit('sync', { conversations: [] })).toMatchObject({ ok: true });
  });

  it('detects a stalled link by the missing pings and reconnects', async () => {
    const t = open({ visitorToken: 'good' });
    const drops: string[] = [];
    let connects = 0;
    t.onDisconnect((reason) => drops.push(reason));
    t.onConnect(() => connects++);
    await connected(t);
    wx.sockets[0]!.stall();
    await vi.waitFor(() => expect(connects).toBe(2), { timeout: 3000 });
    expect(drops[0]).toBe('ping timeout');
  });

  it('reports a refused handshake with the server code and does not retry', async () => {
    const t = open({ visitorToken: 'forged' });
    const errors: ConnectError[] = [];
    t.onConnectError((e) => errors.push(e));
    t.connect();
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    expect(errors[0]).toEqual({
      code: 'unauthenticated',
      message: 'the visitor token is invalid or expired; start a new widget session',
      willRetry: false,
    });
    await new Promise((r) => setTimeout(r, 150));
    expect(wx.sockets).toHaveLength(1);
    expect(t.connected).toBe(false);
  });

  it('treats a server-side disconnect as final', async () => {
    const t = open({ visitorToken: 'good' });
    const drops: Array<[string, boolean]> = [];
    t.onDisconnect((reason, willReconnect) => drops.push([reason, willReconnect]));
    await connected(t);
    await t.emit('presence.set', { status: 'online' });
    await vi.waitFor(() => expect(drops).toEqual([['io server disconnect', false]]));
    await new Promise((r) => setTimeout(r, 150));
    expect(wx.sockets).toHaveLength(1);
  });

  it('disconnect() says goodbye (41), closes the socket and stops reconnecting', async () => {
    const t = open({ visitorToken: 'good' });
    const drops: Array<[string, boolean]> = [];
    t.onDisconnect((reason, willReconnect) => drops.push([reason, willReconnect]));
    await connected(t);
    serverDisconnects.length = 0;
    t.disconnect();
    expect(outFrames().at(-1)).toBe('41');
    expect(drops).toEqual([['io client disconnect', false]]);
    await vi.waitFor(() => expect(serverDisconnects).toEqual(['client namespace disconnect']));
    await new Promise((r) => setTimeout(r, 100));
    expect(wx.sockets).toHaveLength(1);
    expect(wx.sockets[0]!.readyState).toBe(3); // CLOSED
  });

  it('retries when the Socket.IO handshake never completes', async () => {
    const t = open({ visitorToken: 'hang' }, { connectTimeoutMs: 100 });
    const errors: ConnectError[] = [];
    t.onConnectError((e) => errors.push(e));
    t.connect();
    await vi.waitFor(() => expect(wx.sockets.length).toBeGreaterThanOrEqual(2), { timeout: 3000 });
    expect(errors[0]).toMatchObject({ code: 'transport', willRetry: true, message: expect.stringMatching(/connect timeout/) });
  });

  it('gives up on a host missing from the domain list, but retries transient wx failures', async () => {
    const t = open({ visitorToken: 'good' });
    const errors: ConnectError[] = [];
    t.onConnectError((e) => errors.push(e));
    wx.refuseConnect = 'url not in domain list';
    t.connect();
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    expect(errors[0]).toMatchObject({ code: 'transport', willRetry: false, message: expect.stringMatching(/domain list/) });
    await new Promise((r) => setTimeout(r, 100));
    expect(wx.sockets).toHaveLength(1);

    wx.refuseConnect = 'network unreachable';
    t.connect();
    await vi.waitFor(() => expect(errors.length).toBeGreaterThanOrEqual(2));
    expect(errors[1]).toMatchObject({ willRetry: true });
    wx.refuseConnect = null;
    await vi.waitFor(() => expect(t.connected).toBe(true));
  });

  it('reconnects at once when the network comes back instead of waiting out the backoff', async () => {
    const t = open({ visitorToken: 'good' }, { reconnectDelayMs: 60_000, reconnectDelayMaxMs: 60_000 });
    let connects = 0;
    t.onConnect(() => connects++);
    await connected(t);
    wx.dropSockets();
    await vi.waitFor(() => expect(t.connected).toBe(false));
    wx.setNetwork(false); // still offline: nothing happens
    expect(wx.sockets).toHaveLength(1);
    wx.setNetwork(true);
    await vi.waitFor(() => expect(connects).toBe(2));
    // The same on returning to the foreground.
    wx.dropSockets();
    await vi.waitFor(() => expect(t.connected).toBe(false));
    wx.showApp();
    await vi.waitFor(() => expect(connects).toBe(3));
  });
});
