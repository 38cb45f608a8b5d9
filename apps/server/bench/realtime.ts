import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { cpus, hostname, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, intFlag, stringFlag } from './args.ts';
import { closeHttpAgents } from './http.ts';
import { formatProfile, summarizeProfile, type ProfileSummary } from './cpuprofile.ts';
import type { LoadResult, LoadSetup } from './load-client.ts';
import { cleanServerEnv, freePort, processSampler, REPO_ROOT, rssMb, SERVER_MAIN, startChild, waitForHealthy, type Child } from './proc.ts';
import { setupWorkspace, type SetupResult } from './setup.ts';
import { round, summarize } from './stats.ts';
import { realtimeCluster } from './cluster-realtime.ts';

const BENCH_DIR = resolve(REPO_ROOT, 'apps/server/bench');
const USAGE = `usage: npm run bench -- realtime [--visitors 500] [--agents 20] [--rate 1000] [--seconds 15]
                              [--drain-seconds 5] [--database-url postgres://…] [--no-baseline]
                              [--server-cpu-prof] [--json]
       npm run bench -- realtime --cluster 2 [same load flags] [--database-url …] [--redis-url …]   (see --cluster 2 --help)

Starts Huiliu as a child process with its shipped defaults (embedded database in a fresh temp dir, or
--database-url), sets up agents/visitors/conversations through the API, then measures visitor → agent
message delivery over Socket.IO, and the same load against a bare Socket.IO relay (baseline).
With --json the last stdout line is one JSON object; progress goes to stderr.
--server-cpu-prof runs the server with --cpu-prof and prints its hottest functions during the load.`;


export interface RunMetrics {
  sent: number;
  acked: number;
  nacked: number;
  nack_codes: Record<string, number>;
  unanswered: number;
  delivered: number;
  lost: number;
  duplicated: number;
  out_of_order: number;
  misrouted: number;
  disconnects: number;
  msgs_per_s: number;
  send_rate: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  p999_ms: number;
  max_ms: number;
  ack_p50_ms: number;
  ack_p99_ms: number;
  rss_mb: number;
  server_cpu_pct: number;
  client_cpu_pct: number;
  client_loop_lag_p99_ms: number;
  client_loop_lag_max_ms: number;
  warmup_delivered: number;
  connect_s: number;
  timeline_p99_ms: number[];
  timeline_delivered: number[];
  window_hr: [bigint, bigint];
  /** One entry per server process (one for a single server): its peak RSS, CPU and the messages it handled. */
  per_node: NodeMetrics[];
}

export interface NodeMetrics {
  pid: number;
  rss_mb: number;
  cpu_pct: number;
  /** Visitor messages acked by this node / first receipts by agents connected to it / of those, sent through another node. */
  msgs_in: number;
  msgs_out: number;
  msgs_out_cross_node: number;
}

/** Where each socket connects when the load runs against several nodes (index into `urls`). */
export interface Topology {
  urls: string[];
  visitorNode(visitorIndex: number): number;
  agentNode(agentIndex: number): number;
}

export interface LoadHooks {
  /** Called right before the measured load (after connect and warm-up started) and when it ends. */
  onStart?(): void;
  onEnd?(): void;
}

/**
 * One measured load against `url` (one server) or, with `topology`, against several nodes. `serverPid`
 * lists the server processes to sample (one per node); rss_mb / server_cpu_pct are their sums.
 */
