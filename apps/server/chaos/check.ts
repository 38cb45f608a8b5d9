import type { Agent, SentMessage } from './clients.ts';

/**
 * The comparison after the run (Jepsen's total-queue check, per message):
 * - acknowledged ⇒ stored (exactly once: one row per client id);
 * - stored ⇒ shown by the agent side (live, gap fill or resync), exactly once: one seq per client id;
 * - per conversation, the agent shows the visitor's messages in the order the visitor sent them.
 */
export interface StoredRow {
  conversationId: string;
  seq: number;
  clientId: string;
}

export interface FaultRecord {
  kind: string;
  at_s: number;
  [k: string]: unknown;
}

export interface CheckResult {
  sent: number;
  acked: number;
  unanswered: number;
  stored: number;
  delivered: number;
  lost: number;
  duplicated: number;
  out_of_order: number;
  not_stored: string[];
  not_delivered: string[];
  stored_twice: string[];
  shown_twice: string[];
  out_of_order_at: string[];
  ack_seq_mismatch: number;
  seq_conflicts: number;
  by_fault: Record<string, { injected: number; lost: number; duplicated: number; out_of_order: number; max_ack_gap_s: number | null }>;
}

const CLIENT_ID = /^v(\d+)-(\d+)$/;

export function check(sent: SentMessage[], stored: StoredRow[], agents: Agent[], faults: FaultRecord[]): CheckResult {
  const byId = new Map(sent.map((m) => [m.clientId, m]));
  const ours = stored.filter((r) => CLIENT_ID.test(r.clientId));
  const storedCount = new Map<string, number>();
  const storedSeq = new Map<string, number>();
  for (const r of ours) {
    storedCount.set(r.clientId, (storedCount.get(r.clientId) ?? 0) + 1);
    storedSeq.set(r.clientId, r.seq);
  }
  const acked = sent.filter((m) => m.ackS !== undefined);
  const notStored = acked.filter((m) => !storedCount.has(m.clientId)).map((m) => m.clientId);
  const storedTwice = [...storedCount].filter(([, n]) => n > 1).map(([id]) => id);
  const ackSeqMismatch = acked.filter((m) => storedSeq.has(m.clientId) && storedSeq.get(m.clientId) !== m.seq).length;

  // The agent side: every conversation is watched by one agent.
  const shownSeqs = new Map<string, number[]>();
  const outOfOrderAt: string[] = [];
  for (const a of agents) {
    for (const [conversationId, view] of a.views) {
      let lastN = -1;
      for (const seq of [...view.keys()].sort((x, y) => x - y)) {
        const id = view.get(seq)!.clientId;
        const m = id ? CLIENT_ID.exec(id) : null;
        if (!m || !id) continue;
        shownSeqs.set(id, [...(shownSeqs.get(id) ?? []), seq]);
        const n = Number(m[2]);
        if (n < lastN) outOfOrderAt.push(`${conversationId}@${seq}:${id}`);
        lastN = Math.max(lastN, n);
      }
    }
  }
  const storedIds = [...storedCount.keys()];
  const notDelivered = storedIds.filter((id) => !shownSeqs.has(id));
  const shownTwice = [...shownSeqs].filter(([, seqs]) => seqs.length > 1).map(([id]) => id);
  const delivered = storedIds.length - notDelivered.length;

  const lostIds = new Set([...notStored, ...notDelivered]);
  const dupIds = new Set([...storedTwice, ...shownTwice]);
  const oooIds = new Set(outOfOrderAt.map((s) => s.slice(s.lastIndexOf(':') + 1)));

  // Attribution: a problem message belongs to the last fault injected at or before its first send.
  const ordered = [...faults].sort((a, b) => a.at_s - b.at_s);
  const faultOf = (id: string): FaultRecord | undefined => {
    const m = byId.get(id);
    if (!m) return undefined;
    let f: FaultRecord | undefined;
    for (const x of ordered) if (x.at_s <= m.firstSendS + 0.001) f = x;
    return f;
  };
  const byFault: CheckResult['by_fault'] = {};
  // Per fault: the longest a visitor waited between two acknowledgements around it (from the fault until
  // the next one): how long people were stalled.
  const ackTimes = new Map<number, number[]>();
  for (const m of sent) if (m.ackS !== undefined) ackTimes.set(m.visitor, [...(ackTimes.get(m.visitor) ?? []), m.ackS]);
  ordered.forEach((f, i) => {
    const b = (byFault[f.kind] ??= { injected: 0, lost: 0, duplicated: 0, out_of_order: 0, max_ack_gap_s: null });
    b.injected++;
    const until = ordered[i + 1]?.at_s ?? Infinity;
    let worst: number | null = null;
    for (const times of ackTimes.values()) {
      for (let k = 1; k < times.length; k++) {
        if (times[k]! > f.at_s && times[k - 1]! < until) worst = Math.max(worst ?? 0, times[k]! - Math.max(times[k - 1]!, f.at_s));
      }
    }
    f.max_ack_gap_s = worst === null ? null : Math.round(worst * 10) / 10;
    b.max_ack_gap_s = worst === null ? b.max_ack_gap_s : Math.max(b.max_ack_gap_s ?? 0, f.max_ack_gap_s as number);
  });
  const attribute = (ids: Iterable<string>, field: 'lost' | 'duplicated' | 'out_of_order') => {
    for (const id of ids) {
      const f = faultOf(id);
      const key = f?.kind ?? 'none';
      (byFault[key] ??= { injected: 0, lost: 0, duplicated: 0, out_of_order: 0, max_ack_gap_s: null })[field]++;
    }
  };
  attribute(lostIds, 'lost');
  attribute(dupIds, 'duplicated');
  attribute(oooIds, 'out_of_order');

  return {
    sent: sent.length,
    acked: acked.length,
    unanswered: sent.length - acked.length,
    stored: ours.length,
    delivered,
    lost: lostIds.size,
    duplicated: dupIds.size,
    out_of_order: outOfOrderAt.length,
    not_stored: notStored,
    not_delivered: notDelivered,
    stored_twice: storedTwice,
    shown_twice: shownTwice,
    out_of_order_at: outOfOrderAt,
    ack_seq_mismatch: ackSeqMismatch,
    seq_conflicts: agents.reduce((s, a) => s + a.seqConflicts, 0),
    by_fault: byFault,
  };
}
