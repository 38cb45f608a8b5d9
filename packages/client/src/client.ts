import type { Message, Replay } from '@huiliu/contracts';
import { ConversationStore, type StoreChange } from './conversation-store.ts';
import { Emitter } from './emitter.ts';
import { createClientId } from './ids.ts';
import {
  parseOutbox,
  serializeOutbox,
  toOutgoing,
  type OutboxEntry,
  type OutgoingMessage,
  type SendInput,
  type SendResult,
  type StorageAdapter,
} from './outbox.ts';
import type {
  AckError,
  ChatError,
  ClientAck,
  ClientPayload,
  ConversationUpdate,
  ReadEvent,
  SessionRevokedEvent,
  TypingEvent,
} from './protocol.ts';
import type { ConnectError, Transport, Unsubscribe } from './transport.ts';

/** 'connecting' covers both the first connection and reconnecting after a drop. */
export type ChatStatus = 'connecting' | 'online' | 'offline';

/**
 * One row of a conversation as a UI renders it: stored messages in seq order, then the optimistic ones.
 * `key` is the clientId when there is one, so a bubble keeps its identity (no re-mount / flicker) when
 * the stored message replaces the optimistic one.
 */
export type TimelineItem =
  | { readonly kind: 'message'; readonly key: string; readonly message: Message }
  | { readonly kind: 'outgoing'; readonly key: string; readonly outgoing: OutgoingMessage };

export interface SendHandle {
  readonly clientId: string;
  /** Settles once: stored, or refused for good. Never rejects, so ignoring it is safe. */
  readonly result: Promise<SendResult>;
}

/** A type alias rather than an interface: the emitter needs the implicit index signature. */
export type ChatClientEvents = {
  /** A newly stored message, exactly once per seq and in seq order within its conversation. */
  message: (message: Message) => void;
  /** A conversation's timeline changed (new messages, history, optimistic sends and their status). */
  messages: (conversationId: string, timeline: readonly TimelineItem[]) => void;
  typing: (event: TypingEvent) => void;
  read: (event: ReadEvent) => void;
  conversation: (conversation: ConversationUpdate) => void;
  status: (status: ChatStatus) => void;
  /** The session ended server-side; the client has disconnected and will not reconnect. */
  'session.revoked': (event: SessionRevokedEvent) => void;
  /** A connection attempt failed; `willRetry: false` means the server refused the credentials/origin. */
  connect_error: (error: ConnectError) => void;
  /** A background operation was refused by the server (sends report through their own status instead). */
  error: (error: ChatError, context: ErrorContext) => void;
};

export interface ErrorContext {
  readonly operation: 'sync' | 'subscribe' | 'read';
  /** Absent when a whole sync batch failed. */
  readonly conversationId?: string;
}

export interface ChatClientOptions {
  transport: Transport;
  /** Persists the outbox so unsent messages survive a page reload. */
  storage?: StorageAdapter;
  /** Storage key of the outbox. Use one per identity (visitor / agent) so two people's drafts never mix. */
  storageKey?: string;
  /** Ack timeout of each request. Default 10 s. */
  ackTimeoutMs?: number;
  /** First retry delay; doubles per attempt up to `maxRetryDelayMs`. Default 1 s / 30 s. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** How often `rate_limited` / `internal` answers are retried before a send is marked failed. Default 5. */
  maxServerRetries?: number;
  /** A held `typing(on)` is re-sent this often so the other side's indicator does not expire. Default 3 s. */
  typingKeepAliveMs?: number;
  createClientId?: () => string;
}

