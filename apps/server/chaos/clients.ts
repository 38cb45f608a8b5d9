import { io, type Socket } from 'socket.io-client';

/**
 * The simulated people of the fault harness, over real Socket.IO through the load balancer.
 *
 * Visitor: sends messages with unique client ids one after another (the next only after the previous was
 * acknowledged), like a person typing. An unanswered send (node died, frozen, database down) is resent with
 * the SAME client id until acknowledged — the server dedupes on it — so every message has one outcome:
 * acknowledged (logged with its seq) or, only if the run ends first, unanswered.
 *
 * Agent: keeps, per conversation it watches, what it would show: seq → message. It takes live
 * `message.created` events, fills seq gaps with `sync`, and after every (re)connect syncs each conversation
 * from the highest seq it is complete through — the recovery protocol of packages/contracts/src/realtime.ts.
 *
 * Both detect a dead node (socket closed: reconnect at once through the load balancer) and a frozen one
 * (ack timeout for visitors, a liveness request every 2 s for agents: then they drop the connection and
 * reconnect).
 */

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

type Ack = { ok: true; message?: { seq: number; clientId: string | null; conversationId: string }; duplicate?: boolean; results?: Replay[] } | { ok: false; error?: { code?: string; message?: string } };
interface Replay {
  conversationId: string;
  messages: WireMessage[];
  lastSeq: number;
  hasMore: boolean;
}
interface WireMessage {
  conversationId: string;
  seq: number;
  clientId: string | null;
  senderType?: string;
}

function makeSocket(url: string, auth: Record<string, string>, localAddress: string, counters: ClientCounters): Socket {
  const socket = io(url, {
    auth,
    transports: ['websocket'],
    forceNew: true,
    reconnection: true,
    reconnectionDelay: 100,
    reconnectionDelayMax: 1000,
    randomizationFactor: 0.3,
    timeout: 5000,
    // Node-only engine.io option: connect from this person's own loopback address (per-IP rate limits).
    localAddress,
  } as Parameters<typeof io>[1]);
  socket.on('connect_error', (err: Error & { data?: { code?: string } }) => {
    const code = err.data?.code ?? err.message;
    counters.connectErrors[code] = (counters.connectErrors[code] ?? 0) + 1;
    // A refusal by the server's handshake middleware (a transient database error, a rate limit) ends
    // Socket.IO's own reconnection (socket.active is false): try again, as a real client would.
    if (!socket.active) setTimeout(() => socket.connect(), 500 + Math.random() * 500);
  });
  return socket;
}

/** Emits with an ack timeout; resolves to the ack or to undefined on timeout. */
function request(socket: Socket, event: string, payload: unknown, timeoutMs: number): Promise<Ack | undefined> {
  return new Promise((resolve) => {
    socket.timeout(timeoutMs).emit(event, payload, (err: unknown, ack: Ack) => resolve(err ? undefined : ack));
  });
}

/** Drops a connection that seems dead (frozen node) so the manager reconnects, through the balancer. */
function dropTransport(socket: Socket): void {
  // Closing the engine looks like a network drop to the manager: it reconnects by itself.
  socket.io.engine?.close();
}

export interface SentMessage {
  clientId: string;
  visitor: number;
  n: number;
  conversationId: string;
  /** Seconds since the run started: first attempt, and acknowledgement (undefined if never). */
  firstSendS: number;
  ackS?: number;
  seq?: number;
  attempts: number;
}

export interface ClientCounters {
  reconnects: number;
  ackTimeouts: number;
  nacks: Record<string, number>;
  /** Handshake refusals and connection failures, by error code or message. */
  connectErrors: Record<string, number>;
}

export class Visitor {
  readonly socket: Socket;
  readonly log: SentMessage[] = [];
  private stopping = false;
  private loop: Promise<void> | undefined;

  constructor(
    readonly index: number,
    url: string,
    visitorToken: string,
    readonly conversationId: string,
    localAddress: string,
    private readonly clock: () => number,
    private readonly counters: ClientCounters,
    private readonly o: { thinkMs: number; ackTimeoutMs: number },
  ) {
    this.socket = makeSocket(url, { visitorToken }, localAddress, counters);
    this.socket.io.on('reconnect', () => counters.reconnects++);
  }

  start(): void {
    this.loop = this.run();
  }

  /** Stops after the message in flight has an outcome (or `graceMs` passed: it stays unanswered). */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    const deadline = Date.now() + graceMs;
    this.deadline = deadline;
    await this.loop;
    this.socket.close();
  }

  private deadline = Infinity;

  private async run(): Promise<void> {
    for (let n = 0; !this.stopping; n++) {
      const m: SentMessage = { clientId: `v${this.index}-${n}`, visitor: this.index, n, conversationId: this.conversationId, firstSendS: this.clock(), attempts: 0 };
      this.log.push(m);
      await this.sendUntilAnswered(m);
      if (m.ackS === undefined) return;
      // Jittered think time: visitors do not move in lock-step, and each stays under the gateway's per-socket rate.
      await sleep(this.o.thinkMs * (0.5 + Math.random()));
    }
  }

  private async sendUntilAnswered(m: SentMessage): Promise<void> {
    while (Date.now() < this.deadline) {
      if (!this.socket.connected) {
        await sleep(50);
        continue;
      }
      m.attempts++;
      const ack = await request(this.socket, 'message.send', { conversationId: m.conversationId, clientId: m.clientId, contentType: 'text', text: `chaos ${m.clientId}` }, this.o.ackTimeoutMs);
      if (ack === undefined) {
        this.counters.ackTimeouts++;
        dropTransport(this.socket);
        continue;
      }
      if (ack.ok) {
        if (!ack.message || ack.message.clientId !== m.clientId) throw new Error(`ack for ${m.clientId} carried ${JSON.stringify(ack.message)}`);
        m.ackS = this.clock();
        m.seq = Number(ack.message.seq);
        return;
      }
      const code = ack.error?.code ?? 'unknown';
      this.counters.nacks[code] = (this.counters.nacks[code] ?? 0) + 1;
      // Refusals while a dependency is down (internal, unavailable, rate_limited): the same message again shortly.
      await sleep(250);
    }
  }
}

