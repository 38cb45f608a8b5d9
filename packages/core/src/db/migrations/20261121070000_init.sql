-- Huiliu initial schema. Every table that holds workspace data carries workspace_id, and every query
-- filters by it (tenant isolation). Ids are UUIDs so one workspace cannot guess another's.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE workspaces (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL,
  slug text NOT NULL UNIQUE,
  settings jsonb NOT NULL DEFAULT '{}',
  next_display_id integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE roles (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  name text NOT NULL,
  permissions text[] NOT NULL DEFAULT '{}',
  preset boolean NOT NULL DEFAULT false,
  UNIQUE (workspace_id, name)
);

CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  email text NOT NULL,
  name text NOT NULL,
  password_hash text,
  role_id uuid NOT NULL REFERENCES roles(id),
  status text NOT NULL CHECK (status IN ('invited', 'active', 'deactivated')),
  avatar_url text,
  locale text NOT NULL DEFAULT 'zh-CN',
  invite_token_hash text UNIQUE,
  invite_expires_at timestamptz,
  reset_token_hash text UNIQUE,
  reset_expires_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (workspace_id, email)
);
CREATE INDEX users_email_idx ON users (email);

CREATE TABLE sessions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  token_hash text NOT NULL UNIQUE,
  ip text,
  user_agent text,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  revoked_at timestamptz
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE teams (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  name text NOT NULL,
  description text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (workspace_id, name)
);
CREATE TABLE team_members (
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  team_id uuid NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  PRIMARY KEY (team_id, user_id)
);

CREATE TABLE inboxes (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  name text NOT NULL,
  channel_type text NOT NULL,
  channel_config jsonb NOT NULL DEFAULT '{}',
  public_id text NOT NULL UNIQUE,
  allowed_origins text[] NOT NULL DEFAULT '{}',
  widget jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
CREATE INDEX inboxes_workspace_idx ON inboxes (workspace_id);
CREATE TABLE inbox_members (
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  inbox_id uuid NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  PRIMARY KEY (inbox_id, user_id)
);
CREATE INDEX inbox_members_user_idx ON inbox_members (user_id);

CREATE TABLE contacts (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  name text,
  email text,
  phone text,
  attributes jsonb NOT NULL DEFAULT '{}',
  tags text[] NOT NULL DEFAULT '{}',
  search tsvector,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contacts_workspace_idx ON contacts (workspace_id, created_at DESC);
CREATE INDEX contacts_search_idx ON contacts USING gin (search);
CREATE INDEX contacts_tags_idx ON contacts USING gin (tags);
CREATE INDEX contacts_email_idx ON contacts (workspace_id, email);

-- One row per (channel, person): the visitor id of a widget, an email address, a phone number, an openid…
-- Messages reference the identity they came through so merges and unmerges can move them back.
CREATE TABLE contact_identities (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  contact_id uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  inbox_id uuid NOT NULL REFERENCES inboxes(id) ON DELETE CASCADE,
  channel_type text NOT NULL,
  source_id text NOT NULL,
  verified boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (workspace_id, inbox_id, source_id)
);
CREATE INDEX contact_identities_contact_idx ON contact_identities (contact_id);

CREATE TABLE conversations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  display_id integer NOT NULL,
  inbox_id uuid NOT NULL REFERENCES inboxes(id),
  contact_id uuid NOT NULL REFERENCES contacts(id),
  identity_id uuid NOT NULL REFERENCES contact_identities(id),
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'pending', 'resolved', 'snoozed')),
  assignee_id uuid REFERENCES users(id) ON DELETE SET NULL,
  team_id uuid REFERENCES teams(id) ON DELETE SET NULL,
  priority text NOT NULL DEFAULT 'none' CHECK (priority IN ('none', 'low', 'medium', 'high', 'urgent')),
  tags text[] NOT NULL DEFAULT '{}',
  last_seq bigint NOT NULL DEFAULT 0,
  agent_read_seq bigint NOT NULL DEFAULT 0,
  contact_read_seq bigint NOT NULL DEFAULT 0,
  last_activity_at timestamptz NOT NULL DEFAULT now(),
  last_incoming_at timestamptz,
  snoozed_until timestamptz,
  resolved_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (workspace_id, display_id)
);
CREATE INDEX conversations_list_idx ON conversations (workspace_id, status, last_activity_at DESC);
CREATE INDEX conversations_assignee_idx ON conversations (workspace_id, assignee_id, status);
CREATE INDEX conversations_contact_idx ON conversations (contact_id);
CREATE INDEX conversations_tags_idx ON conversations USING gin (tags);

