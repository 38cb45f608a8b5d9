-- Routing rules and business hours (issue 4). The rule set is one ordered JSON list per workspace, validated
-- on save against the workspace's teams / agents / skills / inboxes / schedules (routing/rules/validate.ts);
-- the routing engine caches the parsed set per workspace and re-reads it after a save.
CREATE TABLE routing_rule_sets (
  workspace_id uuid PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
  rules jsonb NOT NULL DEFAULT '[]',
  -- Bumped on every save: optimistic concurrency for the console's editor, and the cache key.
  version integer NOT NULL DEFAULT 0,
  updated_by uuid REFERENCES users(id) ON DELETE SET NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Business-hours schedules: { timeZone, weekly, holidays, specialDays, outsideHoursAction } (contracts
-- BusinessScheduleBody without the name, which is a column).
CREATE TABLE business_schedules (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  name text NOT NULL,
  schedule jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (workspace_id, name)
);

-- A team's business hours: outside them its conversations wait in the queue (outside-hours action).
ALTER TABLE teams ADD COLUMN schedule_id uuid REFERENCES business_schedules(id) ON DELETE SET NULL;

-- "We are closed now" sent to a visitor: at most once per conversation and closure (identified by the
-- opening that ends it).
CREATE TABLE routing_closed_notices (
  conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  opens_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (conversation_id, opens_at)
);
