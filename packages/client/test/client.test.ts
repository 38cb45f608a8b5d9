import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ClientEventName, Message, ServerEventName } from '@huiliu/contracts';
import {
  ConversationStore,
  createChatClient,
  TransportError,
  type ChatClient,
  type ChatStatus,
  type ClientAck,
  type ClientPayload,
  type ConnectError,
  type EmitOptions,
  type ServerPayload,
  type StorageAdapter,
  type Transport,
  type Unsubscribe,
} from '../src/index.ts';

// ---- a tiny in-memory server speaking the realtime protocol ----------------------------------------

type Viewer = 'agent' | 'visitor';
type Ack = { ok: true; [k: string]: unknown } | { ok: false; error: { code: string; message: string } };

class FakeServer {
  /** Every stored message, private notes included; index = seq - 1. */
  readonly conversations = new Map<string, Message[]>();
  readonly transports = new Set<FakeTransport>();
  /** Messages per replay; more set `hasMore`. */
  pageSize = 100;
  /** Answer an event differently (return undefined to fall through to the normal handling). */
  override: ((event: ClientEventName, payload: Record<string, unknown>) => Ack | undefined) | undefined;

  createConversation(): string {
    const id = randomUUID();
    this.conversations.set(id, []);
    return id;
  }

  post(
    conversationId: string,
    text: string,
    opts: { private?: boolean; clientId?: string | null; senderType?: Message['senderType'] } = {},
  ): Message {
    const list = this.conversations.get(conversationId);
    if (!list) throw new Error('no such conversation');
    const senderType = opts.senderType ?? 'user';
    const message: Message = {
      id: randomUUID(),
      conversationId,
      seq: list.length + 1,
      direction: senderType === 'contact' ? 'incoming' : 'outgoing',
      private: opts.private ?? false,
      senderType,
      senderId: null,
      identityId: null,
      contentType: 'text',
      text,
      attachments: [],
      location: null,
      card: null,
      clientId: opts.clientId ?? null,
      externalId: null,
      deliveryStatus: 'sent',
      deliveryError: null,
      subject: null,
      html: null,
      unsupported: null,
      template: null,
      createdAt: new Date().toISOString(),
    };
    list.push(message);
    // Like the real gateway: fan-out to every connected viewer allowed to see it (the sender included).
    for (const t of this.transports) if (t.viewer === 'agent' || !message.private) t.deliver('message.created', message);
    return message;
  }

  replay(viewer: Viewer, conversationId: string, afterSeq: number) {
    const all = this.conversations.get(conversationId) ?? [];
    const visible = all.filter((m) => m.seq > afterSeq && (viewer === 'agent' || !m.private));
    const messages = visible.slice(0, this.pageSize);
    return { conversationId, messages, lastSeq: all.length, hasMore: visible.length > messages.length };
  }

  handle(t: FakeTransport, event: ClientEventName, payload: Record<string, unknown>): Ack {
    const overridden = this.override?.(event, payload);
    if (overridden) return overridden;
    const conversationId = payload.conversationId as string;
    switch (event) {
      case 'message.send': {
        const list = this.conversations.get(conversationId);
        if (!list) return { ok: false, error: { code: 'not_found', message: 'no such conversation' } };
        const existing = list.find((m) => m.clientId === payload.clientId);
        if (existing) return { ok: true, message: existing, duplicate: true };
        if (!payload.text) return { ok: false, error: { code: 'validation_failed', message: 'text: required' } };
        const message = this.post(conversationId, payload.text as string, {
          clientId: payload.clientId as string,
          senderType: t.viewer === 'agent' ? 'user' : 'contact',
          private: payload.private === true,
        });
        return { ok: true, message, duplicate: false };
      }
      case 'conversation.subscribe':
        if (!this.conversations.has(conversationId)) return { ok: false, error: { code: 'not_found', message: 'nope' } };
        return { ok: true, ...this.replay(t.viewer, conversationId, payload.afterSeq as number) };
      case 'sync': {
        const wanted = payload.conversations as Array<{ conversationId: string; afterSeq: number }>;
        // Like the real gateway, one inaccessible conversation fails the whole request.
        if (wanted.some((c) => !this.conversations.has(c.conversationId))) {
          return { ok: false, error: { code: 'forbidden', message: 'not yours' } };
        }
        return { ok: true, results: wanted.map((c) => this.replay(t.viewer, c.conversationId, c.afterSeq)) };
      }
      default:
        return { ok: true };
    }
  }

