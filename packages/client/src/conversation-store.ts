import type { Message, Replay } from '@huiliu/contracts';

/** What one store operation did, so the caller can notify UIs and decide whether to sync. */
export interface StoreChange {
  /** Messages newly delivered, in seq order. Each seq is delivered at most once per store. */
  readonly delivered: readonly Message[];
  /** The visible message list changed (delivery or inserted history). */
  readonly changed: boolean;
  /** Messages are waiting behind a missing seq: the caller should `sync` from `lastSeq`. */
  readonly gap: boolean;
  /** `lastSeq` moved forward. */
  readonly progressed: boolean;
}

interface ConversationState {
  /** Delivered (and history) messages, ascending seq, all <= lastSeq. */
  messages: Message[];
  /**
   * Everything up to here is known: delivered, or covered by a replay (seqs a replay skipped are private
   * notes hidden from this viewer). null = no baseline yet.
   */
  lastSeq: number | null;
  /** Received beyond a gap, waiting for the missing seqs. */
  ahead: Map<number, Message>;
}

const NOTHING: StoreChange = { delivered: [], changed: false, gap: false, progressed: false };

/**
 * Per-conversation message state keyed on the server's `seq`. Pure data, no I/O: the client feeds it live
 * events and replays and acts on the returned `StoreChange`.
 */
export class ConversationStore {
  private readonly states = new Map<string, ConversationState>();

  has(conversationId: string): boolean {
    return this.states.has(conversationId);
  }

  lastSeq(conversationId: string): number | null {
    return this.states.get(conversationId)?.lastSeq ?? null;
  }

  messages(conversationId: string): readonly Message[] {
    return this.states.get(conversationId)?.messages ?? [];
  }

  hasGap(conversationId: string): boolean {
    return (this.states.get(conversationId)?.ahead.size ?? 0) > 0;
  }

  /** Conversations with a baseline, i.e. the `sync` request after a reconnect. */
  positions(): Array<{ conversationId: string; afterSeq: number }> {
    const out: Array<{ conversationId: string; afterSeq: number }> = [];
    for (const [conversationId, st] of this.states) {
      if (st.lastSeq !== null) out.push({ conversationId, afterSeq: st.lastSeq });
    }
    return out;
  }

  conversationIds(): string[] {
    return [...this.states.keys()];
  }

  /**
   * Declare that everything up to `seq` is already known (e.g. the caller subscribes with `afterSeq` after
   * loading history over REST). Never moves backwards.
   */
  setBaseline(conversationId: string, seq: number): StoreChange {
    const st = this.state(conversationId);
    const before = st.lastSeq;
    if (st.lastSeq !== null && st.lastSeq >= seq) return NOTHING;
    st.lastSeq = seq;
    for (const s of st.ahead.keys()) if (s <= seq) st.ahead.delete(s);
    const delivered = this.drain(st);
    return this.result(st, before, delivered, delivered.length > 0);
  }

  /** A live `message.created` (or a send ack). */
  receive(message: Message): StoreChange {
    const st = this.state(message.conversationId);
    // First sight of a conversation nobody subscribed to: start here rather than pulling its whole
    // history through `sync`; older messages are the UI's to page in over REST (`addHistory`).
    if (st.lastSeq === null) st.lastSeq = message.seq - 1;
    const before = st.lastSeq;
    if (message.seq <= st.lastSeq || st.ahead.has(message.seq)) return this.result(st, before, [], false);
    st.ahead.set(message.seq, message);
    const delivered = this.drain(st);
    return this.result(st, before, delivered, delivered.length > 0);
  }

