-- Inbound side of external channels (packages/core/src/channels: channel-config.service.ts,
-- channel-ingest.service.ts, channel-pollers.ts).

-- When the channel settings or secrets of an inbox last changed: a node running that inbox's poller
-- compares it on every lease renewal and restarts the poller with the new settings (the admin's change
-- may have been made on another node).
ALTER TABLE inboxes ADD COLUMN channel_updated_at timestamptz NOT NULL DEFAULT now();

-- Per inbox: the poller's position (IMAP UIDVALIDITY + last UID…), the lease that lets exactly one node
-- poll the inbox (taken over once expired, e.g. after a crash), and the last inbound connection problem
-- shown to admins (InboxChannel.lastError).
CREATE TABLE channel_inbound_state (
  inbox_id uuid PRIMARY KEY REFERENCES inboxes(id) ON DELETE CASCADE,
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  poll_state jsonb,
  lease_owner text,
  lease_expires_at timestamptz,
  last_error text,
  last_error_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX channel_inbound_state_workspace_idx ON channel_inbound_state (workspace_id);

-- Echo, thread (In-Reply-To / References) and delivery-status lookups by a platform's message id are
-- served by the existing unique index messages_external_id_idx (workspace_id, inbox_id, external_id)
-- WHERE external_id IS NOT NULL (initial schema): every lookup filters by workspace and inbox.
