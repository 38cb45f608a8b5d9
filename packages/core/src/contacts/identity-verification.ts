/**
 * Identity verification for the web widget and apps (the scheme of Intercom's user_hash and Chatwoot's
 * identifier_hash): each inbox may have an identity key, an HMAC key kept in the vault and shown to the
 * admin once. The customer's own server signs the id of its signed-in user:
 *
 *   identifierHash = hex(HMAC-SHA256(key, identifier))       key: the 64-character text exactly as shown
 *
 *   Node:   crypto.createHmac('sha256', key).update(identifier).digest('hex')
 *   Python: hmac.new(key.encode(), identifier.encode(), hashlib.sha256).hexdigest()
 *
 * A session that presents both gets the verified key `user_id = identifier`, so the same user on any
 * inbox of the workspace (another site, the app, another device) is one contact (identity-keys.ts).
 * Only the identifier is signed: an email sent along stays unverified contact info and never merges
 * anything (a verified email comes from a channel that proves it, e.g. the email channel).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IdentityKeyCreated, IdentityKeyStatus } from '@huiliu/contracts';
import type { Database } from '../db/database.ts';
import { one } from '../db/database.ts';
import type { Actor } from '../auth/actor.ts';
import { requirePermission } from '../auth/actor.ts';
import { AppError, notFound } from '../shared/errors.ts';
import { recordAudit } from '../audit/audit.service.ts';
import type { Vault } from '../vault/vault.ts';

/** The vault name of an inbox's identity key (beside the channel credentials `channel:<inboxId>:…`). */
export const identityKeyName = (inboxId: string) => `inbox:${inboxId}:identity`;

export function signIdentifier(key: string, identifier: string): string {
  return createHmac('sha256', key).update(identifier, 'utf8').digest('hex');
}

export function createIdentityVerification(deps: { db: Database; vault: Vault }) {
  const { db, vault } = deps;

  async function inboxOf(actor: Actor, inboxId: string): Promise<void> {
    const r = await one(db, `SELECT 1 AS ok FROM inboxes WHERE id = $1 AND workspace_id = $2 AND deleted_at IS NULL`, [inboxId, actor.workspaceId]);
    if (!r) throw notFound('inbox');
  }

  async function status(workspaceId: string, inboxId: string): Promise<IdentityKeyStatus> {
    const info = (await vault.list(workspaceId)).find((s) => s.name === identityKeyName(inboxId));
    return info ? { configured: true, hint: info.hint, updatedAt: new Date(info.updatedAt).toISOString() } : { configured: false, hint: null, updatedAt: null };
  }

  return {
    async status(actor: Actor, inboxId: string): Promise<IdentityKeyStatus> {
      requirePermission(actor, 'inbox.manage');
      await inboxOf(actor, inboxId);
      return status(actor.workspaceId, inboxId);
    },

    /** Creates or replaces the key; the only time it is ever returned. Sessions signed with the old key stop verifying. */
    async rotate(actor: Actor, inboxId: string): Promise<IdentityKeyCreated> {
      requirePermission(actor, 'inbox.manage');
      await inboxOf(actor, inboxId);
      const key = randomBytes(32).toString('hex');
      const before = await status(actor.workspaceId, inboxId);
      await vault.put(actor.workspaceId, identityKeyName(inboxId), key);
      await recordAudit(db, actor, before.configured ? 'inbox.identity_key_rotated' : 'inbox.identity_key_created', { type: 'inbox', id: inboxId });
      return { ...(await status(actor.workspaceId, inboxId)), key };
    },

    /** Throws 401 unless `hash` is the inbox key's HMAC of `identifier` (constant-time comparison). */
    async verify(workspaceId: string, inboxId: string, identifier: string, hash: string): Promise<void> {
      const key = await vault.get(workspaceId, identityKeyName(inboxId));
      if (!key) {
        throw new AppError(
          'unauthenticated',
          'identity verification is not set up for this inbox: an admin creates its identity key first (POST /api/v1/inboxes/:id/identity-key); until then send no identifier',
        );
      }
      const expected = Buffer.from(signIdentifier(key, identifier), 'hex');
      const given = Buffer.from(hash, 'hex');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new AppError(
          'unauthenticated',
          "identifierHash does not match identifier: compute it on your server as hex(HMAC-SHA256(this inbox's identity key, identifier)) and send the identifier exactly as signed",
        );
      }
    },
  };
}
export type IdentityVerification = ReturnType<typeof createIdentityVerification>;
