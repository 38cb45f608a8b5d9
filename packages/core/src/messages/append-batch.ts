import type { Row, Sql } from '../db/database.ts';

/**
 * Many messages in ONE statement (the group-commit hot path). Same rules as the single-message
 * APPEND_SQL in pipeline.ts — scope check, idempotency by client / external id, per-conversation seq
 * without gaps — for a whole batch: new messages get `last_seq + row_number()` per conversation, and the
 * conversation row is updated once per batch. On PGlite every statement costs a WASM round trip, so one
 * statement per batch instead of per message is what makes the embedded mode keep up (docs/benchmarks.md).
 *
 * Input: $1 = JSON array of rows (see BatchRow). Output: one row per input `idx` that passed the scope
 * check; a missing idx means "conversation not found for this caller".
 */
export const APPEND_BATCH_SQL = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS t(
    idx int, id uuid, workspace_id uuid, conversation_id uuid, client_id text, external_id text,
    scope_contact uuid, scope_inboxes jsonb, direction text, private boolean, sender_type text, sender_id uuid,
    identity_id uuid, content_type text, text text, content jsonb, delivery_status text, search_doc text)
),
scoped AS (
  SELECT i.* FROM input i JOIN conversations c ON c.id = i.conversation_id AND c.workspace_id = i.workspace_id
  WHERE (i.scope_contact IS NULL OR c.contact_id = i.scope_contact)
    AND (i.scope_inboxes IS NULL OR i.scope_inboxes ? c.inbox_id::text)
),
stored AS (
  SELECT s.idx, (SELECT m.id FROM messages m
                 WHERE m.conversation_id = s.conversation_id
                   AND ((s.client_id IS NOT NULL AND m.client_id = s.client_id) OR (s.external_id IS NOT NULL AND m.external_id = s.external_id))
                 LIMIT 1) AS existing_id
  FROM scoped s
),
fresh AS (
  SELECT s.*, row_number() OVER (PARTITION BY s.conversation_id ORDER BY s.idx) AS n
  FROM scoped s JOIN stored d ON d.idx = s.idx
  WHERE d.existing_id IS NULL
    AND NOT EXISTS (SELECT 1 FROM scoped p WHERE p.conversation_id = s.conversation_id AND p.idx < s.idx
                      AND ((s.client_id IS NOT NULL AND p.client_id = s.client_id) OR (s.external_id IS NOT NULL AND p.external_id = s.external_id)))
),
counts AS (
  SELECT conversation_id, count(*)::int AS k, bool_or(direction = 'incoming') AS incoming FROM fresh GROUP BY conversation_id
),
conv AS (
  UPDATE conversations c SET
    last_seq = c.last_seq + counts.k,
    last_activity_at = now(),
    updated_at = now(),
    last_incoming_at = CASE WHEN counts.incoming THEN now() ELSE c.last_incoming_at END,
    status = CASE WHEN counts.incoming AND c.status IN ('resolved', 'snoozed') THEN 'open' ELSE c.status END,
    snoozed_until = CASE WHEN counts.incoming THEN NULL ELSE c.snoozed_until END,
    resolved_at = CASE WHEN counts.incoming AND c.status = 'resolved' THEN NULL ELSE c.resolved_at END
  FROM counts
  WHERE c.id = counts.conversation_id
  RETURNING c.*, c.last_seq - counts.k AS base_seq,
    (c.status IS DISTINCT FROM (SELECT o.status FROM conversations o WHERE o.id = c.id)) AS reopened
),
ins AS (
  INSERT INTO messages (id, workspace_id, inbox_id, conversation_id, seq, direction, private, sender_type, sender_id,
                        identity_id, content_type, text, content, client_id, external_id, delivery_status, search)
  SELECT f.id, f.workspace_id, conv.inbox_id, f.conversation_id, conv.base_seq + f.n, f.direction, f.private, f.sender_type, f.sender_id,
         CASE WHEN f.direction = 'incoming' THEN COALESCE(f.identity_id, conv.identity_id) ELSE f.identity_id END,
         f.content_type, f.text, f.content, f.client_id, f.external_id, f.delivery_status, to_tsvector('simple', f.search_doc)
  FROM fresh f JOIN conv ON conv.id = f.conversation_id
  RETURNING *
)
SELECT f.idx, ins.*, false AS duplicate, (conv.reopened AND f.n = 1) AS reopened, to_jsonb(conv) AS conversation
  FROM fresh f JOIN ins ON ins.id = f.id JOIN conv ON conv.id = f.conversation_id
UNION ALL
SELECT d.idx, m.*, true, false, to_jsonb(c)
  FROM stored d JOIN messages m ON m.id = d.existing_id JOIN conversations c ON c.id = m.conversation_id
UNION ALL
SELECT s.idx, ins.*, true, false, to_jsonb(conv)
  FROM scoped s JOIN stored d ON d.idx = s.idx AND d.existing_id IS NULL
  JOIN fresh f0 ON f0.conversation_id = s.conversation_id AND f0.idx < s.idx
    AND ((s.client_id IS NOT NULL AND f0.client_id = s.client_id) OR (s.external_id IS NOT NULL AND f0.external_id = s.external_id))
  JOIN ins ON ins.id = f0.id JOIN conv ON conv.id = s.conversation_id`;

/** One input row of APPEND_BATCH_SQL (JSON keys = column names of the recordset). */
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

export async function appendBatchRows(tx: Sql, rows: BatchRow[]): Promise<Map<number, Row>> {
  const out = await tx.query(APPEND_BATCH_SQL, [JSON.stringify(rows)]);
  return new Map(out.map((r) => [Number(r.idx), r]));
}