  messages(conversationId: string): Message[] {
    return this.conversations.get(conversationId) ?? [];
  }
}

type Handler = (payload: never) => void;

/** The network between one client and the fake server: async delivery, timeouts, drops. */
class FakeTransport implements Transport {
  connected = false;
  /** Every client → server event that reached the server, in order. */
  readonly received: Array<{ event: ClientEventName; payload: Record<string, unknown> }> = [];
  /** Server → client events: return 'drop' to lose one, 'duplicate' to deliver it twice. */
  inbound: ((event: ServerEventName, payload: unknown) => 'drop' | 'duplicate' | undefined) | undefined;
  /** Hold server → client events until `release` (to reorder them). */
  holding = false;
  readonly held: Array<{ event: ServerEventName; payload: unknown }> = [];
  /** Called after the server processed an event: return true to lose the ack. */
  loseAck: ((event: ClientEventName, payload: Record<string, unknown>) => boolean) | undefined;

  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly connectHandlers = new Set<() => void>();
  private readonly disconnectHandlers = new Set<(reason: string, willReconnect: boolean) => void>();
  private readonly pending = new Set<(error: TransportError) => void>();

  constructor(
    readonly server: FakeServer,
    readonly viewer: Viewer,
  ) {}

  connect(): void {
    setTimeout(() => {
      if (this.connected) return;
      this.connected = true;
      this.server.transports.add(this);
      for (const h of [...this.connectHandlers]) h();
    }, 1);
  }

  disconnect(): void {
    this.close('io client disconnect', false);
  }

  /** The network goes away; the "socket" would reconnect (call `connect()` for that). */
  drop(): void {
    this.close('transport close', true);
  }

  emit<E extends ClientEventName>(event: E, payload: ClientPayload<E>, options?: EmitOptions): Promise<ClientAck<E>> {
    if (!this.connected) return Promise.reject(new TransportError('disconnected'));
    const wire = structuredClone(payload) as Record<string, unknown>;
    return new Promise<ClientAck<E>>((resolve, reject) => {
      const fail = (error: TransportError) => {
        clearTimeout(timer);
        this.pending.delete(fail);
        reject(error);
      };
      const timer = setTimeout(() => fail(new TransportError('timeout')), options?.timeoutMs ?? 1000);
      this.pending.add(fail);
      setTimeout(() => {
        if (!this.pending.has(fail)) return;
        this.received.push({ event, payload: wire });
        const ack = structuredClone(this.server.handle(this, event, wire));
        if (this.loseAck?.(event, wire)) return;
        setTimeout(() => {
          if (!this.pending.has(fail)) return;
          clearTimeout(timer);
          this.pending.delete(fail);
          resolve(ack as ClientAck<E>);
        }, 1);
      }, 1);
    });
  }

  /** Server side: send an event to this client (subject to `inbound` / `holding`). */
  deliver(event: ServerEventName, payload: unknown): void {
    const copy = structuredClone(payload);
    setTimeout(() => {
      if (!this.connected) return;
      if (this.holding) {
        this.held.push({ event, payload: copy });
        return;
      }
      const verdict = this.inbound?.(event, copy);
      if (verdict === 'drop') return;
      this.dispatch(event, copy);
      if (verdict === 'duplicate') this.dispatch(event, structuredClone(copy));
    }, 1);
  }

  /** Deliver the held events in the given order (indexes into `held`). */
  release(order: number[]): void {
    this.holding = false;
    const held = this.held.splice(0);
    for (const i of order) {
      const e = held[i];
      if (e) this.dispatch(e.event, e.payload);
    }
  }

  on<E extends ServerEventName>(event: E, handler: (payload: ServerPayload<E>) => void): Unsubscribe {
    let set = this.handlers.get(event);
    if (!set) this.handlers.set(event, (set = new Set()));
    const h = handler as Handler;
    set.add(h);
    return () => set.delete(h);
  }