  /**
   * A replay (from `sync` or `conversation.subscribe`) answering a request for messages after `afterSeq`.
   * It covers `(afterSeq, replay.lastSeq]` completely, or up to its last message when `hasMore`: seqs missing
   * in that range are hidden from us and must not hold delivery back.
   */
  applyReplay(afterSeq: number, replay: Replay): StoreChange {
    const st = this.state(replay.conversationId);
    if (st.lastSeq === null) st.lastSeq = afterSeq;
    const before = st.lastSeq;
    const sorted = replay.messages
      .filter((m) => m.conversationId === replay.conversationId)
      .sort((a, b) => a.seq - b.seq);

    if (afterSeq > before) {
      // Cannot happen for requests made from lastSeq (which only grows), but if it does the replay does
      // not cover (before, afterSeq], so its messages only count as individually received ones.
      for (const m of sorted) if (m.seq > before && !st.ahead.has(m.seq)) st.ahead.set(m.seq, m);
      const delivered = this.drain(st);
      return this.result(st, before, delivered, delivered.length > 0);
    }

    const last = sorted.at(-1);
    const covered = replay.hasMore ? Math.max(afterSeq, last?.seq ?? afterSeq) : replay.lastSeq;
    const inRange = new Map<number, Message>();
    for (const [seq, m] of st.ahead) {
      if (seq <= covered) {
        inRange.set(seq, m);
        st.ahead.delete(seq);
      }
    }
    for (const m of sorted) {
      if (m.seq <= before) continue;
      // A message newer than the replay's lastSeq was committed while the server built the replay.
      if (m.seq > covered) {
        if (!st.ahead.has(m.seq)) st.ahead.set(m.seq, m);
      } else {
        inRange.set(m.seq, m);
      }
    }
    const delivered = [...inRange.values()].sort((a, b) => a.seq - b.seq);
    for (const m of delivered) st.messages.push(m);
    if (covered > before) st.lastSeq = covered;
    for (const m of this.drain(st)) delivered.push(m);
    return this.result(st, before, delivered, delivered.length > 0);
  }

  /**
   * Older messages fetched over REST (scrolling up). They are inserted without being "delivered" again;
   * ones newer than lastSeq are treated as received. Without a baseline, the newest one becomes it.
   */
  addHistory(conversationId: string, messages: readonly Message[]): StoreChange {
    const st = this.state(conversationId);
    const own = messages.filter((m) => m.conversationId === conversationId);
    if (st.lastSeq === null) st.lastSeq = own.reduce((max, m) => Math.max(max, m.seq), 0);
    const before = st.lastSeq;
    const known = new Set(st.messages.map((m) => m.seq));
    let inserted = false;
    for (const m of own) {
      if (m.seq > st.lastSeq) {
        if (!st.ahead.has(m.seq)) st.ahead.set(m.seq, m);
      } else if (!known.has(m.seq)) {
        known.add(m.seq);
        st.messages.push(m);
        inserted = true;
      }
    }
    if (inserted) st.messages.sort((a, b) => a.seq - b.seq);
    const delivered = this.drain(st);
    return this.result(st, before, delivered, inserted || delivered.length > 0);
  }

  forget(conversationId: string): void {
    this.states.delete(conversationId);
  }

  private state(conversationId: string): ConversationState {
    let st = this.states.get(conversationId);
    if (!st) this.states.set(conversationId, (st = { messages: [], lastSeq: null, ahead: new Map() }));
    return st;
  }

  /** Deliver the contiguous run waiting right after lastSeq. */
  private drain(st: ConversationState): Message[] {
    const out: Message[] = [];
    let lastSeq = st.lastSeq ?? 0;
    for (let next = st.ahead.get(lastSeq + 1); next; next = st.ahead.get(lastSeq + 1)) {
      st.ahead.delete(next.seq);
      st.messages.push(next);
      out.push(next);
      lastSeq = next.seq;
    }
    st.lastSeq = lastSeq;
    return out;
  }

  private result(st: ConversationState, before: number | null, delivered: Message[], changed: boolean): StoreChange {
    return {
      delivered,
      changed,
      gap: st.ahead.size > 0,
      progressed: st.lastSeq !== null && (before === null || st.lastSeq > before),
    };
  }
}
