import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, hostname, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { intFlag, stringFlag, type ParsedArgs } from './args.ts';
import { closeHttpAgents } from './http.ts';
import { cleanServerEnv, rssMb } from './proc.ts';
import { runLoad, type RunMetrics, type Topology } from './realtime.ts';
import { setupWorkspace, type SetupResult } from './setup.ts';
import { round } from './stats.ts';
import {
  adminCreate, benchDatabase, DEFAULT_REDIS_URL, deleteRedisKeys, nodeDataDir, pgCounters, pgSettings, randomRedisPrefix,
  redisCounters, redisInfo, serviceCpuSampler, startNode, warningLines, type HuiliuNode, type PgCounters, type RedisCounters,
} from './cluster.ts';

const USAGE = `usage: npm run bench -- realtime --cluster N [--visitors 500] [--agents 20] [--rate 1000] [--seconds 15]
                              [--drain-seconds 5] [--warmup-seconds 5] [--database-url postgres://…] [--redis-url redis://…]
                              [--cross-node-pct 100] [--split-roles] [--no-baseline] [--db-pool N] [--json]

Runs the realtime benchmark's load against N Huiliu nodes on this machine sharing one PostgreSQL and one
Redis, and in the same run against ONE node on the same PostgreSQL + Redis (the baseline), then prints
both and their ratio.

  PostgreSQL  --database-url, or a fresh database on postgres://postgres@127.0.0.1:5432 (dropped at the end)
  Redis       --redis-url (default ${DEFAULT_REDIS_URL}), keys under a random HUILIU_REDIS_PREFIX (deleted at the end)

Agents are spread round-robin over the nodes; every visitor connects to a node other than its agent's, so
every message crosses nodes (--cross-node-pct 50 puts half the visitors on their agent's node, like a load
balancer with 2 nodes would; with N = 1 nothing crosses: a dry run of the machinery). All nodes share one
random HUILIU_SECRET_KEY. Setup goes through a separate node that is stopped before measuring, so each
measured node starts fresh. The baseline runs first, so the cluster run meets a database that already
holds the baseline's messages (a small handicap for the cluster, not for the baseline).
With --json the last stdout line is one JSON object; progress goes to stderr.`;

interface PhaseCounters {
  pg: PgCounters;
  redis: RedisCounters;
}

interface Phase {
  label: string;
  nodes: HuiliuNode[];
  idleRss: number[];
  metrics: RunMetrics;
  services: { postgresCpuPct: number; redisCpuPct: number };
  warnings: string[];
  /** Counter deltas over the whole phase (node start → node stop), including warm-up and connects. */
  pgDelta?: PgCounters;
  redisDelta?: RedisCounters;
  messages: number;
}