  onConnect(handler: () => void): Unsubscribe {
    this.connectHandlers.add(handler);
    return () => this.connectHandlers.delete(handler);
  }

  onDisconnect(handler: (reason: string, willReconnect: boolean) => void): Unsubscribe {
    this.disconnectHandlers.add(handler);
    return () => this.disconnectHandlers.delete(handler);
  }

  onConnectError(_handler: (error: ConnectError) => void): Unsubscribe {
    return () => undefined;
  }

  count(event: ClientEventName): number {
    return this.received.filter((r) => r.event === event).length;
  }

  private dispatch(event: string, payload: unknown): void {
    for (const h of [...(this.handlers.get(event) ?? [])]) (h as (p: unknown) => void)(payload);
  }

  private close(reason: string, willReconnect: boolean): void {
    if (!this.connected) return;
    this.connected = false;
    this.server.transports.delete(this);
    // Same order as Socket.IO: the disconnect event first, then pending acks fail.
    for (const h of [...this.disconnectHandlers]) h(reason, willReconnect);
    for (const fail of [...this.pending]) fail(new TransportError('disconnected'));
  }
}

function memoryStorage(): StorageAdapter & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    // Async on purpose, like React Native's AsyncStorage.
    get: async (key) => data.get(key) ?? null,
    set: async (key, value) => {
      data.set(key, value);
    },
  };
}

const clients: ChatClient[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.destroy();
});

function setup(opts: { viewer?: Viewer; server?: FakeServer; storage?: StorageAdapter } = {}) {
  const server = opts.server ?? new FakeServer();
  const transport = new FakeTransport(server, opts.viewer ?? 'agent');
  const client = createChatClient({
    transport,
    ...(opts.storage ? { storage: opts.storage } : {}),
    ackTimeoutMs: 40,
    retryDelayMs: 5,
    maxRetryDelayMs: 20,
  });
  clients.push(client);
  const delivered: Message[] = [];
  client.on('message', (m) => delivered.push(m));
  const statuses: ChatStatus[] = [];
  client.on('status', (s) => statuses.push(s));
  return { server, transport, client, delivered, statuses, seqs: () => delivered.map((m) => m.seq) };
}

