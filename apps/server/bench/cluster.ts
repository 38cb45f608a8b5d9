import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { freePort, SERVER_MAIN, sleep, startChild, type Child } from './proc.ts';

/**
 * Helpers for benchmarks that run several Huiliu nodes on one PostgreSQL and one Redis: a throw-away
 * database, a random Redis key prefix (deleted afterwards), node processes, and counters read from
 * PostgreSQL, Redis and /proc that the scaling model in docs/scaling.md is built from.
 */
export const DEFAULT_POSTGRES_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export interface BenchDatabase {
  url: string;
  name: string;
  /** True when this bench created it (and drops it in drop()). */
  created: boolean;
  drop(): Promise<void>;
}

/** `--database-url` as given (kept), or a fresh randomly named database on the local server (dropped). */
export async function benchDatabase(given: string | undefined, adminUrl = DEFAULT_POSTGRES_ADMIN_URL): Promise<BenchDatabase> {
  if (given) return { url: given, name: new URL(given).pathname.slice(1), created: false, drop: async () => {} };
  const name = `huiliu_bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    name,
    created: true,
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A key prefix no other run uses, so benches and tests share one Redis without colliding. */
export const randomRedisPrefix = (): string => `huiliu-bench-${randomBytes(5).toString('hex')}:`;

function redisClient(url: string): Redis {
  return new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, enableOfflineQueue: true });
}

async function scanKeys(r: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await r.scan(cursor, 'MATCH', `${globEscape(prefix)}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

const globEscape = (s: string) => s.replace(/[*?[\]\\]/g, '\\$&');

/** Deletes every key under `prefix`; returns how many there were. */
export async function deleteRedisKeys(url: string, prefix: string): Promise<number> {
  const r = redisClient(url);
  try {
    await r.connect();
    const keys = await scanKeys(r, prefix);
    for (let i = 0; i < keys.length; i += 500) await r.del(...keys.slice(i, i + 500));
    return keys.length;
  } finally {
    r.disconnect();
  }
}

/** Redis version and the two settings that decide whether Redis may lose what Huiliu keeps there. */
export async function redisInfo(url: string): Promise<{ version: string; maxmemory_policy: string; appendonly: string }> {
  const r = redisClient(url);
  try {
    await r.connect();
    const info = await r.info('server');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
    const policy = ((await r.config('GET', 'maxmemory-policy')) as string[])[1] ?? 'unknown';
    const aof = ((await r.config('GET', 'appendonly')) as string[])[1] ?? 'unknown';
    return { version, maxmemory_policy: policy, appendonly: aof };
  } finally {
    r.disconnect();
  }
}

export interface RedisCounters {
  /** Entries ever added to the streams under our prefix (XINFO STREAM entries-added, Redis ≥ 7). */
  streamEntries: number;
  streams: number;
  /** Average size of one stream entry in Redis memory (MEMORY USAGE ÷ XLEN), bytes. */
  streamEntryBytes: number;
  keys: number;
  /** Server-wide (shared Redis: other users' commands count too). */
  totalCommands: number;
  usedMemoryMb: number;
}

export async function redisCounters(url: string, prefix: string): Promise<RedisCounters> {
  const r = redisClient(url);
  try {
    await r.connect();
    const keys = await scanKeys(r, prefix);
    let streamEntries = 0;
    let streams = 0;
    let streamBytes = 0;
    let streamLength = 0;
    for (const k of keys) {
      if ((await r.type(k)) !== 'stream') continue;
      streams++;
      const info = (await r.xinfo('STREAM', k)) as unknown[];
      const i = info.indexOf('entries-added');
      streamEntries += i >= 0 ? Number(info[i + 1]) : Number(info[info.indexOf('length') + 1] ?? 0);
      streamLength += await r.xlen(k);
      streamBytes += Number((await r.call('MEMORY', 'USAGE', k, 'SAMPLES', '0')) ?? 0);
    }
    const stats = await r.info('stats');
    const mem = await r.info('memory');
    return {
      streamEntries,
      streams,
      streamEntryBytes: streamLength > 0 ? streamBytes / streamLength : NaN,
      keys: keys.length,
      totalCommands: Number(/total_commands_processed:(\d+)/.exec(stats)?.[1] ?? NaN),
      usedMemoryMb: Number(/used_memory:(\d+)/.exec(mem)?.[1] ?? NaN) / 2 ** 20,
    };
  } finally {
    r.disconnect();
  }
}

export interface PgCounters {
  commits: number;
  rollbacks: number;
  inserted: number;
  updated: number;
  deleted: number;
  /** Server-wide WAL position in bytes (other databases on the shared server add to it). */
  walBytes: number;
  backends: number;
}

/**
 * Activity counters of one database. PostgreSQL 15 backends flush their statistics when idle (up to
 * ~10 s late) and when they exit, so read these when the nodes are stopped for exact per-phase deltas.
 */
export async function pgCounters(url: string): Promise<PgCounters> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query(
      `SELECT xact_commit::bigint AS commits, xact_rollback::bigint AS rollbacks, tup_inserted::bigint AS inserted,
              tup_updated::bigint AS updated, tup_deleted::bigint AS deleted, numbackends AS backends,
              pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint AS wal
         FROM pg_stat_database WHERE datname = current_database()`,
    );
    const row = r.rows[0] as Record<string, string>;
    return {
      commits: Number(row.commits), rollbacks: Number(row.rollbacks), inserted: Number(row.inserted),
      updated: Number(row.updated), deleted: Number(row.deleted), walBytes: Number(row.wal), backends: Number(row.backends),
    };
  } finally {
    await c.end();
  }
}