CREATE TABLE attachments (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  message_id uuid,
  uploader_type text NOT NULL CHECK (uploader_type IN ('user', 'contact', 'system')),
  uploader_id uuid,
  file_name text NOT NULL,
  content_type text NOT NULL,
  size bigint NOT NULL,
  sha256 text NOT NULL,
  storage_key text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attachments_message_idx ON attachments (message_id);

-- The message log. `log_id` orders all messages of the installation; `tx` is the writing transaction,
-- so log consumers read only rows whose transaction is older than every transaction still running
-- (no row can appear behind a consumer's cursor).
CREATE TABLE messages (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  log_id bigserial NOT NULL UNIQUE,
  tx xid8 NOT NULL DEFAULT pg_current_xact_id(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  inbox_id uuid NOT NULL,
  conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  seq bigint NOT NULL,
  direction text NOT NULL CHECK (direction IN ('incoming', 'outgoing', 'activity')),
  private boolean NOT NULL DEFAULT false,
  sender_type text NOT NULL CHECK (sender_type IN ('contact', 'user', 'bot', 'system')),
  sender_id uuid,
  identity_id uuid REFERENCES contact_identities(id),
  content_type text NOT NULL DEFAULT 'text',
  text text NOT NULL DEFAULT '',
  content jsonb NOT NULL DEFAULT '{}',
  client_id text,
  external_id text,
  delivery_status text NOT NULL DEFAULT 'sent',
  search tsvector,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (conversation_id, seq)
);
CREATE UNIQUE INDEX messages_client_id_idx ON messages (conversation_id, client_id) WHERE client_id IS NOT NULL;
CREATE UNIQUE INDEX messages_external_id_idx ON messages (workspace_id, inbox_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX messages_search_idx ON messages USING gin (search);
CREATE INDEX messages_workspace_idx ON messages (workspace_id, created_at DESC);

CREATE TABLE canned_responses (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  short_code text NOT NULL,
  content text NOT NULL,
  created_by uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (workspace_id, short_code)
);

-- Append-only: the trigger refuses UPDATE and DELETE, even from the application.
CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  workspace_id uuid REFERENCES workspaces(id) ON DELETE CASCADE,
  actor_type text NOT NULL,
  actor_id text,
  action text NOT NULL,
  target_type text,
  target_id text,
  ip text,
  user_agent text,
  details jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_workspace_idx ON audit_log (workspace_id, id DESC);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE secrets (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  name text NOT NULL,
  ciphertext text NOT NULL,
  hint text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (workspace_id, name)
);

-- Durable background jobs (see packages/core/src/jobs). `ordering_key` serializes jobs of one key
-- (a conversation); `lease_token` fences a worker whose lease expired.
CREATE TABLE jobs (
  id bigserial PRIMARY KEY,
  workspace_id uuid,
  queue text NOT NULL,
  ordering_key text,
  payload jsonb NOT NULL DEFAULT '{}',
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'dead')),
  attempts integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL DEFAULT 10,
  run_at timestamptz NOT NULL DEFAULT now(),
  lease_token uuid,
  lease_expires_at timestamptz,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE INDEX jobs_ready_idx ON jobs (queue, run_at, id) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_ordering_idx ON jobs (ordering_key, id) WHERE status IN ('queued', 'running');

-- Positions of message-log consumers (analytics, later bot / routing / webhooks).
CREATE TABLE log_cursors (
  name text PRIMARY KEY,
  position bigint NOT NULL DEFAULT 0,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Reporting facts written by the analytics consumer (Chatwoot-style reporting events).
CREATE TABLE reporting_events (
  id bigserial PRIMARY KEY,
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  conversation_id uuid NOT NULL,
  name text NOT NULL,
  value double precision,
  user_id uuid,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reporting_events_workspace_idx ON reporting_events (workspace_id, name, created_at);
