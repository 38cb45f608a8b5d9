import { readdir, readFile } from 'node:fs/promises';
import type { Database } from './database.ts';

const MIGRATIONS_DIR = new URL('./migrations/', import.meta.url);

/**
 * Applies the versioned SQL files in ./migrations (named `YYYYMMDDHHMMSS_name.sql`) that are not yet in
 * `schema_migrations`, each in its own transaction, in name order. On PostgreSQL an advisory lock makes
 * concurrent starts of several nodes apply each migration once.
 */
export async function migrate(db: Database): Promise<string[]> {
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d{14}_[a-z0-9_]+\.sql$/.test(f)).sort();
  const applied: string[] = [];
  for (const file of files) {
    const version = file.slice(0, -4);
    const sql = await readFile(new URL(file, MIGRATIONS_DIR), 'utf8');
    const did = await db.transaction(async (tx) => {
      if (db.kind === 'postgres') await tx.query('SELECT pg_advisory_xact_lock(7212001)');
      const done = await tx.query('SELECT 1 FROM schema_migrations WHERE version = $1', [version]);
      if (done.length > 0) return false;
      // Multi-statement SQL: run through the raw exec path inside the transaction.
      for (const statement of splitStatements(sql)) await tx.query(statement);
      await tx.query('INSERT INTO schema_migrations (version) VALUES ($1)', [version]);
      return true;
    });
    if (did) applied.push(version);
  }
  return applied;
}

/**
 * Splits a migration into statements on `;` at line ends, keeping `$$ … $$` bodies (functions) whole.
 * Our migrations are written to this rule; it is not a general SQL parser.
 */
export function splitStatements(sql: string): string[] {
  const out: string[] = [];
  let current = '';
  let inDollar = false;
  for (const line of sql.split('\n')) {
    if (/^\s*--/.test(line) && !inDollar) continue;
    const dollars = line.match(/\$\$/g)?.length ?? 0;
    if (dollars % 2 === 1) inDollar = !inDollar;
    current += line + '\n';
    if (!inDollar && /;\s*$/.test(line)) {
      const s = current.trim();
      if (s !== ';') out.push(s);
      current = '';
    }
  }
  if (current.trim()) out.push(current.trim());
  return out;
}