export interface ChatClient {
  readonly status: ChatStatus;
  /** Resolves once the persisted outbox has been read back (immediately without storage). */
  readonly restored: Promise<void>;
  connect(): void;
  disconnect(): void;
  /** Disconnects, drops all listeners and settles pending promises with 'cancelled'. */
  destroy(): void;
  /**
   * Join a conversation's live updates and replay what is missing. `afterSeq` declares history the caller
   * already has (e.g. from REST); it only ever raises the client's position. Resolves once caught up; while
   * offline it waits for the connection. Rejects with a `ChatClientError` when the server refuses.
   */
  subscribe(conversationId: string, afterSeq?: number): Promise<void>;
  /** Leave a conversation and drop its local state (it is no longer synced after reconnects). */
  unsubscribe(conversationId: string): void;
  send(conversationId: string, input: SendInput): SendHandle;
  /** Send a failed message again with the same clientId. */
  retry(clientId: string): SendHandle | null;
  /** Remove an outgoing message from the outbox. One already in flight may still be stored. */
  discard(clientId: string): boolean;
  typing(conversationId: string, on: boolean): void;
  /** Read receipts are coalesced (highest seq wins) and delivered after reconnects. */
  markRead(conversationId: string, seq: number): void;
  /** Merge older messages fetched over REST (they do not fire 'message'). */
  addHistory(conversationId: string, messages: readonly Message[]): void;
  getMessages(conversationId: string): readonly Message[];
  getTimeline(conversationId: string): readonly TimelineItem[];
  getOutbox(conversationId?: string): readonly OutgoingMessage[];
  /** Highest seq the client is complete through, null if the conversation is unknown. */
  getLastSeq(conversationId: string): number | null;
  on<K extends keyof ChatClientEvents>(event: K, listener: ChatClientEvents[K]): () => void;
}

/** Thrown (rejected) by `subscribe` when the server refuses. */
export class ChatClientError extends Error implements ChatError {
  readonly code: ChatError['code'];
  readonly issues: ChatError['issues'];

  constructor(error: ChatError) {
    super(error.message);
    this.name = 'ChatClientError';
    this.code = error.code;
    this.issues = error.issues;
  }
}

export function createChatClient(options: ChatClientOptions): ChatClient {
  return new Client(options);
}

/** Matches the SyncPayload limit. */
const SYNC_BATCH = 200;
/** Sync rounds in a row that bring nothing before a gap is left for the next event or reconnect. */
const MAX_STALLS = 5;
/** Server answers that mean "not now" rather than "never". */
const RETRYABLE = new Set<string>(['rate_limited', 'internal']);
/**
 * The conversation is gone for this viewer (deleted, reassigned away, access revoked) or its id is invalid:
 * stop tracking it.
 */
const GONE = new Set<string>(['forbidden', 'not_found', 'validation_failed']);

type Waiter = { resolve: () => void; reject: (error: ChatClientError) => void };

class Client implements ChatClient {
  readonly restored: Promise<void>;

  private readonly transport: Transport;
  private readonly storage: StorageAdapter | undefined;
  private readonly storageKey: string;
  private readonly ackTimeoutMs: number;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly maxServerRetries: number;
  private readonly typingKeepAliveMs: number;
  private readonly newClientId: () => string;

  private readonly store = new ConversationStore();
  private readonly emitter = new Emitter<ChatClientEvents>();
  private outbox: OutboxEntry[] = [];
  /** Subscribed conversations → callers waiting for the (re)subscription to complete. */
  private readonly subscribed = new Map<string, Waiter[]>();
  /** Conversation → connection generation of the subscribe in flight. */
  private readonly subscribing = new Map<string, number>();
  private readonly catchingUp = new Set<string>();
  private readonly pumping = new Set<string>();
  private readonly readWanted = new Map<string, number>();
  private readonly readSent = new Map<string, number>();
  private readonly readInFlight = new Set<string>();
  private readonly typingSent = new Map<string, { on: boolean; at: number }>();
  private readonly sleepers = new Set<() => void>();
  private readonly detach: Unsubscribe[];