export async function realtimeCluster(args: ParsedArgs): Promise<void> {
  if (args.flags.has('help')) {
    console.log(USAGE);
    return;
  }
  const nodeCount = intFlag(args, 'cluster', 2);
  const visitors = intFlag(args, 'visitors', 500);
  const agentCount = intFlag(args, 'agents', 20);
  const rate = intFlag(args, 'rate', 1000);
  const seconds = intFlag(args, 'seconds', 15);
  const drainMs = intFlag(args, 'drain-seconds', 5, 0) * 1000;
  const tickMs = intFlag(args, 'tick-ms', 5);
  // Fresh node processes are cold (JIT, connection pools, plan caches): a few seconds of the same load,
  // not counted, before measuring — the same for the baseline and the cluster.
  const warmupSeconds = intFlag(args, 'warmup-seconds', 5, 0);
  const redisUrl = stringFlag(args, 'redis-url') ?? DEFAULT_REDIS_URL;
  const json = args.flags.has('json');
  const baseline = !args.flags.has('no-baseline');
  const crossPct = intFlag(args, 'cross-node-pct', 100, 0);
  // Diagnostic: a larger PostgreSQL pool per node (HUILIU_DB_POOL); reported in settings_changed.
  const dbPool = stringFlag(args, 'db-pool');
  // Nodes after the first run only the api and realtime roles (HUILIU_ROLES): one node reads the message
  // log and runs jobs, the others only serve clients.
  const splitRoles = args.flags.has('split-roles');
  const settingsChanged = dbPool ? [`HUILIU_DB_POOL=${dbPool}`] : [];
  if (crossPct > 100) throw new Error('--cross-node-pct: 0…100');
  if (agentCount > visitors) throw new Error('--agents must not exceed --visitors');
  if (agentCount < nodeCount) throw new Error('--agents must be at least --cluster (every node gets agents)');
  const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);

  const load0 = loadavg()[0]!;
  const tmp = await mkdtemp(join(tmpdir(), 'huiliu-bench-cluster-'));
  const db = await benchDatabase(stringFlag(args, 'database-url'));
  const prefix = randomRedisPrefix();
  const running: HuiliuNode[] = [];
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    for (const n of running.splice(0)) await n.child.stop(5_000).catch(() => {});
    const deleted = await deleteRedisKeys(redisUrl, prefix).catch((err: unknown) => (log(`could not delete Redis keys ${prefix}*: ${String(err)}`), 0));
    if (deleted) log(`deleted ${deleted} Redis keys under ${prefix}`);
    if (db.created) await db.drop().catch((err: unknown) => log(`could not drop database ${db.name}: ${String(err)}`));
    await rm(tmp, { recursive: true, force: true });
  };
  const onSignal = () => {
    for (const n of running) n.child.proc.kill('SIGKILL');
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const baseEnv = cleanServerEnv();
    const env: NodeJS.ProcessEnv = {
      ...baseEnv,
      DATABASE_URL: db.url,
      REDIS_URL: redisUrl,
      HUILIU_REDIS_PREFIX: prefix,
      // Every node must decrypt what another stored, and accept tokens another issued.
      HUILIU_SECRET_KEY: randomBytes(32).toString('base64'),
      LOG_LEVEL: 'warn',
      ...(dbPool ? { HUILIU_DB_POOL: dbPool } : {}),
    };
    const [pgInfo, rInfo] = await Promise.all([pgSettings(db.url), redisInfo(redisUrl)]);
    log(`PostgreSQL ${pgInfo.version} (${db.created ? `fresh database ${db.name}` : db.name}), Redis ${rInfo.version} (prefix ${prefix})`);

    const adminEmail = 'admin@bench.huiliu.local';
    const adminPassword = `bench-${randomBytes(9).toString('base64url')}`;
    log('creating the admin (huiliu admin create) on PostgreSQL');
    await adminCreate(env, adminEmail, adminPassword, 'bench');

    // ---- setup through its own node, stopped before measuring ----
    const setupNode = await startNode({ name: 'setup', env, dataDir: nodeDataDir(tmp, 'setup') });
    running.push(setupNode);
    log(`setting up ${agentCount} agents and ${visitors} visitors through the API of ${setupNode.url}`);
    const setup = await setupWorkspace(setupNode.url, { adminEmail, adminPassword, workspace: 'bench', agents: agentCount, visitors, log });
    closeHttpAgents();
    log(`setup done in ${setup.seconds.toFixed(1)} s`);
    await stopNodes(running, [setupNode]);

    const cfg = { rate, seconds, drainMs, tickMs, warmupSeconds };
    let counters = await readCounters(db.url, redisUrl, prefix);
    const runPhase = async (label: string, names: string[], topology: (nodes: HuiliuNode[]) => Topology | undefined): Promise<Phase> => {
      const nodes: HuiliuNode[] = [];
      for (const [i, name] of names.entries()) {
        const roles = splitRoles && i > 0 ? { HUILIU_ROLES: 'api,realtime' } : {};
        const n = await startNode({ name, env: { ...env, ...roles }, dataDir: nodeDataDir(tmp, name) });
        running.push(n);
        nodes.push(n);
      }
      const idleRss = nodes.map((n) => rssMb(n.pid) ?? NaN);
      log(`${label}: ${nodes.map((n) => `node ${n.name} pid ${n.pid} ${n.url} (${idleRss[nodes.indexOf(n)]!.toFixed(0)} MB)`).join(', ')}`);
      let svc: ReturnType<typeof serviceCpuSampler> | undefined;
      let services = { postgresCpuPct: NaN, redisCpuPct: NaN };
      const metrics = await runLoad(nodes[0]!.url, setup, cfg, nodes.map((n) => n.pid), log, label, {
        onStart: () => (svc = serviceCpuSampler(db.name)),
        onEnd: () => (services = svc!.stop()),
      }, topology(nodes));
      log(`${label}: delivered ${metrics.delivered}/${metrics.sent}, ${metrics.msgs_per_s} msg/s, p50 ${metrics.p50_ms} ms, p99 ${metrics.p99_ms} ms, ` +
        `nodes CPU ${metrics.per_node.map((p) => `${p.cpu_pct}%`).join(' + ')}, PostgreSQL CPU ${round(services.postgresCpuPct, 0)}%, Redis CPU ${round(services.redisCpuPct, 0)}%`);
      // A node that died during the load (crash, OOM, or killed from outside) makes the figures meaningless.
      for (const n of nodes) {
        const { exitCode, signalCode } = n.child.proc;
        if (exitCode !== null || signalCode !== null) {
          throw new Error(`${label}: node ${n.name} (pid ${n.pid}) exited during the load (${signalCode ?? `code ${exitCode}`}):\n${n.child.output().slice(-2000)}`);
        }
      }
      const warnings = nodes.flatMap((n) => warningLines(n.child).map((l) => `${n.name}: ${l}`));
      await stopNodes(running, nodes);
      const after = await readCounters(db.url, redisUrl, prefix);
      const phase: Phase = { label, nodes, idleRss, metrics, services, warnings, pgDelta: diffPg(counters.pg, after.pg), redisDelta: diffRedis(counters.redis, after.redis), messages: metrics.sent + setup.visitors.length + Math.round(rate * warmupSeconds) };
      counters = after;
      return phase;
    };

    // ---- baseline: one node, same PostgreSQL + Redis, same load ----
    const single = baseline ? await runPhase('1 node', ['single'], () => undefined) : undefined;

    // ---- the cluster: agents round-robin over the nodes, each visitor on a node other than its agent's ----
    const names = Array.from({ length: nodeCount }, (_, i) => String.fromCharCode(97 + i));
    const agentNode = (a: number) => a % nodeCount;
    // Visitor v crosses when (v × 7919) mod 100 < pct: an even spread of the chosen share over visitors.
    const crosses = (v: number) => (v * 7919) % 100 < crossPct;
    const visitorNode = (v: number) => (agentNode(setup.visitors[v]!.agent) + (crosses(v) ? 1 : 0)) % nodeCount;
    const cluster = await runPhase(`${nodeCount} nodes`, names, (nodes) => ({ urls: nodes.map((n) => n.url), agentNode, visitorNode }));

    const result = buildResult({ splitRoles, settingsChanged, warmupSeconds, nodeCount, visitors, agentCount, rate, seconds, setup, single, cluster, db: db.created ? 'fresh' : 'given', pgInfo, rInfo, prefix, load0, visitorNode, agentNode });
    const warnings = [...(single?.warnings ?? []), ...cluster.warnings];
    if (warnings.length) log(`nodes logged ${warnings.length} warning/error lines, e.g.:\n${distinct(warnings).slice(0, 6).join('\n')}`);
    if (json) process.stdout.write(JSON.stringify(result) + '\n');
    else console.log(formatText(result, single, cluster));
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function stopNodes(running: HuiliuNode[], nodes: HuiliuNode[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.child.stop(20_000)));
  for (const n of nodes) running.splice(running.indexOf(n), 1);
}

