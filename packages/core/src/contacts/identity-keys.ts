/**
 * Verified keys and identity resolution: the one place that decides which contact a channel identity
 * belongs to.
 *
 * A channel may vouch for keys of the person writing (VerifiedKey of @huiliu/channels: an email address
 * the platform verified, a phone number from the carrier, a WeChat unionid, the customer's own user id
 * signed with the inbox's identity key). Keys are stored per identity (identity_keys). Contacts whose
 * identities share a key are the same person:
 * - a NEW identity whose key is already known joins that contact (no new contact is created);
 * - an EXISTING identity that gains a key another contact holds merges the two contacts (the older one
 *   survives; actor system, reason "same verified <kind>"), with the same merge as the manual one.
 * Unverified data (a typed email, the contact's email / phone fields) never merges anything; such
 * lookalikes are only suggested to agents (identity.service.ts).
 */
import type { ChannelType } from '@huiliu/contracts';
import type { Row, Sql } from '../db/database.ts';
import { one } from '../db/database.ts';
import type { SystemActor } from '../auth/actor.ts';
import { mergeContactsInTx, type ContactFields, type SearchDoc } from './contact-merge.ts';

export type KeyKind = 'email' | 'phone' | 'unionid' | 'user_id';
export interface IdentityKey {
  kind: KeyKind;
  value: string;
}

const MAX_KEYS = 20;
const MAX_VALUE = 255;

export function normalizeEmail(value: string): string | null {
  const v = value.trim().toLowerCase();
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v) && v.length <= MAX_VALUE ? v : null;
}

/**
 * E.164: "+" and 8 to 15 digits. Spaces, dashes, dots and brackets are dropped and a leading "00" is read
 * as "+". Digits without "+" are taken as already international (WhatsApp's wa_id "8613800138000"):
 * adapters promise E.164, and guessing a country for a national number would merge strangers.
 */
export function normalizePhone(value: string): string | null {
  let v = value.trim().replace(/[\s().-]/g, '');
  if (v.startsWith('00')) v = `+${v.slice(2)}`;
  if (!v.startsWith('+')) v = `+${v}`;
  return /^\+[1-9]\d{7,14}$/.test(v) ? v : null;
}

export function normalizeKey(key: { kind: string; value: string }): IdentityKey | null {
  if (typeof key?.value !== 'string') return null;
  switch (key.kind) {
    case 'email': {
      const v = normalizeEmail(key.value);
      return v ? { kind: 'email', value: v } : null;
    }
    case 'phone': {
      const v = normalizePhone(key.value);
      return v ? { kind: 'phone', value: v } : null;
    }
    case 'unionid':
    case 'user_id': {
      const v = key.value.trim();
      return v && v.length <= MAX_VALUE ? { kind: key.kind, value: v } : null;
    }
    default:
      return null;
  }
}

/** Normalized, de-duplicated, bad ones dropped (a channel's odd value must not break the message). */
export function normalizeKeys(keys: readonly { kind: string; value: string }[] | undefined): IdentityKey[] {
  const out = new Map<string, IdentityKey>();
  for (const k of keys ?? []) {
    const n = normalizeKey(k);
    if (n) out.set(`${n.kind}\u0000${n.value}`, n);
    if (out.size >= MAX_KEYS) break;
  }
  return [...out.values()];
}

/**
 * Serializes resolutions that involve the same key (the first messages of one person arriving on two
 * channels at once would otherwise both create a contact). Sorted, so two resolutions never wait on each
 * other in opposite order.
 */
async function lockKeys(tx: Sql, workspaceId: string, keys: IdentityKey[]): Promise<void> {
  const names = keys.map((k) => `identity-key|${workspaceId}|${k.kind}|${k.value}`).sort();
  for (const name of names) await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [name]);
}