  /**
   * Bumped on every connect and disconnect. Async loops capture it and stop when it changed: whatever they
   * were doing is redone by the next connection's resume, in the right order.
   */
  private gen = 0;
  /** Connected and the post-connect sync is done: live work (sends, gap fills, receipts) may run. */
  private ready = false;
  private destroyed = false;
  private currentStatus: ChatStatus = 'offline';
  private persistQueued = false;
  private writeChain: Promise<void>;

  constructor(options: ChatClientOptions) {
    this.transport = options.transport;
    this.storage = options.storage;
    this.storageKey = options.storageKey ?? 'huiliu.outbox';
    this.ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.retryDelayMs = options.retryDelayMs ?? 1_000;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
    this.maxServerRetries = options.maxServerRetries ?? 5;
    this.typingKeepAliveMs = options.typingKeepAliveMs ?? 3_000;
    this.newClientId = options.createClientId ?? createClientId;

    this.restored = this.restore();
    // No write may land before the stored outbox was read, or a send during start-up would overwrite it.
    this.writeChain = this.restored;

    const t = this.transport;
    this.detach = [
      t.onConnect(() => this.handleConnect()),
      t.onDisconnect((_reason, willReconnect) => this.handleDisconnect(willReconnect)),
      t.onConnectError((error) => {
        if (!error.willRetry) this.setStatus('offline');
        this.emitter.emit('connect_error', error);
      }),
      t.on('message.created', (message) => this.ingest(message)),
      t.on('conversation.updated', (conversation) => this.emitter.emit('conversation', conversation)),
      t.on('typing', (event) => this.emitter.emit('typing', event)),
      t.on('read', (event) => this.emitter.emit('read', event)),
      t.on('session.revoked', (event) => {
        this.emitter.emit('session.revoked', event);
        // Reconnecting with a revoked credential would only loop on `unauthenticated`.
        this.disconnect();
      }),
    ];
    if (t.connected) this.handleConnect();
  }

  get status(): ChatStatus {
    return this.currentStatus;
  }

  on<K extends keyof ChatClientEvents>(event: K, listener: ChatClientEvents[K]): () => void {
    return this.emitter.on(event, listener);
  }

  connect(): void {
    if (this.destroyed || this.transport.connected) return;
    this.setStatus('connecting');
    this.transport.connect();
  }