async function connect(client: ChatClient, transport: FakeTransport): Promise<void> {
  client.connect();
  await vi.waitFor(() => expect(transport.connected).toBe(true));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = (fn: () => void) => vi.waitFor(fn, { timeout: 3000, interval: 5 });

// ---- tests ---------------------------------------------------------------------------------------

describe('incoming messages', () => {
  it('drops duplicates', async () => {
    const { server, transport, client, seqs } = setup();
    const cid = server.createConversation();
    await connect(client, transport);
    await client.subscribe(cid);
    transport.inbound = (event, p) => (event === 'message.created' && (p as Message).seq === 2 ? 'duplicate' : undefined);
    server.post(cid, 'one');
    server.post(cid, 'two');
    server.post(cid, 'three');
    await until(() => expect(seqs()).toEqual([1, 2, 3]));
    // A late copy of an old event changes nothing either.
    transport.deliver('message.created', server.messages(cid)[0]);
    await sleep(30);
    expect(seqs()).toEqual([1, 2, 3]);
    expect(client.getMessages(cid).map((m) => m.text)).toEqual(['one', 'two', 'three']);
    expect(transport.count('sync')).toBe(0);
  });

  it('delivers out-of-order events in seq order, exactly once', async () => {
    const { server, transport, client, seqs } = setup();
    const cid = server.createConversation();
    await connect(client, transport);
    await client.subscribe(cid);
    transport.holding = true;
    for (const text of ['a', 'b', 'c', 'd']) server.post(cid, text);
    await until(() => expect(transport.held).toHaveLength(4));
    transport.release([0, 2, 3, 1]);
    await until(() => expect(seqs()).toEqual([1, 2, 3, 4]));
    await sleep(30);
    expect(seqs()).toEqual([1, 2, 3, 4]);
    expect(client.getLastSeq(cid)).toBe(4);
  });

  it('fills a gap with sync', async () => {
    const { server, transport, client, seqs } = setup();
    const cid = server.createConversation();
    await connect(client, transport);
    await client.subscribe(cid);
    transport.inbound = (event, p) => (event === 'message.created' && (p as Message).seq === 2 ? 'drop' : undefined);
    server.post(cid, 'one');
    server.post(cid, 'two (lost)');
    server.post(cid, 'three');
    await until(() => expect(seqs()).toEqual([1, 2, 3]));
    const syncs = transport.received.filter((r) => r.event === 'sync');
    expect(syncs.map((s) => s.payload)).toEqual([{ conversations: [{ conversationId: cid, afterSeq: 1 }] }]);
    expect(client.getMessages(cid).map((m) => m.text)).toEqual(['one', 'two (lost)', 'three']);
  });

  it('does not stall on a private note hidden from a visitor', async () => {
    const { server, transport, client, seqs } = setup({ viewer: 'visitor' });
    const cid = server.createConversation();
    await connect(client, transport);
    await client.subscribe(cid);
    server.post(cid, 'hello', { senderType: 'contact' });
    server.post(cid, 'agents only', { private: true });
    server.post(cid, 'how can I help?');
    await until(() => expect(seqs()).toEqual([1, 3]));
    expect(client.getLastSeq(cid)).toBe(3);
    expect(transport.count('sync')).toBe(1);

    // The next message is contiguous again: no further sync.
    server.post(cid, 'still there?');
    await until(() => expect(seqs()).toEqual([1, 3, 4]));
    expect(transport.count('sync')).toBe(1);

    // A trailing hidden note is covered by the reconnect sync's lastSeq.
    transport.drop();
    server.post(cid, 'internal follow-up', { private: true });
    await connect(client, transport);
    await until(() => expect(client.getLastSeq(cid)).toBe(5));
    expect(seqs()).toEqual([1, 3, 4]);
    expect(client.getMessages(cid).some((m) => m.private)).toBe(false);
  });

  it('pulls exactly the missed messages after a reconnect, paging with hasMore', async () => {
    const { server, transport, client, delivered, seqs, statuses } = setup();
    const cid = server.createConversation();
    const other = server.createConversation();
    await connect(client, transport);
    await client.subscribe(cid);
    server.post(cid, 'one');
    server.post(cid, 'two');
    server.post(other, 'elsewhere 1');
    await until(() => expect(delivered).toHaveLength(3));

    transport.drop();
    expect(client.status).toBe('connecting');
    server.pageSize = 2;
    for (const text of ['three', 'four', 'five', 'six']) server.post(cid, text);
    server.post(other, 'elsewhere 2');
    delivered.length = 0;
    const before = transport.received.length;
    await connect(client, transport);
    await until(() => expect(client.getLastSeq(cid)).toBe(6));
    await until(() => expect(client.getLastSeq(other)).toBe(2));

    expect(delivered.map((m) => `${m.conversationId === cid ? 'c' : 'o'}${m.seq}`).sort()).toEqual(
      ['c3', 'c4', 'c5', 'c6', 'o2'].sort(),
    );
    expect(delivered.filter((m) => m.conversationId === cid).map((m) => m.seq)).toEqual([3, 4, 5, 6]);
    expect(seqs()).toHaveLength(5);
    const after = transport.received.slice(before);
    // One sync for every known conversation first; hasMore pages follow; then the re-subscribe.
    expect(after[0]).toEqual({
      event: 'sync',
      payload: {
        conversations: expect.arrayContaining([
          { conversationId: cid, afterSeq: 2 },
          { conversationId: other, afterSeq: 1 },
        ]),
      },
    });
    expect(after.filter((r) => r.event === 'sync').map((r) => r.payload)).toContainEqual({
      conversations: [{ conversationId: cid, afterSeq: 4 }],
    });
    expect(after.find((r) => r.event === 'conversation.subscribe')?.payload).toEqual({ conversationId: cid, afterSeq: 6 });
    expect(statuses).toEqual(['connecting', 'online', 'connecting', 'online']);
  });

  it('keeps syncing the other conversations when one became inaccessible', async () => {
    const { server, transport, client } = setup();
    const a = server.createConversation();
    const gone = server.createConversation();
    const errors: string[] = [];
    client.on('error', (e, ctx) => errors.push(`${ctx.operation}:${e.code}:${ctx.conversationId === gone}`));
    await connect(client, transport);
    server.post(a, 'a1');
    server.post(gone, 'g1');
    await until(() => expect(client.getLastSeq(gone)).toBe(1));
    transport.drop();
    server.post(a, 'a2');
    server.conversations.delete(gone);
    await connect(client, transport);
    await until(() => expect(client.getLastSeq(a)).toBe(2));
    await until(() => expect(errors).toEqual(['sync:forbidden:true']));
    expect(client.getLastSeq(gone)).toBeNull();
  });
});

describe('sending', () => {
  it('shows the message optimistically and replaces it with the stored one', async () => {
    const { server, transport, client } = setup();
    const cid = server.createConversation();
    await connect(client, transport);
    await client.subscribe(cid);
    const timelines: string[][] = [];
    client.on('messages', (id, items) => {
      if (id === cid) timelines.push(items.map((i) => (i.kind === 'message' ? `#${i.message.seq}` : i.outgoing.status)));
    });
    const handle = client.send(cid, { text: 'hi' });
    expect(client.getTimeline(cid)).toMatchObject([{ kind: 'outgoing', key: handle.clientId, outgoing: { status: 'sending', text: 'hi' } }]);
    const result = await handle.result;
    expect(result).toMatchObject({ ok: true, duplicate: false, message: { seq: 1, clientId: handle.clientId } });
    await until(() => expect(client.getTimeline(cid)).toMatchObject([{ kind: 'message', key: handle.clientId }]));
    expect(client.getOutbox()).toEqual([]);
    expect(timelines[0]).toEqual(['sending']);
    expect(timelines.at(-1)).toEqual(['#1']);
  });

  it('resends a lost ack with the same clientId and ends with exactly one stored message', async () => {
    const { server, transport, client, seqs } = setup();
    const cid = server.createConversation();
    await connect(client, transport);
    await client.subscribe(cid);
    let lost = 0;
    transport.loseAck = (event) => event === 'message.send' && lost++ === 0;
    // The fan-out of the stored message is lost as well, so only a resend can tell the client.
    transport.inbound = (event) => (event === 'message.created' && lost === 1 ? 'drop' : undefined);
    const handle = client.send(cid, { text: 'are you there?' });
    const result = await handle.result;
    expect(result).toMatchObject({ ok: true, duplicate: true });

    const sends = transport.received.filter((r) => r.event === 'message.send');
    expect(sends).toHaveLength(2);
    expect(sends.map((s) => s.payload.clientId)).toEqual([handle.clientId, handle.clientId]);
    expect(server.messages(cid)).toHaveLength(1);
    await until(() => expect(seqs()).toEqual([1]));
    expect(client.getTimeline(cid)).toHaveLength(1);
    expect(client.getOutbox()).toEqual([]);
  });

  it('recognises a message stored before the connection dropped instead of sending it twice', async () => {
    const { server, transport, client, seqs } = setup();
    const cid = server.createConversation();
    await connect(client, transport);
    await client.subscribe(cid);
    transport.loseAck = (event) => {
      if (event !== 'message.send') return false;
      queueMicrotask(() => transport.drop());
      return true;
    };
    const handle = client.send(cid, { text: 'sent just before the tunnel' });
    await until(() => expect(transport.connected).toBe(false));
    expect(client.getOutbox(cid)).toMatchObject([{ status: 'sending' }]);
    transport.loseAck = undefined;
    await connect(client, transport);
    expect(await handle.result).toMatchObject({ ok: true, message: { seq: 1 } });
    await until(() => expect(seqs()).toEqual([1]));
    // The reconnect sync showed it stored: the outbox did not send it again.
    expect(transport.count('message.send')).toBe(1);
    expect(server.messages(cid)).toHaveLength(1);
    expect(client.getTimeline(cid)).toHaveLength(1);
  });

  it('keeps outgoing messages through a reconnect and flushes them in order after the sync', async () => {
    const { server, transport, client } = setup();
    const cid = server.createConversation();
    await connect(client, transport);
    await client.subscribe(cid);
    transport.drop();
    server.post(cid, 'agent wrote while we were away');
    const first = client.send(cid, { text: 'first' });
    const second = client.send(cid, { text: 'second' });
    expect(client.getOutbox(cid).map((o) => [o.text, o.status])).toEqual([
      ['first', 'sending'],
      ['second', 'sending'],
    ]);
    const before = transport.received.length;
    await connect(client, transport);
    await Promise.all([first.result, second.result]);
    expect(server.messages(cid).map((m) => m.text)).toEqual(['agent wrote while we were away', 'first', 'second']);
    const events = transport.received.slice(before).map((r) => r.event);
    expect(events.indexOf('sync')).toBeLessThan(events.indexOf('message.send'));
    await until(() => expect(client.getMessages(cid).map((m) => m.seq)).toEqual([1, 2, 3]));
    expect(client.getOutbox()).toEqual([]);
  });

  it('marks a message failed on a validation error without retrying', async () => {
    const { server, transport, client } = setup();
    const cid = server.createConversation();
    await connect(client, transport);
    await client.subscribe(cid);
    const handle = client.send(cid, { text: '' });
    expect(await handle.result).toEqual({ ok: false, error: { code: 'validation_failed', message: 'text: required' } });
    await sleep(60);
    expect(transport.count('message.send')).toBe(1);
    expect(client.getOutbox(cid)).toMatchObject([
      { clientId: handle.clientId, status: 'failed', error: { code: 'validation_failed' } },
    ]);
    expect(client.getTimeline(cid)).toMatchObject([{ kind: 'outgoing', outgoing: { status: 'failed' } }]);
    // A later message is not held back by the failed one.
    expect(await client.send(cid, { text: 'fixed' }).result).toMatchObject({ ok: true });
    expect(client.discard(handle.clientId)).toBe(true);
    expect(client.getOutbox()).toEqual([]);
  });

  it('backs off on rate_limited and then succeeds, or gives up and marks it failed', async () => {
    const { server, transport, client } = setup();
    const cid = server.createConversation();
    await connect(client, transport);
    await client.subscribe(cid);
    let refusals = 2;
    server.override = (event) =>
      event === 'message.send' && refusals-- > 0 ? { ok: false, error: { code: 'rate_limited', message: 'slow down' } } : undefined;
    expect(await client.send(cid, { text: 'eventually' }).result).toMatchObject({ ok: true });
    expect(transport.count('message.send')).toBe(3);

    server.override = (event) =>
      event === 'message.send' ? { ok: false, error: { code: 'rate_limited', message: 'slow down' } } : undefined;
    const handle = client.send(cid, { text: 'never' });
    expect(await handle.result).toMatchObject({ ok: false, error: { code: 'rate_limited' } });
    expect(transport.count('message.send')).toBe(3 + 6); // first try + 5 retries
    server.override = undefined;
    expect(await client.retry(handle.clientId)?.result).toMatchObject({ ok: true, message: { text: 'never' } });
  });

  it('persists the outbox and a new client instance flushes it', async () => {
    const storage = memoryStorage();
    const server = new FakeServer();
    const cid = server.createConversation();
    const a = setup({ server, storage });
    // Never connected: the page is closed while offline.
    const one = a.client.send(cid, { text: 'one' });
    const two = a.client.send(cid, { text: 'two' });
    await until(() => expect(JSON.parse(storage.data.get('huiliu.outbox') ?? '{}').items).toHaveLength(2));
    a.client.destroy();
    expect(await one.result).toMatchObject({ ok: false, error: { code: 'cancelled' } });

    const b = setup({ server, storage });
    await b.client.restored;
    expect(b.client.getOutbox(cid).map((o) => [o.clientId, o.text, o.status])).toEqual([
      [one.clientId, 'one', 'sending'],
      [two.clientId, 'two', 'sending'],
    ]);
    await connect(b.client, b.transport);
    await until(() => expect(server.messages(cid).map((m) => [m.clientId, m.text])).toEqual([
      [one.clientId, 'one'],
      [two.clientId, 'two'],
    ]));
    await until(() => expect(b.client.getOutbox()).toEqual([]));
    await until(() => expect(JSON.parse(storage.data.get('huiliu.outbox') ?? '{}').items).toEqual([]));
    expect(b.client.getMessages(cid).map((m) => m.text)).toEqual(['one', 'two']);
  });
});

describe('typing, receipts, session', () => {
  it('coalesces read receipts and sends the latest after a reconnect', async () => {
    const { server, transport, client } = setup();
    const cid = server.createConversation();
    await connect(client, transport);
    await client.subscribe(cid);
    client.markRead(cid, 3);
    client.markRead(cid, 2); // older: ignored
    await until(() => expect(transport.count('read')).toBe(1));
    transport.drop();
    client.markRead(cid, 5);
    client.markRead(cid, 7);
    await connect(client, transport);
    await until(() => expect(transport.count('read')).toBe(2));
    expect(transport.received.filter((r) => r.event === 'read').map((r) => r.payload.seq)).toEqual([3, 7]);
  });

  it('sends typing only on change (plus keep-alive)', async () => {
    const { server, transport, client } = setup();
    const cid = server.createConversation();
    await connect(client, transport);
    await client.subscribe(cid);
    client.typing(cid, false); // nothing to stop
    client.typing(cid, true);
    client.typing(cid, true);
    client.typing(cid, false);
    await until(() => expect(transport.count('typing')).toBe(2));
    expect(transport.received.filter((r) => r.event === 'typing').map((r) => r.payload.typing)).toEqual([true, false]);
  });

  it('stops on session.revoked', async () => {
    const { transport, client, statuses } = setup();
    const revoked: string[] = [];
    client.on('session.revoked', (e) => revoked.push(e.reason));
    await connect(client, transport);
    transport.deliver('session.revoked', { reason: 'logout' });
    await until(() => expect(revoked).toEqual(['logout']));
    expect(transport.connected).toBe(false);
    expect(statuses.at(-1)).toBe('offline');
  });
});

describe('ConversationStore', () => {
  const msg = (conversationId: string, seq: number): Message => ({
    id: randomUUID(),
    conversationId,
    seq,
    direction: 'incoming',
    private: false,
    senderType: 'contact',
    senderId: null,
    identityId: null,
    contentType: 'text',
    text: `m${seq}`,
    attachments: [],
    location: null,
    card: null,
    clientId: null,
    externalId: null,
    deliveryStatus: 'sent',
    deliveryError: null,
    subject: null,
    html: null,
    unsupported: null,
    template: null,
    createdAt: new Date().toISOString(),
  });

  it('a hasMore replay only covers up to its last message', () => {
    const s = new ConversationStore();
    const c = randomUUID();
    s.setBaseline(c, 0);
    expect(s.receive(msg(c, 9)).gap).toBe(true);
    const r1 = s.applyReplay(0, { conversationId: c, messages: [msg(c, 1), msg(c, 3)], lastSeq: 9, hasMore: true });
    expect(r1.delivered.map((m) => m.seq)).toEqual([1, 3]);
    expect(s.lastSeq(c)).toBe(3);
    expect(r1.gap).toBe(true);
    const r2 = s.applyReplay(3, { conversationId: c, messages: [msg(c, 4), msg(c, 9)], lastSeq: 9, hasMore: false });
    expect(r2.delivered.map((m) => m.seq)).toEqual([4, 9]);
    expect(r2.gap).toBe(false);
    expect(s.lastSeq(c)).toBe(9);
  });

  it('starts an unknown conversation at its first message and merges REST history', () => {
    const s = new ConversationStore();
    const c = randomUUID();
    expect(s.receive(msg(c, 5)).delivered.map((m) => m.seq)).toEqual([5]);
    expect(s.positions()).toEqual([{ conversationId: c, afterSeq: 5 }]);
    const h = s.addHistory(c, [msg(c, 3), msg(c, 4), msg(c, 5)]);
    expect(h.delivered).toEqual([]);
    expect(s.messages(c).map((m) => m.seq)).toEqual([3, 4, 5]);
  });
});
