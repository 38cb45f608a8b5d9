-- Outbound delivery to external channels (packages/core/src/channels/outbound-delivery.ts).

-- One row per attempt to hand a message to its channel: the delivery log admins read per inbox, and the
-- history behind a dead letter ("3 attempts, last: 400 recipient not found").
CREATE TABLE channel_delivery_attempts (
  id bigserial PRIMARY KEY,
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  inbox_id uuid NOT NULL,
  conversation_id uuid NOT NULL,
  message_id uuid NOT NULL,
  job_id bigint,
  attempt integer NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('sent', 'retry', 'failed')),
  external_id text,
  error text,
  error_code text,
  duration_ms integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX channel_delivery_attempts_inbox_idx ON channel_delivery_attempts (workspace_id, inbox_id, id DESC);
CREATE INDEX channel_delivery_attempts_message_idx ON channel_delivery_attempts (message_id, id);

-- Dead letters across a workspace (GET /deliveries/failed) without scanning its messages.
CREATE INDEX messages_delivery_failed_idx ON messages (workspace_id, created_at DESC) WHERE delivery_status = 'failed';
