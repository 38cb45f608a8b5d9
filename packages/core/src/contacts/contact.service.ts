import type { ChannelType, Contact, ContactIdentity } from '@huiliu/contracts';
import type { VerifiedKey } from '@huiliu/channels';
import type { Database, Row, Sql } from '../db/database.ts';
import { one } from '../db/database.ts';
import type { Actor } from '../auth/actor.ts';
import { can, requirePermission } from '../auth/actor.ts';
import { forbidden, invalid, notFound } from '../shared/errors.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { decodeCursor, encodeCursor, type TextIndex } from '../shared/text-index.ts';
import { mergedAway, survivorOf } from './contact-merge.ts';
import { resolveIdentityInTx, type ResolvedIdentity } from './identity-keys.ts';

/** a***@example.com / +86******8000: enough to recognise, not enough to use. */
export function maskEmail(email: string): string {
  const [local = '', domain = ''] = email.split('@');
  return `${local.slice(0, 1)}***@${domain}`;
}
export function maskPhone(phone: string): string {
  const digits = phone.replace(/\D/g, '');
  return digits.length <= 4 ? '****' : `${phone.startsWith('+') ? '+' : ''}${digits.slice(0, 2)}${'*'.repeat(Math.max(digits.length - 6, 2))}${digits.slice(-4)}`;
}

export function presentContact(r: Row, viewer: Actor): Contact {
  const pii = can(viewer, 'contact.pii');
  const email = r.email as string | null;
  const phone = r.phone as string | null;
  return {
    id: r.id as string,
    name: r.name as string | null,
    email: email && !pii ? maskEmail(email) : email,
    phone: phone && !pii ? maskPhone(phone) : phone,
    attributes: (r.attributes as Record<string, unknown>) ?? {},
    tags: (r.tags as string[]) ?? [],
    createdAt: r.created_at as string,
    updatedAt: r.updated_at as string,
  };
}

export function presentIdentity(r: Row): ContactIdentity {
  return {
    id: r.id as string,
    contactId: r.contact_id as string,
    inboxId: r.inbox_id as string,
    channelType: r.channel_type as ChannelType,
    sourceId: r.source_id as string,
    verified: r.verified as boolean,
    createdAt: r.created_at as string,
  };
}

export interface ContactInput {
  name?: string | null | undefined;
  email?: string | null | undefined;
  phone?: string | null | undefined;
  attributes?: Record<string, unknown> | undefined;
  tags?: string[] | undefined;
}

const ATTRIBUTES_MAX_BYTES = 16 * 1024;

