import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, TEST_POSTGRES_URL, testDbKind } from '@huiliu/testing';
import type { Database } from '@huiliu/core/db/database';
import { openPglite } from '@huiliu/core/db/pglite';
import { openPostgres } from '@huiliu/core/db/postgres';
import { loadConfig, type Config } from '../src/config.ts';
import { startHuiliu, type Huiliu } from '../src/app.ts';
import { backup, databaseFacts, readBackupManifest, restore } from '../src/cli/backup.ts';
import { migrateToPostgres, publicTables, tableChecksum, tableCopyOrder } from '../src/cli/migrate-to-postgres.ts';

/**
 * The operations commands (backup, restore, migrate-to-postgres, admin create) work on an embedded data
 * directory built here in a temp folder, and on fresh databases of the local PostgreSQL server — in both
 * vitest projects. The project's engine (HUILIU_TEST_DB) is used for the copy-order check at the end.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MAIN = join(ROOT, 'apps/server/src/main.ts');
const ADMIN_EMAIL = 'admin@demo.huiliu.local';
const SECRET_NAME = 'test.webhook-token';
const SECRET_VALUE = `sekrit-${randomBytes(4).toString('hex')}`;
const FILE_BYTES = Buffer.from('hello backup 备份 — attachment that must survive\n', 'utf8');
const SLOW = 180_000;

let root: string;
let dirA: string;
let password: string;
let workspaceId: string;
let conversationId: string;
let original: { conversations: string[]; messages: { id: string; text: string; attachments: number }[]; fileUrl: string };
let admin: Database;
const databases: string[] = [];
const children: ChildProcess[] = [];

function configFor(dataDir: string, extra: Record<string, string> = {}): Config {
  return loadConfig({ PORT: '0', HOST: '127.0.0.1', HUILIU_DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...extra });
}

async function api(base: string, method: string, path: string, o: { token?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  let body: string | FormData | undefined;
  if (o.body instanceof FormData) body = o.body;
  else if (o.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(o.body);
  }
  const res = await fetch(base + path, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed };
}

async function login(base: string, email: string, pw: string): Promise<string> {
  const r = await api(base, 'POST', '/api/v1/auth/login', { body: { email, password: pw } });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.token as string;
}

async function snapshot(node: Huiliu, token: string) {
  const list = await api(node.url, 'GET', '/api/v1/conversations?status=all&limit=200', { token });
  expect(list.status).toBe(200);
  const msgs = await api(node.url, 'GET', `/api/v1/conversations/${conversationId}/messages?limit=500`, { token });
  expect(msgs.status).toBe(200);
  return {
    conversations: (list.body.items as { id: string }[]).map((c) => c.id).sort(),
    messages: (msgs.body.items as { id: string; text: string; attachments: { url: string }[] }[]).map((m) => ({ id: m.id, text: m.text, attachments: m.attachments.length })),
    latestFileUrl: (msgs.body.items as { attachments: { url: string }[] }[]).flatMap((m) => m.attachments).map((a) => a.url).pop(),
  };
}

async function download(base: string, url: string): Promise<{ status: number; bytes: Buffer }> {
  const res = await fetch(base + url);
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()) };
}

/** Logs in on a node started over a copy of the installation and checks everything the original had. */
async function expectSameInstallation(node: Huiliu): Promise<string> {
  expect(node.demo).toBeUndefined(); // not an empty database: nothing seeded again
  const token = await login(node.url, ADMIN_EMAIL, password);
  const now = await snapshot(node, token);
  expect(now.conversations).toEqual(original.conversations);
  expect(now.messages).toEqual(original.messages);
  // A fresh link and the link signed by the original installation (same secret.key) both download the file.
  for (const url of [now.latestFileUrl!, original.fileUrl]) {
    const file = await download(node.url, url);
    expect(file.status).toBe(200);
    expect(file.bytes.equals(FILE_BYTES)).toBe(true);
  }
  expect(await node.services.vault.get(workspaceId, SECRET_NAME)).toBe(SECRET_VALUE);
  return token;
}

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(HUILIU_|DATABASE_URL$|PORT$|HOST$|LOG_LEVEL$)/.test(k)) env[k] = v;
  return { ...env, LOG_LEVEL: 'error', ...extra };
}

