import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Database, Sql } from '@huiliu/core/db/database';
import { openPglite } from '@huiliu/core/db/pglite';
import { openPostgres } from '@huiliu/core/db/postgres';
import { migrate } from '@huiliu/core/db/migrate';
import { lockDataDir } from '@huiliu/core/db/data-dir-lock';
import type { Config } from '../config.ts';

/**
 * `huiliu migrate-to-postgres <DATABASE_URL>`: copies the embedded database (HUILIU_DATA_DIR/pgdata) into
 * an empty PostgreSQL database, in one target transaction, then verifies row counts and a checksum of
 * every table on both sides. The embedded database is read, never changed (except that pending
 * migrations are applied to it first, as a server start would). Attachments and secret.key stay in the
 * data directory: the PostgreSQL installation keeps using HUILIU_DATA_DIR for them.
 * Procedure and caveats: docs/operations.md.
 */
export const BATCH_ROWS = 1000;

/** Not copied: the target's migrate() writes its own. */
const SKIPPED_TABLES = new Set(['schema_migrations']);
/** Created by a migration only where an extension is installed (see 20261126090200_knowledge.sql). */
const OPTIONAL_TABLES = new Set(['kb_embeddings']);
/**
 * Column types that are not copied: transaction ids of the embedded database mean nothing on the target
 * (messages.tx feeds the log consumers' visibility horizon); the target's column default fills them in
 * with the copying transaction's id.
 */
const SKIPPED_TYPES = new Set(['xid8', 'xid']);

export interface ColumnInfo {
  name: string;
  type: string;
  generated: boolean;
}

export interface TablePlan {
  name: string;
  /** Columns copied and compared, in table order. */
  columns: string[];
  primaryKey: string[];
  /** Sequences owned by columns of this table (bigserial), with the column. */
  sequences: { column: string; sequence: string }[];
}

