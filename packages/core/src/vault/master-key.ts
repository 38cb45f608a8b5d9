import { hkdfSync, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError, invalid } from '../shared/errors.ts';

/**
 * The master key protects every stored credential. It comes from HUILIU_SECRET_KEY (preferred for
 * multi-node deployments: all nodes need the same key) or from `<dataDir>/secret.key`, created on first
 * start. Losing it makes all stored secrets unreadable, so the key file belongs in backups — kept apart
 * from database dumps, or the backup of the ciphertext carries its own key.
 */
export const SECRET_KEY_ENV = 'HUILIU_SECRET_KEY';
export const KEY_FILE_NAME = 'secret.key';
const KEY_BYTES = 32;
const FORMAT_HELP = 'must be 32 bytes encoded as base64 (44 characters) or as 64 hex characters; generate one with `openssl rand -base64 32`';

export async function loadOrCreateMasterKey(opts: {
  env: Record<string, string | undefined>;
  dataDir: string;
}): Promise<Buffer> {
  const fromEnv = opts.env[SECRET_KEY_ENV]?.trim();
  if (fromEnv) {
    const key = parseKey(fromEnv);
    // The value is never echoed: a near-miss key is still secret material.
    if (!key) throw invalid(SECRET_KEY_ENV, FORMAT_HELP);
    return key;
  }

  const path = join(opts.dataDir, KEY_FILE_NAME);
  const existing = await readKeyFile(path);
  if (existing) return existing;

  await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(KEY_BYTES);
  try {
    // 'wx' fails if the file appeared meanwhile (another process starting on the same data dir): then
    // that process's key wins and we read it instead of overwriting it.
    await writeFile(path, `${key.toString('base64')}\n`, { flag: 'wx', mode: 0o600 });
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const raced = await readKeyFile(path);
    if (!raced) throw new AppError('internal', `${path} exists but is empty`);
    return raced;
  }
}

async function readKeyFile(path: string): Promise<Buffer | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const key = parseKey(text.trim());
  if (!key) throw invalid(path, `the key file ${FORMAT_HELP}`);
  return key;
}

/** Accepts 64 hex characters or base64/base64url of exactly 32 bytes; anything else is undefined. */
export function parseKey(text: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  // Buffer.from(…, 'base64') silently skips junk characters, so check the alphabet and length first.
  if (/^[A-Za-z0-9+/]{43}=?$/.test(text) || /^[A-Za-z0-9_-]{43}$/.test(text)) {
    const key = Buffer.from(text, 'base64');
    if (key.length === KEY_BYTES) return key;
  }
  return undefined;
}

/**
 * Derives an independent 32-byte subkey for one purpose (e.g. 'vault/v1', 'visitor-token/v1') with
 * HKDF-SHA256, so a key leaked or misused in one place says nothing about the master key or other subkeys.
 */
export function deriveKey(masterKey: Buffer, purpose: string): Buffer {
  if (masterKey.length !== KEY_BYTES) throw new AppError('internal', `master key must be ${KEY_BYTES} bytes`);
  if (!purpose) throw new AppError('internal', 'deriveKey needs a purpose');
  return Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), `huiliu:${purpose}`, KEY_BYTES));
}
