/**
 * Merging two contacts into one, and undoing it, inside the caller's transaction. Used by agents (manual
 * merge, identity.service.ts) and by identity resolution when two contacts turn out to share a verified
 * key (identity-keys.ts), so both kinds of merge are the same operation with the same audit trail.
 *
 * Merge B into A: A keeps its fields, empty ones are filled from B, attributes are merged (A wins), tags
 * unioned; B's identities and conversations move to A; B stays as a row with merged_into_id = A (hidden
 * from lists and search). Messages are never touched: each keeps the identity it came through.
 *
 * Unmerge: B gets its fields back from the snapshot, its identities back, and every conversation whose
 * identity is one of them — also conversations opened on those identities after the merge, so nothing
 * that arrived in between stays behind. What A received from B (filled fields, attributes, tags) is taken
 * back where nobody changed it since.
 *
 * Merges stack: a merge is undone only while its survivor is not itself merged (undo the later merge
 * first), so every identity is always moved back to where it was.
 */
import type { Row, Sql } from '../db/database.ts';
import { one } from '../db/database.ts';
import type { Actor } from '../auth/actor.ts';
import { AppError, conflict, invalid, notFound } from '../shared/errors.ts';
import { recordAudit } from '../audit/audit.service.ts';

export interface ContactFields {
  name: string | null;
  email: string | null;
  phone: string | null;
  attributes: Record<string, unknown>;
  tags: string[];
}

/** What the survivor received from the merged contact. */
interface Filled {
  name?: string;
  email?: string;
  phone?: string;
  attributes: Record<string, unknown>;
  tags: string[];
}

export interface MergeOutcome {
  mergeId: string;
  survivorId: string;
  mergedId: string;
  identityIds: string[];
  conversationIds: string[];
}

export interface UnmergeOutcome extends MergeOutcome {
  /** Conversations moved back (those of the merge plus any opened on the identities since). */
  movedBackConversationIds: string[];
}

/** Builds the full-text document of a contact (the contact service's textIndex). */
export type SearchDoc = (c: ContactFields) => string;

const fieldsOf = (r: Row): ContactFields => ({
  name: (r.name as string | null) ?? null,
  email: (r.email as string | null) ?? null,
  phone: (r.phone as string | null) ?? null,
  attributes: (r.attributes as Record<string, unknown>) ?? {},
  tags: (r.tags as string[]) ?? [],
});

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * The live contact an id stands for: itself, or the contact it was (transitively) merged into.
 * Returns null when the id is not a contact of the workspace.
 */
export async function survivorOf(sql: Sql, workspaceId: string, contactId: string): Promise<string | null> {
  let id = contactId;
  for (let hops = 0; hops < 50; hops++) {
    const r = await one(sql, `SELECT merged_into_id FROM contacts WHERE id = $1 AND workspace_id = $2`, [id, workspaceId]);
    if (!r) return null;
    if (!r.merged_into_id) return id;
    id = r.merged_into_id as string;
  }
  return id;
}

/** The error for an id of a merged contact: not found here, with the id to use instead. */
export function mergedAway(contactId: string, survivorId: string): AppError {
  return new AppError('not_found', `contact ${contactId} was merged into contact ${survivorId}; use that id`, [
    { path: 'params.id', message: `merged into ${survivorId}` },
  ]);
}

/** Both rows, locked in id order (two merges of the same pair in opposite directions cannot deadlock). */
async function lockPair(tx: Sql, workspaceId: string, a: string, b: string): Promise<Map<string, Row>> {
  const rows = await tx.query(`SELECT * FROM contacts WHERE workspace_id = $1 AND id = ANY($2::uuid[]) ORDER BY id FOR UPDATE`, [workspaceId, [a, b]]);
  return new Map(rows.map((r) => [r.id as string, r]));
}