  disconnect(): void {
    this.transport.disconnect();
    // A transport that was still connecting reports no disconnect of its own.
    this.handleDisconnect(false);
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const off of this.detach) off();
    this.transport.disconnect();
    this.handleDisconnect(false);
    const cancelled: ChatError = { code: 'cancelled', message: 'the chat client was destroyed' };
    // Unsent messages stay in storage for the next instance; only this instance's promises are settled.
    for (const entry of this.outbox) this.settle(entry, { ok: false, error: cancelled });
    for (const waiters of this.subscribed.values()) {
      for (const w of waiters) w.reject(new ChatClientError(cancelled));
    }
    this.subscribed.clear();
    this.emitter.clear();
  }

  // ---- conversations -------------------------------------------------------------------------------

  subscribe(conversationId: string, afterSeq?: number): Promise<void> {
    if (this.destroyed) {
      return Promise.reject(new ChatClientError({ code: 'cancelled', message: 'the chat client was destroyed' }));
    }
    const base = afterSeq ?? this.store.lastSeq(conversationId) ?? 0;
    this.apply(conversationId, this.store.setBaseline(conversationId, base), false);
    return new Promise<void>((resolve, reject) => {
      const waiters = this.subscribed.get(conversationId) ?? [];
      waiters.push({ resolve, reject });
      this.subscribed.set(conversationId, waiters);
      if (this.ready) void this.doSubscribe(conversationId, this.gen);
    });
  }

  unsubscribe(conversationId: string): void {
    const waiters = this.subscribed.get(conversationId) ?? [];
    this.subscribed.delete(conversationId);
    for (const w of waiters) {
      w.reject(new ChatClientError({ code: 'cancelled', message: 'unsubscribed before the subscription completed' }));
    }
    this.store.forget(conversationId);
    // `sent` entries wait for their seq in the store, which is gone now.
    this.outbox = this.outbox.filter((e) => !(e.conversationId === conversationId && e.status === 'sent'));
    if (this.transport.connected) {
      this.transport
        .emit('conversation.unsubscribe', { conversationId }, { timeoutMs: this.ackTimeoutMs })
        .catch(() => undefined);
    }
    this.emitTimeline(conversationId);
  }

  addHistory(conversationId: string, messages: readonly Message[]): void {
    this.apply(conversationId, this.store.addHistory(conversationId, messages), false);
  }

  getMessages(conversationId: string): readonly Message[] {
    return this.store.messages(conversationId).slice();
  }

  getLastSeq(conversationId: string): number | null {
    return this.store.lastSeq(conversationId);
  }

  getOutbox(conversationId?: string): readonly OutgoingMessage[] {
    return this.outbox
      .filter((e) => conversationId === undefined || e.conversationId === conversationId)
      .map(toOutgoing);
  }

  getTimeline(conversationId: string): readonly TimelineItem[] {
    const items: TimelineItem[] = this.store
      .messages(conversationId)
      .map((message) => ({ kind: 'message', key: message.clientId ?? message.id, message }));
    for (const e of this.outbox) {
      if (e.conversationId === conversationId) items.push({ kind: 'outgoing', key: e.clientId, outgoing: toOutgoing(e) });
    }
    return items;
  }

  // ---- sending -------------------------------------------------------------------------------------

  send(conversationId: string, input: SendInput): SendHandle {
    const { clientId = this.newClientId(), ...rest } = input;
    const existing = this.outbox.find((e) => e.clientId === clientId);
    if (existing) return { clientId, result: this.resultOf(existing) };
    const entry: OutboxEntry = {
      clientId,
      conversationId,
      input: rest,
      createdAt: new Date().toISOString(),
      status: 'sending',
      error: null,
      message: null,
      serverRetries: 0,
      lostAcks: 0,
      settle: [],
    };
    const result = this.resultOf(entry);
    this.outbox.push(entry);
    this.persist();
    this.emitTimeline(conversationId);
    void this.pump(conversationId);
    return { clientId, result };
  }

  retry(clientId: string): SendHandle | null {
    const entry = this.outbox.find((e) => e.clientId === clientId);
    if (!entry || entry.status !== 'failed') return null;
    entry.status = 'sending';
    entry.error = null;
    entry.serverRetries = 0;
    entry.lostAcks = 0;
    this.persist();
    this.emitTimeline(entry.conversationId);
    void this.pump(entry.conversationId);
    return { clientId, result: this.resultOf(entry) };
  }

  discard(clientId: string): boolean {
    const entry = this.outbox.find((e) => e.clientId === clientId);
    if (!entry) return false;
    this.outbox = this.outbox.filter((e) => e !== entry);
    this.settle(entry, { ok: false, error: { code: 'cancelled', message: 'discarded' } });
    this.persist();
    this.emitTimeline(entry.conversationId);
    return true;
  }

  /**
   * Sends a conversation's outbox one message at a time, so the server assigns seqs in the order the person
   * typed them. Retries a lost ack with the same clientId (the server returns the original message).
   */
  private async pump(conversationId: string): Promise<void> {
    if (this.pumping.has(conversationId)) return;
    this.pumping.add(conversationId);
    try {
      for (;;) {
        if (!this.ready || this.destroyed) return;
        const entry = this.outbox.find((e) => e.conversationId === conversationId && e.status === 'sending');
        if (!entry) return;
        let ack: ClientAck<'message.send'>;
        try {
          ack = await this.transport.emit(
            'message.send',
            { ...entry.input, conversationId, clientId: entry.clientId },
            { timeoutMs: this.ackTimeoutMs },
          );
        } catch {
          // The server may or may not have stored it. While connected, back off and resend; after a drop
          // the next connection's resume flushes again (once sync has shown what did get stored).
          entry.lostAcks++;
          if (this.ready) await this.sleep(this.backoff(entry.lostAcks));
          continue;
        }
        entry.lostAcks = 0;
        if (ack.ok) {
          this.confirm(entry, ack.message, ack.duplicate);
          this.ingest(ack.message);
          continue;
        }
        // Confirmed by an event or discarded while the request was in flight.
        if (entry.status !== 'sending' || !this.outbox.includes(entry)) continue;
        if (RETRYABLE.has(ack.error.code) && entry.serverRetries < this.maxServerRetries) {
          entry.serverRetries++;
          await this.sleep(this.backoff(entry.serverRetries));
          continue;
        }
        this.fail(entry, ack.error);
      }
    } finally {
      this.pumping.delete(conversationId);
    }
  }

  private confirm(entry: OutboxEntry, message: Message, duplicate: boolean): void {
    if (entry.status === 'sent' || !this.outbox.includes(entry)) return;
    entry.status = 'sent';
    entry.error = null;
    entry.message = message;
    this.settle(entry, { ok: true, message, duplicate });
    this.persist();
    // The entry is removed by `prune` once the message takes its place in seq order.
    this.emitTimeline(entry.conversationId);
  }

  private fail(entry: OutboxEntry, error: AckError): void {
    entry.status = 'failed';
    entry.error = error;
    this.settle(entry, { ok: false, error });
    this.persist();
    this.emitTimeline(entry.conversationId);
  }

  private resultOf(entry: OutboxEntry): Promise<SendResult> {
    if (entry.status === 'sent' && entry.message) {
      return Promise.resolve({ ok: true, message: entry.message, duplicate: true });
    }
    if (entry.status === 'failed' && entry.error) return Promise.resolve({ ok: false, error: entry.error });
    return new Promise((resolve) => entry.settle.push(resolve));
  }

  private settle(entry: OutboxEntry, result: SendResult): void {
    const settle = entry.settle;
    entry.settle = [];
    for (const resolve of settle) resolve(result);
  }

  /** Drops `sent` entries whose message now sits in the store. */
  private prune(conversationId: string): boolean {
    const lastSeq = this.store.lastSeq(conversationId);
    if (lastSeq === null) return false;
    const before = this.outbox.length;
    this.outbox = this.outbox.filter(
      (e) => !(e.conversationId === conversationId && e.status === 'sent' && e.message && e.message.seq <= lastSeq),
    );
    return this.outbox.length !== before;
  }

  // ---- incoming ------------------------------------------------------------------------------------

  private ingest(message: Message): void {
    // Our own message seen in an event (or a replay) confirms a send whose ack got lost: stop resending.
    const entry =
      message.clientId === null
        ? undefined
        : this.outbox.find((e) => e.clientId === message.clientId && e.conversationId === message.conversationId);
    if (entry) this.confirm(entry, message, false);
    this.apply(message.conversationId, this.store.receive(message), false);
  }

  private apply(conversationId: string, change: StoreChange, force: boolean): void {
    const pruned = this.prune(conversationId);
    for (const m of change.delivered) this.emitter.emit('message', m);
    if (change.changed || pruned || force) this.emitTimeline(conversationId);
    if (change.gap && this.ready) void this.catchUp(conversationId, this.gen);
  }

  /** Applies the replays answering `requested`; returns where to continue for those that had more. */
  private applyReplays(
    requested: ReadonlyMap<string, number>,
    results: readonly Replay[],
  ): { again: Array<{ conversationId: string; afterSeq: number }>; progressed: Set<string> } {
    const again: Array<{ conversationId: string; afterSeq: number }> = [];
    const progressed = new Set<string>();
    for (const replay of results) {
      const afterSeq = requested.get(replay.conversationId);
      // A replay for something we did not ask about has no known starting point; ignore it.
      if (afterSeq === undefined) continue;
      for (const m of replay.messages) {
        const entry =
          m.clientId === null
            ? undefined
            : this.outbox.find((e) => e.clientId === m.clientId && e.conversationId === m.conversationId);
        if (entry) this.confirm(entry, m, false);
      }
      const change = this.store.applyReplay(afterSeq, replay);
      this.apply(replay.conversationId, change, false);
      if (change.progressed) progressed.add(replay.conversationId);
      if (replay.hasMore && change.progressed) {
        again.push({ conversationId: replay.conversationId, afterSeq: this.store.lastSeq(replay.conversationId) ?? 0 });
      }
    }
    return { again, progressed };
  }

  // ---- connection lifecycle ------------------------------------------------------------------------

  private handleConnect(): void {
    if (this.destroyed) return;
    const gen = ++this.gen;
    this.ready = false;
    this.setStatus('online');
    void this.resume(gen);
  }

  private handleDisconnect(willReconnect: boolean): void {
    this.gen++;
    this.ready = false;
    this.typingSent.clear();
    this.setStatus(willReconnect && !this.destroyed ? 'connecting' : 'offline');
    // Sleeping retry loops wake up, see the new generation and stop; resume restarts them.
    this.wake();
  }

  /**
   * After every (re)connect: one `sync` for all known conversations (their replays first, so what was
   * stored while we were away is in place), re-subscribe, then flush sends and receipts.
   */
  private async resume(gen: number): Promise<void> {
    await this.restored;
    if (gen !== this.gen) return;
    await this.syncAll(gen, this.store.positions());
    if (gen !== this.gen) return;
    // A new socket is in no conversation room and the gateway's `sync` joins none: subscribe again so an
    // agent keeps getting live events of the conversations it has open.
    await Promise.all([...this.subscribed.keys()].map((id) => this.doSubscribe(id, gen)));
    if (gen !== this.gen) return;
    this.ready = true;
    this.wake();
    for (const id of this.store.conversationIds()) if (this.store.hasGap(id)) void this.catchUp(id, gen);
    for (const id of new Set(this.outbox.map((e) => e.conversationId))) void this.pump(id);
    for (const id of this.readWanted.keys()) void this.flushRead(id);
  }

  private async syncAll(gen: number, positions: Array<{ conversationId: string; afterSeq: number }>): Promise<void> {
    const queue: Array<Array<{ conversationId: string; afterSeq: number }>> = [];
    for (let i = 0; i < positions.length; i += SYNC_BATCH) queue.push(positions.slice(i, i + SYNC_BATCH));
    for (let batch = queue.shift(); batch; batch = queue.shift()) {
      const ack = await this.request('sync', { conversations: batch }, gen);
      if (!ack) return;
      if (!ack.ok) {
        // The server answers a batch as a whole, so one conversation the viewer lost access to would keep
        // all the others from catching up: retry them one by one and drop only the refused ones.
        if (batch.length > 1) queue.unshift(...batch.map((p) => [p]));
        else if (batch[0]) this.refused(batch[0].conversationId, ack.error, 'sync');
        continue;
      }
      const requested = new Map(batch.map((p) => [p.conversationId, p.afterSeq]));
      const { again } = this.applyReplays(requested, ack.results);
      if (again.length > 0) queue.push(again);
    }
  }

  /** A conversation-level request was refused for good. */
  private refused(conversationId: string, error: AckError, operation: 'sync' | 'subscribe'): void {
    const waiters = this.subscribed.get(conversationId) ?? [];
    if (operation === 'subscribe') this.subscribed.delete(conversationId);
    if (GONE.has(error.code)) {
      // Otherwise every reconnect would ask for it again and fail again.
      this.subscribed.delete(conversationId);
      this.store.forget(conversationId);
      this.emitTimeline(conversationId);
    }
    if (operation === 'subscribe' || GONE.has(error.code)) {
      for (const w of waiters) w.reject(new ChatClientError(error));
    }
    this.emitter.emit('error', error, { operation, conversationId });
  }

  private async doSubscribe(conversationId: string, gen: number): Promise<void> {
    if (this.subscribing.get(conversationId) === gen) return;
    this.subscribing.set(conversationId, gen);
    let more = false;
    try {
      const afterSeq = this.store.lastSeq(conversationId) ?? 0;
      const ack = await this.request('conversation.subscribe', { conversationId, afterSeq }, gen);
      // Lost connection: the next resume subscribes again and settles the waiters then.
      if (!ack || !this.subscribed.has(conversationId)) return;
      if (!ack.ok) {
        this.refused(conversationId, ack.error, 'subscribe');
        return;
      }
      const { again } = this.applyReplays(new Map([[conversationId, afterSeq]]), [ack]);
      more = again.length > 0 || this.store.hasGap(conversationId);
    } finally {
      if (this.subscribing.get(conversationId) === gen) this.subscribing.delete(conversationId);
    }
    if (more) await this.catchUp(conversationId, gen);
    if (gen !== this.gen) return;
    const waiters = this.subscribed.get(conversationId);
    if (!waiters) return;
    this.subscribed.set(conversationId, []);
    for (const w of waiters) w.resolve();
  }

  /** `sync` one conversation until its gap is filled and no replay page is left. */
  private async catchUp(conversationId: string, gen: number): Promise<void> {
    if (this.catchingUp.has(conversationId) || this.subscribing.has(conversationId)) return;
    this.catchingUp.add(conversationId);
    try {
      for (let stalls = 0; gen === this.gen; ) {
        const afterSeq = this.store.lastSeq(conversationId) ?? 0;
        const ack = await this.request('sync', { conversations: [{ conversationId, afterSeq }] }, gen);
        if (!ack) return;
        if (!ack.ok) {
          this.refused(conversationId, ack.error, 'sync');
          return;
        }
        const { again, progressed } = this.applyReplays(new Map([[conversationId, afterSeq]]), ack.results);
        if (again.length === 0 && !this.store.hasGap(conversationId)) return;
        if (progressed.has(conversationId)) {
          stalls = 0;
        } else {
          // The server's view is behind the event we hold (or it does not answer for this conversation):
          // ask again a few times, then leave it to the next event or reconnect.
          if (++stalls > MAX_STALLS) return;
          await this.sleep(this.backoff(stalls));
        }
      }
    } finally {
      this.catchingUp.delete(conversationId);
    }
  }

  /**
   * An idempotent request (`sync`, `subscribe`): resent on lost acks and on `rate_limited`/`internal` while
   * the same connection lasts. null when the connection went away (the caller's work is redone on resume).
   */
  private async request<E extends 'sync' | 'conversation.subscribe'>(
    event: E,
    payload: ClientPayload<E>,
    gen: number,
  ): Promise<ClientAck<E> | null> {
    for (let attempt = 1; ; attempt++) {
      if (gen !== this.gen || this.destroyed) return null;
      let ack: ClientAck<E>;
      try {
        ack = await this.transport.emit(event, payload, { timeoutMs: this.ackTimeoutMs });
      } catch {
        if (gen !== this.gen || !this.transport.connected) return null;
        await this.sleep(this.backoff(attempt));
        continue;
      }
      if (gen !== this.gen) return null;
      const result = ack as { ok: boolean; error?: AckError };
      if (!result.ok && result.error && RETRYABLE.has(result.error.code) && attempt <= this.maxServerRetries) {
        await this.sleep(this.backoff(attempt));
        continue;
      }
      return ack;
    }
  }

  // ---- typing and receipts -------------------------------------------------------------------------

  typing(conversationId: string, on: boolean): void {
    if (!this.ready) return; // ephemeral: never queued
    const now = Date.now();
    const last = this.typingSent.get(conversationId);
    if (last ? last.on === on && (!on || now - last.at < this.typingKeepAliveMs) : !on) return;
    this.typingSent.set(conversationId, { on, at: now });
    this.transport
      .emit('typing', { conversationId, typing: on }, { timeoutMs: this.ackTimeoutMs })
      .catch(() => undefined);
  }

  markRead(conversationId: string, seq: number): void {
    const known = Math.max(this.readWanted.get(conversationId) ?? -1, this.readSent.get(conversationId) ?? -1);
    if (seq <= known) return;
    this.readWanted.set(conversationId, seq);
    void this.flushRead(conversationId);
  }

  private async flushRead(conversationId: string): Promise<void> {
    const seq = this.readWanted.get(conversationId);
    if (seq === undefined || !this.ready || this.readInFlight.has(conversationId)) return;
    this.readInFlight.add(conversationId);
    let answered = false;
    try {
      const ack = await this.transport.emit('read', { conversationId, seq }, { timeoutMs: this.ackTimeoutMs });
      answered = true;
      if (!ack.ok) this.emitter.emit('error', ack.error, { operation: 'read', conversationId });
    } catch {
      // Lost: stays in readWanted and goes out again on the next connect (or with a newer seq).
    } finally {
      this.readInFlight.delete(conversationId);
    }
    if (!answered) return;
    this.readSent.set(conversationId, Math.max(seq, this.readSent.get(conversationId) ?? 0));
    if (this.readWanted.get(conversationId) === seq) this.readWanted.delete(conversationId);
    else void this.flushRead(conversationId); // a newer receipt arrived meanwhile
  }

  // ---- persistence ---------------------------------------------------------------------------------

  private async restore(): Promise<void> {
    if (!this.storage) return;
    let raw: string | null | undefined;
    try {
      raw = await this.storage.get(this.storageKey);
    } catch {
      return; // unreadable storage (privacy mode, quota): start with an empty outbox
    }
    if (this.destroyed) return;
    const known = new Set(this.outbox.map((e) => e.clientId));
    const loaded = parseOutbox(raw).filter((e) => !known.has(e.clientId));
    if (loaded.length === 0) return;
    // Stored entries are older than anything sent during start-up.
    this.outbox = [...loaded, ...this.outbox];
    this.persist();
    for (const id of new Set(loaded.map((e) => e.conversationId))) this.emitTimeline(id);
  }

  /** Coalesced: one write of the latest outbox per burst of changes, in order. */
  private persist(): void {
    const storage = this.storage;
    if (!storage || this.persistQueued) return;
    this.persistQueued = true;
    this.writeChain = this.writeChain.then(async () => {
      this.persistQueued = false;
      try {
        await storage.set(this.storageKey, serializeOutbox(this.outbox));
      } catch {
        // Quota or privacy mode: the outbox still lives in memory for this page.
      }
    });
  }

  // ---- helpers -------------------------------------------------------------------------------------

  private emitTimeline(conversationId: string): void {
    this.emitter.emit('messages', conversationId, this.getTimeline(conversationId));
  }

  private setStatus(status: ChatStatus): void {
    if (status === this.currentStatus) return;
    this.currentStatus = status;
    this.emitter.emit('status', status);
  }

  /** Exponential with ±25 % jitter so clients knocked off together do not come back in lockstep. */
  private backoff(attempt: number): number {
    const base = Math.min(this.maxRetryDelayMs, this.retryDelayMs * 2 ** Math.max(0, attempt - 1));
    return Math.round(base * (0.75 + Math.random() * 0.5));
  }

  /** A delay that `wake()` cuts short (connection state changed: retry loops re-check immediately). */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.sleepers.add(done);
    });
  }

  private wake(): void {
    for (const done of [...this.sleepers]) done();
  }
}
