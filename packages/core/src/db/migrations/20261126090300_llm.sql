-- Optional LLM provider per workspace (packages/core/src/bot/llm). The API key is not here: it lives
-- encrypted in `secrets` under the name 'llm.api_key'.
CREATE TABLE llm_settings (
  workspace_id uuid PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
  enabled boolean NOT NULL DEFAULT false,
  preset text NOT NULL DEFAULT 'custom',
  base_url text,
  chat_model text,
  embedding_model text,
  features jsonb NOT NULL DEFAULT '{}'::jsonb,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- One row per workspace, day (UTC) and purpose, upserted after every call (requests and failures alike),
-- so the admin sees what the provider costs and how fast it answers.
CREATE TABLE llm_usage (
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  day date NOT NULL,
  purpose text NOT NULL,
  requests integer NOT NULL DEFAULT 0,
  failures integer NOT NULL DEFAULT 0,
  prompt_tokens bigint NOT NULL DEFAULT 0,
  completion_tokens bigint NOT NULL DEFAULT 0,
  total_latency_ms bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (workspace_id, day, purpose)
);
