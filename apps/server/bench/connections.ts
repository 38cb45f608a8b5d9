import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, hostname, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, intFlag } from './args.ts';
import { closeHttpAgents, expectStatus, loopbackAddress, mapLimit } from './http.ts';
import { cleanServerEnv, cpuSeconds, freePort, REPO_ROOT, rssMb, SERVER_MAIN, sleep, startChild, waitForHealthy, type Child } from './proc.ts';
import { round, summarize } from './stats.ts';
import type { ConnectedReport, ConnectJob } from './connections-client.ts';

const BENCH_DIR = resolve(REPO_ROOT, 'apps/server/bench');
const USAGE = `usage: npm run bench -- connections [--connections 10000] [--client-procs 4] [--concurrency 64]
                                 [--hold-seconds 25] [--json]

Memory of idle widget connections on ONE node with the shipped defaults (embedded database in a fresh temp
dir). Creates one visitor session per connection through the public widget API (POST
/api/widget/v1/sessions, each from its own loopback address 127.1.x.y because of the per-IP rate limit),
then opens one Socket.IO WebSocket per visitor from that same address, spread over --client-procs forked
client processes with --concurrency connects in flight in total, and holds them for --hold-seconds (longer
than the 20 s ping interval, so every socket has been pinged at least once).

Prints connections, rss_mb (peak VmRSS of the server while all are held), connect_p99_ms, plus the RSS
before connecting and per connection. Only the server process is measured (/proc/<pid>/status).
Needs a file-descriptor limit (ulimit -n) above the connection count: the server holds one per socket.
With --json the last stdout line is one JSON object; progress goes to stderr.`;

/** The shell's soft limit on open files, which every process started from here inherits. */
function fdLimit(): number {
  try {
    const out = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
    return out === 'unlimited' ? Infinity : Number(out);
  } catch {
    return NaN;
  }
}