/** Live contacts (not merged away) whose identities hold one of `keys`, oldest first. */
async function contactsWithKeys(tx: Sql, workspaceId: string, keys: IdentityKey[]): Promise<{ contactId: string; kind: KeyKind }[]> {
  if (keys.length === 0) return [];
  const rows = await tx.query(
    `SELECT c.id, c.created_at, min(k.kind) AS kind FROM identity_keys k
       JOIN contact_identities i ON i.id = k.identity_id AND i.workspace_id = k.workspace_id
       JOIN contacts c ON c.id = i.contact_id AND c.workspace_id = i.workspace_id
     WHERE k.workspace_id = $1 AND (k.kind, k.value) IN (SELECT * FROM unnest($2::text[], $3::text[]))
       AND c.merged_into_id IS NULL
     GROUP BY c.id, c.created_at ORDER BY c.created_at, c.id`,
    [workspaceId, keys.map((k) => k.kind), keys.map((k) => k.value)],
  );
  return rows.map((r) => ({ contactId: r.id as string, kind: r.kind as KeyKind }));
}

/** Adds keys to an identity; returns the ones it did not have yet. */
async function addKeys(tx: Sql, workspaceId: string, identityId: string, keys: IdentityKey[]): Promise<IdentityKey[]> {
  if (keys.length === 0) return [];
  const rows = await tx.query(
    `INSERT INTO identity_keys (workspace_id, identity_id, kind, value)
     SELECT $1, $2, k.kind, k.value FROM unnest($3::text[], $4::text[]) AS k(kind, value)
     ON CONFLICT DO NOTHING RETURNING kind, value`,
    [workspaceId, identityId, keys.map((k) => k.kind), keys.map((k) => k.value)],
  );
  return rows.map((r) => ({ kind: r.kind as KeyKind, value: r.value as string }));
}

const REASON: Record<KeyKind, string> = {
  email: 'same verified email',
  phone: 'same verified phone',
  unionid: 'same verified unionid',
  user_id: 'same verified user id',
};

export interface ResolveIdentityInput {
  workspaceId: string;
  inboxId: string;
  channelType: ChannelType;
  sourceId: string;
  verified: boolean;
  contact: Partial<ContactFields>;
  verifiedKeys?: readonly { kind: string; value: string }[] | undefined;
}

export interface ResolvedIdentity {
  contactId: string;
  identityId: string;
  /** A new identity was created (for a new contact or joining an existing one). */
  created: boolean;
  /** Contacts merged into `contactId` by this resolution (automatic merges), and the conversations they brought. */
  mergedContactIds: string[];
  movedConversationIds: string[];
}

/**
 * Finds the identity for (inbox, sourceId) or creates it, applying the verified keys. Runs in the
 * caller's transaction (the channel ingest's, so the message and its contact commit together).
 */
