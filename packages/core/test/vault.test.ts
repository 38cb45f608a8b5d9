import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { openPglite } from '../src/db/pglite.ts';
import { AppError } from '../src/shared/errors.ts';
import { createVault, deriveKey, hintFor, loadOrCreateMasterKey } from '../src/vault/vault.ts';

let db: Database;
let ws: string;
let otherWs: string;
const masterKey = randomBytes(32);
const TOKEN = 'xoxb-1234567890-super-secret-token-WXYZ';

async function workspace(slug: string): Promise<string> {
  const rows = await db.query<{ id: string }>(`INSERT INTO workspaces (name, slug) VALUES ($1, $1) RETURNING id`, [slug]);
  return rows[0]!.id;
}

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  db = await openPglite(undefined);
  await migrate(db);
  ws = await workspace('a');
  otherWs = await workspace('b');
});

afterAll(async () => {
  await db.close();
});

describe('vault', () => {
  it('round-trips a value and updates it in place', async () => {
    const vault = createVault({ db, masterKey });
    const first = await vault.put(ws, 'slack.token', TOKEN);
    expect(first).toMatchObject({ name: 'slack.token', hint: '••••WXYZ' });
    expect(await vault.get(ws, 'slack.token')).toBe(TOKEN);

    const second = await vault.put(ws, 'slack.token', 'another-long-token-value-9876');
    expect(second.id).toBe(first.id);
    expect(second.createdAt).toBe(first.createdAt);
    expect(second.hint).toBe('••••9876');
    expect(await vault.get(ws, 'slack.token')).toBe('another-long-token-value-9876');
    expect(await vault.get(ws, 'missing')).toBeUndefined();
  });

  it('never stores the plaintext and uses a fresh IV per write', async () => {
    const vault = createVault({ db, masterKey });
    await vault.put(ws, 'raw.check', TOKEN);
    const read = async () =>
      (await db.query<{ ciphertext: string; hint: string }>('SELECT ciphertext, hint FROM secrets WHERE workspace_id = $1 AND name = $2', [ws, 'raw.check']))[0]!;
    const a = await read();
    expect(a.ciphertext).toMatch(/^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(a.ciphertext).not.toContain(TOKEN);
    expect(a.ciphertext).not.toContain(Buffer.from(TOKEN).toString('base64'));
    expect(a.hint).toBe('••••WXYZ');
    await vault.put(ws, 'raw.check', TOKEN);
    expect((await read()).ciphertext).not.toBe(a.ciphertext);
  });

  it('lists names and hints only, per workspace', async () => {
    const vault = createVault({ db, masterKey });
    await vault.put(otherWs, 'other.only', 'value-belonging-to-workspace-b');
    const list = await vault.list(ws);
    expect(list.map((s) => s.name)).toEqual(['raw.check', 'slack.token']);
    for (const info of list) {
      expect(Object.keys(info).sort()).toEqual(['createdAt', 'hint', 'id', 'name', 'updatedAt']);
      expect(info.createdAt).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
    }
    expect(JSON.stringify(list)).not.toContain('super-secret');
    expect(await vault.get(ws, 'other.only')).toBeUndefined();
    expect((await vault.list(otherWs)).map((s) => s.name)).toEqual(['other.only']);
  });

  it('removes only within the workspace', async () => {
    const vault = createVault({ db, masterKey });
    await vault.put(otherWs, 'shared.name', 'workspace-b-value-0000');
    await vault.put(ws, 'shared.name', 'workspace-a-value-1111');
    expect(await vault.remove(ws, 'shared.name')).toBe(true);
    expect(await vault.remove(ws, 'shared.name')).toBe(false);
    expect(await vault.get(otherWs, 'shared.name')).toBe('workspace-b-value-0000');
  });

  it('binds the ciphertext to workspace and name', async () => {
    const vault = createVault({ db, masterKey });
    await vault.put(ws, 'bound', TOKEN);
    await vault.put(ws, 'decoy', 'x'.repeat(20));
    await vault.put(otherWs, 'bound', 'y'.repeat(20));
    // Copy the ciphertext onto another name in the same workspace, and onto the same name in another workspace.
    await db.query(
      `UPDATE secrets SET ciphertext = (SELECT ciphertext FROM secrets WHERE workspace_id = $1 AND name = 'bound')
       WHERE (workspace_id = $1 AND name = 'decoy') OR (workspace_id = $2 AND name = 'bound')`,
      [ws, otherWs],
    );
    expect((await rejection(vault.get(ws, 'decoy'))).message).toMatch(/could not be decrypted/);
    expect((await rejection(vault.get(otherWs, 'bound'))).message).toMatch(/could not be decrypted/);
    expect(await vault.get(ws, 'bound')).toBe(TOKEN);
  });

  it('fails clearly under a different master key', async () => {
    await createVault({ db, masterKey }).put(ws, 'keyed', TOKEN);
    const err = await rejection(createVault({ db, masterKey: randomBytes(32) }).get(ws, 'keyed'));
    expect(err.code).toBe('internal');
    expect(err.message).toMatch(/^secret "keyed" could not be decrypted: the master key \(HUILIU_SECRET_KEY or secret\.key/);
    expect(err.message).not.toContain(TOKEN);
  });

  it('rejects a tampered or unknown-format row', async () => {
    const vault = createVault({ db, masterKey });
    await vault.put(ws, 'tampered', TOKEN);
    await db.query(`UPDATE secrets SET ciphertext = 'v2:' || ciphertext WHERE workspace_id = $1 AND name = 'tampered'`, [ws]);
    expect((await rejection(vault.get(ws, 'tampered'))).message).toMatch(/unknown format/);
  });

  it('validates input', async () => {
    const vault = createVault({ db, masterKey });
    expect((await rejection(vault.put(ws, '', 'v'))).code).toBe('validation_failed');
    expect((await rejection(vault.put(ws, 'n', ''))).code).toBe('validation_failed');
    expect((await rejection(vault.put(ws, 'bad\nname', 'v'))).code).toBe('validation_failed');
  });

  it('hints show the last 4 characters only for values long enough to spare them', () => {
    expect(hintFor('abcdefghijkl')).toBe('••••ijkl');
    expect(hintFor('short-pass')).toBe('••••');
    expect(hintFor('令牌令牌令牌令牌令牌令牌尾巴😀')).toBe('••••牌尾巴😀');
  });
});

describe('master key', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'huiliu-vault-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates secret.key with mode 0600 on first start and reuses it', async () => {
    const dataDir = join(dir, 'data');
    const first = await loadOrCreateMasterKey({ env: {}, dataDir });
    expect(first.length).toBe(32);
    const st = await stat(join(dataDir, 'secret.key'));
    expect(st.mode & 0o777).toBe(0o600);
    const second = await loadOrCreateMasterKey({ env: {}, dataDir });
    expect(second.equals(first)).toBe(true);
    expect((await readFile(join(dataDir, 'secret.key'), 'utf8')).trim()).toBe(first.toString('base64'));
  });

  it('prefers HUILIU_SECRET_KEY in base64 or hex and does not write a key file', async () => {
    const key = randomBytes(32);
    const dataDir = join(dir, 'env-only');
    const b64 = await loadOrCreateMasterKey({ env: { HUILIU_SECRET_KEY: key.toString('base64') }, dataDir });
    const hex = await loadOrCreateMasterKey({ env: { HUILIU_SECRET_KEY: key.toString('hex').toUpperCase() }, dataDir });
    const url = await loadOrCreateMasterKey({ env: { HUILIU_SECRET_KEY: key.toString('base64url') }, dataDir });
    expect(b64.equals(key) && hex.equals(key) && url.equals(key)).toBe(true);
    await expect(stat(join(dataDir, 'secret.key'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it.each([
    ['too short', randomBytes(16).toString('base64')],
    ['too long', randomBytes(48).toString('base64')],
    ['not hex', 'z'.repeat(64)],
    ['hex of 31 bytes', randomBytes(31).toString('hex')],
    ['a passphrase', 'correct horse battery staple'],
  ])('rejects HUILIU_SECRET_KEY that is %s, naming the variable and format', async (_label, value) => {
    const err = await rejection(loadOrCreateMasterKey({ env: { HUILIU_SECRET_KEY: value }, dataDir: dir }));
    expect(err.code).toBe('validation_failed');
    expect(err.message).toMatch(/^HUILIU_SECRET_KEY: must be 32 bytes encoded as base64 \(44 characters\) or as 64 hex characters/);
    expect(err.message).not.toContain(value);
  });

  it('rejects a corrupt key file instead of replacing it', async () => {
    const dataDir = join(dir, 'corrupt');
    await loadOrCreateMasterKey({ env: {}, dataDir });
    await writeFile(join(dataDir, 'secret.key'), 'garbage\n');
    const err = await rejection(loadOrCreateMasterKey({ env: {}, dataDir }));
    expect(err.message).toMatch(/secret\.key: the key file must be 32 bytes/);
    expect(await readFile(join(dataDir, 'secret.key'), 'utf8')).toBe('garbage\n');
  });

  it('derives distinct, stable subkeys per purpose', () => {
    const a = deriveKey(masterKey, 'visitor-token/v1');
    expect(a.length).toBe(32);
    expect(deriveKey(masterKey, 'visitor-token/v1').equals(a)).toBe(true);
    expect(deriveKey(masterKey, 'vault/v1').equals(a)).toBe(false);
    expect(a.equals(masterKey)).toBe(false);
    expect(() => deriveKey(Buffer.alloc(16), 'x')).toThrow(AppError);
  });
});
