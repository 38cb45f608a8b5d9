-- Routing engine (issue 4): agent presence and capacity, skills, per-team strategy, the queue on
-- conversations, and a record of every routing decision. See packages/core/src/routing/.

-- One row per agent who ever set a presence or had routing settings; no row = offline with defaults.
-- The row is also the agent's capacity lock: a claim locks it FOR UPDATE, so two claims for the same
-- agent (on any node) count the load one after the other and capacity cannot be exceeded.
CREATE TABLE agent_presence (
  user_id uuid PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  status text NOT NULL DEFAULT 'offline' CHECK (status IN ('online', 'busy', 'away', 'offline')),
  capacity integer NOT NULL DEFAULT 5 CHECK (capacity > 0),
  -- {"email": 10, "web": 3}: a cap per channel type on top of the overall capacity.
  channel_capacities jsonb NOT NULL DEFAULT '{}',
  last_seen_at timestamptz,
  status_changed_at timestamptz NOT NULL DEFAULT now(),
  last_routed_at timestamptz,
  -- Bumped on every status change and socket (re)connect: a delayed offline / re-queue job carries the
  -- epoch it was scheduled at and does nothing when the agent came back in the meantime.
  epoch bigint NOT NULL DEFAULT 0
);
CREATE INDEX agent_presence_workspace_idx ON agent_presence (workspace_id, status);

CREATE TABLE agent_skills (
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  skill text NOT NULL,
  level smallint NOT NULL CHECK (level BETWEEN 1 AND 10),
  PRIMARY KEY (user_id, skill)
);
CREATE INDEX agent_skills_workspace_idx ON agent_skills (workspace_id, skill);

CREATE TABLE team_routing (
  team_id uuid PRIMARY KEY REFERENCES teams(id) ON DELETE CASCADE,
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  strategy text NOT NULL DEFAULT 'least_busy'
    CHECK (strategy IN ('least_busy', 'round_robin', 'least_recently_routed', 'sticky', 'manual')),
  sticky_minutes integer NOT NULL DEFAULT 1440 CHECK (sticky_minutes > 0),
  -- Round-robin position: the agent this team routed to last.
  last_agent_id uuid REFERENCES users(id) ON DELETE SET NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- The queue: unassigned open conversations with queued_at set, served by priority then queued_at.
-- The team requirement is conversations.team_id; skills are {"refund": 3} (minimum levels).
ALTER TABLE conversations ADD COLUMN queued_at timestamptz;
ALTER TABLE conversations ADD COLUMN required_skills jsonb NOT NULL DEFAULT '{}';
-- When the current assignee got it: handling time (assigned → resolved) feeds the queue's wait estimate.
ALTER TABLE conversations ADD COLUMN assigned_at timestamptz;
CREATE INDEX conversations_queue_idx ON conversations (workspace_id, queued_at) WHERE queued_at IS NOT NULL AND assignee_id IS NULL;
CREATE INDEX conversations_resolved_idx ON conversations (workspace_id, resolved_at DESC) WHERE resolved_at IS NOT NULL AND assigned_at IS NOT NULL;

CREATE TABLE routing_decisions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  conversation_id uuid NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
  agent_id uuid REFERENCES users(id) ON DELETE SET NULL,
  strategy text NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('assigned', 'queued', 'claimed', 'requeued')),
  -- Why: trigger, candidates considered, the picked agent's load / capacity, fallbacks, races lost.
  reason jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX routing_decisions_conversation_idx ON routing_decisions (conversation_id, created_at);

-- The new permission for the preset roles of existing workspaces (new ones get it from PRESET_ROLES).
UPDATE roles SET permissions = array_append(permissions, 'routing.manage')
  WHERE preset AND name IN ('admin', 'supervisor') AND NOT ('routing.manage' = ANY (permissions));
