import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * The short version of `npm run chaos` (docs/durability.md), so the harness never rots: both modes, every
 * fault kind once, a handful of visitors. Counts only — timings are printed by the harness, never asserted.
 * The harness runs as a child process: it owns its PostgreSQL, Redis and node processes and cleans them up
 * itself, also when this test is interrupted (SIGTERM).
 */
const root = new URL('../../../', import.meta.url).pathname;

interface ChaosOutput {
  ok: boolean;
  acked: number;
  stored: number;
  delivered: number;
  lost: number;
  duplicated: number;
  out_of_order: number;
  unanswered: number;
  by_fault: Record<string, { injected: number; lost: number; duplicated: number; out_of_order: number }>;
  runs: { mode: string; acked: number; jobs?: { dead: number; stuck: number } }[];
}

function runHarness(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'apps/server/chaos/main.ts', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('fault harness (short)', () => {
  it('loses, duplicates and reorders nothing through every fault kind, cluster and embedded', async () => {
    const r = await runHarness(['--json', '--mode', 'all', '--seconds', '40', '--visitors', '6', '--agents', '2', '--embedded-kills', '1'], 420_000);
    const last = r.stdout.trim().split('\n').pop() ?? '';
    let out: ChaosOutput;
    try {
      out = JSON.parse(last) as ChaosOutput;
    } catch {
      throw new Error(`harness printed no JSON (exit ${r.code}):\n${r.stderr.slice(-6000)}`);
    }
    const summary = JSON.stringify(out).slice(0, 6000);
    expect(out.acked, summary).toBeGreaterThan(0);
    for (const run of out.runs) expect(run.acked, `${run.mode}: ${summary}`).toBeGreaterThan(0);
    expect({ lost: out.lost, duplicated: out.duplicated, out_of_order: out.out_of_order }, summary).toEqual({ lost: 0, duplicated: 0, out_of_order: 0 });
    // Every fault kind was injected.
    for (const kind of ['node_kill', 'worker_kill', 'pg_restart', 'redis_restart', 'node_pause', 'embedded_kill']) {
      expect(out.by_fault[kind]?.injected ?? 0, `${kind}: ${summary}`).toBeGreaterThan(0);
    }
    // No visitor left stuck, no job dead or left behind.
    expect(out.unanswered, summary).toBe(0);
    const jobs = out.runs.find((x) => x.jobs)?.jobs;
    expect(jobs && { dead: jobs.dead, stuck: jobs.stuck }, summary).toEqual({ dead: 0, stuck: 0 });
    expect(out.ok, summary).toBe(true);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
  }, 480_000);
});