export async function mergeContactsInTx(
  tx: Sql,
  input: { workspaceId: string; survivorId: string; mergedId: string; actor: Actor; reason: string; searchDoc: SearchDoc },
): Promise<MergeOutcome> {
  const { workspaceId, survivorId, mergedId, actor } = input;
  if (survivorId === mergedId) throw invalid('body.contactId', 'a contact cannot be merged with itself; pick another contact');
  const rows = await lockPair(tx, workspaceId, survivorId, mergedId);
  const merged = rows.get(mergedId);
  if (!merged) throw notFound('contact');
  const survivor = rows.get(survivorId);
  if (!survivor) throw notFound('contact');
  if (merged.merged_into_id) {
    throw conflict(`contact ${mergedId} was already merged into contact ${merged.merged_into_id as string}; unmerge it first`);
  }
  if (survivor.merged_into_id) {
    throw new AppError('conflict', `contact ${survivorId} was merged into contact ${survivor.merged_into_id as string}; merge into that contact instead`, [
      { path: 'body.contactId', message: `merged into ${survivor.merged_into_id as string}` },
    ]);
  }

  const a = fieldsOf(survivor);
  const b = fieldsOf(merged);
  const filled: Filled = { attributes: {}, tags: [] };
  const next: ContactFields = { ...a, attributes: { ...a.attributes }, tags: [...a.tags] };
  for (const f of ['name', 'email', 'phone'] as const) {
    if (!a[f] && b[f]) {
      next[f] = b[f];
      filled[f] = b[f]!;
    }
  }
  for (const [k, v] of Object.entries(b.attributes)) {
    if (!(k in a.attributes)) {
      next.attributes[k] = v;
      filled.attributes[k] = v;
    }
  }
  for (const t of b.tags) {
    if (!next.tags.includes(t)) {
      next.tags.push(t);
      filled.tags.push(t);
    }
  }

  const identities = await tx.query<{ id: string }>(
    `UPDATE contact_identities SET contact_id = $3 WHERE workspace_id = $1 AND contact_id = $2 RETURNING id`,
    [workspaceId, mergedId, survivorId],
  );
  const conversations = await tx.query<{ id: string }>(
    `UPDATE conversations SET contact_id = $3, updated_at = now() WHERE workspace_id = $1 AND contact_id = $2 RETURNING id`,
    [workspaceId, mergedId, survivorId],
  );
  await tx.query(`UPDATE contacts SET merged_into_id = $3, updated_at = now() WHERE id = $1 AND workspace_id = $2`, [mergedId, workspaceId, survivorId]);
  await tx.query(
    `UPDATE contacts SET name = $3, email = $4, phone = $5, attributes = $6, tags = $7, search = to_tsvector('simple', $8), updated_at = now()
     WHERE id = $1 AND workspace_id = $2`,
    [survivorId, workspaceId, next.name, next.email, next.phone, JSON.stringify(next.attributes), next.tags, input.searchDoc(next)],
  );
  const identityIds = identities.map((r) => r.id);
  const conversationIds = conversations.map((r) => r.id);
  const m = await one<{ id: string }>(
    tx,
    `INSERT INTO contact_merges (workspace_id, survivor_id, merged_id, identity_ids, conversation_ids, merged_snapshot, filled, actor_type, actor_id, reason)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
    [workspaceId, survivorId, mergedId, identityIds, conversationIds, JSON.stringify(b), JSON.stringify(filled), actorType(actor), actorId(actor), input.reason],
  );
  await recordAudit(tx, actor, 'contact.merged', { type: 'contact', id: survivorId }, {
    mergeId: m!.id, mergedId, reason: input.reason, identityIds, conversationIds,
  });
  return { mergeId: m!.id, survivorId, mergedId, identityIds, conversationIds };
}

export async function unmergeContactInTx(tx: Sql, input: { workspaceId: string; mergedId: string; actor: Actor; searchDoc: SearchDoc }): Promise<UnmergeOutcome> {
  const { workspaceId, mergedId, actor } = input;
  const m = await one(tx, `SELECT * FROM contact_merges WHERE workspace_id = $1 AND merged_id = $2 AND undone_at IS NULL FOR UPDATE`, [workspaceId, mergedId]);
  if (!m) {
    const exists = await one(tx, `SELECT 1 AS ok FROM contacts WHERE id = $1 AND workspace_id = $2`, [mergedId, workspaceId]);
    if (!exists) throw notFound('contact');
    throw conflict(`contact ${mergedId} is not merged into another contact; there is nothing to unmerge`);
  }
  const survivorId = m.survivor_id as string;
  const rows = await lockPair(tx, workspaceId, survivorId, mergedId);
  const survivor = rows.get(survivorId);
  if (!survivor || !rows.get(mergedId)) throw notFound('contact');
  if (survivor.merged_into_id) {
    throw conflict(
      `contact ${survivorId}, which ${mergedId} was merged into, was itself merged into contact ${survivor.merged_into_id as string} later; unmerge ${survivorId} first`,
    );
  }
  const identityIds = (m.identity_ids as string[]) ?? [];
  await tx.query(`UPDATE contact_identities SET contact_id = $3 WHERE workspace_id = $1 AND id = ANY($4::uuid[]) AND contact_id = $2`, [
    workspaceId, survivorId, mergedId, identityIds,
  ]);
  // By identity, not by the list recorded at merge time: conversations opened on the merged contact's
  // identities since then belong to it too.
  const moved = await tx.query<{ id: string }>(
    `UPDATE conversations SET contact_id = $3, updated_at = now() WHERE workspace_id = $1 AND contact_id = $2 AND identity_id = ANY($4::uuid[]) RETURNING id`,
    [workspaceId, survivorId, mergedId, identityIds],
  );

  const snapshot = m.merged_snapshot as ContactFields;
  const restored: ContactFields = {
    name: snapshot.name ?? null,
    email: snapshot.email ?? null,
    phone: snapshot.phone ?? null,
    attributes: snapshot.attributes ?? {},
    tags: snapshot.tags ?? [],
  };
  await tx.query(
    `UPDATE contacts SET merged_into_id = NULL, name = $3, email = $4, phone = $5, attributes = $6, tags = $7, search = to_tsvector('simple', $8), updated_at = now()
     WHERE id = $1 AND workspace_id = $2`,
    [mergedId, workspaceId, restored.name, restored.email, restored.phone, JSON.stringify(restored.attributes), restored.tags, input.searchDoc(restored)],
  );

  // Take back from the survivor what it received, where it still holds exactly that.
  const filled = (m.filled ?? { attributes: {}, tags: [] }) as Filled;
  const a = fieldsOf(survivor);
  for (const f of ['name', 'email', 'phone'] as const) {
    if (filled[f] !== undefined && a[f] === filled[f]) a[f] = null;
  }
  for (const [k, v] of Object.entries(filled.attributes ?? {})) {
    if (k in a.attributes && sameJson(a.attributes[k], v)) delete a.attributes[k];
  }
  a.tags = a.tags.filter((t) => !(filled.tags ?? []).includes(t));
  await tx.query(
    `UPDATE contacts SET name = $3, email = $4, phone = $5, attributes = $6, tags = $7, search = to_tsvector('simple', $8), updated_at = now()
     WHERE id = $1 AND workspace_id = $2`,
    [survivorId, workspaceId, a.name, a.email, a.phone, JSON.stringify(a.attributes), a.tags, input.searchDoc(a)],
  );

  await tx.query(`UPDATE contact_merges SET undone_at = now(), undone_by_type = $3, undone_by_id = $4 WHERE id = $1 AND workspace_id = $2`, [
    m.id, workspaceId, actorType(actor), actorId(actor),
  ]);
  const movedBackConversationIds = moved.map((r) => r.id);
  await recordAudit(tx, actor, 'contact.unmerged', { type: 'contact', id: survivorId }, {
    mergeId: m.id, mergedId, identityIds, conversationIds: movedBackConversationIds,
  });
  return {
    mergeId: m.id as string,
    survivorId,
    mergedId,
    identityIds,
    conversationIds: (m.conversation_ids as string[]) ?? [],
    movedBackConversationIds,
  };
}

function actorType(actor: Actor): 'user' | 'system' | 'cli' {
  return actor.kind === 'user' ? 'user' : actor.kind === 'system' && actor.via === 'cli' ? 'cli' : 'system';
}
function actorId(actor: Actor): string | null {
  return actor.kind === 'user' ? actor.userId : null;
}
