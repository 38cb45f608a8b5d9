/**
 * SharedTokens (packages/channels adapter.ts) backed by the database: the access tokens a platform issues
 * for its API (WeChat / WeCom access_token, Douyin client_token), one cache per inbox and token name that
 * every node of the installation shares.
 *
 * - At rest the token is AES-256-GCM encrypted under its own subkey of the master key, bound to the
 *   workspace, inbox and name (a row copied elsewhere does not decrypt). It lives in `channel_tokens`,
 *   not in the vault's `secrets` table, so it never shows in the console's secrets list.
 * - `get` returns the cached token unless it is missing or expires within REFRESH_AHEAD_SECONDS, judged by
 *   the database clock so nodes with skewed clocks agree.
 * - At most one refresh in flight across nodes: the refresher first takes the row's refresh lease
 *   (`refresh_owner`, `refresh_until`) with ONE conditional upsert, then calls the platform with no
 *   transaction and no row lock held (PGlite has a single connection: holding one across an HTTP call
 *   would stall the whole embedded server). It extends the lease while the call runs and stores the
 *   token only while the lease is still its own. The others poll the row with short sleeps until the
 *   token appears; a lease left by a crashed node expires and is taken over. Within one process,
 *   concurrent callers of the same token share one promise (no extra polling, no extra claim).
 * - `invalidate(name, token)` drops the token only if it is still the cached one (compare-and-swap on the
 *   stored ciphertext), so a token another node has just refreshed survives a late 40001.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID } from 'node:crypto';
import { ChannelError, type SharedTokens } from '@huiliu/channels';
import type { Database } from '../db/database.ts';
import { one } from '../db/database.ts';
import type { Logger } from '../shared/logger.ts';
import { deriveKey } from '../vault/master-key.ts';

/** Refresh this long before expiry: a token handed out must survive the call it is used for. */
export const REFRESH_AHEAD_SECONDS = 60;
const FORMAT = 'v1';
const IV_BYTES = 12;
const MAX_NAME = 200;
const MAX_TOKEN = 16 * 1024;
const MIN_SLEEP_MS = 20;
const MAX_SLEEP_MS = 250;

export interface SharedTokenOptions {
  /**
   * How long a refresh lease lasts without extension; a node that died mid-refresh blocks the others at
   * most this long. The refresher extends it every third of it while the platform call runs. Default 20 s.
   */
  leaseMs?: number;
  /** How long a caller waits for another node's refresh before failing (retryable). Default lease + 10 s. */
  waitMs?: number;
  /** This node's name in lease rows (default: a random id per process). */
  nodeId?: string;
}

export interface SharedTokenStore {
  /** The SharedTokens of one inbox (ChannelContext.tokens). */
  forInbox(workspaceId: string, inboxId: string): SharedTokens;
}

