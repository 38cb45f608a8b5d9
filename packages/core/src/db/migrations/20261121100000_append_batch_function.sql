-- The group-commit append (packages/core/src/messages/append-batch.ts) as a PL/pgSQL function: the
-- function caches its query plan per connection, so a batch costs one short call instead of parsing and
-- planning a large statement every time (measured on PGlite: ~5 ms of parse/plan per batch saved).
CREATE FUNCTION huiliu_append_batch(batch jsonb)
RETURNS TABLE (idx int, message jsonb, duplicate boolean, reopened boolean, conversation jsonb)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
WITH input AS (
  SELECT * FROM jsonb_to_recordset(batch) AS t(
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
SELECT f.idx::int, (to_jsonb(ins) - 'search' - 'tx'), false, (conv.reopened AND f.n = 1), to_jsonb(conv)
  FROM fresh f JOIN ins ON ins.id = f.id JOIN conv ON conv.id = f.conversation_id
UNION ALL
SELECT d.idx::int, (to_jsonb(m) - 'search' - 'tx'), true, false, to_jsonb(c)
  FROM stored d JOIN messages m ON m.id = d.existing_id JOIN conversations c ON c.id = m.conversation_id
UNION ALL
SELECT s.idx::int, (to_jsonb(ins) - 'search' - 'tx'), true, false, to_jsonb(conv)
  FROM scoped s JOIN stored d ON d.idx = s.idx AND d.existing_id IS NULL
  JOIN fresh f0 ON f0.conversation_id = s.conversation_id AND f0.idx < s.idx
    AND ((s.client_id IS NOT NULL AND f0.client_id = s.client_id) OR (s.external_id IS NOT NULL AND f0.external_id = s.external_id))
  JOIN ins ON ins.id = f0.id JOIN conv ON conv.id = s.conversation_id;
END;
$$;
