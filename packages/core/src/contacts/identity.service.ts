/**
 * Cross-channel identity for agents: merge and unmerge contacts (contact-merge.ts does the moving, in one
 * transaction with its audit entry), lookalikes suggested for a manual merge, one timeline per contact
 * across every channel, and replying on any channel the contact can be reached on.
 *
 * Permissions: reading needs contact.read (the timeline also conversation.read, and shows only inboxes
 * the agent may see, exactly like the conversation list); merging and unmerging need contact.merge;
 * opening a conversation on another channel needs conversation.reply and membership of that inbox.
 */
import type {
  ChannelType, Contact, ContactChannel, ContactMerge, ContactTimelinePage, Conversation, MergeResult, MergeSuggestion, MergeSuggestionReason,
  OpenContactConversationResponse, UnmergeResult,
} from '@huiliu/contracts';
import type { Database, Row, Sql } from '../db/database.ts';
import { one } from '../db/database.ts';
import type { Actor } from '../auth/actor.ts';
import { can, requirePermission } from '../auth/actor.ts';
import type { FileUrlSigner } from '../auth/tokens.ts';
import { conflict, forbidden, notFound } from '../shared/errors.ts';
import type { DomainEvents } from '../shared/events.ts';
import { decodeCursor, encodeCursor, type TextIndex } from '../shared/text-index.ts';
import type { InboxService } from '../inboxes/inbox.service.ts';
import { presentConversation, presentMessage } from '../messages/present.ts';
import { maskEmail, maskPhone, presentContact } from './contact.service.ts';
import { mergeContactsInTx, mergedAway, survivorOf, unmergeContactInTx, type ContactFields } from './contact-merge.ts';
import { normalizeEmail, normalizePhone } from './identity-keys.ts';

const SUGGESTIONS_MAX = 20;
/** Attributes every widget visitor has: equal values say nothing about being the same person. */
const IGNORED_ATTRIBUTES = new Set(['locale']);
/** Mailbox providers: sharing one says nothing about two people being one. */
const PUBLIC_EMAIL_DOMAINS = new Set([
  'gmail.com', 'googlemail.com', 'outlook.com', 'hotmail.com', 'live.com', 'msn.com', 'yahoo.com', 'icloud.com', 'me.com', 'proton.me',
  'protonmail.com', 'qq.com', 'foxmail.com', '163.com', '126.com', 'yeah.net', 'sina.com', 'sina.cn', 'sohu.com', '139.com', 'aliyun.com',
]);
const EMAIL_CHANNELS: readonly ChannelType[] = ['email'];
const PHONE_CHANNELS: readonly ChannelType[] = ['sms', 'whatsapp'];

const iso = (v: unknown): string => new Date(v as string).toISOString();
const digits = (s: string | null | undefined) => (s ?? '').replace(/\D/g, '');
/** Phones match on their last 10 digits ("+86 138 0013 8000" and "13800138000"); too short ones not at all. */
const phoneTail = (s: string | null | undefined) => {
  const d = digits(s);
  return d.length >= 7 ? d.slice(-10) : null;
};
const PHONE_TAIL_SQL = `right(regexp_replace(COALESCE(phone, ''), '[^0-9]', '', 'g'), 10)`;

