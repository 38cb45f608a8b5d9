-- Log consumers read messages in (tx, log_id) order up to the oldest running transaction
-- (see packages/core/src/jobs/log-consumer.ts); this index keeps that read from scanning the table.
CREATE INDEX messages_log_order_idx ON messages (tx, log_id);

-- The audit log's row trigger cannot see TRUNCATE; refuse that too.
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- "Has this conversation had its first response yet?" (reporting consumer).
CREATE INDEX reporting_events_conversation_idx ON reporting_events (conversation_id, name);
