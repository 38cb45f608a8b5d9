import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '@huiliu/testing/ports';

/**
 * The harness's own PostgreSQL cluster and redis-server: own ports, own data directories under the run's
 * temp dir, so faults (restarts, kill -9) never touch the shared services on 5432/6379.
 */

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The newest PostgreSQL server binaries installed the Debian way (/usr/lib/postgresql/<version>/bin). */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl'))).sort((a, b) => Number(b) - Number(a)) : [];
  if (!versions[0]) throw new Error(`no PostgreSQL server binaries under ${root}/<version>/bin (install postgresql)`);
  return join(root, versions[0], 'bin');
}

const isRoot = () => process.getuid?.() === 0;
const postgresIds = () => {
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error('running as root, but there is no "postgres" user to run PostgreSQL as (initdb refuses root)');
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
};

/** Runs a PostgreSQL tool; as root through `runuser -u postgres` (initdb/pg_ctl/postgres refuse root). */
function pgTool(bin: string, args: string[]): { status: number | null; output: string } {
  const [cmd, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', env: { ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' }, timeout: 120_000 });
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

export interface OwnPostgres {
  port: number;
  /** postgres://postgres@127.0.0.1:<port>/<db> */
  url(db: string): string;
  createDatabase(name: string): Promise<void>;
  /** pg_ctl restart; returns the seconds the server was unavailable (stop + start). */
  restart(mode: 'fast' | 'immediate'): Promise<number>;
  stop(): Promise<void>;
  log(): string;
}

export async function startPostgres(dir: string): Promise<OwnPostgres> {
  const bin = postgresBinDir();
  const data = join(dir, 'pgdata');
  const sock = join(dir, 'pgsock');
  const logFile = join(dir, 'postgres.log');
  mkdirSync(sock, { recursive: true });
  if (isRoot()) {
    const { uid, gid } = postgresIds();
    for (const p of [dir, sock]) chownSync(p, uid, gid);
  }
  const init = pgTool(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-instructions']);
  if (init.status !== 0) throw new Error(`initdb failed:\n${init.output}`);
  const port = await freePort();
  // Durable settings on purpose: the harness checks what a correctly configured production server keeps.
  const opts = `-c port=${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${sock} -c fsync=on -c synchronous_commit=on -c max_connections=200`;
  const ctl = (args: string[]) => {
    const r = pgTool(join(bin, 'pg_ctl'), ['-D', data, '-l', logFile, '-w', '-t', '60', ...args]);
    if (r.status !== 0) throw new Error(`pg_ctl ${args.join(' ')} failed:\n${r.output}\n${readLog()}`);
  };
  const readLog = () => {
    try {
      return readFileSync(logFile, 'utf8').slice(-4000);
    } catch {
      return '';
    }
  };
  ctl(['-o', opts, 'start']);
  const url = (db: string) => `postgres://postgres@127.0.0.1:${port}/${db}`;
  let running = true;
  return {
    port,
    url,
    async createDatabase(name) {
      const c = new pg.Client({ connectionString: url('postgres') });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
    },
    async restart(mode) {
      const t0 = performance.now();
      // pg_ctl restart reuses the options of the last start (postmaster.opts); spawnSync blocks the harness
      // for the stop+start, so run it in a child and await it to keep clients running meanwhile.
      await new Promise<void>((resolve, reject) => {
        const [cmd, argv] = isRoot()
          ? ['runuser', ['-u', 'postgres', '--', join(bin, 'pg_ctl'), '-D', data, '-l', logFile, '-w', '-t', '60', '-m', mode, 'restart']]
          : [join(bin, 'pg_ctl'), ['-D', data, '-l', logFile, '-w', '-t', '60', '-m', mode, 'restart']];
        const p = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' } });
        let out = '';
        p.stdout!.on('data', (d) => (out += d));
        p.stderr!.on('data', (d) => (out += d));
        p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`pg_ctl restart -m ${mode} failed (${code}):\n${out}\n${readLog()}`))));
      });
      return (performance.now() - t0) / 1000;
    },
    async stop() {
      if (!running) return;
      running = false;
      const r = pgTool(join(bin, 'pg_ctl'), ['-D', data, '-w', '-t', '30', '-m', 'immediate', 'stop']);
      if (r.status !== 0 && !/not running|No such file/.test(r.output)) throw new Error(`pg_ctl stop failed:\n${r.output}`);
    },
    log: readLog,
  };
}

export interface OwnRedis {
  port: number;
  url: string;
  /** kill -9 (no final AOF flush beyond appendfsync everysec) or SIGTERM, then start again on the same port and data. */
  restart(mode: 'kill' | 'term', downMs: number): Promise<number>;
  stop(): Promise<void>;
  log(): string;
}

export async function startRedis(dir: string): Promise<OwnRedis> {
  const data = join(dir, 'redis');
  mkdirSync(data, { recursive: true });
  const port = await freePort();
  let proc: ChildProcess | undefined;
  let out = '';
  const start = async () => {
    const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', data, '--appendonly', 'yes', '--save', '', '--maxmemory-policy', 'noeviction', '--daemonize', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    p.on('error', (err) => (out += `spawn error: ${err.message}\n`));
    p.stdout!.on('data', (d) => (out = (out + d).slice(-20_000)));
    p.stderr!.on('data', (d) => (out = (out + d).slice(-20_000)));
    proc = p;
    const deadline = Date.now() + 30_000;
    while (!/Ready to accept connections/.test(out)) {
      if (p.exitCode !== null) throw new Error(`redis-server exited:\n${out}`);
      if (Date.now() > deadline) throw new Error(`redis-server did not start:\n${out}`);
      await sleep(50);
    }
    out = out.replace(/Ready to accept connections/g, 'ready');
  };
  const kill = async (signal: NodeJS.Signals) => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill(signal);
    await gone;
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async restart(mode, downMs) {
      const t0 = performance.now();
      await kill(mode === 'kill' ? 'SIGKILL' : 'SIGTERM');
      await sleep(downMs);
      await start();
      return (performance.now() - t0) / 1000;
    },
    stop: () => kill('SIGKILL'),
    log: () => out,
  };
}
