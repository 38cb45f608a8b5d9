import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { SecretInfo } from '@huiliu/contracts';
import type { Sql } from '../db/database.ts';
import { AppError, invalid } from '../shared/errors.ts';
import { deriveKey } from './master-key.ts';

export { deriveKey, loadOrCreateMasterKey, parseKey, SECRET_KEY_ENV, KEY_FILE_NAME } from './master-key.ts';

/**
 * Encrypted storage for channel and integration credentials, one namespace per workspace.
 * Values are AES-256-GCM encrypted under a subkey of the master key; the workspace id and secret name
 * are authenticated data, so a ciphertext copied to another workspace or name (SQL access, a bad
 * restore) fails to decrypt instead of handing one tenant's token to another.
 * `get` is for server-side use only; nothing that reaches a client may return its result.
 */
export interface Vault {
  put(workspaceId: string, name: string, value: string): Promise<SecretInfo>;
  get(workspaceId: string, name: string): Promise<string | undefined>;
  list(workspaceId: string): Promise<SecretInfo[]>;
  remove(workspaceId: string, name: string): Promise<boolean>;
}

const FORMAT = 'v1';
const IV_BYTES = 12;
const MAX_NAME = 200;
const MAX_VALUE = 64 * 1024;

type SecretRow = { id: string; name: string; hint: string; created_at: string; updated_at: string };

export function createVault(deps: { db: Sql; masterKey: Buffer }): Vault {
  const { db } = deps;
  const key = deriveKey(deps.masterKey, 'vault/v1');

  return {
    async put(workspaceId, name, value) {
      checkName(name);
      if (!value) throw invalid('value', 'must not be empty');
      if (value.length > MAX_VALUE) throw invalid('value', `must be at most ${MAX_VALUE} characters`);
      const rows = await db.query<SecretRow>(
        `INSERT INTO secrets (workspace_id, name, ciphertext, hint) VALUES ($1, $2, $3, $4)
         ON CONFLICT (workspace_id, name)
         DO UPDATE SET ciphertext = EXCLUDED.ciphertext, hint = EXCLUDED.hint, updated_at = now()
         RETURNING id, name, hint, created_at, updated_at`,
        [workspaceId, name, encrypt(key, workspaceId, name, value), hintFor(value)],
      );
      return toInfo(rows[0]!);
    },

    async get(workspaceId, name) {
      const rows = await db.query<{ ciphertext: string }>(
        'SELECT ciphertext FROM secrets WHERE workspace_id = $1 AND name = $2',
        [workspaceId, name],
      );
      const row = rows[0];
      return row ? decrypt(key, workspaceId, name, row.ciphertext) : undefined;
    },

    async list(workspaceId) {
      const rows = await db.query<SecretRow>(
        'SELECT id, name, hint, created_at, updated_at FROM secrets WHERE workspace_id = $1 ORDER BY name',
        [workspaceId],
      );
      return rows.map(toInfo);
    },

    async remove(workspaceId, name) {
      const rows = await db.query('DELETE FROM secrets WHERE workspace_id = $1 AND name = $2 RETURNING id', [workspaceId, name]);
      return rows.length > 0;
    },
  };
}

/** Unambiguous encoding of what the ciphertext is bound to (JSON, so no separator can be smuggled in a name). */
function aad(workspaceId: string, name: string): Buffer {
  // Lowercased because PostgreSQL accepts a uuid in either case but callers may not be consistent.
  return Buffer.from(JSON.stringify(['huiliu.secret', FORMAT, workspaceId.toLowerCase(), name]), 'utf8');
}

function encrypt(key: Buffer, workspaceId: string, name: string, value: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad(workspaceId, name));
  const ct = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return [FORMAT, iv.toString('base64'), cipher.getAuthTag().toString('base64'), ct.toString('base64')].join(':');
}

function decrypt(key: Buffer, workspaceId: string, name: string, stored: string): string {
  const [version, iv, tag, ct, ...rest] = stored.split(':');
  if (version !== FORMAT || iv === undefined || tag === undefined || ct === undefined || rest.length > 0) {
    throw new AppError('internal', `secret "${name}" is stored in an unknown format`);
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'), { authTagLength: 16 });
    decipher.setAAD(aad(workspaceId, name));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(ct, 'base64')), decipher.final()]).toString('utf8');
  } catch {
    // GCM cannot tell a wrong key from a tampered or moved row; name the likely causes for the operator.
    throw new AppError(
      'internal',
      `secret "${name}" could not be decrypted: the master key (HUILIU_SECRET_KEY or secret.key in the data directory) ` +
        'is not the one it was stored with, or the stored value was altered or copied from another workspace or name',
    );
  }
}

/**
 * '••••' plus the last 4 characters, so an admin can tell which token is configured. Values shorter than
 * 12 characters get no visible characters: 4 of them would give away too much of a short secret.
 */
export function hintFor(value: string): string {
  const chars = Array.from(value);
  return chars.length >= 12 ? `••••${chars.slice(-4).join('')}` : '••••';
}

function checkName(name: string): void {
  if (!name || name.length > MAX_NAME) throw invalid('name', `must be 1 to ${MAX_NAME} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw invalid('name', 'must not contain control characters');
}

function toInfo(r: SecretRow): SecretInfo {
  return { id: r.id, name: r.name, hint: r.hint, createdAt: r.created_at, updatedAt: r.updated_at };
}
