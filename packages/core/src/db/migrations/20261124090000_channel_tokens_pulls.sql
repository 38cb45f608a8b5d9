-- Channel framework: shared access tokens, announced-message pulls and platform session sync
-- (packages/core/src/channels: shared-tokens.ts, channel-pulls.ts, session-sync.ts).

-- Access tokens a platform issues for its API (WeChat access_token, WeCom, Douyin), one row per inbox and
-- token name, shared by every node. The token is AES-256-GCM encrypted under its own subkey of the master
-- key (never in the vault's `secrets` table, so the console's secrets list does not show it).
-- `refresh_owner` / `refresh_until` are the refresh lease: the node that takes it with one conditional
-- upsert calls the platform while the others wait for its result; an expired lease (a crashed node) is
-- taken over. No transaction or row lock is held during the platform call.
CREATE TABLE channel_tokens (
  inbox_id uuid NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  name text NOT NULL,
  ciphertext text,
  expires_at timestamptz,
  refresh_owner text,
  refresh_until timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (inbox_id, name)
);
CREATE INDEX channel_tokens_workspace_idx ON channel_tokens (workspace_id);

-- Where the pulls of an inbox stand (WeCom kf: the sync_msg cursor per open_kfid). Not fenced by the poll
-- lease: pulls of one inbox run one at a time through their job ordering key.
ALTER TABLE channel_inbound_state ADD COLUMN pull_state jsonb;

-- What the platform was last told about who serves the customer of a conversation (WeCom kf session
-- state): a sync job compares the conversation's present state with it and calls the platform only when
-- they differ, so replays and bursts of changes cost nothing and the last change wins.
CREATE TABLE channel_session_sync (
  conversation_id uuid PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  inbox_id uuid NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
  state text NOT NULL CHECK (state IN ('human', 'ended')),
  agent_id uuid,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX channel_session_sync_workspace_idx ON channel_session_sync (workspace_id, inbox_id);