export async function runLoad(
  url: string, setup: SetupResult, cfg: { rate: number; seconds: number; drainMs: number; tickMs: number; warmupSeconds?: number },
  serverPid: number | number[], log: (s: string) => void, label: string, hooks: LoadHooks = {}, topology?: Topology,
): Promise<RunMetrics> {
  const pids = Array.isArray(serverPid) ? serverPid : [serverPid];
  const child = fork(join(BENCH_DIR, 'load-client.ts'), [], { cwd: REPO_ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  child.stdout!.on('data', (d: Buffer) => process.stderr.write(d));
  child.stderr!.on('data', (d: Buffer) => process.stderr.write(d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const next = <T>(type: string): Promise<T> =>
    new Promise((resolveMsg, reject) => {
      const onMsg = (m: { type: string; message?: string }) => {
        if (m.type === 'error') return done(() => reject(new Error(`${label} load client: ${m.message}`)));
        if (m.type === type) done(() => resolveMsg(m as T));
      };
      const onExit = () => done(() => reject(new Error(`${label} load client exited unexpectedly`)));
      const done = (f: () => void) => {
        child.off('message', onMsg);
        child.off('exit', onExit);
        f();
      };
      child.on('message', onMsg);
      child.once('exit', onExit);
    });
  try {
    const msg: LoadSetup = {
      type: 'setup', url,
      ...(topology ? { urls: topology.urls } : {}),
      visitors: setup.visitors.map((v, i) => ({ visitorToken: v.visitorToken, conversationId: v.conversationId, agent: v.agent, ...(topology ? { node: topology.visitorNode(i) } : {}) })),
      agents: setup.agents.map((a, i) => ({ token: a.token, ...(topology ? { node: topology.agentNode(i) } : {}) })),
      ...cfg,
    };
    child.send(msg);
    const connected = await next<{ connectMs: number }>('connected');
    log(`${label}: ${setup.visitors.length + setup.agents.length} sockets connected in ${(connected.connectMs / 1000).toFixed(1)} s; warm-up, then ${cfg.rate} msg/s for ${cfg.seconds} s`);
    const samplers = pids.map((pid) => processSampler(pid, 1000));
    const r = await (async () => {
      try {
        hooks.onStart?.();
        child.send({ type: 'go' });
        return await next<LoadResult>('result');
      } catch (err) {
        for (const s of samplers) s.stop();
        throw err;
      }
    })();
    hooks.onEnd?.();
    const procs = samplers.map((s) => s.stop());
    const proc = { maxRssMb: procs.reduce((a, p) => a + p.maxRssMb, 0), cpuPct: procs.reduce((a, p) => a + p.cpuPct, 0) };
    const lat = summarize(r.latencies);
    const ack = summarize(r.ackLatencies);
    const spanS = (r.lastDeliveryMs - r.firstSendMs) / 1000;
    return {
      sent: r.sent, acked: r.acked, nacked: r.nacked, nack_codes: r.nackCodes, unanswered: r.unanswered,
      delivered: r.delivered, lost: r.lost, duplicated: r.duplicated, out_of_order: r.outOfOrder, misrouted: r.misrouted, disconnects: r.disconnects,
      msgs_per_s: round(spanS > 0 ? r.delivered / spanS : 0, 1),
      send_rate: round(r.sent > 1 ? (r.sent - 1) / (r.lastSendMs / 1000) : r.sent, 1),
      p50_ms: round(lat.p50), p90_ms: round(lat.p90), p99_ms: round(lat.p99), p999_ms: round(lat.p999), max_ms: round(lat.max),
      ack_p50_ms: round(ack.p50), ack_p99_ms: round(ack.p99),
      rss_mb: round(proc.maxRssMb, 1), server_cpu_pct: round(proc.cpuPct, 0),
      client_cpu_pct: round(r.cpuPct, 0), client_loop_lag_p99_ms: round(r.loopLagP99Ms), client_loop_lag_max_ms: round(r.loopLagMaxMs),
      warmup_delivered: r.warmup.delivered, connect_s: round(r.connectMs / 1000, 1),
      timeline_p99_ms: r.timeline.map((b) => b.p99), timeline_delivered: r.timeline.map((b) => b.delivered),
      window_hr: [BigInt(r.windowHr[0]), BigInt(r.windowHr[1])],
      per_node: pids.map((pid, i) => ({
        pid, rss_mb: round(procs[i]!.maxRssMb, 1), cpu_pct: round(procs[i]!.cpuPct, 0),
        msgs_in: r.perNode[i]?.in ?? 0, msgs_out: r.perNode[i]?.out ?? 0, msgs_out_cross_node: r.perNode[i]?.outCross ?? 0,
      })),
    };
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  }
}

export async function realtime(argv: string[]): Promise<void> {
  const args = parseArgs(argv, new Set(['json', 'no-baseline', 'server-cpu-prof', 'help', 'split-roles']));
  // Several nodes on PostgreSQL + Redis: its own driver (bench/cluster-realtime.ts), same load and fields.
  if (args.flags.has('cluster')) return realtimeCluster(args);
  if (args.flags.has('help')) {
    console.log(USAGE);
    return;
  }
  const visitors = intFlag(args, 'visitors', 500);
  const agentCount = intFlag(args, 'agents', 20);
  const rate = intFlag(args, 'rate', 1000);
  const seconds = intFlag(args, 'seconds', 15);
  const drainMs = intFlag(args, 'drain-seconds', 5, 0) * 1000;
  const tickMs = intFlag(args, 'tick-ms', 5);
  const databaseUrl = stringFlag(args, 'database-url');
  const json = args.flags.has('json');
  const baseline = !args.flags.has('no-baseline');
  const cpuProf = args.flags.has('server-cpu-prof');
  if (agentCount > visitors) throw new Error('--agents must not exceed --visitors');
  const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);
  const settingsChanged: string[] = [];

  const load0 = loadavg()[0]!;
  const tmp = await mkdtemp(join(tmpdir(), 'huiliu-bench-'));
  const profDir = cpuProf ? await mkdtemp(join(tmpdir(), 'huiliu-bench-prof-')) : undefined;
  const children: Child[] = [];
  const onSignal = () => {
    for (const c of children) c.proc.kill('SIGKILL');
    void rm(tmp, { recursive: true, force: true }).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    // ---- the Huiliu server, shipped defaults ----
    const baseEnv = cleanServerEnv();
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...baseEnv, PORT: String(port), HUILIU_DATA_DIR: join(tmp, 'data'), LOG_LEVEL: 'warn', ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) };
    let adminEmail = 'admin@bench.huiliu.local';
    let adminPassword = `bench-${randomBytes(9).toString('base64url')}`;
    let publicId: string | undefined;
    if (databaseUrl) {
      log('creating the admin (huiliu admin create) on PostgreSQL');
      const c = startChild(['--import', 'tsx', SERVER_MAIN, 'admin', 'create', '--email', adminEmail, '--password', adminPassword, '--workspace', 'bench'], env, 'admin create');
      children.push(c);
      const code = await c.exited;
      if (code !== 0) throw new Error(`admin create failed (${code}):\n${c.output().slice(-2000)}`);
    }
    const serverArgs = [...(profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []), '--import', 'tsx', SERVER_MAIN, 'start'];
    log(`starting huiliu (${databaseUrl ? 'PostgreSQL' : 'embedded PGlite'}) on port ${port}`);
    const server = startChild(serverArgs, env, 'huiliu server');
    children.push(server);
    const banner = (await server.waitForOutput(/is running[\s\S]*?(?:Realtime[^\n]*\n)(?:[\s\S]*?widget inbox publicId\s+(\S+))?/, 120_000))[0];
    if (!databaseUrl) {
      // A first embedded start prints the demo credentials once: wait for the whole block.
      const m = await server.waitForOutput(/admin\s+(\S+@\S+)[\s\S]*?password\s+(\S+)[\s\S]*?widget inbox publicId\s+(\S+)/, 30_000);
      adminEmail = m[1]!;
      adminPassword = m[2]!;
      publicId = m[3]!;
    }
    void banner;
    const url = `http://127.0.0.1:${port}`;
    await waitForHealthy(`${url}/healthz`, server, 60_000);
    const idleRss = rssMb(server.pid);
    log(`server up (pid ${server.pid}, ${idleRss?.toFixed(0)} MB RSS); setting up ${agentCount} agents and ${visitors} visitors through the API`);

    const setup = await setupWorkspace(url, { adminEmail, adminPassword, ...(databaseUrl ? { workspace: 'bench' } : {}), ...(publicId ? { publicId } : {}), agents: agentCount, visitors, log });
    closeHttpAgents();
    log(`setup done in ${setup.seconds.toFixed(1)} s`);

    const cfg = { rate, seconds, drainMs, tickMs };
    const huiliu = await runLoad(url, setup, cfg, server.pid, log, 'huiliu');
    log(`huiliu: delivered ${huiliu.delivered}/${huiliu.sent}, ${huiliu.msgs_per_s} msg/s, p50 ${huiliu.p50_ms} ms, p99 ${huiliu.p99_ms} ms, server CPU ${huiliu.server_cpu_pct}%`);
    const serverTail = server.output().split('\n').filter((l) => /"level":(40|50|60)/.test(l));
    await server.stop();

    let profile: ProfileSummary | undefined;
    let profileFile: string | undefined;
    if (profDir) {
      const files = (await readdir(profDir)).filter((f) => f.endsWith('.cpuprofile'));
      if (files.length) {
        profileFile = join(profDir, files[0]!);
        profile = summarizeProfile(profileFile, huiliu.window_hr);
        process.stderr.write(`\n${formatProfile(profile)}\n\n(profile kept at ${profileFile})\n`);
      } else log(`no .cpuprofile was written in ${profDir}`);
    }

    // ---- baseline: bare Socket.IO relay, same clients ----
    let base: RunMetrics | undefined;
    if (baseline) {
      const mappingFile = join(tmp, 'relay-mapping.json');
      await writeFile(mappingFile, JSON.stringify({
        visitors: setup.visitors.map((v) => ({ visitorToken: v.visitorToken, conversationId: v.conversationId, contactId: v.contactId, agentToken: setup.agents[v.agent]!.token })),
        agents: setup.agents.map((a) => ({ token: a.token, userId: a.userId })),
      }));
      const relayPort = await freePort();
      const relay = startChild(['--import', 'tsx', join(BENCH_DIR, 'relay-server.ts'), mappingFile], { ...baseEnv, PORT: String(relayPort) }, 'relay');
      children.push(relay);
      await relay.waitForOutput(/relay listening (\d+)/, 60_000);
      base = await runLoad(`http://127.0.0.1:${relayPort}`, setup, cfg, relay.pid, log, 'baseline');
      log(`baseline: delivered ${base.delivered}/${base.sent}, ${base.msgs_per_s} msg/s, p50 ${base.p50_ms} ms, p99 ${base.p99_ms} ms`);
      await relay.stop();
    }

    const targetMet = huiliu.delivered === huiliu.sent && huiliu.msgs_per_s >= rate * 0.99 && rate >= 1000 && huiliu.p99_ms <= 50 && huiliu.lost === 0 && huiliu.duplicated === 0 && huiliu.out_of_order === 0;
    const { window_hr: _w, per_node: _p, ...h } = huiliu;
    const result = {
      bench: 'realtime',
      date: new Date().toISOString(),
      database: databaseUrl ? 'postgres' : 'pglite',
      visitors, agents: agentCount, rate, seconds,
      ...h,
      rss_idle_mb: round(idleRss ?? NaN, 1),
      baseline_msgs_per_s: base?.msgs_per_s ?? null,
      baseline_p50_ms: base?.p50_ms ?? null,
      baseline_p99_ms: base?.p99_ms ?? null,
      baseline_max_ms: base?.max_ms ?? null,
      baseline_delivered: base?.delivered ?? null,
      baseline_lost: base?.lost ?? null,
      baseline_duplicated: base?.duplicated ?? null,
      baseline_out_of_order: base?.out_of_order ?? null,
      baseline_rss_mb: base?.rss_mb ?? null,
      baseline_server_cpu_pct: base?.server_cpu_pct ?? null,
      baseline_timeline_p99_ms: base?.timeline_p99_ms ?? null,
      target_met: targetMet,
      settings_changed: settingsChanged,
      setup_s: round(setup.seconds, 1),
      server_log_warnings: serverTail.length,
      ...(profileFile ? { server_cpu_profile: profileFile, server_profile_top: profile!.selfTop.slice(0, 8).map((r) => `${r.pct}% ${r.fn}`) } : {}),
      // The machine's 1-minute load average before and after: above ~2 (2 cores) other processes competed.
      loadavg_start: round(load0), loadavg_end: round(loadavg()[0]!),
      node: process.version,
      machine: `${cpus()[0]?.model.trim() ?? 'unknown cpu'} ×${cpus().length}, ${Math.round(totalmem() / 2 ** 30)} GB, Linux ${release()}, ${hostname()}`,
    };
    if (serverTail.length) log(`server logged ${serverTail.length} warning/error lines, e.g.:\n${serverTail.slice(0, 5).join('\n')}`);
    if (json) {
      process.stdout.write(JSON.stringify(result) + '\n');
    } else {
      const row = (name: string, a: unknown, b?: unknown) => `  ${name.padEnd(22)} ${String(a).padStart(12)}${b === undefined ? '' : String(b).padStart(14)}`;
      console.log(
        [
          '',
          `Huiliu realtime benchmark — ${result.database}, ${visitors} visitors → ${agentCount} agents, ${rate} msg/s for ${seconds} s (${result.node})`,
          `  ${result.machine}`,
          '',
          row('', 'huiliu', base ? 'bare relay' : undefined),
          row('sent', huiliu.sent, base?.sent),
          row('acked', huiliu.acked, base?.acked),
          row('delivered', huiliu.delivered, base?.delivered),
          row('lost', huiliu.lost, base?.lost),
          row('duplicated', huiliu.duplicated, base?.duplicated),
          row('out of order', huiliu.out_of_order, base?.out_of_order),
          row('delivered msg/s', huiliu.msgs_per_s, base?.msgs_per_s),
          row('latency p50 (ms)', huiliu.p50_ms, base?.p50_ms),
          row('latency p99 (ms)', huiliu.p99_ms, base?.p99_ms),
          row('latency max (ms)', huiliu.max_ms, base?.max_ms),
          row('ack p99 (ms)', huiliu.ack_p99_ms, base?.ack_p99_ms),
          row('server RSS peak (MB)', huiliu.rss_mb, base?.rss_mb),
          row('server CPU (%)', huiliu.server_cpu_pct, base?.server_cpu_pct),
          row('client CPU (%)', huiliu.client_cpu_pct, base?.client_cpu_pct),
          row('client loop lag p99', huiliu.client_loop_lag_p99_ms, base?.client_loop_lag_p99_ms),
          '',
          `  target (≥${rate >= 1000 ? rate : 1000} msg/s kept, p99 ≤ 50 ms, nothing lost/duplicated/reordered): ${targetMet ? 'MET' : 'NOT MET'}`,
          `  p99 by second of sending (ms): ${huiliu.timeline_p99_ms.join(' ')}`,
          ...(base ? [`  baseline p99 by second (ms): ${base.timeline_p99_ms.join(' ')}`] : []),
          `  load average: ${result.loadavg_start} → ${result.loadavg_end} (${cpus().length} cores)`,
          `  settings changed: ${settingsChanged.length ? settingsChanged.join(', ') : 'none (shipped defaults)'}`,
          ...(huiliu.nacked ? [`  nacks: ${JSON.stringify(huiliu.nack_codes)}`] : []),
          ...(profile ? ['', formatProfile(profile)] : []),
          '',
        ].join('\n'),
      );
    }
  } finally {
    for (const c of children) await c.stop(5_000).catch(() => {});
    await rm(tmp, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