export async function migrateToPostgres(config: Config, databaseUrl: string): Promise<string> {
  if (config.databaseUrl) {
    throw new Error(
      'DATABASE_URL: is set in the environment, so this installation already uses PostgreSQL; migrate-to-postgres copies the embedded ' +
        'database of HUILIU_DATA_DIR — unset DATABASE_URL and pass the target as the argument',
    );
  }
  if (!/^postgres(ql)?:\/\//.test(databaseUrl)) throw new Error('DATABASE_URL: the target must be a PostgreSQL URL like postgres://user:pass@host:5432/huiliu');
  const dataDir = config.dataDir;
  const pgdata = join(dataDir, 'pgdata');
  if (!(await stat(join(pgdata, 'PG_VERSION')).then(() => true, () => false))) {
    throw new Error(`HUILIU_DATA_DIR: ${dataDir} holds no embedded database (no pgdata/ inside); point HUILIU_DATA_DIR at the data directory to migrate`);
  }
  const shownUrl = redact(databaseUrl);

  const lock = await lockDataDir(dataDir); // DataDirLockedError while a server runs on it: stop it first
  let source: Database | undefined;
  let target: Database | undefined;
  try {
    source = await openPglite(pgdata);
    await migrate(source);
    target = await openPostgres(databaseUrl, { max: 2 });
    await migrate(target);

    const [srcMigrations, dstMigrations] = await Promise.all([migrations(source), migrations(target)]);
    const unknown = srcMigrations.filter((v) => !dstMigrations.includes(v));
    if (unknown.length) throw new Error(`HUILIU_DATA_DIR: the embedded database has migrations this Huiliu version does not know (${unknown.join(', ')}); run the same version that wrote it`);

    const targetTables = new Set(await publicTables(target));
    // Tables that exist only where an optional extension does (kb_embeddings needs pgvector) are left behind
    // when the target lacks the extension: embeddings are recomputed there by the knowledge base's embed job.
    const order = (await tableCopyOrder(source)).filter((t) => targetTables.has(t) || !OPTIONAL_TABLES.has(t));
    const missing = order.filter((t) => !targetTables.has(t));
    if (missing.length) throw new Error(`DATABASE_URL: the target has no table ${missing.join(', ')} after migrating; is it the same Huiliu schema?`);
    const plans: TablePlan[] = [];
    for (const name of order) plans.push(await planTable(source, target, name));

    const started = Date.now();
    const copied = await copyAll(source, target, plans, shownUrl);
    await target.exec('ANALYZE');
    await verify(source, target, plans, copied);

    const rows = [...copied.values()].reduce((a, b) => a + b, 0);
    const hasKeyFile = await stat(join(dataDir, 'secret.key')).then(() => true, () => false);
    return (
      `migrated ${rows} rows in ${plans.length} tables from ${pgdata} to ${shownUrl} in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
      `row counts and checksums verified on both sides. Next: start Huiliu with DATABASE_URL=${shownUrl} and keep HUILIU_DATA_DIR=${dataDir} — ` +
      `it still holds attachments/` +
      (hasKeyFile ? ' and secret.key (without the key, stored secrets are unreadable)' : ' (the key comes from HUILIU_SECRET_KEY: keep setting it)') +
      `; the embedded database was left as it was (remove ${pgdata} once you are satisfied)`
    );
  } finally {
    await target?.close().catch(() => {});
    await source?.close().catch(() => {});
    await lock.release();
  }
}

/** Tables of the public schema (ordinary and partitioned), by name. */
export async function publicTables(db: Sql): Promise<string[]> {
  const rows = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname`,
  );
  return rows.map((r) => r.name);
}

/**
 * Every application table (public schema, without schema_migrations), each after all tables it
 * references by foreign key, computed from pg_constraint. Ties are broken by name so the order is stable.
 * A foreign-key cycle between tables cannot be copied table by table and is reported.
 */
export async function tableCopyOrder(db: Sql): Promise<string[]> {
  const tables = (await publicTables(db)).filter((t) => !SKIPPED_TABLES.has(t));
  const edges = await db.query<{ child: string; parent: string }>(
    `SELECT DISTINCT c.relname AS child, p.relname AS parent
     FROM pg_constraint k
     JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace cn ON cn.oid = c.relnamespace
     JOIN pg_class p ON p.oid = k.confrelid JOIN pg_namespace pn ON pn.oid = p.relnamespace
     WHERE k.contype = 'f' AND cn.nspname = 'public' AND pn.nspname = 'public'`,
  );
  const parents = new Map<string, Set<string>>(tables.map((t) => [t, new Set<string>()]));
  for (const e of edges) {
    // A self-reference does not constrain the table order (rows are copied in primary-key order).
    if (e.child !== e.parent && parents.has(e.child) && parents.has(e.parent)) parents.get(e.child)!.add(e.parent);
  }
  const order: string[] = [];
  const placed = new Set<string>();
  while (order.length < tables.length) {
    const ready = tables.filter((t) => !placed.has(t) && [...parents.get(t)!].every((p) => placed.has(p)));
    if (ready.length === 0) {
      const left = tables.filter((t) => !placed.has(t));
      throw new Error(`foreign keys form a cycle between ${left.join(', ')}; these tables cannot be copied one after another`);
    }
    for (const t of ready) {
      order.push(t);
      placed.add(t);
    }
  }
  return order;
}

async function columns(db: Sql, table: string): Promise<ColumnInfo[]> {
  return db.query<{ name: string; type: string; generated: boolean } & Record<string, unknown>>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attgenerated <> '' AS generated
     FROM pg_attribute a
     WHERE a.attrelid = ('public.' || quote_ident($1))::regclass AND a.attnum > 0 AND NOT a.attisdropped
     ORDER BY a.attnum`,
    [table],
  );
}

async function planTable(source: Sql, target: Sql, name: string): Promise<TablePlan> {
  const [src, dst] = await Promise.all([columns(source, name), columns(target, name)]);
  const dstByName = new Map(dst.map((c) => [c.name, c]));
  const copied: string[] = [];
  for (const c of src) {
    if (c.generated || SKIPPED_TYPES.has(c.type)) continue;
    const d = dstByName.get(c.name);
    if (!d || d.type !== c.type) {
      throw new Error(`DATABASE_URL: column ${name}.${c.name} (${c.type}) is ${d ? `of type ${d.type}` : 'missing'} in the target; is it the same Huiliu schema?`);
    }
    copied.push(c.name);
  }
  const pk = await source.query<{ name: string }>(
    `SELECT a.attname AS name
     FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, pos)
     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
     WHERE i.indrelid = ('public.' || quote_ident($1))::regclass AND i.indisprimary
     ORDER BY k.pos`,
    [name],
  );
  const sequences: TablePlan['sequences'] = [];
  for (const column of copied) {
    const r = await target.query<{ seq: string | null }>(`SELECT pg_get_serial_sequence('public.' || quote_ident($1), $2) AS seq`, [name, column]);
    const seq = r[0]?.seq;
    if (seq) sequences.push({ column, sequence: seq });
  }
  return { name, columns: copied, primaryKey: pk.map((r) => r.name), sequences };
}

/**
 * Copies all tables inside ONE target transaction: rows travel as JSON text (row_to_json on the source,
 * json_populate_recordset on the target), which keeps jsonb, arrays, tsvector, timestamps with their
 * microseconds and 64-bit integers exact — nothing is parsed in JavaScript.
 */
async function copyAll(source: Database, target: Database, plans: TablePlan[], shownUrl: string): Promise<Map<string, number>> {
  const copied = new Map<string, number>();
  await target.transaction(async (tx) => {
    // Nobody may write to the target while we check it is empty and fill it.
    await tx.query(`SET LOCAL lock_timeout = '10s'`);
    await tx.query(`LOCK TABLE ${plans.map((p) => `public.${ident(p.name)}`).join(', ')} IN EXCLUSIVE MODE`);
    const nonEmpty: string[] = [];
    for (const p of plans) {
      const r = await tx.query<{ has: boolean }>(`SELECT EXISTS (SELECT 1 FROM public.${ident(p.name)}) AS has`);
      if (r[0]?.has) nonEmpty.push(p.name);
    }
    if (nonEmpty.length) {
      throw new Error(
        `DATABASE_URL: the target database ${shownUrl} is not empty: table ${nonEmpty[0]} already has rows` +
          (nonEmpty.length > 1 ? ` (and ${nonEmpty.slice(1).join(', ')})` : '') +
          '; migrate into a new, empty database (e.g. `createdb huiliu`) so that no row is mixed up or lost',
      );
    }

    await source.transaction(async (src) => {
      for (const p of plans) {
        const cols = p.columns.map(ident).join(', ');
        const orderBy = p.primaryKey.length ? ` ORDER BY ${p.primaryKey.map(ident).join(', ')}` : '';
        await src.query(`DECLARE huiliu_copy NO SCROLL CURSOR FOR SELECT row_to_json(t)::text AS j FROM (SELECT ${cols} FROM public.${ident(p.name)}${orderBy}) t`);
        let n = 0;
        for (;;) {
          const batch = await src.query<{ j: string }>(`FETCH FORWARD ${BATCH_ROWS} FROM huiliu_copy`);
          if (batch.length === 0) break;
          await tx.query(
            `INSERT INTO public.${ident(p.name)} (${cols}) OVERRIDING SYSTEM VALUE
             SELECT ${cols} FROM json_populate_recordset(NULL::public.${ident(p.name)}, $1::json)`,
            [`[${batch.map((r) => r.j).join(',')}]`],
          );
          n += batch.length;
          if (batch.length < BATCH_ROWS) break;
        }
        await src.query(`CLOSE huiliu_copy`);
        copied.set(p.name, n);
      }

      // Sequences (bigserial): past the largest copied id and never behind the source's own position,
      // so ids handed out later (messages.log_id, audit_log.id, jobs.id…) never collide or go backwards.
      for (const p of plans) {
        for (const s of p.sequences) {
          const src0 = await src.query<{ last_value: string; is_called: boolean }>(`SELECT last_value::text AS last_value, is_called FROM ${s.sequence}`);
          const max = await tx.query<{ max: string | null }>(`SELECT max(${ident(s.column)})::text AS max FROM public.${ident(p.name)}`);
          const candidates = [max[0]?.max ? BigInt(max[0].max) : 0n, src0[0]?.is_called ? BigInt(src0[0].last_value) : 0n];
          const value = candidates.reduce((a, b) => (a > b ? a : b));
          if (value > 0n) await tx.query(`SELECT setval($1::regclass, $2::bigint, true)`, [s.sequence, value.toString()]);
        }
      }
    });
  });
  return copied;
}

const SETTINGS = [`SET LOCAL TimeZone = 'UTC'`, `SET LOCAL DateStyle = 'ISO, YMD'`, `SET LOCAL IntervalStyle = 'postgres'`, `SET LOCAL extra_float_digits = 1`, `SET LOCAL bytea_output = 'hex'`];

/**
 * The checksum of a table: count and the sum of the md5 of every row's text form (two 64-bit halves,
 * summed as numeric). Order-independent, so no ORDER BY and no collation differences; the same text
 * settings on both sides make the row texts comparable.
 */
export async function tableChecksum(db: Database, table: string, cols: string[]): Promise<{ rows: number; sum: string }> {
  return db.transaction(async (tx) => {
    for (const s of SETTINGS) await tx.query(s);
    const r = await tx.query<{ n: string; a: string; b: string }>(
      `SELECT count(*)::text AS n,
              coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint::numeric), 0)::text AS a,
              coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint::numeric), 0)::text AS b
       FROM (SELECT md5(t::text) AS h FROM (SELECT ${cols.map(ident).join(', ')} FROM public.${ident(table)}) t) s`,
    );
    return { rows: Number(r[0]?.n ?? 0), sum: `${r[0]?.a}/${r[0]?.b}` };
  });
}

async function verify(source: Database, target: Database, plans: TablePlan[], copied: Map<string, number>): Promise<void> {
  const problems: string[] = [];
  for (const p of plans) {
    const [a, b] = [await tableChecksum(source, p.name, p.columns), await tableChecksum(target, p.name, p.columns)];
    if (a.rows !== b.rows) problems.push(`${p.name}: ${a.rows} rows in the embedded database, ${b.rows} in PostgreSQL`);
    else if (a.sum !== b.sum) problems.push(`${p.name}: the rows differ (checksum mismatch)`);
    else if (copied.get(p.name) !== a.rows) problems.push(`${p.name}: ${copied.get(p.name)} rows copied of ${a.rows}`);
  }
  if (problems.length) {
    throw new Error(`VERIFY: the PostgreSQL copy does not match — ${problems.join('; ')}. Drop that database and run migrate-to-postgres again into a new one (the embedded database is unchanged)`);
  }
}

async function migrations(db: Sql): Promise<string[]> {
  return (await db.query<{ version: string }>(`SELECT version FROM schema_migrations ORDER BY version`)).map((r) => r.version);
}

function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'the given DATABASE_URL';
  }
}
