import type { Row, Sql } from '../db/database.ts';

/**
 * Many messages in ONE call (the group-commit hot path): the SQL function `huiliu_append_batch`
 * (migration 20261121100000_append_batch_function.sql). Same rules as the single-message APPEND_SQL in
 * pipeline.ts — scope check, idempotency by client / external id, per-conversation seq without gaps — for
 * a whole batch: new messages get `last_seq + row_number()` per conversation, and each conversation row is
 * updated once per batch. On PGlite every statement costs a WASM round trip and parse/plan time, so one
 * cached-plan call per batch is what lets the embedded mode keep up (docs/benchmarks.md).
 *
 * Input: a JSON array of BatchRow. Output: one row per input `idx` that passed the scope check, with the
 * message and conversation as JSON; a missing idx means "conversation not found for this caller".
 */
/** One input row of huiliu_append_batch (JSON keys = column names of the recordset). */
export interface BatchRow {
  idx: number;
  id: string;
  workspace_id: string;
  conversation_id: string;
  client_id: string | null;
  external_id: string | null;
  scope_contact?: string;
  scope_inboxes?: string[];
  direction: string;
  private: boolean;
  sender_type: string;
  sender_id: string | null;
  identity_id: string | null;
  content_type: string;
  text: string;
  content: Record<string, unknown>;
  delivery_status: string;
  search_doc: string;
}

export interface BatchOutcome {
  /** Inserted messages by their id (chosen by the caller). */
  inserted: Map<string, Row>;
  /** Already stored messages (a retry), by input idx: the stored message row. */
  existing: Map<number, { message: Row; conversation: Row }>;
  /** Conversations updated by the batch, by id (with `reopened` and `base_seq`). */
  conversations: Map<string, Row>;
}

export async function appendBatchRows(tx: Sql, rows: BatchRow[]): Promise<BatchOutcome> {
  const out = await tx.query<{ kind: string; idx: number | null; payload: Row }>(`SELECT * FROM huiliu_append_batch($1::jsonb)`, [JSON.stringify(rows)]);
  const outcome: BatchOutcome = { inserted: new Map(), existing: new Map(), conversations: new Map() };
  for (const r of out) {
    if (r.kind === 'inserted') outcome.inserted.set(r.payload.id as string, r.payload);
    else if (r.kind === 'conversation') outcome.conversations.set(r.payload.id as string, r.payload);
    else outcome.existing.set(Number(r.idx), r.payload as unknown as { message: Row; conversation: Row });
  }
  return outcome;
}
