-- Knowledge base (packages/core/src/bot/knowledge/kb.service.ts): FAQ pairs and articles, their retrieval
-- chunks, imports with progress, a per-workspace revision counter and (only where pgvector exists) chunk
-- embeddings.

-- Imports (CSV/XLSX FAQ sheets, Markdown, HTML, PDF, DOCX). The file is parsed at upload (a broken file
-- is a 4xx right away); the parsed entries wait as JSON in blob storage under storage_key until a durable
-- job has applied them in batches, each batch committing with the counters, so the console shows progress
-- and a restart resumes after `processed` entries.
CREATE TABLE kb_imports (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  created_by uuid REFERENCES users(id) ON DELETE SET NULL,
  file_name text NOT NULL,
  format text NOT NULL CHECK (format IN ('csv', 'xlsx', 'md', 'html', 'pdf', 'docx')),
  storage_key text,
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
  total integer NOT NULL DEFAULT 0,
  processed integer NOT NULL DEFAULT 0,
  created integer NOT NULL DEFAULT 0,
  updated integer NOT NULL DEFAULT 0,
  errors jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz
);
CREATE INDEX kb_imports_workspace_idx ON kb_imports (workspace_id, created_at DESC);

CREATE TABLE kb_entries (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('faq', 'article')),
  -- FAQ: the question; article: the title.
  title text NOT NULL,
  similar_questions text[] NOT NULL DEFAULT '{}',
  -- FAQ answer or article body, Markdown.
  body text NOT NULL,
  category text,
  tags text[] NOT NULL DEFAULT '{}',
  locale text NOT NULL DEFAULT 'zh-CN',
  enabled boolean NOT NULL DEFAULT true,
  import_id uuid REFERENCES kb_imports(id) ON DELETE SET NULL,
  created_by uuid REFERENCES users(id) ON DELETE SET NULL,
  -- The workspace's kb_revisions.revision when this entry last changed: a node's in-memory index reloads
  -- only the entries newer than the revision it has.
  revision bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX kb_entries_workspace_idx ON kb_entries (workspace_id, updated_at DESC);
CREATE INDEX kb_entries_revision_idx ON kb_entries (workspace_id, revision);
-- Re-importing a FAQ sheet updates the entry with the same question instead of adding a copy.
CREATE INDEX kb_entries_title_idx ON kb_entries (workspace_id, kind, lower(title));

-- What retrieval indexes: a FAQ is one chunk (its answer), an article is split by headings and paragraphs
-- (packages/core/src/bot/knowledge/chunker.ts). Rewritten whenever the entry changes.
CREATE TABLE kb_chunks (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  entry_id uuid NOT NULL REFERENCES kb_entries(id) ON DELETE CASCADE,
  workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  ord integer NOT NULL,
  -- The heading path above the chunk ("退换货政策 › 退货条件"), retrieval context.
  heading text,
  text text NOT NULL
);
CREATE INDEX kb_chunks_entry_idx ON kb_chunks (entry_id, ord);
CREATE INDEX kb_chunks_workspace_idx ON kb_chunks (workspace_id);

-- Bumped in the same transaction as every change of a workspace's entries: every node compares it with the
-- revision its in-memory index was built at (at most once a second) — cluster-safe without a relay.
CREATE TABLE kb_revisions (
  workspace_id uuid PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
  revision bigint NOT NULL DEFAULT 0
);

-- Chunk embeddings for vector search, only where the pgvector extension can be installed (PostgreSQL with
-- pgvector, PGlite with the vector extension loaded). Without it the knowledge base is lexical only; the
-- service detects the table at run time. The dimension depends on the embedding model, so the column is
-- untyped `vector` with the dimension alongside (queries compare only same-dimension vectors; exact scan,
-- no ANN index: fine for a workspace's thousands of chunks).
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
    BEGIN
      CREATE EXTENSION IF NOT EXISTS vector;
    EXCEPTION WHEN insufficient_privilege THEN
      RAISE NOTICE 'pgvector is available but this role may not install it; the knowledge base stays lexical';
      RETURN;
    END;
    EXECUTE 'CREATE TABLE IF NOT EXISTS kb_embeddings (
      chunk_id uuid PRIMARY KEY REFERENCES kb_chunks(id) ON DELETE CASCADE,
      workspace_id uuid NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
      dims integer NOT NULL,
      embedding vector NOT NULL
    )';
    EXECUTE 'CREATE INDEX IF NOT EXISTS kb_embeddings_workspace_idx ON kb_embeddings (workspace_id, dims)';
  END IF;
END $$;
