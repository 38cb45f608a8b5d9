import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, freePort, testDbKind, type TestDatabase } from '@huiliu/testing';

/**
 * kill -9 of the server process while it is acknowledging messages: after a restart every acknowledged
 * message is stored exactly once (embedded PGlite data directory, or PostgreSQL with DATABASE_URL).
 */
const root = new URL('../../../', import.meta.url).pathname;
let dataDir = '';
let pgDb: TestDatabase | undefined;
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await pgDb?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Resolves when the process has ended (a signal-killed process has exitCode null but signalCode set). */
function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function startChild(env: Record<string, string>): Promise<{ child: ChildProcess; stdout: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'apps/server/src/main.ts', 'start'], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited: ${out}`);
    try {
      const r = await fetch(`http://127.0.0.1:${env.PORT}/healthz`, { signal: AbortSignal.timeout(2_000) });
      if (r.status === 200) break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`server did not become healthy: ${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, stdout: () => out };
}

const stage = (name: string) => {
  if (process.env.CRASH_TEST_DEBUG) console.error(`[crash test] ${new Date().toISOString()} ${name}`);
};

describe('crash safety', () => {
  it('keeps every acknowledged message through kill -9 and restart', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'huiliu-crash-'));
    const port = await freePort();
    const env: Record<string, string> = { PORT: String(port), HOST: '127.0.0.1', HUILIU_DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
    if (testDbKind() === 'postgres') {
      pgDb = await createTestDatabase('postgres');
      env.DATABASE_URL = pgDb.url!;
      env.HUILIU_SEED_DEMO = 'off';
    }
    const base = `http://127.0.0.1:${port}`;
    let first = await startChild(env);
    stage('first server up');
    let password = /^\s+password\s+(\S+)/m.exec(first.stdout())?.[1];
    if (env.DATABASE_URL) {
      // Nothing is seeded on PostgreSQL: make an admin and an inbox through the CLI and API.
      password = 'crash-test-password';
      const admin = spawn(process.execPath, ['--import', 'tsx', 'apps/server/src/main.ts', 'admin', 'create', '--email', 'admin@crash.test', '--password', password, '--workspace', 'crash'], { cwd: root, env: { ...process.env, ...env }, stdio: 'inherit' });
      expect(await new Promise((r) => admin.on('exit', r))).toBe(0);
    }
    const email = env.DATABASE_URL ? 'admin@crash.test' : 'admin@demo.huiliu.local';
    const login = await (await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) })).json();
    const auth = { authorization: `Bearer ${login.token}`, 'content-type': 'application/json' };
    let publicId: string;
    const inboxes = await (await fetch(`${base}/api/v1/inboxes`, { headers: auth })).json();
    if (inboxes.length) publicId = inboxes[0].publicId;
    else publicId = (await (await fetch(`${base}/api/v1/inboxes`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'Web' }) })).json()).publicId;
    const session = await (await fetch(`${base}/api/widget/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inboxPublicId: publicId }) })).json();
    const vAuth = { authorization: `Bearer ${session.visitorToken}`, 'content-type': 'application/json' };
    const conv = await (await fetch(`${base}/api/widget/v1/conversations`, { method: 'POST', headers: vAuth, body: '{}' })).json();
    expect(conv.conversation, JSON.stringify({ session, conv })).toBeDefined();
    const url = `${base}/api/widget/v1/conversations/${conv.conversation.id}/messages`;

    // Senders in parallel; kill -9 while requests are in flight.
    const acked = new Set<string>();
    let n = 0;
    let stop = false;
    const sender = async () => {
      while (!stop) {
        const clientId = `m${n++}`;
        try {
          const r = await fetch(url, { method: 'POST', headers: vAuth, body: JSON.stringify({ clientId, text: clientId }), signal: AbortSignal.timeout(10_000) });
          if (r.status === 201) acked.add(clientId);
        } catch {
          return; // connection refused / reset: the server is gone
        }
      }
    };
    const senders = Array.from({ length: 8 }, sender);
    stage('senders started');
    await new Promise((r) => setTimeout(r, 1500));
    first.child.kill('SIGKILL');
    stop = true;
    await Promise.all(senders);
    stage('senders stopped');
    await exited(first.child);
    expect(acked.size).toBeGreaterThan(20);

    // Restart on the same data (a stale lock from the killed process is taken over).
    const second = await startChild(env);
    stage('second server up');
    const relogin = await (await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) })).json();
    const stored: string[] = [];
    let after = 0;
    for (;;) {
      const page = await (await fetch(`${base}/api/v1/conversations/${conv.conversation.id}/messages?afterSeq=${after}&limit=500`, { headers: { authorization: `Bearer ${relogin.token}` } })).json();
      stored.push(...page.items.map((m: { clientId: string }) => m.clientId));
      if (!page.hasMore) break;
      after = page.items[page.items.length - 1].seq;
    }
    const lost = [...acked].filter((id) => !stored.includes(id));
    expect(lost).toEqual([]);
    expect(new Set(stored).size).toBe(stored.length);
    second.child.kill('SIGTERM');
    await exited(second.child);
    first = second;
  }, 240_000);
});
