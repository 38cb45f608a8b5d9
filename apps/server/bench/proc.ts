import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const SERVER_MAIN = resolve(REPO_ROOT, 'apps/server/src/main.ts');

export { freePort } from '@huiliu/testing/ports';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Environment variables that would change a server's settings: never inherited from the caller. */
export const SERVER_SETTINGS = /^(HUILIU_|DATABASE_URL$|REDIS_URL$|HOST$|PORT$|LOG_LEVEL$|NODE_OPTIONS$)/;
/** The caller's environment without SERVER_SETTINGS: a child server starts from the shipped defaults. */
export const cleanServerEnv = (): NodeJS.ProcessEnv => Object.fromEntries(Object.entries(process.env).filter(([k]) => !SERVER_SETTINGS.test(k)));

/** Resident set size of a process in MB, from /proc/<pid>/status VmRSS (undefined when gone). */
export function rssMb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is state (field 3); utime is field 14, stime field 15 → indexes 11 and 12. Clock ticks: 100/s on Linux.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Samples a process's RSS every `everyMs` and its CPU use between start and stop. */
export function processSampler(pid: number, everyMs = 1000) {
  let max = 0;
  const samples: number[] = [];
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  const sample = () => {
    const r = rssMb(pid);
    if (r !== undefined) {
      samples.push(r);
      if (r > max) max = r;
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      const cpu1 = cpuSeconds(pid);
      const wall = (performance.now() - t0) / 1000;
      return { maxRssMb: max, samples, cpuPct: cpu0 !== undefined && cpu1 !== undefined && wall > 0 ? ((cpu1 - cpu0) / wall) * 100 : NaN };
    },
  };
}

/** A child process whose output is kept (last lines) for error reports, and can be stopped politely. */
export interface Child {
  proc: ChildProcess;
  pid: number;
  output(): string;
  /** Resolves with stdout text as soon as `re` matches it (rejects if the process exits first). */
  waitForOutput(re: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  stop(graceMs?: number): Promise<void>;
  exited: Promise<number | null>;
}

export function startChild(args: string[], env: NodeJS.ProcessEnv, label: string): Child {
  const proc = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let all = '';
  const keep = (s: string) => {
    all += s;
    if (all.length > 200_000) all = all.slice(-100_000);
  };
  const waiters: { re: RegExp; resolve: (m: RegExpExecArray) => void }[] = [];
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    if (stdout.length > 200_000) stdout = stdout.slice(-100_000);
    keep(d);
    for (const w of [...waiters]) {
      const m = w.re.exec(stdout);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', keep);
  const exited = new Promise<number | null>((r) => proc.once('exit', (code, signal) => r(code ?? (signal ? -1 : null))));
  let gone = false;
  void exited.then(() => (gone = true));
  return {
    proc,
    pid: proc.pid!,
    exited,
    output: () => all,
    waitForOutput(re, timeoutMs) {
      const m = re.exec(stdout);
      if (m) return Promise.resolve(m);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${label}: no output matching ${re} within ${timeoutMs} ms\n${all.slice(-3000)}`)), timeoutMs);
        waiters.push({ re, resolve: (mm) => (clearTimeout(timer), resolve(mm)) });
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`${label} exited (${code}) before printing ${re}\n${all.slice(-3000)}`));
        });
      });
    },
    async stop(graceMs = 20_000) {
      if (gone) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => {
        if (!gone) proc.kill('SIGKILL');
      }, graceMs);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Polls GET url until it answers 200. */
export async function waitForHealthy(url: string, child: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void child.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`server exited during start:\n${child.output().slice(-3000)}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) return;
    } catch {
      /* not up yet */
    }
    await sleep(200);
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms:\n${child.output().slice(-3000)}`);
}