/** Runs the real CLI: `node --import tsx apps/server/src/main.ts …`. */
function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts `huiliu start` in a child process and resolves once it says it is running. */
function startServerProcess(dataDir: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'start'], {
      cwd: ROOT,
      env: childEnv({ HUILIU_DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 60_000);
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('is running')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.stderr!.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${out}`));
    });
  });
}

function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function createDatabase(): Promise<string> {
  const name = `huiliu_cli_${randomBytes(6).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${name}`);
  databases.push(name);
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withPostgres<T>(url: string, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await openPostgres(url, { max: 1 });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

async function withPglite<T>(dataDir: string, fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await openPglite(join(dataDir, 'pgdata'));
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'huiliu-cli-'));
  dirA = join(root, 'a');
  admin = await openPostgres(TEST_POSTGRES_URL, { max: 1 });

  // A first embedded start seeds the demo workspace; add a message with an uploaded attachment and a
  // vault secret (encrypted with secret.key) so the copies have something of each kind to carry.
  const node = await startHuiliu({ config: configFor(dirA) });
  try {
    expect(node.demo).toBeDefined();
    password = node.demo!.password;
    const token = await login(node.url, ADMIN_EMAIL, password);
    const me = await api(node.url, 'GET', '/api/v1/auth/me', { token });
    const ws = await node.services.db.query<{ id: string }>(`SELECT id FROM workspaces WHERE slug = 'demo'`);
    workspaceId = ws[0]!.id;
    expect(me.status).toBe(200);
    const list = await api(node.url, 'GET', '/api/v1/conversations?status=all&limit=200', { token });
    expect(list.body.items.length).toBeGreaterThan(0);
    conversationId = list.body.items[0].id;

    const form = new FormData();
    form.append('file', new Blob([FILE_BYTES], { type: 'text/plain' }), 'backup-note.txt');
    const upload = await api(node.url, 'POST', '/api/v1/attachments', { token, body: form });
    expect(upload.status, JSON.stringify(upload.body)).toBe(201);
    const sent = await api(node.url, 'POST', `/api/v1/conversations/${conversationId}/messages`, {
      token,
      body: { clientId: 'cli-test-1', text: 'backup migration check 备份迁移检查', attachmentIds: [upload.body.id] },
    });
    expect(sent.status, JSON.stringify(sent.body)).toBe(201);
    await node.services.vault.put(workspaceId, SECRET_NAME, SECRET_VALUE);

    const snap = await snapshot(node, token);
    original = { conversations: snap.conversations, messages: snap.messages, fileUrl: upload.body.url };
    expect(original.messages.some((m) => m.attachments === 1)).toBe(true);
  } finally {
    await node.close();
  }
}, SLOW);

afterAll(async () => {
  await Promise.all(children.map(stopProcess));
  if (admin) {
    for (const name of databases) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
    await admin.close();
  }
  if (root) await rm(root, { recursive: true, force: true });
}, SLOW);

describe('huiliu backup / restore (embedded data directory)', () => {
  let backupFile: string;

  it('refuses to back up (or migrate) while a server holds the data directory', async () => {
    const server = await startServerProcess(dirA);
    try {
      await expect(backup(configFor(dirA), join(root, 'locked.tar.gz'))).rejects.toThrow(/in use by another Huiliu process \(pid \d+\); stop it first/);
      const viaCli = await cli(['backup', '--out', join(root, 'locked.tar.gz')], { HUILIU_DATA_DIR: dirA });
      expect(viaCli.code).toBe(1);
      expect(viaCli.stderr).toMatch(/^huiliu: the data directory .* is in use by another Huiliu process/m);
      await expect(migrateToPostgres(configFor(dirA), `${TEST_POSTGRES_URL}`)).rejects.toThrow(/in use by another Huiliu process/);
      expect(await readdir(root)).not.toContain('locked.tar.gz');
    } finally {
      await stopProcess(server);
    }
  }, SLOW);

  it('writes a backup with the CLI: one gzipped tar with the database, attachments, key and a manifest', async () => {
    backupFile = join(root, 'huiliu-backup.tar.gz');
    const r = await cli(['backup', '--out', backupFile], { HUILIU_DATA_DIR: dirA });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^backup written to .*huiliu-backup\.tar\.gz \([\d.]+ MB\): \d+ tables, \d+ rows, 1 attachment files .*secret\.key included/);
    expect((await readdir(root)).filter((n) => n.includes('.tmp-'))).toEqual([]);

    const listing = spawnSync('tar', ['-tzf', backupFile], { encoding: 'utf8' });
    expect(listing.status).toBe(0);
    const names = listing.stdout.trim().split('\n');
    expect(names[0]).toBe('pgdata.tar');
    expect(names).toContain('secret.key');
    expect(names.at(-1)).toBe('manifest.json');
    expect(names.filter((n) => n.startsWith('attachments/'))).toHaveLength(1);

    const manifest = await readBackupManifest(backupFile);
    expect(manifest).toMatchObject({ format: 'huiliu-backup', formatVersion: 1, secretKey: true });
    expect(manifest.database.migrations.length).toBeGreaterThan(0);
    const facts = await withPglite(dirA, databaseFacts);
    expect(manifest.database.tables).toEqual(facts.tables);
    expect(manifest.database.tables.messages).toBeGreaterThan(0);
    expect(manifest.entries.every((e) => /^[0-9a-f]{64}$/.test(e.sha256))).toBe(true);
  }, SLOW);

  it('restores into an empty directory; a node started there has the same conversations, messages, attachment and secrets', async () => {
    const dirB = join(root, 'b');
    const summary = await restore(configFor(dirB), backupFile, { force: false });
    expect(summary).toMatch(/^restored .* into .*: \d+ tables and \d+ rows verified against the manifest, 1 attachment files, secret\.key restored$/);
    expect((await readdir(dirB)).sort()).toEqual(['attachments', 'pgdata', 'secret.key']);
    expect(await readFile(join(dirB, 'secret.key'), 'utf8')).toBe(await readFile(join(dirA, 'secret.key'), 'utf8'));

    const node = await startHuiliu({ config: configFor(dirB) });
    try {
      const token = await expectSameInstallation(node);
      const sent = await api(node.url, 'POST', `/api/v1/conversations/${conversationId}/messages`, { token, body: { clientId: 'after-restore', text: 'written after the restore' } });
      expect(sent.status).toBe(201);
    } finally {
      await node.close();
    }
  }, SLOW);

  it('refuses a non-empty directory without --force, and replaces it with --force', async () => {
    const dirB = join(root, 'b');
    await expect(restore(configFor(dirB), backupFile, { force: false })).rejects.toThrow(/^--force: the data directory .* is not empty/);
    const viaCli = await cli(['restore', '--from', backupFile], { HUILIU_DATA_DIR: dirB });
    expect(viaCli.code).toBe(1);
    expect(viaCli.stderr).toMatch(/^huiliu: --force: /);

    await writeFile(join(dirB, 'stray.txt'), 'not from the backup');
    const summary = await restore(configFor(dirB), backupFile, { force: true });
    expect(summary).toMatch(/the previous contents were replaced$/);
    expect((await readdir(dirB)).sort()).toEqual(['attachments', 'pgdata', 'secret.key']);
    // The message written after the first restore is gone again: the database is the backup's.
    const facts = await withPglite(dirB, databaseFacts);
    expect(facts.tables).toEqual((await readBackupManifest(backupFile)).database.tables);
  }, SLOW);

  it('rejects a damaged backup before touching the data directory', async () => {
    const dirC = join(root, 'c');
    await mkdir(dirC);
    // Flip bytes inside the attachment's content (the tar headers stay valid): the sha256 check catches it.
    const tar = gunzipSync(await readFile(backupFile));
    const at = tar.indexOf(Buffer.from('hello backup'));
    expect(at).toBeGreaterThan(0);
    tar.write('HELLO', at, 'latin1');
    const tampered = join(root, 'tampered.tar.gz');
    await writeFile(tampered, gzipSync(tar));
    await expect(restore(configFor(dirC), tampered, { force: false })).rejects.toThrow(/^--from: checksum mismatch for attachments\/.*damaged/);
    expect(await readdir(dirC)).toEqual([]);

    const whole = await readFile(backupFile);
    const cut = join(root, 'cut.tar.gz');
    await writeFile(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    await expect(restore(configFor(dirC), cut, { force: false })).rejects.toThrow(/^--from: .* is not a readable Huiliu backup/);
    expect(await readdir(dirC)).toEqual([]);

    // With --force on a populated directory, a damaged backup leaves the current contents in place.
    const dirB = join(root, 'b');
    const before = (await readdir(dirB)).sort();
    await expect(restore(configFor(dirB), tampered, { force: true })).rejects.toThrow(/^--from: checksum mismatch/);
    expect((await readdir(dirB)).sort()).toEqual(before);
  }, SLOW);

  it('is for the embedded database only: with DATABASE_URL it points to pg_dump', async () => {
    const pgConfig = configFor(join(root, 'pg'), { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/whatever' });
    await expect(backup(pgConfig, join(root, 'x.tar.gz'))).rejects.toThrow(/^DATABASE_URL: .*pg_dump/);
    await expect(restore(pgConfig, backupFile, { force: false })).rejects.toThrow(/^DATABASE_URL: .*pg_restore/);
  });
});

describe('huiliu migrate-to-postgres', () => {
  let url: string;

  it('copies every row into an empty PostgreSQL database; a node on DATABASE_URL + the same data dir has everything', async () => {
    url = await createDatabase();
    const summary = await migrateToPostgres(configFor(dirA), url);
    expect(summary).toMatch(/^migrated \d+ rows in \d+ tables from .* row counts and checksums verified on both sides\. Next: start Huiliu with DATABASE_URL=.* and keep HUILIU_DATA_DIR=.* attachments\/ and secret\.key/);

    // Same counts everywhere, and the tricky types compare equal as text on both sides.
    const source = await withPglite(dirA, async (db) => {
      await db.query(`SET TimeZone = 'UTC'`);
      return {
      facts: await databaseFacts(db),
      typed: await db.query(`SELECT id, tags::text, search::text, attributes::text, created_at::text FROM contacts ORDER BY id`),
      logIds: await db.query(`SELECT id, log_id FROM messages ORDER BY log_id`),
      audit: await db.query(`SELECT id, details::text FROM audit_log ORDER BY id`),
      };
    });
    const target = await withPostgres(url, async (db) => {
      await db.query(`SET TimeZone = 'UTC'`);
      return {
        facts: await databaseFacts(db),
        typed: await db.query(`SELECT id, tags::text, search::text, attributes::text, created_at::text FROM contacts ORDER BY id`),
        logIds: await db.query(`SELECT id, log_id FROM messages ORDER BY log_id`),
        audit: await db.query(`SELECT id, details::text FROM audit_log ORDER BY id`),
        txOk: await db.query(`SELECT bool_and(tx <= pg_current_xact_id()) AS ok FROM messages`),
      };
    });
    // kb_embeddings exists only where pgvector does (PGlite loads it; this PostgreSQL may not have it): left behind, recomputed.
    const { kb_embeddings: embeddings = 0, ...sourceTables } = source.facts.tables;
    expect(embeddings).toBe(0);
    const { kb_embeddings: _t, ...targetTables } = target.facts.tables;
    expect(targetTables).toEqual(sourceTables);
    expect(source.facts.tables.messages).toBeGreaterThan(0);
    expect(target.typed).toEqual(source.typed);
    expect(target.logIds).toEqual(source.logIds);
    expect(target.audit).toEqual(source.audit);
    expect(target.txOk[0]?.ok).toBe(true);

    const node = await startHuiliu({ config: configFor(dirA, { DATABASE_URL: url }) });
    try {
      const token = await expectSameInstallation(node);
      // New rows get ids past the copied ones (sequences advanced) and are found by search (tsvector copied).
      const sent = await api(node.url, 'POST', `/api/v1/conversations/${conversationId}/messages`, { token, body: { clientId: 'after-migration', text: 'written on PostgreSQL' } });
      expect(sent.status, JSON.stringify(sent.body)).toBe(201);
      const logIds = await node.services.db.query<{ log_id: number }>(`SELECT log_id FROM messages WHERE id = $1`, [sent.body.message.id]);
      expect(logIds[0]!.log_id).toBeGreaterThan(Math.max(...source.logIds.map((r) => Number(r.log_id))));
      const found = await api(node.url, 'GET', `/api/v1/search?q=${encodeURIComponent('migration')}`, { token });
      expect(found.status).toBe(200);
      expect(found.body.messages.map((h: { message: { text: string } }) => h.message.text)).toContain('backup migration check 备份迁移检查');
    } finally {
      await node.close();
    }
  }, SLOW);

  it('refuses a target that already holds rows, naming the table, and changes nothing', async () => {
    const before = await withPostgres(url, databaseFacts);
    const err = await migrateToPostgres(configFor(dirA), url).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(/^DATABASE_URL: the target database .* is not empty: table \w+ already has rows/);
    const table = /table (\w+) already has rows/.exec(err!.message)![1]!;
    expect(before.tables[table]).toBeGreaterThan(0);
    expect((await withPostgres(url, databaseFacts)).tables).toEqual(before.tables);
  }, SLOW);

  it('uses a table checksum that sees a changed value (what the post-copy verification relies on)', async () => {
    const cols = ['id', 'name', 'tags', 'search', 'attributes', 'created_at'];
    const source = await withPglite(dirA, (db) => tableChecksum(db, 'contacts', cols));
    expect(await withPostgres(url, (db) => tableChecksum(db, 'contacts', cols))).toEqual(source);
    const changed = await withPostgres(url, async (db) => {
      await db.query(`UPDATE contacts SET tags = tags || '{changed}'::text[] WHERE id = (SELECT id FROM contacts ORDER BY id LIMIT 1)`);
      return tableChecksum(db, 'contacts', cols);
    });
    expect(changed.rows).toBe(source.rows);
    expect(changed.sum).not.toBe(source.sum);
  }, SLOW);

  it('rejects a non-PostgreSQL target and a missing embedded database', async () => {
    await expect(migrateToPostgres(configFor(dirA), 'mysql://localhost/x')).rejects.toThrow(/^DATABASE_URL: /);
    await expect(migrateToPostgres(configFor(join(root, 'nothing-here')), TEST_POSTGRES_URL)).rejects.toThrow(/^HUILIU_DATA_DIR: .* holds no embedded database/);
  });
});

describe('huiliu admin create (CLI) on PostgreSQL', () => {
  it('creates the first admin of a fresh database, printing a generated password that logs in', async () => {
    const url = await createDatabase();
    const dataDir = join(root, 'pg-node');
    const r = await cli(['admin', 'create', '--email', 'Ops@Example.com', '--workspace', 'acme', '--workspace-name', 'Acme 公司'], { DATABASE_URL: url, HUILIU_DATA_DIR: dataDir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const m = /^admin ops@example\.com created in workspace "acme"; password: (\S+)\s+\(shown once\)$/m.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();

    const node = await startHuiliu({ config: configFor(dataDir, { DATABASE_URL: url }) });
    try {
      expect(node.demo).toBeUndefined(); // nothing is seeded on PostgreSQL
      const token = await login(node.url, 'ops@example.com', m![1]!);
      const me = await api(node.url, 'GET', '/api/v1/auth/me', { token });
      expect(me.status).toBe(200);
      expect(JSON.stringify(me.body)).toContain('acme');
    } finally {
      await node.close();
    }
  }, SLOW);
});

describe(`table copy order (${testDbKind()})`, () => {
  it('lists every application table once, each after every table it references', async () => {
    const tdb = await createTestDatabase();
    try {
      const order = await tableCopyOrder(tdb.db);
      const all = (await publicTables(tdb.db)).filter((t) => t !== 'schema_migrations');
      expect([...order].sort()).toEqual(all);
      const edges = await tdb.db.query<{ child: string; parent: string }>(
        `SELECT c.relname AS child, p.relname AS parent FROM pg_constraint k
         JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
         JOIN pg_namespace n ON n.oid = c.relnamespace WHERE k.contype = 'f' AND n.nspname = 'public'`,
      );
      expect(edges.length).toBeGreaterThan(0);
      for (const e of edges) if (e.child !== e.parent) expect(order.indexOf(e.parent), `${e.parent} before ${e.child}`).toBeLessThan(order.indexOf(e.child));
      expect(order.indexOf('workspaces')).toBeLessThan(order.indexOf('messages'));
    } finally {
      await tdb.drop();
    }
  });
});
