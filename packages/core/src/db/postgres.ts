import pg from 'pg';
import type { Database, Row, Sql } from './database.ts';
import { textParsers } from './types.ts';

const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    const parser = textParsers[oid];
    if (parser && format !== 'binary') return parser;
    return pg.types.getTypeParser(oid, format);
  },
};

export async function openPostgres(url: string, opts: { max?: number } = {}): Promise<Database & { pool: pg.Pool }> {
  const pool = new pg.Pool({
    connectionString: url, max: opts.max ?? 10, types: types as pg.CustomTypesConfig,
    // A PostgreSQL restart or a dead network must surface as errors the callers retry, never as a wait
    // that never ends: bounded waits for a connection, and TCP keepalive to notice half-open sockets.
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  // An idle client that loses its server (restart) emits 'error'; the pool replaces it. Without a
  // listener Node would crash the process.
  pool.on('error', () => {});
  // The pool listens for errors only while a client is idle. A checked-out client whose server goes away
  // between two queries of a transaction (a PostgreSQL restart) emits 'error' with nobody listening, which
  // would crash the process; its next query fails anyway and the transaction releases it as broken.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  await pool.query('SELECT 1');
  const wrap = (q: { query: pg.Pool['query'] }): Sql => ({
    async query<T extends Row>(text: string, params?: readonly unknown[]) {
      const res = await q.query<T>(text, params as unknown[] | undefined);
      return res.rows;
    },
  });
  const base = wrap(pool);
  return {
    kind: 'postgres',
    pool,
    query: base.query,
    async transaction(fn) {
      const client = await pool.connect();
      // A connection that failed under us (server restarted, network) must not go back to the pool.
      let broken: Error | undefined;
      try {
        await client.query('BEGIN');
        const result = await fn(wrap(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch((rollbackErr: unknown) => {
          broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
        });
        throw err;
      } finally {
        client.release(broken);
      }
    },
    exec: async (text) => {
      await pool.query(text);
    },
    close: () => pool.end(),
  };
}
