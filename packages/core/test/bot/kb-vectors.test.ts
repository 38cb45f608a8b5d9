/**
 * The knowledge base's optional vector path on PGlite with pgvector loaded: the migration creates
 * kb_embeddings only where the extension exists, a durable job embeds the chunks, and search fuses vector
 * hits with lexical ones — an entry no lexical term matches is still found through its embedding.
 * Without pgvector (the default PGlite and our PostgreSQL) the same service is lexical only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { vector } from '@electric-sql/pglite-pgvector';
import type { Database, Row, Sql } from '../../src/db/database.ts';
import { one } from '../../src/db/database.ts';
import { textParsers } from '../../src/db/types.ts';
import { migrate } from '../../src/db/migrate.ts';
import { createWorkspace } from '../../src/workspaces/workspace.service.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { createJobQueue, type JobQueue } from '../../src/jobs/job-queue.ts';
import type { BlobStorage } from '../../src/storage/blob-storage.ts';
import type { SystemActor } from '../../src/auth/actor.ts';
import { createKnowledgeService } from '../../src/bot/knowledge/kb.service.ts';

/** PGlite with pgvector (what openPglite gives) or without it (a PostgreSQL server without the extension). */
async function pgliteWithVector(withVector = true): Promise<Database & { pglite: PGlite }> {
  const pglite = await PGlite.create({ extensions: withVector ? { pg_trgm, vector } : { pg_trgm }, parsers: textParsers });
  const wrap = (q: Pick<PGlite, 'query'>): Sql => ({
    async query<T extends Row>(text: string, params?: readonly unknown[]) {
      return (await q.query<T>(text, params as unknown[] | undefined)).rows;
    },
  });
  return {
    kind: 'pglite', pglite, query: wrap(pglite).query,
    transaction: (fn) => pglite.transaction((tx) => fn(wrap(tx))),
    exec: async (text) => void (await pglite.exec(text)),
    close: () => pglite.close(),
  };
}

const logger = createLogger({ level: 'silent' });
const noStorage = {} as BlobStorage;

/**
 * A fake embedding model with three "concepts": refunds, shipping, anything else. Chinese and English
 * words of a concept map to the same direction, which lexical retrieval cannot do.
 */
const CONCEPTS = [/退款|refund|money back/i, /发货|快递|ship|deliver/i];
function fakeEmbed(texts: string[]): number[][] {
  return texts.map((t) => {
    const v = CONCEPTS.map((re) => (re.test(t) ? 1 : 0));
    v.push(v.some(Boolean) ? 0 : 1);
    return v;
  });
}

describe('knowledge base with pgvector', () => {
  let db: Database & { pglite: PGlite };
  let jobs: JobQueue;
  let calls = 0;
  const embed = async (_ws: string, texts: string[]) => {
    calls++;
    return fakeEmbed(texts);
  };

  beforeAll(async () => {
    db = await pgliteWithVector();
    await migrate(db);
    jobs = createJobQueue({ db, logger, pollMs: 100 });
  });
  afterAll(async () => {
    await jobs?.stop({ drainMs: 100 });
    await db?.close();
  });

  it('creates kb_embeddings, embeds chunks in a job and finds entries through their vectors', async () => {
    expect((await one(db, `SELECT to_regclass('kb_embeddings') IS NOT NULL AS ok`))!.ok).toBe(true);
    const ws = await createWorkspace(db, { name: 'Vectors', slug: 'vectors' });
    const actor: SystemActor = { kind: 'system', workspaceId: ws.id, via: 'cli' };
    const kb = createKnowledgeService({ db, storage: noStorage, logger, embed });
    kb.start({ jobs });
    await jobs.start();

    const refund = await kb.create(actor, { kind: 'faq', title: '退款多久到账？', similarQuestions: [], body: '一到三个工作日原路退回。', category: null, tags: [], locale: 'zh-CN', enabled: true });
    await kb.create(actor, { kind: 'faq', title: '什么时候发货？', similarQuestions: [], body: '付款后24小时内发出。', category: null, tags: [], locale: 'zh-CN', enabled: true });
    const chunks = Number((await one(db, `SELECT count(*)::int AS n FROM kb_chunks WHERE workspace_id = $1`, [ws.id]))!.n);
    for (let i = 0; i < 200; i++) {
      const n = Number((await one(db, `SELECT count(*)::int AS n FROM kb_embeddings WHERE workspace_id = $1`, [ws.id]))!.n);
      if (n === chunks) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(Number((await one(db, `SELECT count(*)::int AS n FROM kb_embeddings WHERE workspace_id = $1`, [ws.id]))!.n)).toBe(chunks);

    // No word in common with the entry: lexical retrieval alone finds nothing, the embedding does.
    const hits = await kb.searchFor(ws.id, 'When do I get my money back', 3);
    expect(hits[0]?.entry.id).toBe(refund.id);
    expect(hits[0]!.confidence).toBeCloseTo(1, 5);
    const answer = await kb.answer(ws.id, 'money back please');
    expect(answer?.entry.id).toBe(refund.id);
    expect(calls).toBeGreaterThan(0);
  });

  it('stays lexical without pgvector: no table, the embedding function is never called', async () => {
    const plain = await pgliteWithVector(false);
    try {
      await migrate(plain);
      expect((await one(plain, `SELECT to_regclass('kb_embeddings') IS NOT NULL AS ok`))!.ok).toBe(false);
      const ws = await createWorkspace(plain, { name: 'Lexical', slug: 'lexical' });
      let called = 0;
      const kb = createKnowledgeService({ db: plain, storage: noStorage, logger, embed: async (_w, texts) => (called++, fakeEmbed(texts)) });
      const actor: SystemActor = { kind: 'system', workspaceId: ws.id, via: 'cli' };
      const entry = await kb.create(actor, { kind: 'faq', title: '退款多久到账？', similarQuestions: [], body: '一到三个工作日原路退回。', category: null, tags: [], locale: 'zh-CN', enabled: true });
      expect((await kb.searchFor(ws.id, '退款要多久才能到账', 3))[0]?.entry.id).toBe(entry.id);
      expect(await kb.searchFor(ws.id, 'money back', 3)).toEqual([]);
      expect(called).toBe(0);
    } finally {
      await plain.close();
    }
  });
});