export function createContactService(deps: { db: Database; textIndex: TextIndex }) {
  const { db, textIndex } = deps;

  const readable = (actor: Actor) => {
    if (actor.kind === 'visitor') throw forbidden();
    requirePermission(actor, 'contact.read');
  };
  const getRow = async (sql: Sql, workspaceId: string, id: string) => {
    const r = await one(sql, `SELECT * FROM contacts WHERE id = $1 AND workspace_id = $2`, [id, workspaceId]);
    if (!r) throw notFound('contact');
    // A merged contact is gone from every view; its id names the contact to use instead.
    if (r.merged_into_id) throw mergedAway(id, (await survivorOf(sql, workspaceId, id)) ?? (r.merged_into_id as string));
    return r;
  };
  const searchDoc = (c: ContactInput) => textIndex.document(c.name, c.email, c.phone, ...(c.tags ?? []));
  const checkAttributes = (attributes: Record<string, unknown> | undefined) => {
    if (attributes && JSON.stringify(attributes).length > ATTRIBUTES_MAX_BYTES) {
      throw invalid('body.attributes', 'attributes are larger than 16 KB; keep large data in your own system and store a reference');
    }
  };

  return {
    async get(actor: Actor, id: string): Promise<Contact> {
      readable(actor);
      return presentContact(await getRow(db, actor.workspaceId, id), actor);
    },

    async list(actor: Actor, opts: { q?: string | undefined; tag?: string | undefined; limit: number; cursor?: string | undefined }): Promise<{ items: Contact[]; nextCursor: string | null }> {
      readable(actor);
      const tsq = opts.q ? textIndex.query(opts.q) : null;
      if (opts.q && !tsq) return { items: [], nextCursor: null };
      const after = decodeCursor(opts.cursor);
      const rows = await db.query(
        `SELECT * FROM contacts
         WHERE workspace_id = $1 AND merged_into_id IS NULL
           AND ($2::text IS NULL OR search @@ to_tsquery('simple', $2))
           AND ($3::text IS NULL OR $3 = ANY(tags))
           AND ($4::timestamptz IS NULL OR (created_at, id) < ($4::timestamptz, $5::uuid))
         ORDER BY created_at DESC, id DESC LIMIT $6`,
        [actor.workspaceId, tsq, opts.tag ?? null, after?.[0] ?? null, after?.[1] ?? null, opts.limit + 1],
      );
      const page = rows.slice(0, opts.limit);
      const last = page[page.length - 1];
      return {
        items: page.map((r) => presentContact(r, actor)),
        nextCursor: rows.length > opts.limit && last ? encodeCursor(last.created_at as string, last.id as string) : null,
      };
    },

    async create(actor: Actor, input: ContactInput): Promise<Contact> {
      requirePermission(actor, 'contact.manage');
      checkAttributes(input.attributes);
      const r = await one(
        db,
        `INSERT INTO contacts (workspace_id, name, email, phone, attributes, tags, search)
         VALUES ($1, $2, $3, $4, $5, $6, to_tsvector('simple', $7)) RETURNING *`,
        [actor.workspaceId, input.name ?? null, input.email ?? null, input.phone ?? null, JSON.stringify(input.attributes ?? {}), [...new Set(input.tags ?? [])], searchDoc(input)],
      );
      return presentContact(r!, actor);
    },

    async update(actor: Actor, id: string, patch: ContactInput): Promise<Contact> {
      requirePermission(actor, 'contact.manage');
      checkAttributes(patch.attributes);
      // Without contact.pii the viewer only ever saw masked values; letting them overwrite would let them
      // replace data they cannot read, so PII fields need the permission.
      if ((patch.email !== undefined || patch.phone !== undefined) && !can(actor, 'contact.pii')) {
        throw forbidden('changing email or phone needs the permission "contact.pii"');
      }
      return db.transaction(async (tx) => {
        const before = await getRow(tx, actor.workspaceId, id);
        const next = {
          name: patch.name !== undefined ? patch.name : (before.name as string | null),
          email: patch.email !== undefined ? patch.email : (before.email as string | null),
          phone: patch.phone !== undefined ? patch.phone : (before.phone as string | null),
          attributes: patch.attributes !== undefined ? { ...(before.attributes as object), ...patch.attributes } : (before.attributes as Record<string, unknown>),
          tags: patch.tags !== undefined ? [...new Set(patch.tags)] : (before.tags as string[]),
        };
        const r = await one(
          tx,
          `UPDATE contacts SET name = $3, email = $4, phone = $5, attributes = $6, tags = $7, search = to_tsvector('simple', $8), updated_at = now()
           WHERE id = $1 AND workspace_id = $2 RETURNING *`,
          [id, actor.workspaceId, next.name, next.email, next.phone, JSON.stringify(next.attributes), next.tags, searchDoc(next)],
        );
        if (patch.email !== undefined || patch.phone !== undefined) {
          await recordAudit(tx, actor, 'contact.pii_changed', { type: 'contact', id }, { fields: ['email', 'phone'].filter((f) => (patch as Record<string, unknown>)[f] !== undefined) });
        }
        return presentContact(r!, actor);
      });
    },

    async identities(actor: Actor, contactId: string): Promise<ContactIdentity[]> {
      readable(actor);
      await getRow(db, actor.workspaceId, contactId);
      const rows = await db.query(`SELECT * FROM contact_identities WHERE contact_id = $1 AND workspace_id = $2 ORDER BY created_at`, [contactId, actor.workspaceId]);
      return rows.map(presentIdentity);
    },

    /**
     * Finds the identity for (inbox, sourceId) or creates it, with a new contact or — when one of its
     * verified keys is known — joining the contact holding it (see identity-keys.ts). Used by channels:
     * the widget's visitor id, an email address, a Telegram id…
     */
    async resolveIdentity(
      sql: Sql,
      input: {
        workspaceId: string;
        inboxId: string;
        channelType: ChannelType;
        sourceId: string;
        verified: boolean;
        contact: ContactInput;
        /** Keys the channel vouches for (same email, phone, unionid…): contacts sharing one merge automatically. */
        verifiedKeys?: VerifiedKey[] | undefined;
      },
    ): Promise<ResolvedIdentity> {
      // Verified keys join or merge contacts (identity-keys.ts); without keys this is find-or-create.
      return resolveIdentityInTx(sql, input, searchDoc);
    },
  };
}
export type ContactService = ReturnType<typeof createContactService>;
