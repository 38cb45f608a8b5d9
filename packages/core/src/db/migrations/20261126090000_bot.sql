-- The AI bot (issue 7): settings, training data, the trained model, per-conversation state and turns.

-- Inboxes where the bot answers first. A new conversation in such an inbox starts with the bot
-- (conversations.bot_status = 'bot', set by the trigger below in the same INSERT, so the routing engine's
-- log consumer, which skips bot conversations, can never route it before the bot saw it).
ALTER TABLE inboxes ADD COLUMN bot_enabled boolean NOT NULL DEFAULT false;
ALTER TABLE conversations ADD COLUMN bot_status text CHECK (bot_status IN ('bot', 'handed_off'));

CREATE FUNCTION conversations_bot_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.bot_status IS NULL AND EXISTS (SELECT 1 FROM inboxes WHERE id = NEW.inbox_id AND bot_enabled) THEN
    NEW.bot_status := 'bot';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER conversations_bot_status BEFORE INSERT ON conversations FOR EACH ROW EXECUTE FUNCTION conversations_bot_status();

CREATE TABLE bot_settings (
  workspace_id uuid PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
  settings jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE bot_intents (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  name text NOT NULL,
  description text NOT NULL DEFAULT '',
  examples text[] NOT NULL DEFAULT '{}',
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (workspace_id, name)
);

CREATE TABLE bot_entities (
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  name text NOT NULL,
  definition jsonb NOT NULL,
  PRIMARY KEY (workspace_id, name)
);

-- The trained intent model (compact JSON) and its cross-validation report. `revision` moves on every
-- training so each node reloads its cached model when it changed (cluster-safe without a relay).
CREATE TABLE bot_models (
  workspace_id uuid PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
  model jsonb,
  report jsonb NOT NULL,
  revision bigint NOT NULL DEFAULT 1,
  trained_at timestamptz NOT NULL DEFAULT now()
);

-- What the bot knows about a conversation it talks in: flow state, slots, sentiment, low-confidence streak.
CREATE TABLE bot_conversations (
  conversation_id uuid PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  state jsonb NOT NULL DEFAULT '{}',
  turns integer NOT NULL DEFAULT 0,
  handoff_reason text,
  summary text,
  handed_off_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bot_conversations_ws_idx ON bot_conversations (workspace_id, created_at);

-- One row per customer message the bot handled: analytics (containment, intents) and the
-- "misrecognized messages" list of the training loop.
CREATE TABLE bot_turns (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  message_id uuid NOT NULL UNIQUE,
  text text NOT NULL,
  intent text,
  confidence real NOT NULL DEFAULT 0,
  sentiment real NOT NULL DEFAULT 0,
  action text NOT NULL,
  reviewed boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bot_turns_ws_idx ON bot_turns (workspace_id, created_at);
CREATE INDEX bot_turns_review_idx ON bot_turns (workspace_id, created_at DESC) WHERE NOT reviewed AND action IN ('fallback', 'low_confidence');

-- The new permission for existing workspaces' preset roles (new workspaces get it from PRESET_ROLES).
UPDATE roles SET permissions = permissions || ARRAY['bot.manage']
  WHERE preset AND name IN ('admin', 'supervisor') AND NOT ('bot.manage' = ANY (permissions));
