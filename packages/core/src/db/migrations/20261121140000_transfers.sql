-- Transfers (issue 4): agent → agent (the receiving agent accepts or declines; unanswered requests
-- expire) and agent → team (straight into the team's queue). The conversation itself is not copied:
-- its history stays, the transfer's note is a private note on its timeline. See
-- packages/core/src/conversations/transfer.service.ts.
CREATE TABLE conversation_transfers (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  -- Who asked for the transfer (the assignee, or a supervisor).
  from_user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  to_user_id uuid REFERENCES users(id) ON DELETE CASCADE,
  to_team_id uuid REFERENCES teams(id) ON DELETE CASCADE,
  note text NOT NULL DEFAULT '',
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'declined', 'cancelled', 'expired')),
  decline_reason text,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- A pending agent → agent transfer expires at this time (a durable job marks it).
  expires_at timestamptz,
  responded_at timestamptz,
  responded_by uuid REFERENCES users(id) ON DELETE SET NULL,
  CHECK ((to_user_id IS NULL) <> (to_team_id IS NULL))
);
CREATE INDEX conversation_transfers_conversation_idx ON conversation_transfers (conversation_id, created_at DESC);
CREATE INDEX conversation_transfers_to_user_idx ON conversation_transfers (workspace_id, to_user_id, status, created_at DESC);
CREATE INDEX conversation_transfers_from_user_idx ON conversation_transfers (workspace_id, from_user_id, status, created_at DESC);
-- At most one pending transfer per conversation: a new request replaces (cancels) the previous one.
CREATE UNIQUE INDEX conversation_transfers_one_pending_idx ON conversation_transfers (conversation_id) WHERE status = 'pending';
