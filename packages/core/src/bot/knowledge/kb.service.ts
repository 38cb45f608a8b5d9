/**
 * The knowledge base: FAQ pairs and articles (CRUD, imports with progress) and their retrieval for the
 * bot, the admin tester and agent assist.
 *
 * Retrieval runs on an in-memory index per workspace (retrieval-index.ts: jieba-aware BM25F + character
 * similarity) over kb_chunks — a FAQ is one chunk, an article is split by chunker.ts. The index is built
 * lazily on a workspace's first search and kept up to date across a cluster without any relay:
 * - every write bumps kb_revisions.revision in its own transaction and stamps the changed entries with
 *   the new revision;
 * - before searching, a node compares its index's revision with the table at most once a second per
 *   workspace (at once after a write on this node); when it moved, it reloads only the entries stamped
 *   later than its revision and drops the ones that are gone or disabled.
 * At most `maxWorkspaces` indexes are kept (least recently searched evicted).
 *
 * Vector search is optional: with an `embed` function (the LLM provider) that returns vectors and the
 * kb_embeddings table (present only where pgvector is installed), chunk embeddings are computed by a
 * durable job after each change and fused with the lexical hits (reciprocal-rank fusion, fuseHits).
 * Without either it is lexical only; nothing else changes.
 */
import { CreateKbEntryBody, type KbEntry, type KbImport } from '@huiliu/contracts';
import type { z } from 'zod';
import type { Database, Row, Sql } from '../../db/database.ts';
import { one } from '../../db/database.ts';
import type { Actor, UserActor } from '../../auth/actor.ts';
import { requirePermission, requireUser } from '../../auth/actor.ts';
import { AppError, invalid, notFound } from '../../shared/errors.ts';
import type { Logger } from '../../shared/logger.ts';
import type { BlobStorage } from '../../storage/blob-storage.ts';
import { newBlobKey } from '../../storage/blob-storage.ts';
import { sanitizeFileName } from '../../storage/file-name.ts';
import type { Job, JobContext, JobQueue } from '../../jobs/job-queue.ts';
import { recordAudit } from '../../audit/audit.service.ts';
import { createRetrievalIndex, fuseHits, type RetrievalEntry, type RetrievalHit, type RetrievalIndex } from './retrieval-index.ts';
import { createTextAnalyzer, type TextAnalyzer } from './text-analysis.ts';
import { chunkArticle, markdownToPlain, snippetOf, type Chunk } from './chunker.ts';
import { IMPORTERS, IMPORT_MAX_BYTES, formatOf, type ImportedEntry, type ImportProblem } from './importers/index.ts';
import { guessLocale } from './importers/types.ts';

export const KB_IMPORT_QUEUE = 'kb.import';
export const KB_EMBED_QUEUE = 'kb.embed';
export const KB_IMPORT_MAX_ENTRIES = 20_000;
const IMPORT_BATCH = 25;
const MAX_REPORTED_ERRORS = 100;
const MAX_ATTEMPTS = 5;
const EMBED_BATCH = 32;
const MAX_BODY = 200_000;

type CreateBody = z.output<typeof CreateKbEntryBody>;
type EntryFields = CreateBody;
export type EmbedFn = (workspaceId: string, texts: string[]) => Promise<number[][] | null>;

export interface KnowledgeAnswer {
  entry: KbEntry;
  /** The passage to answer with: a FAQ's whole answer, or the best-matching chunk of an article (Markdown). */
  snippet: string;
  confidence: number;
}
export interface KnowledgeHit {
  entry: KbEntry;
  score: number;
  confidence: number;
  /** Short plain-text excerpt (≤ 200 characters) for lists. */
  snippet: string;
  /** The matching passage in full (Markdown), what the bot would answer with. */
  passage: string;
}

export interface KnowledgeOptions {
  /** In-memory indexes kept at once (least recently searched evicted). Default 50. */
  maxWorkspaces?: number;
  /** How often a node looks for changes made elsewhere, per workspace. Default 1000 ms. */
  refreshMs?: number;
}

// ---------------------------------------------------------------------------------------------------
// Rows and presenting

const ENTRY_COLUMNS = 'id, kind, title, similar_questions, body, category, tags, locale, enabled, import_id, updated_at';
const IMPORT_COLUMNS = 'id, file_name, format, status, total, processed, created, updated, errors, created_at, finished_at';
const iso = (v: unknown): string => new Date(v as string).toISOString();

function presentEntry(r: Row): KbEntry {
  return {
    id: r.id as string,
    kind: r.kind as KbEntry['kind'],
    title: r.title as string,
    similarQuestions: (r.similar_questions as string[]) ?? [],
    body: r.body as string,
    category: (r.category as string | null) ?? null,
    tags: (r.tags as string[]) ?? [],
    locale: r.locale as string,
    enabled: Boolean(r.enabled),
    importId: (r.import_id as string | null) ?? null,
    updatedAt: iso(r.updated_at),
  };
}