export interface ShownMessage {
  clientId: string | null;
  via: 'live' | 'sync';
}

export class Agent {
  readonly socket: Socket;
  /** conversationId → seq → what this agent shows. */
  readonly views = new Map<string, Map<number, ShownMessage>>();
  /** Highest seq the view is complete through, per conversation. */
  private readonly complete = new Map<string, number>();
  private readonly catchingUp = new Set<string>();
  /** Same seq delivered again with a different message: the server showed two messages at one seq. */
  seqConflicts = 0;
  liveReceipts = 0;
  syncRounds = 0;
  private liveness: NodeJS.Timeout | undefined;
  private closed = false;
  /** Bumped on each connect; async loops of an older connection stop. */
  private gen = 0;

  constructor(
    readonly index: number,
    url: string,
    token: string,
    conversationIds: string[],
    localAddress: string,
    private readonly counters: ClientCounters,
  ) {
    for (const c of conversationIds) {
      this.views.set(c, new Map());
      this.complete.set(c, 0);
    }
    this.socket = makeSocket(url, { token }, localAddress, counters);
    this.socket.io.on('reconnect', () => counters.reconnects++);
    this.socket.on('connect', () => {
      const gen = ++this.gen;
      void this.resume(gen);
    });
    this.socket.on('message.created', (m: WireMessage) => {
      if (!this.views.has(m.conversationId)) return;
      this.liveReceipts++;
      this.take(m, 'live');
      if (this.hasGap(m.conversationId)) void this.catchUp(m.conversationId, this.gen);
    });
    this.liveness = setInterval(() => void this.ping(), 2000);
  }

  /** Resolves once connected and the first sync is done. */
  async ready(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(this.socket.connected && this.gen > 0 && this.synced >= 1)) {
      if (Date.now() > deadline) throw new Error(`agent ${this.index} did not connect and sync within ${timeoutMs} ms`);
      await sleep(50);
    }
  }
  private synced = 0;

  private async ping(): Promise<void> {
    if (!this.socket.connected || this.closed) return;
    const gen = this.gen;
    const ack = await request(this.socket, 'sync', { conversations: [] }, 3000);
    if (ack === undefined && gen === this.gen && !this.closed) {
      this.counters.ackTimeouts++;
      dropTransport(this.socket);
    }
  }

  private take(m: WireMessage, via: 'live' | 'sync'): void {
    const view = this.views.get(m.conversationId)!;
    const seq = Number(m.seq);
    const had = view.get(seq);
    if (had) {
      if (had.clientId !== m.clientId) this.seqConflicts++;
      return; // at-least-once delivery: the same seq again is shown once
    }
    view.set(seq, { clientId: m.clientId, via });
    let c = this.complete.get(m.conversationId)!;
    while (view.has(c + 1)) c++;
    this.complete.set(m.conversationId, c);
  }

  private hasGap(conversationId: string): boolean {
    const view = this.views.get(conversationId)!;
    const c = this.complete.get(conversationId)!;
    for (const s of view.keys()) if (s > c) return true;
    return false;
  }

  private async resume(gen: number): Promise<void> {
    // After every (re)connect: everything after what we are complete through, for every conversation.
    const ids = [...this.views.keys()];
    for (let i = 0; i < ids.length && gen === this.gen; i += 100) {
      await this.syncRound(ids.slice(i, i + 100), gen);
    }
    if (gen === this.gen) this.synced++;
  }

  /** One `sync` request (retried while this connection lives), then pages on for conversations with more. */
  private async syncRound(ids: string[], gen: number): Promise<void> {
    let pending = ids;
    while (pending.length && gen === this.gen && !this.closed) {
      const ack = await request(this.socket, 'sync', { conversations: pending.map((c) => ({ conversationId: c, afterSeq: this.complete.get(c)! })) }, 5000);
      this.syncRounds++;
      if (!ack || !ack.ok || !ack.results) {
        if (!ack) return; // connection is probably gone: the next connect resumes
        await sleep(250);
        continue;
      }
      for (const r of ack.results) for (const m of r.messages) this.take({ ...m, conversationId: r.conversationId }, 'sync');
      pending = ack.results.filter((r) => r.hasMore).map((r) => r.conversationId);
    }
  }

  private async catchUp(conversationId: string, gen: number): Promise<void> {
    if (this.catchingUp.has(conversationId)) return;
    this.catchingUp.add(conversationId);
    try {
      // A gap may be a message whose event is still on its way (another node): a few rounds, then leave it
      // to the next event or reconnect, like the shipped client does.
      for (let round = 0; round < 3 && this.hasGap(conversationId) && gen === this.gen; round++) {
        await this.syncRound([conversationId], gen);
        if (this.hasGap(conversationId)) await sleep(200);
      }
    } finally {
      this.catchingUp.delete(conversationId);
    }
  }

  close(): void {
    this.closed = true;
    clearInterval(this.liveness);
    this.socket.close();
  }
}
