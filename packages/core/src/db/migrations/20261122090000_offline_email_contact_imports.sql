-- Offline email replies (packages/core/src/mail/offline-replies.service.ts): an agent's public reply in a
-- web-widget conversation, sent while the visitor had no live connection, is emailed to the visitor.
--
-- The replies waiting for their email. The message-log consumer adds a row when the visitor was away at
-- the time of the reply; the conversation's email job takes them, several replies becoming one email.
CREATE TABLE offline_reply_pending (
  message_id uuid PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  seq bigint NOT NULL,
  -- Set while an email carrying this reply is being sent (see email_notifications.status).
  notification_id uuid,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX offline_reply_pending_conversation_idx ON offline_reply_pending (conversation_id, seq);

-- Every email sent to a contact, written BEFORE the SMTP call ('sending') and marked 'sent' after it, so
-- a retried job that finds its own 'sending' row knows the email may already be out and never sends it
-- twice ('unknown'). 'failed': the SMTP server refused it (retried while the error is temporary).
CREATE TABLE email_notifications (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  contact_id uuid NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
  kind text NOT NULL DEFAULT 'offline_replies',
  job_id bigint,
  to_address text NOT NULL,
  subject text NOT NULL,
  body text NOT NULL,
  message_ids uuid[] NOT NULL DEFAULT '{}',
  status text NOT NULL CHECK (status IN ('sending', 'sent', 'failed', 'unknown')),
  error text,
  smtp_response text,
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz
);
CREATE INDEX email_notifications_conversation_idx ON email_notifications (workspace_id, conversation_id, created_at DESC);
CREATE INDEX email_notifications_job_idx ON email_notifications (job_id) WHERE status = 'sending';

-- Contacts CSV imports (packages/core/src/contacts/contact-import.ts). The file (decoded to UTF-8) waits in
-- blob storage under storage_key until the import finishes; a durable job applies it in batches, each
-- batch committing with the counters below, so progress is visible and a restart resumes after
-- `processed` rows.
CREATE TABLE contact_imports (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  created_by uuid REFERENCES users(id) ON DELETE SET NULL,
  file_name text NOT NULL,
  encoding text NOT NULL,
  storage_key text,
  -- Whether the importer had contact.pii: without it, existing contacts' email / phone are only filled
  -- when empty, never replaced (the same rule as PATCH /contacts/:id).
  may_change_pii boolean NOT NULL DEFAULT false,
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
  total integer NOT NULL DEFAULT 0,
  processed integer NOT NULL DEFAULT 0,
  created integer NOT NULL DEFAULT 0,
  updated integer NOT NULL DEFAULT 0,
  failed integer NOT NULL DEFAULT 0,
  errors jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz
);
CREATE INDEX contact_imports_workspace_idx ON contact_imports (workspace_id, created_at DESC);
-- Phone matching compares digits only ("+86 138-0013-8000" = "+8613800138000").
CREATE INDEX contacts_phone_digits_idx ON contacts (workspace_id, (regexp_replace(COALESCE(phone, ''), '[^0-9]', '', 'g')));
