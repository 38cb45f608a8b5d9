-- The group-commit append (packages/core/src/messages/append-batch.ts) as a PL/pgSQL function: the
-- function caches its query plan per connection, so a batch costs one short call instead of parsing and
-- planning a large statement every time. Same rules as the single-message APPEND_SQL in pipeline.ts:
-- scope check, idempotency by client / external id, per-conversation seq without gaps.
-- The caller removes duplicates WITHIN the batch; the function finds duplicates already stored.
-- Rows out: ('inserted', NULL, message) | ('existing', idx, {message, conversation}) | ('conversation', NULL, conversation).
-- An input idx that appears nowhere failed the scope check (not found for that caller).
CREATE FUNCTION huiliu_append_batch(batch jsonb)
RETURNS TABLE (kind text, idx int, payload jsonb)
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
    SELECT i.*,
      (SELECT m.id FROM messages m
        WHERE m.conversation_id = i.conversation_id
          AND ((i.client_id IS NOT NULL AND m.client_id = i.client_id) OR (i.external_id IS NOT NULL AND m.external_id = i.external_id))
        LIMIT 1) AS existing_id
    FROM input i JOIN conversations c ON c.id = i.conversation_id AND c.workspace_id = i.workspace_id
    WHERE (i.scope_contact IS NULL OR c.contact_id = i.scope_contact)
      AND (i.scope_inboxes IS NULL OR i.scope_inboxes ? c.inbox_id::text)
  ),
  fresh AS (
    SELECT s.*, row_number() OVER (PARTITION BY s.conversation_id ORDER BY s.idx) AS n
    FROM scoped s WHERE s.existing_id IS NULL
  ),
  counts AS (
    SELECT f.conversation_id, count(*)::int AS k, bool_or(f.direction = 'incoming') AS incoming FROM fresh f GROUP BY f.conversation_id
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
  SELECT 'inserted'::text, NULL::int, to_jsonb(ins) - 'search' - 'tx' FROM ins
  UNION ALL
  SELECT 'conversation'::text, NULL::int, to_jsonb(conv) FROM conv
  UNION ALL
  SELECT 'existing'::text, s.idx, jsonb_build_object('message', to_jsonb(m) - 'search' - 'tx', 'conversation', to_jsonb(c))
    FROM scoped s JOIN messages m ON m.id = s.existing_id JOIN conversations c ON c.id = m.conversation_id;
END;
$$;