export async function resolveIdentityInTx(sql: Sql, input: ResolveIdentityInput, searchDoc: SearchDoc): Promise<ResolvedIdentity> {
  const { workspaceId } = input;
  const keys = normalizeKeys(input.verifiedKeys);
  if (keys.length) await lockKeys(sql, workspaceId, keys);
  const system: SystemActor = { kind: 'system', workspaceId, via: 'system' };
  const out: ResolvedIdentity = { contactId: '', identityId: '', created: false, mergedContactIds: [], movedConversationIds: [] };

  /**
   * Merges every other contact holding one of the keys into the oldest of them all (except contacts an
   * agent separated from it); returns the contact `contactId` now is.
   */
  const mergeAll = async (contactId: string, matches: { contactId: string; kind: KeyKind }[]) => {
    const others = matches.filter((m) => m.contactId !== contactId);
    if (others.length === 0) return contactId;
    const ages = await sql.query(`SELECT id FROM contacts WHERE workspace_id = $1 AND id = ANY($2::uuid[]) ORDER BY created_at, id`, [
      workspaceId, [contactId, ...others.map((o) => o.contactId)],
    ]);
    const survivor = ages[0]!.id as string;
    const kindOf = new Map(others.map((o) => [o.contactId, o.kind]));
    const firstKind = others[0]!.kind;
    // An agent who undid a merge of two of them decided they are different people: the keys they share
    // (a new widget session or inbox brings them again) must not merge them back behind the agent's back.
    const separated = await sql.query(
      `SELECT survivor_id, merged_id FROM contact_merges
       WHERE workspace_id = $1 AND undone_at IS NOT NULL AND survivor_id = ANY($2::uuid[]) AND merged_id = ANY($2::uuid[])`,
      [workspaceId, ages.map((r) => r.id as string)],
    );
    const apart = (x: string, y: string) => separated.some((s) => (s.survivor_id === x && s.merged_id === y) || (s.survivor_id === y && s.merged_id === x));
    // Where `contactId` ends up: the survivor, unless it was kept apart from it.
    let result = contactId;
    for (const r of ages.slice(1)) {
      const mergedId = r.id as string;
      if (apart(survivor, mergedId)) continue;
      if (mergedId === contactId) result = survivor;
      const m = await mergeContactsInTx(sql, { workspaceId, survivorId: survivor, mergedId, actor: system, reason: REASON[kindOf.get(mergedId) ?? firstKind], searchDoc });
      out.mergedContactIds.push(mergedId);
      out.movedConversationIds.push(...m.conversationIds);
    }
    return result;
  };

  const existing = await one(sql, `SELECT id, contact_id FROM contact_identities WHERE workspace_id = $1 AND inbox_id = $2 AND source_id = $3`, [
    workspaceId, input.inboxId, input.sourceId,
  ]);
  if (existing) {
    out.identityId = existing.id as string;
    out.contactId = existing.contact_id as string;
    if (keys.length === 0) return out;
    if (input.verified) await sql.query(`UPDATE contact_identities SET verified = true WHERE id = $1 AND workspace_id = $2 AND NOT verified`, [out.identityId, workspaceId]);
    const added = await addKeys(sql, workspaceId, out.identityId, keys);
    // Only a key the identity did not have is new evidence: after an agent unmerged two contacts, the
    // keys they already had do not merge them again.
    if (added.length) out.contactId = await mergeAll(out.contactId, await contactsWithKeys(sql, workspaceId, added));
    return out;
  }

  const matches = await contactsWithKeys(sql, workspaceId, keys);
  let contactId: string;
  if (matches.length) {
    contactId = matches[0]!.contactId;
    await fillEmptyFields(sql, workspaceId, contactId, input.contact, searchDoc);
  } else {
    const c = await one(
      sql,
      `INSERT INTO contacts (workspace_id, name, email, phone, attributes, search) VALUES ($1, $2, $3, $4, $5, to_tsvector('simple', $6)) RETURNING id`,
      [
        workspaceId,
        input.contact.name ?? null,
        input.contact.email ?? null,
        input.contact.phone ?? null,
        JSON.stringify(input.contact.attributes ?? {}),
        searchDoc({ name: input.contact.name ?? null, email: input.contact.email ?? null, phone: input.contact.phone ?? null, attributes: {}, tags: [] }),
      ],
    );
    contactId = c!.id as string;
  }
  const i = await one(
    sql,
    `INSERT INTO contact_identities (workspace_id, contact_id, inbox_id, channel_type, source_id, verified) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
    [workspaceId, contactId, input.inboxId, input.channelType, input.sourceId, input.verified],
  );
  out.identityId = i!.id as string;
  out.created = true;
  await addKeys(sql, workspaceId, out.identityId, keys);
  // Two known contacts holding different keys of this one person: they are one contact now.
  out.contactId = await mergeAll(contactId, matches);
  return out;
}

/** A new identity joining a known contact brings its name / email / phone where the contact has none. */
async function fillEmptyFields(sql: Sql, workspaceId: string, contactId: string, c: Partial<ContactFields>, searchDoc: SearchDoc): Promise<void> {
  if (!c.name && !c.email && !c.phone) return;
  const r: Row | undefined = await one(
    sql,
    `UPDATE contacts SET name = COALESCE(name, $3), email = COALESCE(email, $4), phone = COALESCE(phone, $5), updated_at = now()
     WHERE id = $1 AND workspace_id = $2 RETURNING name, email, phone, tags`,
    [contactId, workspaceId, c.name ?? null, c.email ?? null, c.phone ?? null],
  );
  if (!r) return;
  const doc = searchDoc({ name: r.name as string | null, email: r.email as string | null, phone: r.phone as string | null, attributes: {}, tags: (r.tags as string[]) ?? [] });
  await sql.query(`UPDATE contacts SET search = to_tsvector('simple', $3) WHERE id = $1 AND workspace_id = $2`, [contactId, workspaceId, doc]);
}