type Refresh = () => Promise<{ token: string; expiresInSeconds: number }>;
interface Scope {
  workspaceId: string;
  inboxId: string;
  name: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createSharedTokenStore(deps: { db: Database; masterKey: Buffer; logger: Logger; options?: SharedTokenOptions }): SharedTokenStore {
  const { db } = deps;
  const key = deriveKey(deps.masterKey, 'channel-tokens/v1');
  const leaseMs = deps.options?.leaseMs ?? 20_000;
  const waitMs = deps.options?.waitMs ?? leaseMs + 10_000;
  const nodeId = deps.options?.nodeId ?? `node-${randomUUID()}`;
  const log = deps.logger.child({ component: 'channels.tokens', nodeId });
  /** In-process single flight: one lookup / refresh per token at a time, shared by every caller. */
  const inFlight = new Map<string, Promise<string>>();

  const where = `inbox_id = $1 AND workspace_id = $2 AND name = $3`;
  const params = (s: Scope) => [s.inboxId, s.workspaceId, s.name];

  /** The cached token when it is still good for REFRESH_AHEAD_SECONDS; a row that no longer decrypts is cleared. */
  async function cached(s: Scope): Promise<string | undefined> {
    const row = await one<{ ciphertext: string | null; fresh: boolean | null }>(
      db,
      `SELECT ciphertext, expires_at > now() + make_interval(secs => $4) AS fresh FROM channel_tokens WHERE ${where}`,
      [...params(s), REFRESH_AHEAD_SECONDS],
    );
    if (!row?.ciphertext || !row.fresh) return undefined;
    try {
      return decrypt(key, s, row.ciphertext);
    } catch {
      // The master key changed (or the row was tampered with): forget it, so the next claim refreshes.
      log.warn({ inboxId: s.inboxId, name: s.name }, 'a cached access token could not be decrypted; it is dropped and refreshed');
      await db.query(`UPDATE channel_tokens SET ciphertext = NULL, expires_at = NULL, updated_at = now() WHERE ${where} AND ciphertext = $4`, [...params(s), row.ciphertext]);
      return undefined;
    }
  }

  /** Takes the refresh lease if nobody holds it and the token still needs a refresh; true when ours. */
  async function claim(s: Scope, owner: string): Promise<boolean> {
    const r = await one(
      db,
      `INSERT INTO channel_tokens (inbox_id, workspace_id, name, refresh_owner, refresh_until)
       VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5::double precision / 1000))
       ON CONFLICT (inbox_id, name) DO UPDATE SET refresh_owner = EXCLUDED.refresh_owner, refresh_until = EXCLUDED.refresh_until, updated_at = now()
       WHERE channel_tokens.workspace_id = EXCLUDED.workspace_id
         AND (channel_tokens.refresh_until IS NULL OR channel_tokens.refresh_until <= now())
         AND (channel_tokens.ciphertext IS NULL OR channel_tokens.expires_at IS NULL
              OR channel_tokens.expires_at <= now() + make_interval(secs => $6))
       RETURNING refresh_owner`,
      [...params(s), owner, leaseMs, REFRESH_AHEAD_SECONDS],
    );
    return r?.refresh_owner === owner;
  }

  /** Calls the platform under our lease (extended while it runs) and stores the token if the lease is still ours. */
  async function refreshUnderLease(s: Scope, owner: string, refresh: Refresh): Promise<string> {
    const heartbeat = setInterval(() => {
      db.query(
        `UPDATE channel_tokens SET refresh_until = now() + make_interval(secs => $5::double precision / 1000) WHERE ${where} AND refresh_owner = $4`,
        [...params(s), owner, leaseMs],
      ).catch((err: unknown) => log.warn({ err, inboxId: s.inboxId, name: s.name }, 'could not extend the token refresh lease'));
    }, Math.max(10, Math.floor(leaseMs / 3)));
    heartbeat.unref();
    let issued: { token: string; expiresInSeconds: number };
    try {
      issued = await refresh();
      if (typeof issued?.token !== 'string' || !issued.token || issued.token.length > MAX_TOKEN) {
        throw new ChannelError('provider_error', `the platform's answer for the "${s.name}" access token held no usable token`);
      }
      if (!(Number.isFinite(issued.expiresInSeconds) && issued.expiresInSeconds > 0)) {
        throw new ChannelError('provider_error', `the platform's answer for the "${s.name}" access token held no valid expiry (expires_in)`);
      }
    } catch (err) {
      clearInterval(heartbeat);
      // Free the lease at once: a waiting caller may try itself instead of waiting for the lease to end.
      await db.query(`UPDATE channel_tokens SET refresh_owner = NULL, refresh_until = NULL, updated_at = now() WHERE ${where} AND refresh_owner = $4`, [...params(s), owner])
        .catch((e: unknown) => log.warn({ err: e, inboxId: s.inboxId, name: s.name }, 'could not release the token refresh lease; it expires by itself'));
      throw err;
    }
    clearInterval(heartbeat);
    try {
      const stored = await db.query(
        `UPDATE channel_tokens SET ciphertext = $5, expires_at = now() + make_interval(secs => $6), refresh_owner = NULL, refresh_until = NULL, updated_at = now()
         WHERE ${where} AND refresh_owner = $4 RETURNING inbox_id`,
        [...params(s), owner, encrypt(key, s, issued.token), Math.floor(issued.expiresInSeconds)],
      );
      if (stored.length === 0) log.warn({ inboxId: s.inboxId, name: s.name }, 'the token refresh lease was taken over meanwhile; the new token is used once but not cached');
    } catch (err) {
      // The platform issued a valid token: use it for this call even if caching it failed.
      log.warn({ err, inboxId: s.inboxId, name: s.name }, 'could not cache a refreshed access token');
    }
    return issued.token;
  }

  async function obtain(s: Scope, refresh: Refresh): Promise<string> {
    const deadline = Date.now() + waitMs;
    let pause = MIN_SLEEP_MS;
    for (;;) {
      const hit = await cached(s);
      if (hit !== undefined) return hit;
      const owner = `${nodeId}:${randomUUID()}`;
      if (await claim(s, owner)) return refreshUnderLease(s, owner, refresh);
      // Another node refreshes right now (or has just finished): wait for its token.
      if (Date.now() >= deadline) {
        throw new ChannelError('network', `another node is refreshing the "${s.name}" access token and it did not arrive within ${Math.round(waitMs / 1000)} s; try again later`, { retryable: true });
      }
      await sleep(pause);
      pause = Math.min(pause * 2, MAX_SLEEP_MS);
    }
  }

  function checkName(name: string): void {
    if (typeof name !== 'string' || !name || name.length > MAX_NAME) {
      throw new ChannelError('not_configured', `a shared token name must be 1 to ${MAX_NAME} characters`, { retryable: false });
    }
  }

  return {
    forInbox(workspaceId, inboxId) {
      return {
        get(name, refresh) {
          try {
            checkName(name);
          } catch (err) {
            return Promise.reject(err);
          }
          const flightKey = `${inboxId}\u0000${name}`;
          const running = inFlight.get(flightKey);
          if (running) return running;
          const p = obtain({ workspaceId, inboxId, name }, refresh).finally(() => inFlight.delete(flightKey));
          inFlight.set(flightKey, p);
          return p;
        },
        async invalidate(name, token) {
          checkName(name);
          const s = { workspaceId, inboxId, name };
          const row = await one<{ ciphertext: string | null }>(db, `SELECT ciphertext FROM channel_tokens WHERE ${where}`, params(s));
          if (!row?.ciphertext) return;
          let current: string | undefined;
          try {
            current = decrypt(key, s, row.ciphertext);
          } catch {
            current = undefined; // unreadable: dropping it is right in any case
          }
          if (current !== undefined && current !== token) return;
          // Compare-and-swap on the ciphertext: a token stored by a refresh since our read survives.
          await db.query(`UPDATE channel_tokens SET ciphertext = NULL, expires_at = NULL, updated_at = now() WHERE ${where} AND ciphertext = $4`, [...params(s), row.ciphertext]);
          log.info({ inboxId, name }, 'access token invalidated after the platform refused it');
        },
      };
    },
  };
}

/** What the ciphertext is bound to (JSON, so no separator can be smuggled in a name). */
function aad(s: Scope): Buffer {
  return Buffer.from(JSON.stringify(['huiliu.channel-token', FORMAT, s.workspaceId.toLowerCase(), s.inboxId.toLowerCase(), s.name]), 'utf8');
}

function encrypt(key: Buffer, s: Scope, token: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad(s));
  const ct = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
  return [FORMAT, iv.toString('base64'), cipher.getAuthTag().toString('base64'), ct.toString('base64')].join(':');
}

function decrypt(key: Buffer, s: Scope, stored: string): string {
  const [version, iv, tag, ct, ...rest] = stored.split(':');
  if (version !== FORMAT || iv === undefined || tag === undefined || ct === undefined || rest.length > 0) throw new Error('unknown token format');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'), { authTagLength: 16 });
  decipher.setAAD(aad(s));
  decipher.setAuthTag(Buffer.from(tag, 'base64'));
  return Buffer.concat([decipher.update(Buffer.from(ct, 'base64')), decipher.final()]).toString('utf8');
}