export function createIdentityService(deps: {
  db: Database;
  textIndex: TextIndex;
  inboxes: InboxService;
  events: DomainEvents;
  files: FileUrlSigner;
}) {
  const { db, textIndex, inboxes, events, files } = deps;
  const searchDoc = (c: ContactFields) => textIndex.document(c.name, c.email, c.phone, ...(c.tags ?? []));

  const readable = (actor: Actor) => {
    if (actor.kind === 'visitor') throw forbidden();
    requirePermission(actor, 'contact.read');
  };

  /** A live contact of the workspace; a merged one answers 404 naming the contact to use instead. */
  async function liveContact(sql: Sql, actor: Actor, id: string): Promise<Row> {
    const r = await one(sql, `SELECT * FROM contacts WHERE id = $1 AND workspace_id = $2`, [id, actor.workspaceId]);
    if (!r) throw notFound('contact');
    if (r.merged_into_id) throw mergedAway(id, (await survivorOf(sql, actor.workspaceId, id)) ?? (r.merged_into_id as string));
    return r;
  }

  async function contactById(sql: Sql, actor: Actor, id: string): Promise<Contact> {
    const r = await one(sql, `SELECT * FROM contacts WHERE id = $1 AND workspace_id = $2`, [id, actor.workspaceId]);
    return presentContact(r!, actor);
  }

  async function presentMerges(sql: Sql, actor: Actor, rows: Row[]): Promise<ContactMerge[]> {
    const userIds = [...new Set(rows.filter((r) => r.actor_type === 'user' && r.actor_id).map((r) => r.actor_id as string))];
    const users = userIds.length
      ? await sql.query(`SELECT id, name FROM users WHERE workspace_id = $1 AND id = ANY($2::uuid[])`, [actor.workspaceId, userIds])
      : [];
    const nameOf = new Map(users.map((u) => [u.id as string, u.name as string]));
    return rows.map((r) => {
      const snap = r.merged_snapshot as ContactFields;
      return {
        id: r.id as string,
        survivorId: r.survivor_id as string,
        mergedId: r.merged_id as string,
        merged: presentContact({ ...snap, id: r.merged_id, created_at: iso(r.merged_created_at ?? r.created_at), updated_at: iso(r.created_at) }, actor),
        identityIds: (r.identity_ids as string[]) ?? [],
        conversationIds: (r.conversation_ids as string[]) ?? [],
        actor: {
          type: r.actor_type as 'user' | 'system' | 'cli',
          id: (r.actor_id as string | null) ?? null,
          name: r.actor_id ? (nameOf.get(r.actor_id as string) ?? null) : null,
        },
        reason: r.reason as string,
        createdAt: iso(r.created_at),
        undoneAt: r.undone_at ? iso(r.undone_at) : null,
      };
    });
  }

  const MERGE_SELECT = `SELECT m.*, c.created_at AS merged_created_at FROM contact_merges m JOIN contacts c ON c.id = m.merged_id AND c.workspace_id = m.workspace_id`;

  /** Agents watching a moved conversation see its new contact at once (events after COMMIT). */
  async function publishConversations(workspaceId: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const rows = await db.query(`SELECT * FROM conversations WHERE workspace_id = $1 AND id = ANY($2::uuid[])`, [workspaceId, ids]);
    for (const r of rows) events.emit('conversation.updated', { conversation: presentConversation(r), previousAssigneeId: (r.assignee_id as string | null) ?? null });
  }

  return {
    /** Merges the contact `mergedId` into `survivorId` (manual merge: reason "manual"). */
    async merge(actor: Actor, mergedId: string, survivorId: string): Promise<MergeResult> {
      requirePermission(actor, 'contact.merge');
      const r = await db.transaction(async (tx) => {
        // The path's contact first: another workspace's id is not_found before anything else is said.
        const merged = await one(tx, `SELECT id FROM contacts WHERE id = $1 AND workspace_id = $2`, [mergedId, actor.workspaceId]);
        if (!merged) throw notFound('contact');
        const outcome = await mergeContactsInTx(tx, { workspaceId: actor.workspaceId, survivorId, mergedId, actor, reason: 'manual', searchDoc });
        const rows = await tx.query(`${MERGE_SELECT} WHERE m.id = $1 AND m.workspace_id = $2`, [outcome.mergeId, actor.workspaceId]);
        return { outcome, merge: (await presentMerges(tx, actor, rows))[0]!, survivor: await contactById(tx, actor, survivorId) };
      });
      await publishConversations(actor.workspaceId, r.outcome.conversationIds);
      return { merge: r.merge, survivor: r.survivor };
    },

    /** Gives the merged contact `mergedId` back its fields, identities and conversations. */
    async unmerge(actor: Actor, mergedId: string): Promise<UnmergeResult> {
      requirePermission(actor, 'contact.merge');
      const r = await db.transaction(async (tx) => {
        const outcome = await unmergeContactInTx(tx, { workspaceId: actor.workspaceId, mergedId, actor, searchDoc });
        const rows = await tx.query(`${MERGE_SELECT} WHERE m.id = $1 AND m.workspace_id = $2`, [outcome.mergeId, actor.workspaceId]);
        return {
          outcome,
          merge: (await presentMerges(tx, actor, rows))[0]!,
          contact: await contactById(tx, actor, mergedId),
          survivor: await contactById(tx, actor, outcome.survivorId),
        };
      });
      await publishConversations(actor.workspaceId, r.outcome.movedBackConversationIds);
      return { merge: r.merge, contact: r.contact, survivor: r.survivor };
    },

    /** Merges into this contact and of this contact, newest first, undone ones included. */
    async history(actor: Actor, contactId: string): Promise<ContactMerge[]> {
      readable(actor);
      const exists = await one(db, `SELECT 1 AS ok FROM contacts WHERE id = $1 AND workspace_id = $2`, [contactId, actor.workspaceId]);
      if (!exists) throw notFound('contact');
      const rows = await db.query(`${MERGE_SELECT} WHERE m.workspace_id = $1 AND (m.survivor_id = $2 OR m.merged_id = $2) ORDER BY m.created_at DESC, m.id LIMIT 100`, [
        actor.workspaceId, contactId,
      ]);
      return presentMerges(db, actor, rows);
    },

    /**
     * Lookalikes: other live contacts sharing an (unverified) email or phone — from the contact fields or
     * the channel ids of email / SMS / WhatsApp identities — or the same name plus a tag, an attribute
     * value or an email domain. Strongest first.
     */
    async suggestions(actor: Actor, contactId: string): Promise<MergeSuggestion[]> {
      readable(actor);
      const c = await liveContact(db, actor, contactId);
      const ws = actor.workspaceId;
      const own = await db.query(`SELECT channel_type, source_id FROM contact_identities WHERE workspace_id = $1 AND contact_id = $2`, [ws, contactId]);
      const emails = new Set<string>();
      const phones = new Set<string>();
      const addEmail = (v: unknown) => {
        const e = typeof v === 'string' ? normalizeEmail(v) : null;
        if (e) emails.add(e);
      };
      const addPhone = (v: unknown) => {
        if (typeof v === 'string' && phoneTail(v)) phones.add(v);
      };
      addEmail(c.email);
      addPhone(c.phone);
      for (const i of own) {
        if (EMAIL_CHANNELS.includes(i.channel_type as ChannelType)) addEmail(i.source_id);
        if (PHONE_CHANNELS.includes(i.channel_type as ChannelType)) addPhone(i.source_id);
      }
      const tails = [...new Set([...phones].map(phoneTail).filter((t): t is string => Boolean(t)))];
      const e164 = [...new Set([...phones].map(normalizePhone).filter((p): p is string => Boolean(p)))];
      const name = typeof c.name === 'string' ? c.name.trim().toLowerCase() : '';

      const reasons = new Map<string, { code: MergeSuggestionReason; detail: string | null }[]>();
      const add = (id: string, code: MergeSuggestionReason, detail: string | null = null) => {
        if (id === contactId) return;
        const list = reasons.get(id) ?? [];
        if (!list.some((x) => x.code === code)) list.push({ code, detail });
        reasons.set(id, list);
      };
      const live = `merged_into_id IS NULL AND workspace_id = $1`;
      if (emails.size) {
        const rows = await db.query(`SELECT id FROM contacts WHERE ${live} AND email = ANY($2::text[]) LIMIT 100`, [ws, [...emails]]);
        rows.forEach((r) => add(r.id as string, 'same_email'));
        const ids = await db.query(
          `SELECT DISTINCT i.contact_id FROM contact_identities i JOIN contacts c ON c.id = i.contact_id
           WHERE i.workspace_id = $1 AND i.source_id = ANY($2::text[]) AND i.channel_type = ANY($3::text[]) AND c.merged_into_id IS NULL LIMIT 100`,
          [ws, [...emails], EMAIL_CHANNELS],
        );
        ids.forEach((r) => add(r.contact_id as string, 'same_email'));
      }
      if (tails.length) {
        const rows = await db.query(`SELECT id FROM contacts WHERE ${live} AND ${PHONE_TAIL_SQL} = ANY($2::text[]) LIMIT 100`, [ws, tails]);
        rows.forEach((r) => add(r.id as string, 'same_phone'));
      }
      if (e164.length) {
        // Phone channels' ids as the platforms send them: with and without the "+".
        const variants = [...e164, ...e164.map((p) => p.slice(1))];
        const ids = await db.query(
          `SELECT DISTINCT i.contact_id FROM contact_identities i JOIN contacts c ON c.id = i.contact_id
           WHERE i.workspace_id = $1 AND i.source_id = ANY($2::text[]) AND i.channel_type = ANY($3::text[]) AND c.merged_into_id IS NULL LIMIT 100`,
          [ws, variants, PHONE_CHANNELS],
        );
        ids.forEach((r) => add(r.contact_id as string, 'same_phone'));
      }
      if (name) {
        const rows = await db.query(`SELECT id, email, tags, attributes FROM contacts WHERE ${live} AND name IS NOT NULL AND lower(btrim(name)) = $2 AND id <> $3 LIMIT 200`, [
          ws, name, contactId,
        ]);
        const myTags = new Set((c.tags as string[]) ?? []);
        const myAttrs = (c.attributes as Record<string, unknown>) ?? {};
        const myDomain = typeof c.email === 'string' ? c.email.split('@')[1]?.toLowerCase() : undefined;
        for (const r of rows) {
          const tag = ((r.tags as string[]) ?? []).find((t) => myTags.has(t));
          if (tag) add(r.id as string, 'same_name_and_tag', tag);
          const attrs = (r.attributes as Record<string, unknown>) ?? {};
          const key = Object.keys(attrs).find((k) => !IGNORED_ATTRIBUTES.has(k) && k in myAttrs && JSON.stringify(attrs[k]) === JSON.stringify(myAttrs[k]));
          if (key) add(r.id as string, 'same_name_and_attribute', key);
          const domain = typeof r.email === 'string' ? r.email.split('@')[1]?.toLowerCase() : undefined;
          const sameEmail = reasons.get(r.id as string)?.some((x) => x.code === 'same_email');
          if (myDomain && domain === myDomain && !sameEmail && !PUBLIC_EMAIL_DOMAINS.has(domain)) add(r.id as string, 'same_name_and_email_domain', domain);
        }
      }
      if (reasons.size === 0) return [];
      const rows = await db.query(`SELECT * FROM contacts WHERE workspace_id = $1 AND id = ANY($2::uuid[]) AND merged_into_id IS NULL`, [ws, [...reasons.keys()]]);
      const rank = (code: MergeSuggestionReason) => (code === 'same_email' || code === 'same_phone' ? 2 : 1);
      const score = (id: string) => (reasons.get(id) ?? []).reduce((s, x) => s + rank(x.code), 0);
      return rows
        .sort((a, b) => score(b.id as string) - score(a.id as string) || iso(a.created_at).localeCompare(iso(b.created_at)))
        .slice(0, SUGGESTIONS_MAX)
        .map((r) => ({ contact: presentContact(r, actor), reasons: reasons.get(r.id as string) ?? [] }));
    },

    /**
     * The contact's messages across all its conversations and channels, newest first (activity lines
     * left out). Only conversations of inboxes the agent may see, as in the conversation list.
     */
    async timeline(actor: Actor, contactId: string, q: { before?: string | undefined; limit: number }): Promise<ContactTimelinePage> {
      readable(actor);
      requirePermission(actor, 'conversation.read');
      await liveContact(db, actor, contactId);
      const inboxIds = await inboxes.visibleInboxIds(actor);
      const before = decodeCursor(q.before);
      const seePrivate = actor.kind !== 'visitor' && can(actor, 'conversation.read');
      const rows = await db.query(
        `SELECT m.*, c.display_id AS c_display_id, c.status AS c_status, c.inbox_id AS c_inbox_id, i.channel_type AS i_channel_type, i.name AS i_name
         FROM conversations c
           JOIN messages m ON m.conversation_id = c.id AND m.workspace_id = c.workspace_id
           JOIN inboxes i ON i.id = c.inbox_id AND i.workspace_id = c.workspace_id
         WHERE c.workspace_id = $1 AND c.contact_id = $2
           AND ($3::uuid[] IS NULL OR c.inbox_id = ANY($3::uuid[]))
           AND m.direction <> 'activity' AND ($4::boolean OR NOT m.private)
           AND ($5::timestamptz IS NULL OR (m.created_at, m.log_id) < ($5::timestamptz, $6::bigint))
         ORDER BY m.created_at DESC, m.log_id DESC LIMIT $7`,
        [actor.workspaceId, contactId, inboxIds, seePrivate, before?.[0] ?? null, before?.[1] ?? null, q.limit + 1],
      );
      const page = rows.slice(0, q.limit);
      const last = page[page.length - 1];
      return {
        items: page.map((r) => ({
          message: presentMessage(r, files),
          conversation: { id: r.conversation_id as string, displayId: Number(r.c_display_id), status: r.c_status as Conversation['status'], inboxId: r.c_inbox_id as string },
          channelType: r.i_channel_type as ChannelType,
          inboxName: r.i_name as string,
        })),
        nextCursor: rows.length > q.limit && last ? encodeCursor(iso(last.created_at), Number(last.log_id)) : null,
      };
    },

    /** Every identity of the contact with its inbox, and whether this agent can write there now. */
    async channels(actor: Actor, contactId: string): Promise<ContactChannel[]> {
      readable(actor);
      await liveContact(db, actor, contactId);
      const visible = await inboxes.visibleInboxIds(actor);
      const rows = await db.query(
        `SELECT ci.*, i.name AS inbox_name, i.deleted_at AS inbox_deleted_at,
           (SELECT array_agg(DISTINCT k.kind) FROM identity_keys k WHERE k.identity_id = ci.id AND k.workspace_id = ci.workspace_id) AS key_kinds,
           (SELECT c.id FROM conversations c WHERE c.workspace_id = ci.workspace_id AND c.identity_id = ci.id AND c.contact_id = ci.contact_id
              AND c.status IN ('open', 'pending') ORDER BY c.last_activity_at DESC LIMIT 1) AS open_conversation_id,
           (SELECT max(c.last_activity_at) FROM conversations c WHERE c.workspace_id = ci.workspace_id AND c.identity_id = ci.id) AS last_activity_at
         FROM contact_identities ci JOIN inboxes i ON i.id = ci.inbox_id AND i.workspace_id = ci.workspace_id
         WHERE ci.workspace_id = $1 AND ci.contact_id = $2
         ORDER BY last_activity_at DESC NULLS LAST, ci.created_at`,
        [actor.workspaceId, contactId],
      );
      const pii = can(actor, 'contact.pii');
      const mayReply = can(actor, 'conversation.reply');
      return rows.map((r) => {
        const type = r.channel_type as ChannelType;
        const source = r.source_id as string;
        const reason = r.inbox_deleted_at ? 'inbox_deleted' : !mayReply ? 'no_permission' : visible && !visible.includes(r.inbox_id as string) ? 'not_inbox_member' : null;
        return {
          identityId: r.id as string,
          inboxId: r.inbox_id as string,
          inboxName: r.inbox_name as string,
          channelType: type,
          sourceId: pii ? source : EMAIL_CHANNELS.includes(type) ? maskEmail(source) : PHONE_CHANNELS.includes(type) ? maskPhone(source) : source,
          verified: r.verified as boolean,
          verifiedKeys: ((r.key_kinds as ContactChannel['verifiedKeys'] | null) ?? []).sort(),
          canReply: reason === null,
          reason,
          openConversationId: (r.open_conversation_id as string | null) ?? null,
          lastActivityAt: r.last_activity_at ? iso(r.last_activity_at) : null,
        };
      });
    },

    /**
     * "Reply via <channel>": the contact's open (or pending) conversation in that inbox, or a new one on
     * the contact's identity there, assigned to the agent who opens it. A new conversation has no customer
     * message yet, so channels with a reply window (WhatsApp) treat it as outside the window.
     */
    async openConversation(actor: Actor, contactId: string, inboxId: string): Promise<OpenContactConversationResponse> {
      if (actor.kind === 'visitor') throw forbidden();
      requirePermission(actor, 'conversation.reply');
      await liveContact(db, actor, contactId);
      const inbox = await one(db, `SELECT id, name, channel_type, deleted_at FROM inboxes WHERE id = $1 AND workspace_id = $2`, [inboxId, actor.workspaceId]);
      if (!inbox || inbox.deleted_at) throw notFound('inbox');
      const visible = await inboxes.visibleInboxIds(actor);
      if (visible && !visible.includes(inboxId)) throw forbidden(`you are not a member of the inbox "${inbox.name as string}"; an admin can add you to it`);
      const r = await db.transaction(async (tx) => {
        // Serializes two agents clicking "reply via" at once: one conversation, not two.
        await tx.query(`SELECT 1 FROM contacts WHERE id = $1 AND workspace_id = $2 FOR UPDATE`, [contactId, actor.workspaceId]);
        const open = await one(
          tx,
          `SELECT * FROM conversations WHERE workspace_id = $1 AND contact_id = $2 AND inbox_id = $3 AND status IN ('open', 'pending')
           ORDER BY last_activity_at DESC, id LIMIT 1`,
          [actor.workspaceId, contactId, inboxId],
        );
        if (open) return { conversation: presentConversation(open), created: false };
        const identity = await one(
          tx,
          `SELECT ci.id FROM contact_identities ci WHERE ci.workspace_id = $1 AND ci.contact_id = $2 AND ci.inbox_id = $3
           ORDER BY (SELECT max(c.last_activity_at) FROM conversations c WHERE c.identity_id = ci.id AND c.workspace_id = ci.workspace_id) DESC NULLS LAST, ci.created_at DESC
           LIMIT 1`,
          [actor.workspaceId, contactId, inboxId],
        );
        if (!identity) {
          throw conflict(
            `this contact cannot be reached in the inbox "${inbox.name as string}" (${inbox.channel_type as string}): they have no identity there — they never wrote to it, so there is no address to write to; use one of the channels listed by GET /api/v1/contacts/${contactId}/channels`,
          );
        }
        const assignee = actor.kind === 'user' ? actor.userId : null;
        const row = await one(
          tx,
          `WITH d AS (UPDATE workspaces SET next_display_id = next_display_id + 1 WHERE id = $1 RETURNING next_display_id)
           INSERT INTO conversations (workspace_id, display_id, inbox_id, contact_id, identity_id, assignee_id, assigned_at)
           SELECT $1, d.next_display_id, $2, $3, $4, $5::uuid, CASE WHEN $5::uuid IS NULL THEN NULL ELSE now() END FROM d RETURNING *`,
          [actor.workspaceId, inboxId, contactId, identity.id, assignee],
        );
        return { conversation: presentConversation(row!), created: true };
      });
      if (r.created) events.emit('conversation.updated', { conversation: r.conversation, previousAssigneeId: null });
      return r;
    },
  };
}
export type IdentityService = ReturnType<typeof createIdentityService>;
