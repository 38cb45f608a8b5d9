import { randomUUID } from 'node:crypto';
import type { Conversation, ConversationStatus, Message, Priority } from '@huiliu/contracts';
import type { Database, Row, Sql } from '../db/database.ts';
import { one } from '../db/database.ts';
import type { Actor } from '../auth/actor.ts';
import { can, requirePermission } from '../auth/actor.ts';
import { forbidden, invalid, notFound } from '../shared/errors.ts';
import type { DomainEvents } from '../shared/events.ts';
import { decodeCursor, encodeCursor } from '../shared/text-index.ts';
import type { FileUrlSigner } from '../auth/tokens.ts';
import { presentContact } from '../contacts/contact.service.ts';
import type { InboxService } from '../inboxes/inbox.service.ts';
import type { AppendResult, MessagePipeline } from '../messages/pipeline.ts';
import { presentConversation, presentMessage } from '../messages/present.ts';

export interface ConversationFilter {
  status: ConversationStatus | 'all';
  assignee: 'me' | 'unassigned' | 'any' | string;
  inboxId?: string | undefined;
  teamId?: string | undefined;
  contactId?: string | undefined;
  tag?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

export interface ConversationPatch {
  status?: ConversationStatus | undefined;
  priority?: Priority | undefined;
  tags?: string[] | undefined;
  teamId?: string | null | undefined;
  snoozedUntil?: string | null | undefined;
}

const REPLAY_LIMIT = 500;

/**
 * Checks that a user may hold a conversation of this inbox: active, in the workspace, and a member of
 * the inbox (or able to read every inbox). Returns the user's name; errors name `field`.
 */
export async function assertAssignable(sql: Sql, workspaceId: string, inboxId: string, userId: string, field: string): Promise<{ name: string }> {
  const u = await one(
    sql,
    `SELECT u.name, r.permissions FROM users u JOIN roles r ON r.id = u.role_id
     WHERE u.id = $1 AND u.workspace_id = $2 AND u.status = 'active'`,
    [userId, workspaceId],
  );
  if (!u) throw invalid(field, 'no active user with this id in the workspace');
  const member = await one(sql, `SELECT 1 AS ok FROM inbox_members WHERE inbox_id = $1 AND user_id = $2`, [inboxId, userId]);
  if (!member && !(u.permissions as string[]).includes('conversation.read_all')) {
    throw invalid(field, "this user is not a member of the conversation's inbox; add them to the inbox first");
  }
  return { name: u.name as string };
}

export function createConversationService(deps: { db: Database; events: DomainEvents; pipeline: MessagePipeline; inboxes: InboxService; files: FileUrlSigner }) {
  const { db, events, pipeline, inboxes, files } = deps;

  /** Loads a conversation the actor may see, or throws not_found (never forbidden: no existence leak). */
  async function getVisibleRow(sql: Sql, actor: Actor, id: string): Promise<Row> {
    return visibleRowIn(sql, actor, id, await inboxes.visibleInboxIds(actor));
  }

  /**
   * Same, with the actor's inboxes already resolved. Inside a transaction use this one: resolving them
   * queries through `db`, which on PGlite (one connection) would wait for the open transaction forever.
   */
  async function visibleRowIn(sql: Sql, actor: Actor, id: string, inboxIds: string[] | null): Promise<Row> {
    const r = await one(
      sql,
      `SELECT * FROM conversations WHERE id = $1 AND workspace_id = $2
         AND ($3::uuid[] IS NULL OR inbox_id = ANY($3::uuid[])) AND ($4::uuid IS NULL OR contact_id = $4)`,
      [id, actor.workspaceId, inboxIds, actor.kind === 'visitor' ? actor.contactId : null],
    );
    if (!r) throw notFound('conversation');
    return r;
  }

  /** An activity line ("X resolved the conversation") on the timeline, in the caller's transaction. */
  function appendActivity(tx: Sql, actor: Actor, conversationId: string, text: string): Promise<AppendResult> {
    return pipeline.appendInTx(tx, {
      workspaceId: actor.workspaceId,
      conversationId,
      scope: {},
      direction: 'activity',
      private: false,
      senderType: actor.kind === 'user' ? 'user' : 'system',
      senderId: actor.kind === 'user' ? actor.userId : null,
      contentType: 'text',
      text,
    });
  }

  function actorName(actor: Actor): string {
    return actor.kind === 'user' ? actor.name : 'System';
  }

  /** Applies a change, adds an activity line to the timeline, and publishes both after COMMIT. */
  async function change(actor: Actor, id: string, mutate: (tx: Sql, before: Row) => Promise<{ set: Record<string, unknown>; activity: string | null } | null>): Promise<Conversation> {
    const inboxIds = await inboxes.visibleInboxIds(actor);
    const { conversation, appended, previousAssigneeId } = await db.transaction(async (tx) => {
      const before = await visibleRowIn(tx, actor, id, inboxIds);
      await tx.query(`SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE`, [id]);
      const plan = await mutate(tx, before);
      if (!plan) return { conversation: presentConversation(before), appended: null, previousAssigneeId: before.assignee_id as string | null };
      const keys = Object.keys(plan.set);
      const assignments = keys.map((k, i) => `${k} = $${i + 3}`).join(', ');
      await tx.query(`UPDATE conversations SET ${assignments}, updated_at = now() WHERE id = $1 AND workspace_id = $2`, [id, actor.workspaceId, ...keys.map((k) => plan.set[k])]);
      let appended: AppendResult | null = null;
      if (plan.activity) {
        appended = await appendActivity(tx, actor, id, plan.activity);
      }
      const after = await one(tx, `SELECT * FROM conversations WHERE id = $1`, [id]);
      return { conversation: presentConversation(after!), appended, previousAssigneeId: before.assignee_id as string | null };
    });
    events.emit('conversation.updated', { conversation, previousAssigneeId });
    if (appended) pipeline.publish({ ...appended, conversation, reopened: false });
    return conversation;
  }

  return {
    getVisibleRow,

    async get(actor: Actor, id: string): Promise<Conversation> {
      if (actor.kind === 'user') requirePermission(actor, 'conversation.read');
      return presentConversation(await getVisibleRow(db, actor, id));
    },

    async list(actor: Actor, f: ConversationFilter) {
      if (actor.kind === 'visitor') throw forbidden();
      requirePermission(actor, 'conversation.read');
      const inboxIds = await inboxes.visibleInboxIds(actor);
      const after = decodeCursor(f.cursor);
      const me = actor.kind === 'user' ? actor.userId : null;
      const rows = await db.query(
        `SELECT c.*, row_to_json(ct) AS contact_row,
           (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id AND m.seq > c.agent_read_seq AND m.direction = 'incoming') AS unread_count,
           lm.text AS lm_text, lm.direction AS lm_direction, lm.private AS lm_private, lm.created_at AS lm_created_at,
           (SELECT string_agg(a.file_name, ', ') FROM attachments a WHERE a.message_id = lm.id) AS lm_files
         FROM conversations c JOIN contacts ct ON ct.id = c.contact_id
         LEFT JOIN LATERAL (
           SELECT m.id, m.text, m.direction, m.private, m.created_at FROM messages m
           WHERE m.conversation_id = c.id AND m.direction <> 'activity' ORDER BY m.seq DESC LIMIT 1
         ) lm ON true
         WHERE c.workspace_id = $1
           AND ($2::uuid[] IS NULL OR c.inbox_id = ANY($2::uuid[]))
           AND ($3::text = 'all' OR c.status = $3)
           AND (CASE $4::text WHEN 'any' THEN true WHEN 'unassigned' THEN c.assignee_id IS NULL WHEN 'me' THEN c.assignee_id = $5::uuid
                ELSE c.assignee_id::text = $4 END)
           AND ($6::uuid IS NULL OR c.inbox_id = $6) AND ($7::uuid IS NULL OR c.team_id = $7)
           AND ($8::uuid IS NULL OR c.contact_id = $8) AND ($9::text IS NULL OR $9 = ANY(c.tags))
           AND ($10::timestamptz IS NULL OR (c.last_activity_at, c.id) < ($10::timestamptz, $11::uuid))
         ORDER BY c.last_activity_at DESC, c.id DESC LIMIT $12`,
        [actor.workspaceId, inboxIds, f.status, f.assignee, me, f.inboxId ?? null, f.teamId ?? null, f.contactId ?? null, f.tag ?? null, after?.[0] ?? null, after?.[1] ?? null, f.limit + 1],
      );
      const page = rows.slice(0, f.limit);
      const last = page[page.length - 1];
      return {
        items: page.map((r) => {
          const contact = r.contact_row as Row;
          const text = String(r.lm_text ?? '').replace(/\s+/g, ' ').trim() || String(r.lm_files ?? '');
          const lastMessage = r.lm_direction
            ? { text: text.slice(0, 140), direction: r.lm_direction as 'incoming' | 'outgoing', private: Boolean(r.lm_private), createdAt: new Date(r.lm_created_at as string).toISOString() }
            : null;
          return { ...presentConversation(r), contact: presentContact({ ...contact, created_at: new Date(contact.created_at as string).toISOString(), updated_at: new Date(contact.updated_at as string).toISOString() }, actor), unreadCount: Number(r.unread_count), lastMessage };
        }),
        nextCursor: rows.length > f.limit && last ? encodeCursor(new Date(last.last_activity_at as string).toISOString(), last.id as string) : null,
      };
    },

    async update(actor: Actor, id: string, patch: ConversationPatch): Promise<Conversation> {
      requirePermission(actor, 'conversation.manage');
      return change(actor, id, async (tx, before) => {
        const set: Record<string, unknown> = {};
        const notes: string[] = [];
        if (patch.status && patch.status !== before.status) {
          if (patch.status === 'snoozed' && !patch.snoozedUntil) throw invalid('body.snoozedUntil', 'snoozing needs snoozedUntil (when the conversation should reopen)');
          set.status = patch.status;
          set.resolved_at = patch.status === 'resolved' ? new Date().toISOString() : null;
          set.snoozed_until = patch.status === 'snoozed' ? patch.snoozedUntil : null;
          const verb = { open: 'reopened', pending: 'marked as pending', resolved: 'resolved', snoozed: `snoozed until ${patch.snoozedUntil}` }[patch.status];
          notes.push(`${actorName(actor)} ${verb} the conversation`);
        } else if (patch.snoozedUntil !== undefined && before.status === 'snoozed') {
          set.snoozed_until = patch.snoozedUntil;
        }
        if (patch.priority && patch.priority !== before.priority) {
          set.priority = patch.priority;
          notes.push(`${actorName(actor)} set the priority to ${patch.priority}`);
        }
        if (patch.tags) set.tags = [...new Set(patch.tags)];
        if (patch.teamId !== undefined && patch.teamId !== before.team_id) {
          if (patch.teamId) {
            const team = await one(tx, `SELECT name FROM teams WHERE id = $1 AND workspace_id = $2`, [patch.teamId, actor.workspaceId]);
            if (!team) throw invalid('body.teamId', 'no such team in this workspace');
            notes.push(`${actorName(actor)} moved the conversation to team ${team.name as string}`);
          }
          set.team_id = patch.teamId;
        }
        if (Object.keys(set).length === 0) return null;
        return { set, activity: notes.length ? notes.join('; ') : null };
      });
    },

    async assign(actor: Actor, id: string, assigneeId: string | null): Promise<Conversation> {
      requirePermission(actor, 'conversation.assign');
      return change(actor, id, async (tx, before) => {
        if (before.assignee_id === assigneeId) return null;
        let activity = `${actorName(actor)} unassigned the conversation`;
        if (assigneeId) {
          const u = await assertAssignable(tx, actor.workspaceId, before.inbox_id as string, assigneeId, 'body.assigneeId');
          activity = actor.kind === 'user' && actor.userId === assigneeId ? `${actor.name} self-assigned the conversation` : `${actorName(actor)} assigned the conversation to ${u.name as string}`;
        }
        // A manual assignment takes the conversation out of the routing queue — and from the bot: a person has it
        // now, and a later unassign or transfer must reach routing (which skips conversations with the bot).
        const set: Record<string, unknown> = assigneeId ? { assignee_id: assigneeId, queued_at: null, assigned_at: new Date().toISOString() } : { assignee_id: null };
        if (assigneeId && before.bot_status === 'bot') set.bot_status = 'handed_off';
        return { set, activity };
      });
    },

    /**
     * An assignment move driven by another module (transfers, a supervisor's take-over). `plan` runs in
     * the conversation's transaction, under its row lock, with the row re-read under that lock; it may
     * write its own rows with `tx` (they commit with the move) and returns the new assignee (and team)
     * with the activity line, or null to change nothing. Events are published after COMMIT, as `assign`.
     * Permissions are the caller's business; the conversation must be visible to `actor` (else not_found).
     */
    async moveAssignment(
      actor: Actor,
      id: string,
      plan: (tx: Sql, current: Row) => Promise<{ assigneeId: string | null; teamId?: string | null | undefined; activity: string } | null>,
    ): Promise<{ conversation: Conversation; changed: boolean }> {
      let changed = false;
      const conversation = await change(actor, id, async (tx) => {
        const current = (await one(tx, `SELECT * FROM conversations WHERE id = $1`, [id]))!;
        const p = await plan(tx, current);
        if (!p) return null;
        changed = true;
        // Assigned by a person: out of the routing queue. Unassigned: routing (re)queues it.
        const set: Record<string, unknown> = p.assigneeId
          ? { assignee_id: p.assigneeId, queued_at: null, assigned_at: new Date().toISOString() }
          : { assignee_id: null, assigned_at: null };
        if (p.teamId !== undefined) set.team_id = p.teamId;
        if (p.assigneeId && current.bot_status === 'bot') set.bot_status = 'handed_off';
        return { set, activity: p.activity };
      });
      return { conversation, changed };
    },

    /**
     * Routing's atomic claim (the routing engine, or an agent picking a conversation from the queue), as
     * ONE autocommit call of the SQL function `huiliu_routing_claim` (migration 20261123090000): `guard`
     * first locks the assignee's presence row (skipped when another claim holds it: 'busy'; or waited for)
     * and re-checks online status and load against capacity (lock order: presence → conversation); then the
     * conversation is assigned only if it is still unassigned and open — 0 rows means someone else won
     * ('taken'). The activity line and `decision` (routing_decisions, the agent's last-routed time, the
     * team's round-robin cursor) commit with it; events are published after the call (= after COMMIT).
     * One statement instead of a transaction of ~7 round trips: each round trip held the presence lock
     * longer (docs/benchmarks.md, routing).
     */
    async claimUnassigned(input: {
      actor: Actor;
      conversationId: string;
      assigneeId: string;
      activity: string;
      guard?: { skipLocked: boolean; requireOnline: boolean; channelType: string };
      decision?: { strategy: string; outcome: 'assigned' | 'claimed'; reason: Record<string, unknown>; teamId: string | null };
    }): Promise<{ ok: true; conversation: Conversation } | { ok: false; reason: string }> {
      const { actor } = input;
      // Computed before the call: jieba segmentation of the activity line no longer runs under the lock.
      const searchDoc = pipeline.searchDocument(input.activity);
      const rows = await db.query<{ r: { ok: boolean; reason?: string; conversation?: Row; message?: Row } }>(
        `SELECT huiliu_routing_claim($1::uuid, $2::uuid, $3::uuid, $4::text::jsonb, $5::uuid, $6::text, $7::uuid, $8::text, $9::text, $10::text::jsonb) AS r`,
        [
          actor.workspaceId,
          input.conversationId,
          input.assigneeId,
          input.guard ? JSON.stringify({ skip_locked: input.guard.skipLocked, require_online: input.guard.requireOnline, channel_type: input.guard.channelType }) : null,
          randomUUID(),
          actor.kind === 'user' ? 'user' : 'system',
          actor.kind === 'user' ? actor.userId : null,
          input.activity,
          searchDoc,
          input.decision ? JSON.stringify({ strategy: input.decision.strategy, outcome: input.decision.outcome, reason: input.decision.reason, team_id: input.decision.teamId }) : null,
        ],
      );
      const r = rows[0]!.r;
      if (!r.ok) return { ok: false, reason: r.reason! };
      const conversation = presentConversation(r.conversation!);
      events.emit('conversation.updated', { conversation, previousAssigneeId: null });
      pipeline.publish({ message: presentMessage(r.message!, files), conversation, duplicate: false, reopened: false });
      return { ok: true, conversation };
    },

    /**
     * Returns a conversation of an agent who went offline to the routing queue (system actor), if it is
     * still theirs and open; null when it is not (reassigned or resolved meanwhile).
     */
    async requeueFromAgent(workspaceId: string, id: string, agentId: string, activity: string, record?: (tx: Sql) => Promise<void>): Promise<Conversation | null> {
      let changed = false;
      const conversation = await change({ kind: 'system', workspaceId, via: 'system' }, id, async (tx) => {
        // Re-read under the row lock: `before` was read before the lock was taken.
        const now = await one(tx, `SELECT assignee_id, status FROM conversations WHERE id = $1`, [id]);
        if (!now || now.assignee_id !== agentId || !['open', 'pending'].includes(now.status as string)) return null;
        await record?.(tx);
        changed = true;
        return { set: { assignee_id: null, queued_at: new Date().toISOString(), assigned_at: null }, activity };
      });
      return changed ? conversation : null;
    },

    /** A visitor opening a new conversation from the widget (or a channel's first message). */
    async create(sql: Sql, input: { workspaceId: string; inboxId: string; contactId: string; identityId: string }): Promise<Conversation> {
      const r = await one(
        sql,
        `WITH d AS (UPDATE workspaces SET next_display_id = next_display_id + 1 WHERE id = $1 RETURNING next_display_id)
         INSERT INTO conversations (workspace_id, display_id, inbox_id, contact_id, identity_id, last_incoming_at)
         SELECT $1, d.next_display_id, $2, $3, $4, now() FROM d RETURNING *`,
        [input.workspaceId, input.inboxId, input.contactId, input.identityId],
      );
      return presentConversation(r!);
    },

    publishCreated(conversation: Conversation): void {
      events.emit('conversation.updated', { conversation, previousAssigneeId: null });
    },

    /** Messages after / before a seq. Visitors never see private notes. */
    async messages(actor: Actor, id: string, q: { afterSeq?: number | undefined; beforeSeq?: number | undefined; limit: number }): Promise<{ items: Message[]; lastSeq: number; hasMore: boolean }> {
      if (actor.kind === 'user') requirePermission(actor, 'conversation.read');
      const conv = await getVisibleRow(db, actor, id);
      const hidePrivate = actor.kind === 'visitor';
      const backwards = q.beforeSeq !== undefined && q.afterSeq === undefined;
      const rows = await db.query(
        `SELECT * FROM messages WHERE conversation_id = $1 AND workspace_id = $2
           AND seq > $3 AND ($4::bigint IS NULL OR seq < $4) AND (NOT $5 OR NOT private)
         ORDER BY seq ${backwards ? 'DESC' : 'ASC'} LIMIT $6`,
        [id, actor.workspaceId, q.afterSeq ?? 0, q.beforeSeq ?? null, hidePrivate, q.limit + 1],
      );
      const page = rows.slice(0, q.limit);
      if (backwards) page.reverse();
      return { items: page.map((r) => presentMessage(r, files)), lastSeq: Number(conv.last_seq), hasMore: rows.length > q.limit };
    },

    /** Replay for (re)connecting clients: what came after `afterSeq`, capped. */
    async replay(actor: Actor, id: string, afterSeq: number) {
      const page = await this.messages(actor, id, { afterSeq, limit: REPLAY_LIMIT });
      return { conversationId: id, messages: page.items, lastSeq: page.hasMore ? page.items[page.items.length - 1]!.seq : page.lastSeq, hasMore: page.hasMore };
    },

    async markRead(actor: Actor, id: string, seq: number): Promise<{ seq: number }> {
      const conv = await getVisibleRow(db, actor, id);
      const column = actor.kind === 'visitor' ? 'contact_read_seq' : 'agent_read_seq';
      const upTo = Math.min(seq, Number(conv.last_seq));
      await db.query(`UPDATE conversations SET ${column} = GREATEST(${column}, $3) WHERE id = $1 AND workspace_id = $2`, [id, actor.workspaceId, upTo]);
      return { seq: upTo };
    },

    canSeePrivate(actor: Actor): boolean {
      return actor.kind !== 'visitor' && can(actor, 'conversation.read');
    },
  };
}
export type ConversationService = ReturnType<typeof createConversationService>;
