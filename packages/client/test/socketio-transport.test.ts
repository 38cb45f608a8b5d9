import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
// The server library is a dependency of apps/server (hoisted); only this test uses it.
import { Server } from 'socket.io';
import { createSocketIoTransport, isTransportError, type ConnectError, type Transport } from '../src/index.ts';

// The Socket.IO transport against a bare Socket.IO server: the protocol handlers themselves are covered by
// the server's integration tests; this checks the transport contract (acks, timeouts, drops, refusals).

let http: HttpServer;
let io: Server;
let url: string;
const transports: Transport[] = [];

beforeAll(async () => {
  http = createServer();
  io = new Server(http);
  let flakyRefusals = 0;
  io.use((socket, next) => {
    const token = (socket.handshake.auth as { token?: string }).token;
    if (token === 'good') return next();
    // The server's database restarting: two refusals with `internal`, then it lets the client in.
    if (token === 'flaky' && flakyRefusals++ >= 2) return next();
    if (token === 'flaky') {
      const err = new Error('something went wrong on our side') as Error & { data: unknown };
      err.data = { code: 'internal', message: 'something went wrong on our side' };
      return next(err);
    }
    const err = new Error('your session is invalid') as Error & { data: unknown };
    err.data = { code: 'session_expired', message: 'your session is invalid' };
    next(err);
  });
  io.on('connection', (socket) => {
    socket.on('sync', (payload: unknown, ack: (r: unknown) => void) => ack({ ok: true, results: [], echo: payload }));
    // Never acks: the client must time out.
    socket.on('typing', () => undefined);
    // Drops the connection instead of answering.
    socket.on('read', () => socket.conn.close());
    socket.on('conversation.unsubscribe', (_p: unknown, ack: (r: unknown) => void) => {
      socket.emit('typing', { conversationId: 'x', senderType: 'user', senderId: null, senderName: 'Ann', typing: true });
      ack({ ok: true });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const t of transports) t.disconnect();
  await new Promise<void>((resolve) => io.close(() => resolve()));
});

function open(auth: Parameters<typeof createSocketIoTransport>[0]['auth']): Transport {
  const t = createSocketIoTransport({
    url,
    auth,
    ackTimeoutMs: 200,
    socketOptions: { reconnectionDelay: 20, reconnectionDelayMax: 50 },
  });
  transports.push(t);
  return t;
}

async function connected(t: Transport): Promise<void> {
  t.connect();
  await vi.waitFor(() => expect(t.connected).toBe(true));
}

describe('socket.io transport', () => {
  it('emits with an ack and receives server events', async () => {
    const t = open(async () => ({ token: 'good' }));
    const typing: unknown[] = [];
    t.on('typing', (e) => typing.push(e));
    await connected(t);
    expect(await t.emit('sync', { conversations: [] })).toMatchObject({ ok: true, results: [], echo: { conversations: [] } });
    await t.emit('conversation.unsubscribe', { conversationId: 'x' });
    await vi.waitFor(() => expect(typing).toHaveLength(1));
  });

  it('rejects with a typed timeout, and with disconnected when the connection drops or is down', async () => {
    const t = open({ token: 'good' });
    const drops: Array<[string, boolean]> = [];
    let connects = 0;
    t.onDisconnect((reason, willReconnect) => drops.push([reason, willReconnect]));
    t.onConnect(() => connects++);
    await connected(t);

    const timeout = await t.emit('typing', { conversationId: 'x', typing: true }, { timeoutMs: 50 }).catch((e: unknown) => e);
    expect(isTransportError(timeout) && timeout.code).toBe('timeout');

    const dropped = await t.emit('read', { conversationId: 'x', seq: 1 }).catch((e: unknown) => e);
    expect(isTransportError(dropped) && dropped.code).toBe('disconnected');
    expect(drops[0]?.[1]).toBe(true);

    // Reconnects on its own.
    await vi.waitFor(() => expect(connects).toBe(2));

    t.disconnect();
    expect(drops.at(-1)).toEqual(['io client disconnect', false]);
    const offline = await t.emit('sync', { conversations: [] }).catch((e: unknown) => e);
    expect(isTransportError(offline) && offline.code).toBe('disconnected');
  });

  it('reports a refused handshake with the server error code', async () => {
    const t = open({ token: 'bad' });
    const errors: ConnectError[] = [];
    t.onConnectError((e) => errors.push(e));
    t.connect();
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    expect(errors[0]).toEqual({ code: 'session_expired', message: 'your session is invalid', willRetry: false });
    // Refused for who it is: no further attempt.
    await new Promise((r) => setTimeout(r, 1_600));
    expect(errors).toHaveLength(1);
  });

  it('keeps trying after a transient refusal (the server had an internal error) until it gets in', async () => {
    const t = open({ token: 'flaky' });
    const errors: ConnectError[] = [];
    t.onConnectError((e) => errors.push(e));
    t.connect();
    await vi.waitFor(() => expect(t.connected).toBe(true), { timeout: 10_000 });
    expect(errors.map((e) => [e.code, e.willRetry])).toEqual([['internal', true], ['internal', true]]);
  });
});