export async function pgSettings(url: string): Promise<{ version: string; synchronous_commit: string; max_connections: number }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const v = (await c.query(`SHOW server_version`)).rows[0].server_version as string;
    const sc = (await c.query(`SHOW synchronous_commit`)).rows[0].synchronous_commit as string;
    const mc = Number((await c.query(`SHOW max_connections`)).rows[0].max_connections);
    return { version: v, synchronous_commit: sc, max_connections: mc };
  } finally {
    await c.end();
  }
}

/**
 * CPU seconds used so far per process, for processes whose command name is `comm` and (when given) whose
 * command line contains `cmdlineHas`: e.g. the PostgreSQL backends serving one database (their title
 * reads "postgres: user dbname 127.0.0.1(port) idle"), or the redis-server.
 */
export function cpuSecondsByProcess(comm: string, cmdlineHas?: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (name !== comm) continue;
      if (cmdlineHas && !readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(cmdlineHas)) continue;
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(d), (Number(f[11]) + Number(f[12])) / 100);
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

/** CPU used between two readings: processes present in both, plus the whole time of ones started meanwhile. */
function cpuDelta(a: Map<number, number>, b: Map<number, number>): number {
  let sum = 0;
  for (const [pid, t] of b) sum += t - (a.get(pid) ?? 0);
  return sum;
}

/**
 * CPU use (% of one core) between start() and stop() of the PostgreSQL backends serving `dbName` (the
 * server's shared background processes are left out) and of the redis-server (the whole server: on this
 * shared machine other users' commands count too).
 */
export function serviceCpuSampler(dbName: string) {
  const t0 = performance.now();
  const pg0 = cpuSecondsByProcess('postgres', ` ${dbName} `);
  const redis0 = cpuSecondsByProcess('redis-server');
  return {
    stop() {
      const wall = (performance.now() - t0) / 1000;
      return {
        postgresCpuPct: (cpuDelta(pg0, cpuSecondsByProcess('postgres', ` ${dbName} `)) / wall) * 100,
        redisCpuPct: (cpuDelta(redis0, cpuSecondsByProcess('redis-server')) / wall) * 100,
      };
    },
  };
}

export interface HuiliuNode {
  name: string;
  url: string;
  port: number;
  child: Child;
  pid: number;
}

/**
 * Starts one node (`node --import tsx apps/server/src/main.ts start`) and waits until it is ready:
 * GET /readyz, or /healthz on a server that has no /readyz.
 */
export async function startNode(o: { name: string; env: NodeJS.ProcessEnv; dataDir: string; timeoutMs?: number }): Promise<HuiliuNode> {
  const port = await freePort();
  const child = startChild(
    ['--import', 'tsx', SERVER_MAIN, 'start'],
    { ...o.env, PORT: String(port), HUILIU_DATA_DIR: o.dataDir, HUILIU_NODE_ID: o.name },
    `huiliu node ${o.name}`,
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(url, child, o.timeoutMs ?? 120_000);
  } catch (err) {
    await child.stop(2_000);
    throw err;
  }
  return { name: o.name, url, port, child, pid: child.pid };
}

async function waitReady(url: string, child: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void child.exited.then(() => (exited = true));
  let path = '/readyz';
  while (Date.now() < deadline) {
    if (exited) throw new Error(`node exited during start:\n${child.output().slice(-3000)}`);
    try {
      const res = await fetch(url + path, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return;
      if (res.status === 404 && path === '/readyz') path = '/healthz';
    } catch {
      /* not up yet */
    }
    await sleep(200);
  }
  throw new Error(`${url}${path} did not answer 200 within ${timeoutMs} ms:\n${child.output().slice(-3000)}`);
}

/** Runs `huiliu admin create` against the database (it also migrates an empty one). */
export async function adminCreate(env: NodeJS.ProcessEnv, email: string, password: string, workspace: string): Promise<void> {
  const c = startChild(['--import', 'tsx', SERVER_MAIN, 'admin', 'create', '--email', email, '--password', password, '--workspace', workspace], env, 'admin create');
  const code = await c.exited;
  if (code !== 0) throw new Error(`admin create failed (${code}):\n${c.output().slice(-2000)}`);
}

/** The server's warning/error log lines (pino JSON, level ≥ 40). */
export const warningLines = (child: Child): string[] => child.output().split('\n').filter((l) => /"level":(40|50|60)/.test(l));

export const nodeDataDir = (tmp: string, name: string): string => join(tmp, `node-${name}`);
