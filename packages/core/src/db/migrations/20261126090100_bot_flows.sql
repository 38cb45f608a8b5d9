-- Bot flows (issue 7): multi-turn dialogs as state machines (contracts FlowDocument), edited as a draft and
-- published as immutable numbered versions. The bot runs `published`; the simulator may run `draft`.
-- Saving a draft only checks the shape; publishing runs the full validation (bot/dialog/flow-validation.ts).
CREATE TABLE bot_flows (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  name text NOT NULL,
  description text NOT NULL DEFAULT '',
  draft jsonb NOT NULL,
  -- A copy of bot_flow_versions.document for `version`, so the runtime reads one row per flow.
  published jsonb,
  version integer NOT NULL DEFAULT 0,
  enabled boolean NOT NULL DEFAULT true,
  created_by uuid REFERENCES users(id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz,
  UNIQUE (workspace_id, name)
);

-- Every published version, never changed: conversations in the middle of a flow keep the version they
-- started with, and admins can see what customers were told at any time.
CREATE TABLE bot_flow_versions (
  flow_id uuid NOT NULL REFERENCES bot_flows(id) ON DELETE CASCADE,
  version integer NOT NULL,
  document jsonb NOT NULL,
  published_at timestamptz NOT NULL DEFAULT now(),
  published_by uuid REFERENCES users(id) ON DELETE SET NULL,
  PRIMARY KEY (flow_id, version)
);
