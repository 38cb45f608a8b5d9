import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { freePort } from '@huiliu/testing/ports';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Huiliu as a user runs it: `node apps/server/src/main.ts start` in a child process on the embedded
 * database, first start seeding the demo workspace and printing its password once. Browser tests drive
 * this process; `restart()` stops it (SIGTERM, or SIGKILL to simulate a crash) and starts it again on the
 * same port and data directory, which is how "the server restarts mid-conversation" looks to a browser.
 */
export interface HuiliuProcess {
  url: string;
  port: number;
  dataDir: string;
  demo: { password: string; adminEmail: string; agentEmails: string[]; widgetInboxPublicId: string };
  output: () => string;
  restart(opts?: { signal?: 'SIGTERM' | 'SIGKILL'; downMs?: number }): Promise<void>;
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  close(): Promise<void>;
}

const repoRoot = join(import.meta.dirname, '..', '..', '..', '..', '..');

export async function startHuiliuProcess(env: Record<string, string> = {}): Promise<HuiliuProcess> {
  const dataDir = await mkdtemp(join(tmpdir(), 'huiliu-e2e-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let log = '';

  const launch = () =>
    new Promise<void>((resolve, reject) => {
      const c = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'apps/server/src/main.ts'), 'start'], {
        cwd: repoRoot,
        env: { ...process.env, HUILIU_DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', HUILIU_PUBLIC_URL: url, LOG_LEVEL: 'warn', DATABASE_URL: '', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = c;
      const timer = setTimeout(() => reject(new Error(`Huiliu did not start within 60 s:\n${log}`)), 60_000);
      const onData = (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes('is running')) {
          clearTimeout(timer);
          resolve();
        }
      };
      c.stdout!.on('data', onData);
      c.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
      c.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`Huiliu exited with ${code} before it was ready:\n${log}`));
      });
    });

  const stop = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill(signal);
    });
  };

  await launch();
  // The banner's aligned "    name   value" lines (see apps/server/src/main.ts).
  const field = (name: string) => new RegExp(`^ {4}${name} +(\\S+)`, 'm').exec(log)?.[1] ?? '';
  const demo = {
    password: field('password'),
    adminEmail: field('admin'),
    agentEmails: (/^ {4}agents +(.+)$/m.exec(log)?.[1] ?? '').trim().split(/\s+/).filter(Boolean),
    widgetInboxPublicId: /^ {4}widget inbox publicId +(\S+)/m.exec(log)?.[1] ?? '',
  };
  if (!demo.password || !demo.widgetInboxPublicId) throw new Error(`the demo workspace was not printed:\n${log}`);

  return {
    url,
    port,
    dataDir,
    demo,
    output: () => log,
    stop,
    async restart(opts = {}) {
      await stop(opts.signal ?? 'SIGTERM');
      if (opts.downMs) await new Promise((r) => setTimeout(r, opts.downMs));
      await launch();
    },
    async close() {
      await stop('SIGTERM');
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
