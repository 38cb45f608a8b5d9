import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { vector } from '@electric-sql/pglite-pgvector';
import type { Database, Row, Sql } from './database.ts';
import { textParsers } from './types.ts';

/**
 * Embedded PostgreSQL (PGlite, WASM). One connection: queries queue inside PGlite, a transaction holds
 * the connection until it ends. `dataDir` undefined = in memory (tests).
 */
export async function openPglite(dataDir: string | undefined): Promise<Database & { pglite: PGlite }> {
  const pglite = await PGlite.create({
    ...(dataDir ? { dataDir } : {}),
    // pgvector: the knowledge base's embeddings (used only when a workspace configures an embedding model).
    extensions: { pg_trgm, vector },
    parsers: textParsers,
  });
  const wrap = (q: Pick<PGlite, 'query'>): Sql => ({
    async query<T extends Row>(text: string, params?: readonly unknown[]) {
      const res = await q.query<T>(text, params as unknown[] | undefined);
      return res.rows;
    },
  });
  const base = wrap(pglite);
  return {
    kind: 'pglite',
    pglite,
    query: base.query,
    transaction: (fn) => pglite.transaction((tx) => fn(wrap(tx))),
    exec: async (text) => {
      await pglite.exec(text);
    },
    close: async () => {
      if (pglite.closed) return;
      // Flush WAL into the data files so the next open is fast and a crash right after loses nothing.
      await pglite.exec('CHECKPOINT');
      await pglite.close();
    },
  };
}