async function readCounters(dbUrl: string, redisUrl: string, prefix: string): Promise<PhaseCounters> {
  const [pg, redis] = await Promise.all([pgCounters(dbUrl), redisCounters(redisUrl, prefix)]);
  return { pg, redis };
}

const diffPg = (a: PgCounters, b: PgCounters): PgCounters => ({
  commits: b.commits - a.commits, rollbacks: b.rollbacks - a.rollbacks, inserted: b.inserted - a.inserted,
  updated: b.updated - a.updated, deleted: b.deleted - a.deleted, walBytes: b.walBytes - a.walBytes, backends: b.backends,
});
const diffRedis = (a: RedisCounters, b: RedisCounters): RedisCounters => ({
  streamEntries: b.streamEntries - a.streamEntries, streams: b.streams, streamEntryBytes: b.streamEntryBytes, keys: b.keys,
  totalCommands: b.totalCommands - a.totalCommands, usedMemoryMb: b.usedMemoryMb,
});

const distinct = (lines: string[]) => [...new Set(lines.map((l) => l.replace(/"time":\d+,|"pid":\d+,|"hostname":"[^"]*",/g, '')))];

/** Per-message costs of a phase on the shared services (the scaling model's inputs). */
function serviceFigures(p: Phase) {
  const m = p.messages;
  const pgd = p.pgDelta!;
  const rd = p.redisDelta!;
  return {
    pg_commits_per_msg: round(pgd.commits / m, 2),
    pg_rows_written_per_msg: round((pgd.inserted + pgd.updated + pgd.deleted) / m, 2),
    pg_wal_kb_per_msg: round(pgd.walBytes / m / 1024, 2),
    postgres_cpu_pct: round(p.services.postgresCpuPct, 0),
    redis_stream_entries_per_msg: round(rd.streamEntries / m, 2),
    redis_stream_entry_bytes: round(rd.streamEntryBytes, 0),
    redis_commands_per_msg: round(rd.totalCommands / m, 1),
    redis_cpu_pct: round(p.services.redisCpuPct, 0),
    redis_keys: rd.keys,
    redis_used_memory_mb: round(rd.usedMemoryMb, 1),
  };
}

function perNode(p: Phase) {
  return p.metrics.per_node.map((n, i) => ({
    node: p.nodes[i]!.name,
    rss_idle_mb: round(p.idleRss[i]!, 1),
    rss_mb: n.rss_mb,
    cpu_pct: n.cpu_pct,
    msgs_in: n.msgs_in,
    msgs_out: n.msgs_out,
    msgs_out_cross_node: n.msgs_out_cross_node,
  }));
}

function buildResult(o: {
  splitRoles: boolean; settingsChanged: string[]; warmupSeconds: number; nodeCount: number; visitors: number; agentCount: number; rate: number; seconds: number; setup: SetupResult;
  single: Phase | undefined; cluster: Phase; db: string; pgInfo: Awaited<ReturnType<typeof pgSettings>>;
  rInfo: Awaited<ReturnType<typeof redisInfo>>; prefix: string; load0: number;
  visitorNode(v: number): number; agentNode(a: number): number;
}) {
  const c = o.cluster.metrics;
  const s = o.single?.metrics;
  const { window_hr: _w, per_node: _p, ...fields } = c;
  const crossing = o.setup.visitors.filter((v, i) => o.visitorNode(i) !== o.agentNode(v.agent)).length;
  const ratio = s ? c.msgs_per_s / s.msgs_per_s : NaN;
  const clean = (m: RunMetrics) => m.delivered === m.sent && m.lost === 0 && m.duplicated === 0 && m.out_of_order === 0;
  // The issue's target: N nodes deliver at least what one node does (1 % measurement slack at a fixed
  // offered rate), p99 ≤ 100 ms, nothing lost, duplicated or reordered.
  const targetMet = !!s && clean(c) && ratio >= 0.99 && c.p99_ms <= 100;
  return {
    bench: 'realtime',
    date: new Date().toISOString(),
    database: 'postgres',
    cluster: o.nodeCount,
    visitors: o.visitors, agents: o.agentCount, rate: o.rate, seconds: o.seconds, warmup_seconds: o.warmupSeconds,
    cross_node_pct: round((crossing / o.visitors) * 100, 1),
    roles: o.splitRoles ? 'node a: all; others: api,realtime' : 'all roles on every node',
    ...fields,
    nodes: perNode(o.cluster),
    ...serviceFigures(o.cluster),
    single_msgs_per_s: s?.msgs_per_s ?? null,
    single_p50_ms: s?.p50_ms ?? null,
    single_p99_ms: s?.p99_ms ?? null,
    single_max_ms: s?.max_ms ?? null,
    single_sent: s?.sent ?? null,
    single_delivered: s?.delivered ?? null,
    single_lost: s?.lost ?? null,
    single_duplicated: s?.duplicated ?? null,
    single_out_of_order: s?.out_of_order ?? null,
    single_rss_mb: s?.rss_mb ?? null,
    single_server_cpu_pct: s?.server_cpu_pct ?? null,
    single_timeline_p99_ms: s?.timeline_p99_ms ?? null,
    single_nodes: o.single ? perNode(o.single) : null,
    single_services: o.single ? serviceFigures(o.single) : null,
    ratio_msgs_per_s: s ? round(ratio, 3) : null,
    ratio_p99: s ? round(c.p99_ms / s.p99_ms, 2) : null,
    ratio_server_cpu: s ? round(c.server_cpu_pct / s.server_cpu_pct, 2) : null,
    target_met: targetMet,
    settings_changed: o.settingsChanged,
    setup_s: round(o.setup.seconds, 1),
    server_log_warnings: (o.single?.warnings.length ?? 0) + o.cluster.warnings.length,
    postgres: { version: o.pgInfo.version, synchronous_commit: o.pgInfo.synchronous_commit, max_connections: o.pgInfo.max_connections, database: o.db },
    redis: { ...o.rInfo, prefix: o.prefix },
    loadavg_start: round(o.load0), loadavg_end: round(loadavg()[0]!),
    node: process.version,
    machine: `${cpus()[0]?.model.trim() ?? 'unknown cpu'} ×${cpus().length}, ${Math.round(totalmem() / 2 ** 30)} GB, Linux ${release()}, ${hostname()}`,
  };
}

function formatText(r: ReturnType<typeof buildResult>, single: Phase | undefined, cluster: Phase): string {
  const a = single?.metrics;
  const b = cluster.metrics;
  const row = (name: string, x: unknown, y: unknown) => `  ${name.padEnd(24)} ${String(x ?? '—').padStart(12)}${String(y).padStart(14)}`;
  return [
    '',
    `Huiliu realtime benchmark, cluster — ${r.cluster} nodes on PostgreSQL + Redis, ${r.visitors} visitors → ${r.agents} agents, ${r.rate} msg/s for ${r.seconds} s (${r.node})`,
    `  ${r.machine}; ${r.cross_node_pct}% of visitors on a node other than their agent's`,
    '',
    row('', '1 node', `${r.cluster} nodes`),
    row('sent', a?.sent, b.sent),
    row('delivered', a?.delivered, b.delivered),
    row('lost / dup / ooo', a ? `${a.lost}/${a.duplicated}/${a.out_of_order}` : undefined, `${b.lost}/${b.duplicated}/${b.out_of_order}`),
    row('delivered msg/s', a?.msgs_per_s, b.msgs_per_s),
    row('latency p50 (ms)', a?.p50_ms, b.p50_ms),
    row('latency p99 (ms)', a?.p99_ms, b.p99_ms),
    row('latency max (ms)', a?.max_ms, b.max_ms),
    row('nodes RSS peak (MB)', a ? a.per_node.map((n) => n.rss_mb).join('+') : undefined, b.per_node.map((n) => n.rss_mb).join('+')),
    row('nodes CPU (%)', a ? a.per_node.map((n) => n.cpu_pct).join('+') : undefined, b.per_node.map((n) => n.cpu_pct).join('+')),
    row('msgs in per node', a ? a.per_node.map((n) => n.msgs_in).join('+') : undefined, b.per_node.map((n) => n.msgs_in).join('+')),
    row('msgs out per node', a ? a.per_node.map((n) => n.msgs_out).join('+') : undefined, b.per_node.map((n) => n.msgs_out).join('+')),
    row('PostgreSQL CPU (%)', r.single_services?.postgres_cpu_pct, r.postgres_cpu_pct),
    row('Redis CPU (%)', r.single_services?.redis_cpu_pct, r.redis_cpu_pct),
    row('PG commits / msg', r.single_services?.pg_commits_per_msg, r.pg_commits_per_msg),
    row('PG WAL KB / msg', r.single_services?.pg_wal_kb_per_msg, r.pg_wal_kb_per_msg),
    row('Redis stream entries/msg', r.single_services?.redis_stream_entries_per_msg, r.redis_stream_entries_per_msg),
    '',
    `  ratio ${r.cluster} nodes / 1 node: msg/s ×${r.ratio_msgs_per_s}, p99 ×${r.ratio_p99}, server CPU ×${r.ratio_server_cpu}`,
    `  target (${r.cluster} nodes deliver ≥ 1 node, p99 ≤ 100 ms, nothing lost/duplicated/reordered): ${r.target_met ? 'MET' : 'NOT MET'}`,
    `  p99 by second of sending (ms), ${r.cluster} nodes: ${b.timeline_p99_ms.join(' ')}`,
    ...(a ? [`  p99 by second of sending (ms), 1 node: ${a.timeline_p99_ms.join(' ')}`] : []),
    `  load average: ${r.loadavg_start} → ${r.loadavg_end} (${cpus().length} cores); PostgreSQL CPU: this database's backends; Redis CPU and PG WAL: server-wide (shared services)`,
    '',
  ].join('\n');
}
