import { parseArgs, intFlag, stringFlag } from '../bench/args.ts';
import { CLUSTER_FAULTS, installSignalCleanup, runCluster, runEmbedded, type ChaosOptions, type ClusterFault, type ModeResult } from './run.ts';

const USAGE = `usage: npm run chaos -- [--json] [--mode cluster|embedded|all] [--seconds 120] [--visitors 20] [--agents 4]
                        [--faults ${CLUSTER_FAULTS.join(',')}] [--embedded-kills 2] [--think-ms 100]

Starts its own PostgreSQL cluster and redis-server (free ports, temp data dirs), Huiliu nodes as child
processes behind a round-robin TCP balancer, visitors that send messages with unique ids and agents that
receive them; injects the faults while they run, waits for quiet and compares: acknowledged ⇒ stored,
stored ⇒ shown to the agent exactly once, per-conversation order kept. See docs/durability.md.
With --json the last stdout line is one JSON object; progress goes to stderr. Exit code 1 when anything
was lost, duplicated or reordered.`;

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), new Set(['json', 'help']));
  if (args.flags.has('help')) {
    console.log(USAGE);
    return;
  }
  const mode = (stringFlag(args, 'mode') ?? 'all') as ChaosOptions['mode'];
  if (!['cluster', 'embedded', 'all'].includes(mode)) throw new Error('--mode must be cluster, embedded or all');
  const faults = (stringFlag(args, 'faults') ?? CLUSTER_FAULTS.join(',')).split(',').map((f) => f.trim()).filter(Boolean) as ClusterFault[];
  for (const f of faults) if (!CLUSTER_FAULTS.includes(f)) throw new Error(`--faults: unknown fault "${f}" (known: ${CLUSTER_FAULTS.join(', ')})`);
  const log = (s: string) => process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
  const o: ChaosOptions = {
    mode,
    seconds: intFlag(args, 'seconds', 120),
    visitors: intFlag(args, 'visitors', 20),
    agents: intFlag(args, 'agents', 4),
    faults,
    embeddedKills: intFlag(args, 'embedded-kills', 2, 0),
    thinkMs: intFlag(args, 'think-ms', 100, 0),
    log,
  };
  if (o.agents > o.visitors) throw new Error('--agents must not exceed --visitors');
  installSignalCleanup(log);

  const runs: ModeResult[] = [];
  if (mode === 'cluster' || mode === 'all') runs.push(await runCluster(o));
  if (mode === 'embedded' || mode === 'all') runs.push(await runEmbedded(o));

  const sum = (k: 'acked' | 'stored' | 'delivered' | 'lost' | 'duplicated' | 'out_of_order' | 'sent' | 'unanswered') => runs.reduce((s, r) => s + r[k], 0);
  const byFault: Record<string, { injected: number; lost: number; duplicated: number; out_of_order: number; max_ack_gap_s: number | null }> = {};
  for (const r of runs) {
    for (const [k, v] of Object.entries(r.by_fault)) {
      const b = (byFault[k] ??= { injected: 0, lost: 0, duplicated: 0, out_of_order: 0, max_ack_gap_s: null });
      b.injected += v.injected;
      b.lost += v.lost;
      b.duplicated += v.duplicated;
      b.out_of_order += v.out_of_order;
      if (v.max_ack_gap_s !== null) b.max_ack_gap_s = Math.max(b.max_ack_gap_s ?? 0, v.max_ack_gap_s);
    }
  }
  const jobs = runs.find((r) => r.jobs)?.jobs;
  // Also a failure: a visitor still unanswered 30 s after sending stopped (stuck client), a job that died or was left behind.
  // And a node process that crashed on its own.
  const crashed = runs.reduce((s, r) => s + (r.node_crashes ?? 0), 0);
  const ok = sum('lost') === 0 && sum('duplicated') === 0 && sum('out_of_order') === 0 && sum('acked') > 0 && sum('unanswered') === 0 && crashed === 0 && (!jobs || (jobs.dead === 0 && jobs.stuck === 0));
  const result = {
    bench: 'chaos',
    date: new Date().toISOString(),
    mode,
    ok,
    sent: sum('sent'),
    acked: sum('acked'),
    unanswered: sum('unanswered'),
    stored: sum('stored'),
    delivered: sum('delivered'),
    lost: sum('lost'),
    duplicated: sum('duplicated'),
    out_of_order: sum('out_of_order'),
    by_fault: byFault,
    runs: runs.map(({ by_fault: _b, ...r }) => ({ ...r, not_stored: r.not_stored.slice(0, 20), not_delivered: r.not_delivered.slice(0, 20), stored_twice: r.stored_twice.slice(0, 20), shown_twice: r.shown_twice.slice(0, 20), out_of_order_at: r.out_of_order_at.slice(0, 20) })),
    faults: runs.flatMap((r) => r.faults.map((f) => ({ run: r.mode, ...f }))),
    node: process.version,
  };
  if (args.flags.has('json')) process.stdout.write(JSON.stringify(result) + '\n');
  else console.log(JSON.stringify(result, null, 2));
  if (!ok) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`chaos: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exitCode = 2;
});