function presentImport(r: Row): KbImport {
  return {
    id: r.id as string,
    fileName: r.file_name as string,
    format: r.format as KbImport['format'],
    status: r.status as KbImport['status'],
    total: Number(r.total),
    processed: Number(r.processed),
    created: Number(r.created),
    updated: Number(r.updated),
    errors: (r.errors as ImportProblem[]) ?? [],
    createdAt: iso(r.created_at),
    finishedAt: r.finished_at == null ? null : iso(r.finished_at),
  };
}

// ---------------------------------------------------------------------------------------------------
// Writing entries (CRUD and imports share this)

/** The retrieval chunks of an entry: a FAQ is one chunk (its answer), an article is split. */
export function chunksOf(e: { kind: 'faq' | 'article'; title: string; body: string }): Chunk[] {
  return e.kind === 'faq' ? [{ heading: null, text: e.body }] : chunkArticle(e.title, e.body);
}

/** Bumps the workspace's revision (locking its row, so revisions commit in order) and returns the new one. */
async function bumpRevision(tx: Sql, workspaceId: string): Promise<number> {
  const r = await one(
    tx,
    `INSERT INTO kb_revisions (workspace_id, revision) VALUES ($1, 1)
     ON CONFLICT (workspace_id) DO UPDATE SET revision = kb_revisions.revision + 1 RETURNING revision`,
    [workspaceId],
  );
  return Number(r!.revision);
}

async function writeChunks(tx: Sql, workspaceId: string, entryId: string, e: { kind: 'faq' | 'article'; title: string; body: string }): Promise<void> {
  await tx.query(`DELETE FROM kb_chunks WHERE entry_id = $1`, [entryId]);
  const chunks = chunksOf(e).map((c, ord) => ({ ord, heading: c.heading, text: c.text }));
  await tx.query(
    `INSERT INTO kb_chunks (entry_id, workspace_id, ord, heading, text)
     SELECT $1, $2, x.ord, x.heading, x.text FROM jsonb_to_recordset($3::text::jsonb) AS x(ord integer, heading text, text text)`,
    [entryId, workspaceId, JSON.stringify(chunks)],
  );
}

async function insertEntry(tx: Sql, workspaceId: string, f: EntryFields, meta: { revision: number; createdBy: string | null; importId: string | null }): Promise<Row> {
  const r = (await one(
    tx,
    `INSERT INTO kb_entries (workspace_id, kind, title, similar_questions, body, category, tags, locale, enabled, import_id, created_by, revision)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING ${ENTRY_COLUMNS}`,
    [workspaceId, f.kind, f.title, f.similarQuestions, f.body, f.category, f.tags, f.locale, f.enabled, meta.importId, meta.createdBy, meta.revision],
  ))!;
  await writeChunks(tx, workspaceId, r.id as string, f);
  return r;
}

async function updateEntry(tx: Sql, workspaceId: string, id: string, f: EntryFields, meta: { revision: number; importId?: string | null }): Promise<Row> {
  const r = (await one(
    tx,
    `UPDATE kb_entries SET kind = $3, title = $4, similar_questions = $5, body = $6, category = $7, tags = $8, locale = $9, enabled = $10,
       import_id = COALESCE($11, import_id), revision = $12, updated_at = now()
     WHERE id = $1 AND workspace_id = $2 RETURNING ${ENTRY_COLUMNS}`,
    [id, workspaceId, f.kind, f.title, f.similarQuestions, f.body, f.category, f.tags, f.locale, f.enabled, meta.importId ?? null, meta.revision],
  ))!;
  await writeChunks(tx, workspaceId, id, f);
  return r;
}

const fieldsOf = (r: Row): EntryFields => {
  const e = presentEntry(r);
  return { kind: e.kind, title: e.title, similarQuestions: e.similarQuestions, body: e.body, category: e.category, tags: e.tags, locale: e.locale, enabled: e.enabled };
};

/** Imported entries → validated entry fields (the rules of POST /kb/entries); over-long articles split in parts. */
export function validateImported(entries: ImportedEntry[]): { fields: EntryFields[]; errors: ImportProblem[] } {
  const fields: EntryFields[] = [];
  const errors: ImportProblem[] = [];
  for (const e of entries) {
    const parts = e.kind === 'article' && e.body.length > MAX_BODY ? splitBody(e.body) : [e.body];
    parts.forEach((body, i) => {
      const title = parts.length > 1 ? `${e.title} (${i + 1}/${parts.length})` : e.title;
      const checked = CreateKbEntryBody.safeParse({
        kind: e.kind,
        title: title.length > 500 ? `${title.slice(0, 499)}…` : title,
        similarQuestions: e.similarQuestions.slice(0, 100),
        body,
        category: e.category ? e.category.slice(0, 100) : null,
        tags: e.tags.map((t) => t.slice(0, 50)).slice(0, 20),
        locale: guessLocale(`${e.title}\n${body.slice(0, 2000)}`),
      });
      if (checked.success) fields.push(checked.data);
      else {
        const issue = checked.error.issues[0]!;
        errors.push({ where: e.where, message: `${String(issue.path.join('.') || 'entry')}: ${issue.message}` });
      }
    });
  }
  return { fields, errors };
}

