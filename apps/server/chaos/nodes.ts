import { cleanServerEnv, SERVER_MAIN, startChild, waitForHealthy, type Child } from '../bench/proc.ts';

/**
 * Huiliu nodes as child processes (`node --import tsx apps/server/src/main.ts start`), started the way an
 * operator starts them: environment only. A node can be killed (-9), stopped/continued (SIGSTOP/SIGCONT)
 * and started again with the same settings (same port and data dir).
 */


export interface NodeSpec {
  name: string;
  port: number;
  env: NodeJS.ProcessEnv;
}

export class HuiliuNode {
  child: Child | undefined;
  /** Output of earlier incarnations (killed ones), kept for error reports. */
  private history = '';
  starts = 0;
  /** Exits the harness did not cause (a crash), with the tail of that incarnation's output. */
  readonly crashes: string[] = [];
  private stopping = false;

  constructor(readonly spec: NodeSpec) {}

  get name(): string {
    return this.spec.name;
  }
  get url(): string {
    return `http://127.0.0.1:${this.spec.port}`;
  }
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the process and resolves once /healthz answers 200. Returns the seconds it took. */
  async start(timeoutMs = 120_000): Promise<number> {
    if (this.child) this.history += this.child.output();
    const t0 = performance.now();
    this.stopping = false;
    const child = startChild(['--import', 'tsx', SERVER_MAIN, 'start'], { ...cleanServerEnv(), ...this.spec.env, PORT: String(this.spec.port), HOST: '127.0.0.1' }, `node ${this.name}`);
    this.child = child;
    void child.exited.then(() => {
      if (!this.stopping && this.child === child) this.crashes.push(child.output().slice(-2000));
    });
    this.starts++;
    await waitForHealthy(`${this.url}/healthz`, this.child, timeoutMs);
    return (performance.now() - t0) / 1000;
  }

  /** kill -9 and wait until the process is gone. */
  async kill9(): Promise<void> {
    const c = this.child;
    if (!c) return;
    this.stopping = true;
    c.proc.kill('SIGKILL');
    await c.exited;
  }

  signal(sig: 'SIGSTOP' | 'SIGCONT'): void {
    this.child?.proc.kill(sig);
  }

  /** Polite stop (SIGTERM, then SIGKILL after the grace period); a stopped process is continued first. */
  async stop(graceMs = 10_000): Promise<void> {
    const c = this.child;
    if (!c) return;
    this.stopping = true;
    c.proc.kill('SIGCONT');
    await c.stop(graceMs);
  }

  /** Log lines at warn level or above (pino JSON), across all incarnations. */
  warnings(): string[] {
    return (this.history + (this.child?.output() ?? '')).split('\n').filter((l) => /"level":(40|50|60)/.test(l));
  }

  output(): string {
    return this.history + (this.child?.output() ?? '');
  }
}