export async function connections(argv: string[]): Promise<void> {
  const args = parseArgs(argv, new Set(['json', 'help']));
  if (args.flags.has('help')) {
    console.log(USAGE);
    return;
  }
  const target = intFlag(args, 'connections', 10_000);
  const procs = Math.min(intFlag(args, 'client-procs', 4), target);
  const concurrency = Math.max(procs, intFlag(args, 'concurrency', 64));
  const holdMs = intFlag(args, 'hold-seconds', 25, 0) * 1000;
  const json = args.flags.has('json');
  const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);
  // 250 addresses per 127.1.x.0/24, x ≤ 255: room for 63,750 visitors.
  if (target > 63_750) throw new Error('--connections: at most 63750 (one loopback address per visitor)');

  // The server needs one descriptor per socket plus its own (database files, listeners); each client
  // process one per socket it holds.
  const limit = fdLimit();
  const needed = target + 1024;
  if (!(limit >= needed)) {
    throw new Error(`ulimit -n is ${limit}; ${target} connections need at least ${needed} open files in the server. Raise it first, e.g. \`ulimit -n 65536\` (up to the hard limit \`ulimit -Hn\`), then run again`);
  }

  const load0 = loadavg()[0]!;
  const tmp = await mkdtemp(join(tmpdir(), 'huiliu-bench-conn-'));
  const children: Child[] = [];
  const clients: ChildProcess[] = [];
  const onSignal = () => {
    for (const c of children) c.proc.kill('SIGKILL');
    for (const c of clients) c.kill('SIGKILL');
    void rm(tmp, { recursive: true, force: true }).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    const baseEnv = cleanServerEnv();
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...baseEnv, PORT: String(port), HUILIU_DATA_DIR: join(tmp, 'data'), LOG_LEVEL: 'warn' };
    log(`starting huiliu (embedded PGlite, shipped defaults) on port ${port}; ulimit -n ${limit}`);
    const server = startChild(['--import', 'tsx', SERVER_MAIN, 'start'], env, 'huiliu server');
    children.push(server);
    // A first embedded start seeds the demo workspace and prints its widget inbox.
    const publicId = (await server.waitForOutput(/widget inbox publicId\s+(\S+)/, 120_000))[1]!;
    const url = `http://127.0.0.1:${port}`;
    await waitForHealthy(`${url}/healthz`, server, 60_000);
    await sleep(2000);
    const rssStart = rssMb(server.pid) ?? NaN;
    log(`server up (pid ${server.pid}, ${rssStart.toFixed(0)} MB RSS); creating ${target} visitor sessions through the widget API`);

    // ---- visitor sessions, each from its own address ----
    const ts = performance.now();
    let made = 0;
    const visitors = await mapLimit(Array.from({ length: target }, (_, i) => i), 16, async (i) => {
      const localAddress = loopbackAddress(1, i);
      const s = await expectStatus(url, 'POST', '/api/widget/v1/sessions', 200, { localAddress, body: { inboxPublicId: publicId, name: `Idle visitor ${i + 1}` } });
      if (++made % 1000 === 0) log(`sessions: ${made}/${target} (${((performance.now() - ts) / 1000).toFixed(1)} s)`);
      return { visitorToken: s.visitorToken as string, localAddress };
    });
    const sessionsS = (performance.now() - ts) / 1000;
    closeHttpAgents();
    await sleep(3000);
    const rssBefore = rssMb(server.pid) ?? NaN;
    log(`${target} sessions in ${sessionsS.toFixed(1)} s; server RSS before connecting ${rssBefore.toFixed(0)} MB; connecting from ${procs} client processes, ${concurrency} in flight`);

    // ---- connect, spread over client processes ----
    await Promise.all(
      Array.from({ length: procs }, () => {
        const child = fork(join(BENCH_DIR, 'connections-client.ts'), [], { cwd: REPO_ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        clients.push(child);
        return nextMessage(child, 'ready');
      }),
    );
    const cpu0 = cpuSeconds(server.pid) ?? NaN;
    let peakDuringConnect = rssBefore;
    const connectSampler = setInterval(() => (peakDuringConnect = Math.max(peakDuringConnect, rssMb(server.pid) ?? 0)), 500);
    const tc = performance.now();
    const reports = await Promise.all(
      clients.map((child, p) => {
        const share = visitors.filter((_, i) => i % procs === p);
        const report = nextMessage<ConnectedReport>(child, 'connected');
        child.send({ type: 'connect', url, visitors: share, concurrency: Math.ceil(concurrency / procs) } satisfies ConnectJob);
        return report;
      }),
    );
    const connectWallS = (performance.now() - tc) / 1000;
    clearInterval(connectSampler);
    const cpuConnect = ((cpuSeconds(server.pid) ?? NaN) - cpu0) / connectWallS * 100;
    const latencies = reports.flatMap((r) => r.latencies);
    const failures = reports.reduce((a, r) => a + r.failures, 0);
    const firstError = reports.find((r) => r.firstError)?.firstError;
    log(`${latencies.length} connected, ${failures} failed in ${connectWallS.toFixed(1)} s${firstError ? ` (first error: ${firstError})` : ''}; holding for ${holdMs / 1000} s`);

    // ---- hold: every socket idle; the server pings each one every 20 s ----
    const samples: number[] = [];
    const cpuH0 = cpuSeconds(server.pid) ?? NaN;
    const th = performance.now();
    while (performance.now() - th < holdMs || samples.length === 0) {
      const r = rssMb(server.pid);
      if (r !== undefined) samples.push(r);
      await sleep(1000);
    }
    const cpuHold = ((cpuSeconds(server.pid) ?? NaN) - cpuH0) / ((performance.now() - th) / 1000) * 100;
    const rssPeak = Math.max(peakDuringConnect, ...samples);
    const rssHeld = samples[samples.length - 1]!;

    const closed = await Promise.all(clients.map((c) => {
      const p = nextMessage<{ disconnects: number; open: number }>(c, 'closed');
      c.send({ type: 'close' });
      return p;
    }));
    const disconnects = closed.reduce((a, c) => a + c.disconnects, 0);
    const open = closed.reduce((a, c) => a + c.open, 0);
    await Promise.all(clients.map((c) => (c.exitCode === null ? (c.kill('SIGTERM'), new Promise((r) => c.once('exit', r))) : undefined)));
    const serverWarnings = server.output().split('\n').filter((l) => /"level":(40|50|60)/.test(l));
    await server.stop();

    const lat = summarize(latencies);
    const result = {
      bench: 'connections',
      date: new Date().toISOString(),
      database: 'pglite',
      connections: open,
      attempted: target,
      failed: failures,
      dropped_while_held: disconnects,
      rss_mb: round(rssPeak, 1),
      connect_p99_ms: round(lat.p99),
      rss_start_mb: round(rssStart, 1),
      rss_before_mb: round(rssBefore, 1),
      rss_held_mb: round(rssHeld, 1),
      rss_per_connection_kb: round(((rssHeld - rssBefore) * 1024) / Math.max(1, latencies.length), 1),
      connect_p50_ms: round(lat.p50),
      connect_max_ms: round(lat.max),
      connect_s: round(connectWallS, 1),
      connects_per_s: round(latencies.length / connectWallS, 0),
      server_cpu_pct_connecting: round(cpuConnect, 0),
      server_cpu_pct_idle_held: round(cpuHold, 1),
      sessions_s: round(sessionsS, 1),
      hold_s: holdMs / 1000,
      client_procs: procs,
      concurrency,
      fd_limit: limit,
      target_met: open === target && rssPeak <= 1536,
      settings_changed: [],
      server_log_warnings: serverWarnings.length,
      loadavg_start: round(load0), loadavg_end: round(loadavg()[0]!),
      node: process.version,
      machine: `${cpus()[0]?.model.trim() ?? 'unknown cpu'} ×${cpus().length}, ${Math.round(totalmem() / 2 ** 30)} GB, Linux ${release()}, ${hostname()}`,
    };
    if (serverWarnings.length) log(`server logged ${serverWarnings.length} warning/error lines, e.g.:\n${serverWarnings.slice(0, 5).join('\n')}`);
    if (json) process.stdout.write(JSON.stringify(result) + '\n');
    else {
      console.log([
        '',
        `Huiliu idle connections — ${target} widget sockets on one node (embedded, shipped defaults, ${result.node})`,
        `  ${result.machine}`,
        '',
        `  connections held           ${open} / ${target} (${failures} failed, ${disconnects} dropped while held)`,
        `  server RSS start / before / held / peak (MB)   ${result.rss_start_mb} / ${result.rss_before_mb} / ${result.rss_held_mb} / ${result.rss_mb}`,
        `  RSS per connection         ${result.rss_per_connection_kb} KB`,
        `  connect p50 / p99 / max    ${result.connect_p50_ms} / ${result.connect_p99_ms} / ${result.connect_max_ms} ms (${concurrency} in flight, ${result.connects_per_s}/s, ${result.connect_s} s in all)`,
        `  server CPU connecting / idle held   ${result.server_cpu_pct_connecting}% / ${result.server_cpu_pct_idle_held}%`,
        `  target (${target} held, RSS ≤ 1.5 GB): ${result.target_met ? 'MET' : 'NOT MET'}`,
        `  load average: ${result.loadavg_start} → ${result.loadavg_end} (${cpus().length} cores)`,
        '',
      ].join('\n'));
    }
  } finally {
    for (const c of clients) if (c.exitCode === null) c.kill('SIGKILL');
    for (const c of children) await c.stop(5_000).catch(() => {});
    await rm(tmp, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function nextMessage<T>(child: ChildProcess, type: string): Promise<T> {
  return new Promise((resolveMsg, reject) => {
    const onMsg = (m: { type: string; message?: string }) => {
      if (m.type === 'error') return done(() => reject(new Error(`connections client: ${m.message}`)));
      if (m.type === type) done(() => resolveMsg(m as T));
    };
    const onExit = () => done(() => reject(new Error('connections client exited unexpectedly')));
    const done = (f: () => void) => {
      child.off('message', onMsg);
      child.off('exit', onExit);
      f();
    };
    child.on('message', onMsg);
    child.once('exit', onExit);
  });
}