/** Splits an over-long body at paragraph breaks into parts of at most MAX_BODY characters. */
function splitBody(body: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (const p of body.split(/\n{2,}/)) {
    for (let piece = p; piece.length; piece = piece.slice(MAX_BODY - 2)) {
      const chunk = piece.slice(0, MAX_BODY - 2);
      if (cur.length + chunk.length + 2 > MAX_BODY) {
        parts.push(cur);
        cur = '';
      }
      cur = cur ? `${cur}\n\n${chunk}` : chunk;
      if (piece.length <= MAX_BODY - 2) break;
    }
  }
  if (cur) parts.push(cur);
  return parts;
}

const likePattern = (q: string) => `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

// ---------------------------------------------------------------------------------------------------
// The in-memory index of one workspace

interface WorkspaceIndex {
  index: RetrievalIndex;
  revision: number;
  checkedAt: number;
  /** Chunk ids of each indexed entry (to remove them when the entry changes). */
  chunks: Map<string, string[]>;
  /** Entry of each chunk id. */
  entryOf: Map<string, string>;
  /** A build or refresh in progress: concurrent searches wait for it instead of starting another. */
  pending: Promise<void> | null;
}

interface ImportJob {
  workspaceId: string;
  importId: string;
}
interface EmbedJob {
  workspaceId: string;
}

export function createKnowledgeService(deps: { db: Database; storage: BlobStorage; logger: Logger; embed?: EmbedFn; options?: KnowledgeOptions }) {
  const { db, storage } = deps;
  const log = deps.logger.child({ component: 'knowledge' });
  const maxWorkspaces = deps.options?.maxWorkspaces ?? 50;
  const refreshMs = deps.options?.refreshMs ?? 1000;
  let jobs: JobQueue | undefined;
  let analyzer: TextAnalyzer | undefined;
  const indexes = new Map<string, WorkspaceIndex>();
  /** Workspaces whose missing embeddings this process has asked a job to compute (after a provider appeared). */
  const backfillAsked = new Set<string>();
  let vectorTable: Promise<boolean> | undefined;

  function queue(): JobQueue {
    if (!jobs) throw new Error('the knowledge service is not started');
    return jobs;
  }

  /** Whether chunk embeddings can be stored (pgvector installed when the migration ran). Asked once. */
  function hasVectors(): Promise<boolean> {
    if (!deps.embed) return Promise.resolve(false);
    vectorTable ??= one(db, `SELECT to_regclass('kb_embeddings') IS NOT NULL AS ok`)
      .then((r) => Boolean(r?.ok))
      .catch(() => false);
    return vectorTable;
  }

  /** After a write of this node: look at the revision on the next search instead of up to a second later. */
  function touched(workspaceId: string): void {
    const idx = indexes.get(workspaceId);
    if (idx) idx.checkedAt = 0;
  }

  /**
   * Queues the embedding of new chunks. `vectors` is hasVectors(), awaited BEFORE the transaction: a
   * db query inside it would wait for PGlite's only connection, held by this very transaction.
   */
  async function afterWrite(tx: Sql, workspaceId: string, vectors: boolean): Promise<void> {
    if (jobs && vectors) await jobs.enqueue<EmbedJob>(tx, { queue: KB_EMBED_QUEUE, payload: { workspaceId }, workspaceId, orderingKey: `kb-embed:${workspaceId}`, maxAttempts: MAX_ATTEMPTS });
  }

  // ---- retrieval -------------------------------------------------------------------------------

  function toRetrieval(r: Row): RetrievalEntry {
    const tags = (r.tags as string[]) ?? [];
    const base = { id: r.id as string, locale: r.locale as string, ...(tags.length ? { tags } : {}) };
    if (r.kind === 'faq') return { ...base, fields: { question: r.title as string, similar: (r.similar_questions as string[]) ?? [], body: markdownToPlain(r.text as string) } };
    // An article's similar questions are the ways people ask for it: every chunk answers to them (the body picks the chunk).
    const similar = (r.similar_questions as string[] | null) ?? [];
    return { ...base, fields: { title: (r.heading as string | null) ?? (r.title as string), ...(similar.length ? { similar } : {}), body: markdownToPlain(r.text as string) } };
  }

  /** Loads the chunks of enabled entries (all, or those stamped after `after`) into the index. */
  async function load(workspaceId: string, idx: WorkspaceIndex, after: number | null): Promise<void> {
    const rows = await db.query(
      `SELECT c.id, e.id AS entry_id, c.heading, c.text, e.kind, e.title, e.similar_questions, e.locale, e.tags, e.enabled
       FROM kb_entries e LEFT JOIN kb_chunks c ON c.entry_id = e.id
       WHERE e.workspace_id = $1 ${after === null ? 'AND e.enabled' : 'AND e.revision > $2'}
       ORDER BY e.id, c.ord`,
      after === null ? [workspaceId] : [workspaceId, after],
    );
    // Changed entries: their old chunks go, their new ones (if still enabled) come in.
    const changed = new Set(rows.map((r) => r.entry_id as string));
    const stale: string[] = [];
    for (const entryId of changed) {
      for (const c of idx.chunks.get(entryId) ?? []) {
        stale.push(c);
        idx.entryOf.delete(c);
      }
      idx.chunks.delete(entryId);
    }
    if (stale.length) idx.index.remove(stale);
    const fresh = rows.filter((r) => r.enabled && r.id !== null);
    for (const r of fresh) {
      const entryId = r.entry_id as string;
      const list = idx.chunks.get(entryId) ?? [];
      list.push(r.id as string);
      idx.chunks.set(entryId, list);
      idx.entryOf.set(r.id as string, entryId);
    }
    for (let i = 0; i < fresh.length; i += 2000) {
      idx.index.upsert(fresh.slice(i, i + 2000).map(toRetrieval));
      // Building a large index is CPU work: let chat traffic through between slices.
      if (fresh.length > 2000) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Drops entries deleted since the last refresh (deletes leave no stamped row behind). */
  async function dropDeleted(workspaceId: string, idx: WorkspaceIndex): Promise<void> {
    const rows = await db.query(`SELECT id FROM kb_entries WHERE workspace_id = $1 AND enabled`, [workspaceId]);
    const alive = new Set(rows.map((r) => r.id as string));
    const stale: string[] = [];
    for (const [entryId, chunkIds] of idx.chunks) {
      if (alive.has(entryId)) continue;
      for (const c of chunkIds) {
        stale.push(c);
        idx.entryOf.delete(c);
      }
      idx.chunks.delete(entryId);
    }
    if (stale.length) idx.index.remove(stale);
  }

  async function currentRevision(workspaceId: string): Promise<number> {
    const r = await one(db, `SELECT revision FROM kb_revisions WHERE workspace_id = $1`, [workspaceId]);
    return r ? Number(r.revision) : 0;
  }

  async function indexFor(workspaceId: string): Promise<WorkspaceIndex> {
    let idx = indexes.get(workspaceId);
    if (idx) {
      // Most recently used last (Map order), for eviction.
      indexes.delete(workspaceId);
      indexes.set(workspaceId, idx);
    } else {
      analyzer ??= createTextAnalyzer();
      const created: WorkspaceIndex = { index: createRetrievalIndex({ analyzer }), revision: 0, checkedAt: 0, chunks: new Map(), entryOf: new Map(), pending: null };
      created.pending = (async () => {
        // Revision first: changes committed after it are stamped later and picked up by the next refresh.
        created.revision = await currentRevision(workspaceId);
        await load(workspaceId, created, null);
        created.checkedAt = Date.now();
      })().finally(() => {
        created.pending = null;
      });
      indexes.set(workspaceId, created);
      while (indexes.size > maxWorkspaces) indexes.delete(indexes.keys().next().value!);
      idx = created;
      try {
        await created.pending;
      } catch (err) {
        indexes.delete(workspaceId);
        throw err;
      }
      return idx;
    }
    if (idx.pending) await idx.pending;
    if (Date.now() - idx.checkedAt >= refreshMs) {
      const target = idx;
      target.pending = (async () => {
        target.checkedAt = Date.now();
        const revision = await currentRevision(workspaceId);
        if (revision === target.revision) return;
        const before = target.revision;
        await load(workspaceId, target, before);
        await dropDeleted(workspaceId, target);
        target.revision = revision;
      })().finally(() => {
        target.pending = null;
      });
      await target.pending;
    }
    return idx;
  }

  async function vectorHits(workspaceId: string, query: string, limit: number, locale: string | undefined): Promise<Array<{ id: string; similarity: number }>> {
    if (!deps.embed || !(await hasVectors())) return [];
    let vectors: number[][] | null;
    try {
      vectors = await deps.embed(workspaceId, [query]);
    } catch (err) {
      log.warn({ err, workspaceId }, 'knowledge search: embedding the query failed; lexical results only');
      return [];
    }
    const v = vectors?.[0];
    if (!v?.length) return [];
    if (!backfillAsked.has(workspaceId) && jobs) {
      // A provider may have been configured after the entries were written: embed what is missing.
      backfillAsked.add(workspaceId);
      await jobs.enqueue<EmbedJob>(db, { queue: KB_EMBED_QUEUE, payload: { workspaceId }, workspaceId, orderingKey: `kb-embed:${workspaceId}`, maxAttempts: MAX_ATTEMPTS });
      jobs.notify();
    }
    const rows = await db.query(
      `SELECT k.chunk_id, 1 - (k.embedding <=> $2::text::vector) AS similarity
       FROM kb_embeddings k JOIN kb_chunks c ON c.id = k.chunk_id JOIN kb_entries e ON e.id = c.entry_id
       WHERE k.workspace_id = $1 AND k.dims = $3 AND e.enabled AND ($5::text IS NULL OR split_part(e.locale, '-', 1) = split_part($5::text, '-', 1))
       ORDER BY k.embedding <=> $2::text::vector LIMIT $4`,
      [workspaceId, JSON.stringify(v), v.length, limit, locale ?? null],
    );
    // Orthogonal or opposite vectors say nothing: leave them out rather than pad the list with noise.
    return rows.map((r) => ({ id: r.chunk_id as string, similarity: Number(r.similarity) })).filter((h) => h.similarity > 0);
  }

  /** The best entries for a query (one hit per entry: its best chunk), with the passage found. */
  async function searchIn(workspaceId: string, query: string, opts: { limit: number; locale?: string | undefined }): Promise<KnowledgeHit[]> {
    const q = query.trim();
    if (!q) return [];
    const idx = await indexFor(workspaceId);
    const depth = opts.limit * 4;
    const lexical = idx.index.search(q, { limit: depth, ...(opts.locale ? { locale: opts.locale } : {}) });
    const vector = await vectorHits(workspaceId, q, depth, opts.locale);
    const hits: RetrievalHit[] = vector.length ? fuseHits(lexical, vector, { limit: depth }) : lexical;
    // One hit per entry, its best chunk; chunks no longer known (deleted meanwhile) drop out below.
    const best: RetrievalHit[] = [];
    const seen = new Set<string>();
    for (const h of hits) {
      const entryId = idx.entryOf.get(h.id);
      const key = entryId ?? h.id;
      if (seen.has(key)) continue;
      seen.add(key);
      best.push(h);
      if (best.length >= opts.limit) break;
    }
    if (best.length === 0) return [];
    const rows = await db.query(
      `SELECT c.id AS chunk_id, c.text AS chunk_text, ${ENTRY_COLUMNS.split(', ').map((c) => `e.${c}`).join(', ')}
       FROM kb_chunks c JOIN kb_entries e ON e.id = c.entry_id
       WHERE c.workspace_id = $1 AND c.id = ANY($2::uuid[]) AND e.enabled`,
      [workspaceId, best.map((h) => h.id)],
    );
    const byChunk = new Map(rows.map((r) => [r.chunk_id as string, r]));
    const out: KnowledgeHit[] = [];
    for (const h of best) {
      const r = byChunk.get(h.id);
      if (!r) continue;
      const entry = presentEntry(r);
      const passage = entry.kind === 'faq' ? entry.body : (r.chunk_text as string);
      out.push({ entry, score: h.score, confidence: h.confidence, snippet: snippetOf(passage), passage });
    }
    return out;
  }

  const publicHit = (h: KnowledgeHit) => ({ entry: h.entry, score: h.score, confidence: h.confidence, snippet: h.snippet });

  // ---- imports ----------------------------------------------------------------------------------

  async function loadBlob(key: string): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const chunk of await storage.get(key)) parts.push(chunk as Buffer);
    return Buffer.concat(parts);
  }

  /** One batch of an import: each entry updates the entry with the same kind and title (case-insensitive), or is created. */
  async function applyBatch(tx: Sql, workspaceId: string, importId: string, createdBy: string | null, batch: EntryFields[]): Promise<{ created: number; updated: number }> {
    const revision = await bumpRevision(tx, workspaceId);
    let created = 0;
    let updated = 0;
    for (const f of batch) {
      const existing = await one(
        tx,
        `SELECT ${ENTRY_COLUMNS} FROM kb_entries WHERE workspace_id = $1 AND kind = $2 AND lower(title) = lower($3) ORDER BY created_at, id LIMIT 1 FOR UPDATE`,
        [workspaceId, f.kind, f.title],
      );
      if (existing) {
        // Imported fields replace the old ones; the admin's enabled switch is kept.
        await updateEntry(tx, workspaceId, existing.id as string, { ...f, enabled: Boolean(existing.enabled) }, { revision, importId });
        updated++;
      } else {
        await insertEntry(tx, workspaceId, f, { revision, createdBy, importId });
        created++;
      }
    }
    return { created, updated };
  }

  async function finishImport(ctx: JobContext, job: Job<ImportJob>, status: 'done' | 'failed', fatal: string | null): Promise<void> {
    const { workspaceId, importId } = job.payload;
    const vectors = await hasVectors();
    await ctx.fence(async (tx) => {
      const r = await one(
        tx,
        `UPDATE kb_imports SET status = $3, finished_at = now(), storage_key = NULL,
           errors = CASE WHEN $4::text IS NULL THEN errors
                         ELSE jsonb_build_array(jsonb_build_object('where', 'file', 'message', $4::text)) || jsonb_path_query_array(errors, '$[0 to 98]') END
         WHERE id = $1 AND workspace_id = $2 RETURNING processed, created, updated`,
        [importId, workspaceId, status, fatal],
      );
      await recordAudit(tx, { kind: 'system', workspaceId, via: 'system' }, `kb.import_${status === 'done' ? 'finished' : 'failed'}`, { type: 'kb_import', id: importId }, {
        processed: r?.processed ?? 0, created: r?.created ?? 0, updated: r?.updated ?? 0,
      });
      await afterWrite(tx, workspaceId, vectors);
    }, { complete: true });
  }

  async function runImport(job: Job<ImportJob>, ctx: JobContext): Promise<void> {
    const { workspaceId, importId } = job.payload;
    const imp = await one(db, `SELECT * FROM kb_imports WHERE id = $1 AND workspace_id = $2`, [importId, workspaceId]);
    if (!imp || imp.status === 'done' || imp.status === 'failed') return;
    const key = imp.storage_key as string | null;
    try {
      if (!key) throw new AppError('not_found', 'the uploaded file is gone');
      const entries = JSON.parse((await loadBlob(key)).toString('utf8')) as EntryFields[];
      await ctx.fence((tx) => tx.query(`UPDATE kb_imports SET status = 'running', started_at = COALESCE(started_at, now()) WHERE id = $1 AND workspace_id = $2`, [importId, workspaceId]));
      // Resuming: entries before `processed` were applied (and counted) by an earlier run.
      for (let i = Number(imp.processed); i < entries.length; i += IMPORT_BATCH) {
        if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('aborted');
        const batch = entries.slice(i, i + IMPORT_BATCH);
        await ctx.fence(async (tx) => {
          const r = await applyBatch(tx, workspaceId, importId, (imp.created_by as string | null) ?? null, batch);
          await tx.query(
            `UPDATE kb_imports SET processed = processed + $3, created = created + $4, updated = updated + $5 WHERE id = $1 AND workspace_id = $2`,
            [importId, workspaceId, batch.length, r.created, r.updated],
          );
        });
        touched(workspaceId);
      }
      await finishImport(ctx, job, 'done', null);
      log.info({ workspaceId, importId, entries: entries.length }, 'knowledge import done');
    } catch (err) {
      // A problem with the file itself (or the last attempt) ends the import; anything else is retried.
      const final = err instanceof AppError || job.attempts >= MAX_ATTEMPTS;
      if (!final || ctx.signal.aborted) throw err;
      const message = err instanceof AppError ? err.message : 'the import stopped because of an internal error; the error was logged';
      if (!(err instanceof AppError)) log.error({ err, workspaceId, importId }, 'knowledge import failed');
      await finishImport(ctx, job, 'failed', message);
    }
    if (key) await storage.delete(key).catch((err: unknown) => log.warn({ err, importId }, 'knowledge import: deleting the parsed file failed'));
    touched(workspaceId);
  }

  /** Computes missing chunk embeddings of a workspace, a batch per transaction; stops when the provider has none. */
  async function runEmbed(job: Job<EmbedJob>, ctx: JobContext): Promise<void> {
    const { workspaceId } = job.payload;
    if (!deps.embed || !(await hasVectors())) return;
    for (let round = 0; round < 1000; round++) {
      if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('aborted');
      const rows = await db.query(
        `SELECT c.id, c.heading, c.text, e.kind, e.title, e.similar_questions FROM kb_chunks c JOIN kb_entries e ON e.id = c.entry_id
         LEFT JOIN kb_embeddings k ON k.chunk_id = c.id
         WHERE c.workspace_id = $1 AND e.enabled AND k.chunk_id IS NULL ORDER BY c.id LIMIT $2`,
        [workspaceId, EMBED_BATCH],
      );
      if (rows.length === 0) return;
      // What a query should land on: a FAQ's questions with its answer, an article chunk with its heading path.
      const texts = rows.map((r) => {
        const head = r.kind === 'faq' ? [r.title as string, ...((r.similar_questions as string[]) ?? [])].join('\n') : ((r.heading as string | null) ?? (r.title as string));
        return `${head}\n${markdownToPlain(r.text as string)}`.slice(0, 4000);
      });
      const vectors = await deps.embed(workspaceId, texts);
      if (!vectors) return; // no embedding provider (any more): lexical only
      if (vectors.length !== rows.length) throw new Error(`the embedding provider returned ${vectors.length} vectors for ${rows.length} texts`);
      await ctx.fence(async (tx) => {
        await tx.query(
          `INSERT INTO kb_embeddings (chunk_id, workspace_id, dims, embedding)
           SELECT x.id, $1, x.dims, x.v::vector FROM jsonb_to_recordset($2::text::jsonb) AS x(id uuid, dims integer, v text)
           WHERE EXISTS (SELECT 1 FROM kb_chunks c WHERE c.id = x.id)
           ON CONFLICT (chunk_id) DO UPDATE SET dims = excluded.dims, embedding = excluded.embedding`,
          [workspaceId, JSON.stringify(rows.map((r, i) => ({ id: r.id, dims: vectors[i]!.length, v: JSON.stringify(vectors[i]) })))],
        );
      });
      if (rows.length < EMBED_BATCH) return;
    }
  }

  return {
    /** Registers the job handlers (app.ts, with the node's job queue). */
    start(input: { jobs: JobQueue }): void {
      jobs = input.jobs;
      jobs.register<ImportJob>(KB_IMPORT_QUEUE, runImport);
      jobs.register<EmbedJob>(KB_EMBED_QUEUE, runEmbed);
    },

    // ---- entries --------------------------------------------------------------------------------

    async list(actor: Actor, query: { q?: string | undefined; kind?: KbEntry['kind'] | undefined; category?: string | undefined; limit: number; offset: number }): Promise<{ items: KbEntry[]; total: number }> {
      requireUser(actor);
      const where = ['workspace_id = $1'];
      const params: unknown[] = [actor.workspaceId];
      if (query.q?.trim()) {
        params.push(likePattern(query.q.trim()));
        where.push(`(title ILIKE $${params.length} OR body ILIKE $${params.length} OR array_to_string(similar_questions, ' ') ILIKE $${params.length})`);
      }
      if (query.kind) {
        params.push(query.kind);
        where.push(`kind = $${params.length}`);
      }
      if (query.category) {
        params.push(query.category);
        where.push(`category = $${params.length}`);
      }
      const total = Number((await one(db, `SELECT count(*)::int AS n FROM kb_entries WHERE ${where.join(' AND ')}`, params))!.n);
      const rows = await db.query(
        `SELECT ${ENTRY_COLUMNS} FROM kb_entries WHERE ${where.join(' AND ')} ORDER BY updated_at DESC, id LIMIT $${params.length + 1} OFFSET $${params.length + 2}`,
        [...params, query.limit, query.offset],
      );
      return { items: rows.map(presentEntry), total };
    },

    async get(actor: Actor, id: string): Promise<KbEntry> {
      requireUser(actor);
      const r = await one(db, `SELECT ${ENTRY_COLUMNS} FROM kb_entries WHERE id = $1 AND workspace_id = $2`, [id, actor.workspaceId]);
      if (!r) throw notFound('knowledge entry');
      return presentEntry(r);
    },

    async create(actor: Actor, body: CreateBody): Promise<KbEntry> {
      requirePermission(actor, 'bot.manage');
      const vectors = await hasVectors();
      const r = await db.transaction(async (tx) => {
        const revision = await bumpRevision(tx, actor.workspaceId);
        const row = await insertEntry(tx, actor.workspaceId, body, { revision, createdBy: actor.kind === 'user' ? actor.userId : null, importId: null });
        await recordAudit(tx, actor, 'kb.entry_created', { type: 'kb_entry', id: row.id as string }, { kind: body.kind, title: body.title });
        await afterWrite(tx, actor.workspaceId, vectors);
        return row;
      });
      touched(actor.workspaceId);
      jobs?.notify();
      return presentEntry(r);
    },

    async update(actor: Actor, id: string, patch: Partial<CreateBody>): Promise<KbEntry> {
      requirePermission(actor, 'bot.manage');
      const vectors = await hasVectors();
      const r = await db.transaction(async (tx) => {
        const existing = await one(tx, `SELECT ${ENTRY_COLUMNS} FROM kb_entries WHERE id = $1 AND workspace_id = $2 FOR UPDATE`, [id, actor.workspaceId]);
        if (!existing) throw notFound('knowledge entry');
        const next: EntryFields = { ...fieldsOf(existing) };
        for (const [k, v] of Object.entries(patch)) if (v !== undefined) (next as Record<string, unknown>)[k] = v;
        const revision = await bumpRevision(tx, actor.workspaceId);
        const row = await updateEntry(tx, actor.workspaceId, id, next, { revision });
        await recordAudit(tx, actor, 'kb.entry_updated', { type: 'kb_entry', id }, { fields: Object.keys(patch) });
        await afterWrite(tx, actor.workspaceId, vectors);
        return row;
      });
      touched(actor.workspaceId);
      jobs?.notify();
      return presentEntry(r);
    },

    async remove(actor: Actor, id: string): Promise<void> {
      requirePermission(actor, 'bot.manage');
      await db.transaction(async (tx) => {
        const gone = await one(tx, `DELETE FROM kb_entries WHERE id = $1 AND workspace_id = $2 RETURNING title`, [id, actor.workspaceId]);
        if (!gone) throw notFound('knowledge entry');
        await bumpRevision(tx, actor.workspaceId);
        await recordAudit(tx, actor, 'kb.entry_deleted', { type: 'kb_entry', id }, { title: gone.title });
      });
      touched(actor.workspaceId);
    },

    async categories(actor: Actor): Promise<string[]> {
      requireUser(actor);
      const rows = await db.query(`SELECT DISTINCT category FROM kb_entries WHERE workspace_id = $1 AND category IS NOT NULL ORDER BY category`, [actor.workspaceId]);
      return rows.map((r) => r.category as string);
    },

    // ---- retrieval ------------------------------------------------------------------------------

    /** The admin tester and agent assist: any signed-in agent of the workspace. */
    async search(actor: Actor, body: { query: string; limit: number; locale?: string | undefined }) {
      requireUser(actor);
      return (await searchIn(actor.workspaceId, body.query, { limit: body.limit, locale: body.locale })).map(publicHit);
    },

    /** The bot runtime and agent assist (no actor): hits with their full passages. */
    searchFor(workspaceId: string, query: string, limit = 5, opts: { locale?: string } = {}): Promise<KnowledgeHit[]> {
      return searchIn(workspaceId, query, { limit, locale: opts.locale });
    },

    /**
     * The bot's knowledge answer: the best entry for the query with the passage to answer with, or null
     * when nothing matches at all. The caller compares `confidence` with its threshold
     * (BotSettings.knowledgeThreshold) and cites `entry` as the source.
     */
    async answer(workspaceId: string, query: string, opts: { locale?: string } = {}): Promise<KnowledgeAnswer | null> {
      const [best] = await searchIn(workspaceId, query, { limit: 1, locale: opts.locale });
      return best ? { entry: best.entry, snippet: best.passage, confidence: best.confidence } : null;
    },

    // ---- imports --------------------------------------------------------------------------------

    /**
     * Checks and parses the file now (so a broken or wrong file is a 4xx naming the problem), stores the
     * validated entries, and queues the job that writes them in batches (progress: GET imports/:id).
     */
    async upload(actor: Actor, file: { fileName: string; data: Buffer }): Promise<KbImport> {
      const user: UserActor = requireUser(actor);
      requirePermission(user, 'bot.manage');
      const fileName = sanitizeFileName(file.fileName) || 'upload';
      const format = formatOf(fileName);
      const max = IMPORT_MAX_BYTES[format];
      if (file.data.length > max) throw new AppError('payload_too_large', `${fileName}: the file is larger than ${max / 1024 / 1024} MB (the limit for .${format} files); split it into smaller files`);
      if (file.data.length === 0) throw invalid('body.file', `${fileName}: the file is empty`);
      const parsed = await IMPORTERS[format](file.data, fileName);
      const { fields, errors } = validateImported(parsed.entries);
      const problems = [...parsed.errors, ...errors];
      if (fields.length === 0) {
        const first = problems.slice(0, 3).map((p) => `${p.where}: ${p.message}`).join('; ');
        throw invalid('body.file', `${fileName}: nothing to import${first ? ` (${first})` : ''}`);
      }
      if (fields.length > KB_IMPORT_MAX_ENTRIES) throw invalid('body.file', `${fileName}: the file has ${fields.length} entries; at most ${KB_IMPORT_MAX_ENTRIES.toLocaleString('en')} are imported at once — split it`);
      const key = newBlobKey(user.workspaceId);
      await storage.put(key, Buffer.from(JSON.stringify(fields), 'utf8'));
      try {
        const r = await db.transaction(async (tx) => {
          const row = (await one(
            tx,
            `INSERT INTO kb_imports (workspace_id, created_by, file_name, format, storage_key, total, errors)
             VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb) RETURNING ${IMPORT_COLUMNS}`,
            [user.workspaceId, user.userId, fileName, format, key, fields.length, JSON.stringify(problems.slice(0, MAX_REPORTED_ERRORS))],
          ))!;
          await queue().enqueue<ImportJob>(tx, {
            queue: KB_IMPORT_QUEUE,
            payload: { workspaceId: user.workspaceId, importId: row.id as string },
            workspaceId: user.workspaceId,
            // One import of a workspace at a time: two files cannot race to create the same question twice.
            orderingKey: `kb-import:${user.workspaceId}`,
            maxAttempts: MAX_ATTEMPTS,
          });
          await recordAudit(tx, user, 'kb.import_started', { type: 'kb_import', id: row.id as string }, { fileName, format, entries: fields.length, skipped: problems.length });
          return row;
        });
        queue().notify();
        return presentImport(r);
      } catch (err) {
        await storage.delete(key).catch(() => {});
        throw err;
      }
    },

    async imports(actor: Actor): Promise<KbImport[]> {
      requirePermission(actor, 'bot.manage');
      const rows = await db.query(`SELECT ${IMPORT_COLUMNS} FROM kb_imports WHERE workspace_id = $1 ORDER BY created_at DESC, id LIMIT 50`, [actor.workspaceId]);
      return rows.map(presentImport);
    },

    async getImport(actor: Actor, id: string): Promise<KbImport> {
      requirePermission(actor, 'bot.manage');
      const r = await one(db, `SELECT ${IMPORT_COLUMNS} FROM kb_imports WHERE id = $1 AND workspace_id = $2`, [id, actor.workspaceId]);
      if (!r) throw notFound('knowledge import');
      return presentImport(r);
    },
  };
}
export type KnowledgeService = ReturnType<typeof createKnowledgeService>;
