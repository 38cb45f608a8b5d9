import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '@huiliu/testing/ports';
import { cleanServerEnv, SERVER_MAIN, startChild } from '../bench/proc.ts';
import { closeHttpAgents, loopbackAddress } from '../bench/http.ts';
import { setupWorkspace, type SetupResult } from '../bench/setup.ts';
import { check, type CheckResult, type FaultRecord, type StoredRow } from './check.ts';
import { Agent, Visitor, type ClientCounters } from './clients.ts';
import { HuiliuNode } from './nodes.ts';
import { startOpener } from './opener.ts';
import { startProxy, type Proxy } from './proxy.ts';
import { startPostgres, startRedis, type OwnPostgres, type OwnRedis } from './services.ts';

/**
 * The fault harness: its own PostgreSQL and Redis, Huiliu nodes as child processes behind a round-robin
 * TCP balancer, visitors sending and agents receiving over Socket.IO, faults injected one after another
 * while they do, then a wait for quiet and the comparison (check.ts).
 *
 * Cluster mode: nodes A and B (api, realtime, scheduler) take the clients; node W (worker) runs the jobs.
 * Embedded mode: one process on PGlite, killed with -9 while visitors send, restarted on the same data.
 */

export const CLUSTER_FAULTS = ['node_kill', 'worker_kill', 'pg_restart', 'redis_restart', 'node_pause'] as const;
export type ClusterFault = (typeof CLUSTER_FAULTS)[number];

export interface ChaosOptions {
  mode: 'cluster' | 'embedded' | 'all';
  /** Minimum seconds of sending per mode; faults are spread over it (the run lasts longer if they need it). */
  seconds: number;
  visitors: number;
  agents: number;
  faults: ClusterFault[];
  /** How many times the embedded process is killed. */
  embeddedKills: number;
  /** Think time between a visitor's messages (ms). */
  thinkMs: number;
  log: (s: string) => void;
}

export interface ModeResult extends CheckResult {
  mode: 'cluster' | 'embedded';
  faults: FaultRecord[];
  seconds: number;
  setup_s: number;
  reconnects: number;
  ack_timeouts: number;
  nacks: Record<string, number>;
  connect_errors: Record<string, number>;
  jobs?: { created: number; done: number; dead: number; stuck: number; retried: number };
  conversations_opened?: number;
  node_warnings: number;
  node_warning_samples: string[];
  /** Node processes that exited without the harness killing or stopping them. */
  node_crashes?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const r1 = (x: number) => Math.round(x * 10) / 10;

/** Everything a run started, torn down in reverse order whatever happened (also on SIGINT). */
class Cleanup {
  private steps: { name: string; fn: () => Promise<unknown> | unknown }[] = [];
  add(name: string, fn: () => Promise<unknown> | unknown): void {
    this.steps.push({ name, fn });
  }
  async run(log: (s: string) => void): Promise<void> {
    for (const s of this.steps.reverse()) {
      try {
        await s.fn();
      } catch (err) {
        log(`cleanup ${s.name}: ${(err as Error).message}`);
      }
    }
    this.steps = [];
  }
}

let active: Cleanup | undefined;
/** SIGINT/SIGTERM: tear down whatever the current run has started, then exit. */
export function installSignalCleanup(log: (s: string) => void): void {
  const onSignal = (sig: string) => {
    log(`${sig}: cleaning up`);
    void (active?.run(log) ?? Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));
}

interface People {
  visitors: Visitor[];
  agents: Agent[];
  counters: ClientCounters;
}

function startPeople(url: string, setup: SetupResult, clock: () => number, o: ChaosOptions): People {
  const counters: ClientCounters = { reconnects: 0, ackTimeouts: 0, nacks: {}, connectErrors: {} };
  const agents = setup.agents.map((a, i) =>
    new Agent(i, url, a.token, setup.visitors.filter((v) => v.agent === i).map((v) => v.conversationId), loopbackAddress(2, i), counters),
  );
  const visitors = setup.visitors.map((v, i) =>
    new Visitor(i, url, v.visitorToken, v.conversationId, loopbackAddress(1, i), clock, counters, { thinkMs: o.thinkMs, ackTimeoutMs: 4000 }),
  );
  return { visitors, agents, counters };
}

/** Waits until every stored message is shown by the agent side, or nothing changed for `stableMs`. */
async function waitForDelivery(people: People, storedIds: () => Promise<Set<string>>, timeoutMs: number, stableMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  let since = Date.now();
  const ids = await storedIds();
  while (Date.now() < deadline) {
    const shown = new Set<string>();
    for (const a of people.agents) for (const view of a.views.values()) for (const m of view.values()) if (m.clientId) shown.add(m.clientId);
    let missing = 0;
    for (const id of ids) if (!shown.has(id)) missing++;
    if (missing === 0) return;
    if (shown.size !== last) {
      last = shown.size;
      since = Date.now();
    } else if (Date.now() - since > stableMs) return;
    await sleep(250);
  }
}

function newSecretKey(): string {
  return randomBytes(32).toString('hex');
}

// ---------------------------------------------------------------------------------------------------------
// Cluster mode

export async function runCluster(o: ChaosOptions): Promise<ModeResult> {
  const cleanup = new Cleanup();
  active = cleanup;
  const log = o.log;
  const tmp = mkdtempSync(join(tmpdir(), 'huiliu-chaos-'));
  cleanup.add('temp dir', () => rm(tmp, { recursive: true, force: true }));
  try {
    const tStart = performance.now();
    // PostgreSQL runs as the postgres user and owns its own directory (startPostgres chowns it); it only
    // needs to traverse the run's directory. The nodes' data dirs stay private to us.
    chmodSync(tmp, 0o711);
    const pgHome = mkdtempSync(join(tmp, 'pg-'));
    const pgSrv: OwnPostgres = await startPostgres(pgHome);
    cleanup.add('postgres', () => pgSrv.stop());
    await pgSrv.createDatabase('huiliu');
    const redis: OwnRedis = await startRedis(join(tmp, 'redis'));
    cleanup.add('redis', () => redis.stop());
    log(`postgres on ${pgSrv.port}, redis on ${redis.port} (own data in ${tmp})`);

    const databaseUrl = pgSrv.url('huiliu');
    const common: NodeJS.ProcessEnv = {
      DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      HUILIU_SECRET_KEY: newSecretKey(),
      LOG_LEVEL: 'warn',
      HUILIU_SEED_DEMO: 'off',
    };
    const adminEmail = 'admin@chaos.huiliu.local';
    const adminPassword = `chaos-${randomBytes(9).toString('base64url')}`;
    // The first admin, as an operator makes it (this also migrates the empty database).
    const admin = startChild(['--import', 'tsx', SERVER_MAIN, 'admin', 'create', '--email', adminEmail, '--password', adminPassword, '--workspace', 'chaos'], { ...cleanServerEnv(), ...common, HUILIU_DATA_DIR: join(tmp, 'admin') }, 'admin create');
    const code = await admin.exited;
    if (code !== 0) throw new Error(`admin create failed (${code}):\n${admin.output().slice(-2000)}`);

    const mk = async (name: string, roles: string) =>
      new HuiliuNode({ name, port: await freePort(), env: { ...common, HUILIU_DATA_DIR: join(tmp, `node-${name}`), HUILIU_NODE_ID: `chaos-${name}`, HUILIU_ROLES: roles } });
    const withWorker = o.faults.includes('worker_kill');
    const a = await mk('a', withWorker ? 'api,realtime,scheduler' : 'api,realtime,worker,scheduler');
    const b = await mk('b', withWorker ? 'api,realtime,scheduler' : 'api,realtime,worker,scheduler');
    const w = withWorker ? await mk('w', 'worker') : undefined;
    const nodes = [a, b, ...(w ? [w] : [])];
    for (const n of nodes) cleanup.add(`node ${n.name}`, () => n.stop(5000));
    await Promise.all(nodes.map((n) => n.start()));
    log(`nodes up: ${nodes.map((n) => `${n.name}:${n.spec.port}`).join(' ')}`);

    const proxy: Proxy = await startProxy([{ name: 'a', port: a.spec.port }, { name: 'b', port: b.spec.port }]);
    cleanup.add('proxy', () => proxy.close());
    const url = `http://127.0.0.1:${proxy.port}`;
    const setup = await setupWorkspace(url, { adminEmail, adminPassword, workspace: 'chaos', agents: o.agents, visitors: o.visitors, log });
    closeHttpAgents();
    const setupS = (performance.now() - tStart) / 1000;
    log(`setup done (${r1(setupS)} s): ${o.agents} agents, ${o.visitors} visitors through the balancer on ${proxy.port}`);

    const dbc = new pg.Pool({ connectionString: databaseUrl, max: 2 });
    dbc.on('error', () => {}); // a PostgreSQL restart drops idle pool clients: expected here
    cleanup.add('harness pool', () => dbc.end());
    const jobsFrom = (await dbc.query<{ m: string }>(`SELECT coalesce(max(id), 0)::text AS m FROM jobs`)).rows[0]!.m;

    const t0 = performance.now();
    const clock = () => (performance.now() - t0) / 1000;
    const people = startPeople(url, setup, clock, o);
    cleanup.add('clients', () => {
      for (const v of people.visitors) v.socket.close();
      for (const ag of people.agents) ag.close();
    });
    await Promise.all(people.agents.map((ag) => ag.ready(30_000)));
    for (const v of people.visitors) v.start();
    const opener = w ? await startOpener(url, setup.publicId, 8) : undefined;
    if (opener) cleanup.add('opener', () => opener.stop());
    log(`clients running (${o.visitors} visitors, think time ${o.thinkMs} ms)`);

    // ---- faults, one after another, spread over the run ----
    const faults: FaultRecord[] = [];
    const pending: Promise<void>[] = [];
    const settle = 4;
    let killTurn = 0;
    let pgTurn = 0;
    const slot = o.seconds / (o.faults.length + 1);
    await sleep(3000);
    for (let i = 0; i < o.faults.length; i++) {
      const due = slot * (i + 1);
      if (clock() < due) await sleep((due - clock()) * 1000);
      const kind = o.faults[i]!;
      const rec: FaultRecord = { kind, at_s: r1(clock()) };
      log(`fault ${i + 1}/${o.faults.length}: ${kind} at ${rec.at_s} s`);
      switch (kind) {
        case 'node_kill': {
          const n = [a, b][killTurn++ % 2]!;
          rec.node = n.name;
          await n.kill9();
          // A process manager restarts it; the clients have moved to the other node meanwhile.
          await sleep(1000);
          rec.restart_s = r1(await n.start());
          rec.recovered_s = r1(clock() - rec.at_s);
          break;
        }
        case 'worker_kill': {
          if (!w) throw new Error('worker_kill needs the worker node');
          // Kill it while it holds a job: freeze it, look for a job it has claimed (status running), and
          // kill -9 if there is one; otherwise let it run a few ms more and look again.
          const until = Date.now() + 15_000;
          let running: string[] = [];
          let probes = 0;
          while (Date.now() < until) {
            w.signal('SIGSTOP');
            probes++;
            running = (await dbc.query<{ id: string }>(`SELECT id::text FROM jobs WHERE status = 'running'`).catch(() => ({ rows: [] as { id: string }[] }))).rows.map((r) => r.id);
            if (running.length) break;
            w.signal('SIGCONT');
            await sleep(10 + Math.random() * 60);
          }
          rec.probes = probes;
          await w.kill9();
          rec.at_s = r1(clock());
          rec.mid_job = running.length > 0;
          rec.running_jobs = running.length;
          await sleep(500);
          rec.restart_s = r1(await w.start());
          // The job it held is taken again once its lease expires: how long until all of them are done.
          if (running.length) {
            pending.push(
              (async () => {
                const deadline = Date.now() + 120_000;
                while (Date.now() < deadline) {
                  const left = await dbc.query(`SELECT 1 FROM jobs WHERE id = ANY($1::bigint[]) AND status IN ('queued', 'running')`, [running]).catch(() => ({ rowCount: 1 }));
                  if (left.rowCount === 0) {
                    rec.jobs_recovered_s = r1(clock() - rec.at_s);
                    return;
                  }
                  await sleep(250);
                }
                rec.jobs_recovered_s = null;
              })(),
            );
          }
          break;
        }
        case 'pg_restart': {
          const mode = pgTurn++ % 2 === 0 ? 'fast' : 'immediate';
          rec.mode = mode;
          rec.duration_s = r1(await pgSrv.restart(mode));
          break;
        }
        case 'redis_restart': {
          rec.mode = 'kill -9';
          rec.duration_s = r1(await redis.restart('kill', 1000));
          break;
        }
        case 'node_pause': {
          // Past the job lease (30 s), so any job the frozen node held is taken over; the frozen node then
          // wakes up holding stale leases and stale sockets.
          const n = [a, b][killTurn++ % 2]!;
          rec.node = n.name;
          rec.paused_s = 35;
          n.signal('SIGSTOP');
          await sleep(35_000);
          n.signal('SIGCONT');
          break;
        }
      }
      faults.push(rec);
      log(`  ${JSON.stringify(rec)}`);
      await sleep(settle * 1000);
    }
    const sendUntil = Math.max(o.seconds, clock() + settle);
    if (clock() < sendUntil) await sleep((sendUntil - clock()) * 1000);

    // ---- quiet: stop sending, let deliveries and jobs finish ----
    log(`stopping visitors at ${r1(clock())} s`);
    await Promise.all([...people.visitors.map((v) => v.stop(30_000)), opener?.stop()]);
    logUnanswered(people, log);
    await Promise.all(pending);
    const storedRows = async (): Promise<StoredRow[]> =>
      (await dbc.query<{ conversation_id: string; seq: string; client_id: string }>(`SELECT conversation_id, seq::text, client_id FROM messages WHERE client_id ~ '^v[0-9]+-[0-9]+$'`)).rows.map((r) => ({
        conversationId: r.conversation_id,
        seq: Number(r.seq),
        clientId: r.client_id,
      }));
    await waitForDelivery(people, async () => new Set((await storedRows()).map((r) => r.clientId)), 30_000, 5_000);
    // Jobs created during the run: every one must end done (none dead, none left behind).
    const jobsDeadline = Date.now() + 45_000;
    let jobs: ModeResult['jobs'];
    for (;;) {
      const r = (await dbc.query<{ created: string; done: string; dead: string; stuck: string; retried: string }>(
        `SELECT count(*)::text AS created, count(*) FILTER (WHERE status = 'done')::text AS done, count(*) FILTER (WHERE status = 'dead')::text AS dead,
           count(*) FILTER (WHERE status IN ('queued', 'running') AND run_at <= now())::text AS stuck, count(*) FILTER (WHERE attempts > 1)::text AS retried
         FROM jobs WHERE id > $1`,
        [jobsFrom],
      )).rows[0]!;
      jobs = { created: Number(r.created), done: Number(r.done), dead: Number(r.dead), stuck: Number(r.stuck), retried: Number(r.retried) };
      if (jobs.stuck === 0 || Date.now() > jobsDeadline) break;
      await sleep(500);
    }
    const stored = await storedRows();
    const sent = people.visitors.flatMap((v) => v.log);
    const result = check(sent, stored, people.agents, faults);
    for (const n of nodes) for (const tail of n.crashes) log(`node ${n.name} crashed (an exit the harness did not cause): ${tail}`);
    if (jobs && (jobs.stuck > 0 || jobs.dead > 0)) {
      for (const n of nodes) for (const l of n.warnings().slice(-6)) log(`node ${n.name} warning: ${l.slice(0, 600)}`);
      const rows = (await dbc.query(`SELECT queue, status, count(*)::int AS n, min(run_at) AS oldest, max(attempts) AS max_attempts FROM jobs WHERE id > $1 AND status <> 'done' GROUP BY 1, 2`, [jobsFrom])).rows;
      log(`jobs not done: ${JSON.stringify(rows)}`);
    }
    return {
      mode: 'cluster',
      ...result,
      faults,
      seconds: r1(clock()),
      setup_s: r1(setupS),
      ...clientFigures(people.counters),
      jobs,
      ...(opener ? { conversations_opened: opener.stats().opened } : {}),
      ...nodeFigures(nodes),
    };
  } finally {
    await cleanup.run(log);
    active = undefined;
  }
}

/** Messages still unanswered when the run ended: which visitor, since when, and its connection state. */
function logUnanswered(p: People, log: (s: string) => void): void {
  for (const v of p.visitors) {
    const last = v.log[v.log.length - 1];
    if (last && last.ackS === undefined) log(`unanswered: ${last.clientId} first sent at ${r1(last.firstSendS)} s, ${last.attempts} attempts, socket ${v.socket.connected ? 'connected' : 'disconnected'}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Embedded mode

export async function runEmbedded(o: ChaosOptions): Promise<ModeResult> {
  const cleanup = new Cleanup();
  active = cleanup;
  const log = o.log;
  const tmp = mkdtempSync(join(tmpdir(), 'huiliu-chaos-embedded-'));
  cleanup.add('temp dir', () => rm(tmp, { recursive: true, force: true }));
  try {
    const tStart = performance.now();
    const node = new HuiliuNode({ name: 'e', port: await freePort(), env: { HUILIU_DATA_DIR: join(tmp, 'data'), LOG_LEVEL: 'warn' } });
    cleanup.add('node', () => node.stop(10_000));
    await node.start();
    // A first embedded start seeds the demo workspace and prints its password once.
    const m = await node.child!.waitForOutput(/admin\s+(\S+@\S+)[\s\S]*?password\s+(\S+)[\s\S]*?widget inbox publicId\s+(\S+)/, 30_000);
    const [adminEmail, adminPassword, publicId] = [m[1]!, m[2]!, m[3]!];
    const proxy = await startProxy([{ name: 'e', port: node.spec.port }]);
    cleanup.add('proxy', () => proxy.close());
    const url = `http://127.0.0.1:${proxy.port}`;
    const setup = await setupWorkspace(url, { adminEmail, adminPassword, publicId, agents: o.agents, visitors: o.visitors, log });
    closeHttpAgents();
    const setupS = (performance.now() - tStart) / 1000;
    log(`embedded: setup done (${r1(setupS)} s)`);

    const t0 = performance.now();
    const clock = () => (performance.now() - t0) / 1000;
    const people = startPeople(url, setup, clock, o);
    cleanup.add('clients', () => {
      for (const v of people.visitors) v.socket.close();
      for (const ag of people.agents) ag.close();
    });
    await Promise.all(people.agents.map((ag) => ag.ready(30_000)));
    for (const v of people.visitors) v.start();

    const faults: FaultRecord[] = [];
    const slot = o.seconds / (o.embeddedKills + 1);
    await sleep(2000);
    for (let i = 0; i < o.embeddedKills; i++) {
      const due = slot * (i + 1);
      if (clock() < due) await sleep((due - clock()) * 1000);
      const rec: FaultRecord = { kind: 'embedded_kill', at_s: r1(clock()) };
      log(`embedded fault ${i + 1}/${o.embeddedKills}: kill -9 at ${rec.at_s} s`);
      await node.kill9();
      await sleep(500);
      rec.restart_s = r1(await node.start());
      faults.push(rec);
      log(`  ${JSON.stringify(rec)}`);
      await sleep(3000);
    }
    const sendUntil = Math.max(o.seconds, clock() + 3);
    if (clock() < sendUntil) await sleep((sendUntil - clock()) * 1000);
    await Promise.all(people.visitors.map((v) => v.stop(30_000)));
    logUnanswered(people, log);

    // Stored: read back through the API (PGlite has one connection, held by the server).
    const login = await (await fetch(`${node.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: adminEmail, password: adminPassword }) })).json() as { token: string };
    const storedRows = async (): Promise<StoredRow[]> => {
      const rows: StoredRow[] = [];
      for (const v of setup.visitors) {
        let after = 0;
        for (;;) {
          const res = await fetch(`${node.url}/api/v1/conversations/${v.conversationId}/messages?afterSeq=${after}&limit=500`, { headers: { authorization: `Bearer ${login.token}` } });
          if (res.status !== 200) throw new Error(`reading messages: ${res.status} ${await res.text()}`);
          const page = (await res.json()) as { items: { seq: number; clientId: string | null }[]; hasMore: boolean };
          for (const it of page.items) if (it.clientId) rows.push({ conversationId: v.conversationId, seq: it.seq, clientId: it.clientId });
          if (!page.hasMore || page.items.length === 0) break;
          after = page.items[page.items.length - 1]!.seq;
        }
      }
      return rows;
    };
    await waitForDelivery(people, async () => new Set((await storedRows()).map((r) => r.clientId)), 30_000, 5_000);
    const stored = await storedRows();
    const sent = people.visitors.flatMap((v) => v.log);
    const result = check(sent, stored, people.agents, faults);
    return {
      mode: 'embedded',
      ...result,
      faults,
      seconds: r1(clock()),
      setup_s: r1(setupS),
      ...clientFigures(people.counters),
      ...nodeFigures([node]),
    };
  } finally {
    await cleanup.run(log);
    active = undefined;
  }
}


/** The simulated people's connection counters, as printed. */
function clientFigures(c: { reconnects: number; ackTimeouts: number; nacks: Record<string, number>; connectErrors: Record<string, number> }) {
  return { reconnects: c.reconnects, ack_timeouts: c.ackTimeouts, nacks: c.nacks, connect_errors: c.connectErrors };
}

/** Warnings the nodes logged (a sample) and exits the harness did not cause. */
function nodeFigures(nodes: HuiliuNode[]) {
  const warnings = nodes.flatMap((n) => n.warnings().map((l) => `${n.name}: ${l}`));
  return {
    node_warnings: warnings.length,
    node_warning_samples: warnings.slice(0, 5).map((l) => l.slice(0, 400)),
    node_crashes: nodes.reduce((s, n) => s + n.crashes.length, 0),
  };
}
