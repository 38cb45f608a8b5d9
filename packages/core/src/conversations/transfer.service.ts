/**
 * Transfers (issue 4): agent → agent with accept / decline, agent → team, and a supervisor's take-over.
 *
 * A transfer never copies the conversation: the history stays where it is, the transfer's note becomes a
 * private note on the timeline, and each outcome adds an activity line. Rules:
 *  - who may transfer: the current assignee, or a supervisor (conversation.read_all + conversation.assign);
 *  - agent → agent: the target must be an active user of the workspace who can see the conversation
 *    (member of its inbox, or conversation.read_all — the same rule as a manual assignment). The request
 *    is `pending` until the target accepts (the assignment moves to them) or declines (it stays); an
 *    unanswered request expires after `expireAfterMs` through a durable job (it stays). At most one
 *    transfer is pending per conversation: a new request, or a take-over, cancels the previous one;
 *  - agent → team: immediate — the conversation is unassigned into that team (team_id) and routed
 *    (`route`, injected: the routing engine's public entry point), so it waits in the team's queue when
 *    nobody of the team is free. Recorded as an `accepted` transfer;
 *  - take-over: a supervisor assigns the conversation to themselves at once.
 * Domain events (`transfer.requested`, `transfer.responded`) are emitted after COMMIT; the gateway sends
 * them to the agents' `user:` rooms.
 */
import type { Conversation, Transfer, TransferStatus } from '@huiliu/contracts';
import type { Database, Row, Sql } from '../db/database.ts';
import { one } from '../db/database.ts';
import type { Actor, UserActor } from '../auth/actor.ts';
import { can, requirePermission } from '../auth/actor.ts';
import { conflict, forbidden, invalid, notFound } from '../shared/errors.ts';
import type { DomainEvents } from '../shared/events.ts';
import type { JobContext, JobQueue, Job } from '../jobs/job-queue.ts';
import type { AppendResult, MessagePipeline } from '../messages/pipeline.ts';
import { presentConversation } from '../messages/present.ts';
import { assertAssignable } from './conversation.service.ts';
import type { ConversationService } from './conversation.service.ts';

export const TRANSFER_EXPIRE_QUEUE = 'transfers.expire';

export interface TransferOptions {
  /** How long an agent → agent transfer waits for an answer before it expires. */
  expireAfterMs: number;
}
export const DEFAULT_TRANSFER_OPTIONS: TransferOptions = { expireAfterMs: 2 * 60_000 };

interface ExpireJob {
  workspaceId: string;
  transferId: string;
}

const TRANSFER_SQL = `
  SELECT t.*, c.display_id, fu.name AS from_user_name, tu.name AS to_user_name, tm.name AS to_team_name
  FROM conversation_transfers t
  JOIN conversations c ON c.id = t.conversation_id
  JOIN users fu ON fu.id = t.from_user_id
  LEFT JOIN users tu ON tu.id = t.to_user_id
  LEFT JOIN teams tm ON tm.id = t.to_team_id`;

const iso = (v: unknown): string => new Date(v as string).toISOString();
const isoOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : iso(v));

function presentTransfer(r: Row): Transfer {
  return {
    id: r.id as string,
    workspaceId: r.workspace_id as string,
    conversationId: r.conversation_id as string,
    conversationDisplayId: Number(r.display_id),
    fromUserId: r.from_user_id as string,
    fromUserName: r.from_user_name as string,
    toUserId: (r.to_user_id as string | null) ?? null,
    toUserName: (r.to_user_name as string | null) ?? null,
    toTeamId: (r.to_team_id as string | null) ?? null,
    toTeamName: (r.to_team_name as string | null) ?? null,
    note: r.note as string,
    status: r.status as TransferStatus,
    declineReason: (r.decline_reason as string | null) ?? null,
    createdAt: iso(r.created_at),
    expiresAt: isoOrNull(r.expires_at),
    respondedAt: isoOrNull(r.responded_at),
    respondedBy: (r.responded_by as string | null) ?? null,
  };
}

async function loadTransfer(sql: Sql, workspaceId: string, id: string): Promise<Transfer | undefined> {
  const r = await one(sql, `${TRANSFER_SQL} WHERE t.id = $1 AND t.workspace_id = $2`, [id, workspaceId]);
  return r ? presentTransfer(r) : undefined;
}

function requireUserActor(actor: Actor): UserActor {
  if (actor.kind !== 'user') throw forbidden('only agents can transfer conversations');
  return actor;
}

function isSupervisor(actor: Actor): boolean {
  return can(actor, 'conversation.read_all') && can(actor, 'conversation.assign');
}

export function createTransferService(deps: {
  db: Database;
  events: DomainEvents;
  pipeline: MessagePipeline;
  conversations: ConversationService;
  /** The routing engine's entry point for one conversation (team transfers put it into the team's queue). */
  route: (workspaceId: string, conversationId: string) => Promise<unknown>;
  options?: Partial<TransferOptions>;
}) {
  const { db, events, pipeline, conversations } = deps;
  /** Mutable on purpose: tests shorten the expiry of a running node. */
  const options: TransferOptions = { ...DEFAULT_TRANSFER_OPTIONS, ...deps.options };
  let jobs: JobQueue | undefined;

  function queue(): JobQueue {
    if (!jobs) throw new Error('the transfer service is not started');
    return jobs;
  }

  /** A timeline line in the caller's transaction (publish the result after COMMIT). */
  function line(tx: Sql, workspaceId: string, conversationId: string, actor: Actor, text: string, isPrivate: boolean): Promise<AppendResult> {
    return pipeline.appendInTx(tx, {
      workspaceId,
      conversationId,
      scope: {},
      direction: isPrivate && actor.kind === 'user' ? 'outgoing' : 'activity',
      private: isPrivate,
      senderType: actor.kind === 'user' ? 'user' : 'system',
      senderId: actor.kind === 'user' ? actor.userId : null,
      contentType: 'text',
      text,
    });
  }

  /** Marks the conversation's pending transfer (if any) with `status`; returns its id. */
  async function settlePending(tx: Sql, workspaceId: string, conversationId: string, status: 'cancelled', by: string | null): Promise<string[]> {
    const rows = await tx.query(
      `UPDATE conversation_transfers SET status = $3, responded_at = now(), responded_by = $4
       WHERE conversation_id = $1 AND workspace_id = $2 AND status = 'pending' RETURNING id`,
      [conversationId, workspaceId, status, by],
    );
    return rows.map((r) => r.id as string);
  }

  async function announce(name: 'transfer.requested' | 'transfer.responded', workspaceId: string, ids: string[], conversation: Conversation): Promise<Transfer[]> {
    const out: Transfer[] = [];
    for (const id of ids) {
      const transfer = await loadTransfer(db, workspaceId, id);
      if (!transfer) continue;
      events.emit(name, { transfer, conversation });
      out.push(transfer);
    }
    return out;
  }

  async function transferToUser(actor: UserActor, conversationId: string, toUserId: string, note: string): Promise<Transfer> {
    // Visibility outside the transaction (it may query through `db`; PGlite has one connection).
    const visible = await conversations.getVisibleRow(db, actor, conversationId);
    const r = await db.transaction(async (tx) => {
      const conv = (await one(tx, `SELECT * FROM conversations WHERE id = $1 AND workspace_id = $2 FOR UPDATE`, [visible.id, actor.workspaceId]))!;
      if (conv.assignee_id !== actor.userId && !isSupervisor(actor)) throw forbidden('only the assignee of this conversation or a supervisor can transfer it');
      if (conv.status === 'resolved') throw conflict('this conversation is resolved; reopen it before transferring it');
      const u = await assertAssignable(tx, actor.workspaceId, conv.inbox_id as string, toUserId, 'body.toUserId');
      if (toUserId === conv.assignee_id) throw invalid('body.toUserId', 'the conversation is already assigned to this user');
      if (toUserId === actor.userId) throw invalid('body.toUserId', 'you cannot transfer a conversation to yourself (supervisors: use take-over)');
      const cancelled = await settlePending(tx, actor.workspaceId, conversationId, 'cancelled', actor.userId);
      const expiresAt = new Date(Date.now() + options.expireAfterMs);
      const t = await one(
        tx,
        `INSERT INTO conversation_transfers (workspace_id, conversation_id, from_user_id, to_user_id, note, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
        [actor.workspaceId, conversationId, actor.userId, toUserId, note, expiresAt.toISOString()],
      );
      const id = t!.id as string;
      await queue().enqueue<ExpireJob>(tx, { queue: TRANSFER_EXPIRE_QUEUE, payload: { workspaceId: actor.workspaceId, transferId: id }, workspaceId: actor.workspaceId, runAt: expiresAt, maxAttempts: 5 });
      const text = `${actor.name} asked ${u.name} to take over this conversation${note ? `: ${note}` : ''}`;
      const appended = await line(tx, actor.workspaceId, conversationId, actor, text, true);
      const conversation = presentConversation((await one(tx, `SELECT * FROM conversations WHERE id = $1`, [conversationId]))!);
      return { id, cancelled, appended, conversation };
    });
    queue().notify();
    pipeline.publish({ ...r.appended, conversation: r.conversation, reopened: false });
    await announce('transfer.responded', actor.workspaceId, r.cancelled, r.conversation);
    const [transfer] = await announce('transfer.requested', actor.workspaceId, [r.id], r.conversation);
    return transfer!;
  }

  async function transferToTeam(actor: UserActor, conversationId: string, toTeamId: string, note: string): Promise<Transfer> {
    let transferId = '';
    let cancelled: string[] = [];
    let appended: AppendResult | undefined;
    const { conversation } = await conversations.moveAssignment(actor, conversationId, async (tx, conv) => {
      if (conv.assignee_id !== actor.userId && !isSupervisor(actor)) throw forbidden('only the assignee of this conversation or a supervisor can transfer it');
      if (conv.status === 'resolved') throw conflict('this conversation is resolved; reopen it before transferring it');
      const team = await one(tx, `SELECT name FROM teams WHERE id = $1 AND workspace_id = $2`, [toTeamId, actor.workspaceId]);
      if (!team) throw invalid('body.toTeamId', 'no such team in this workspace');
      cancelled = await settlePending(tx, actor.workspaceId, conversationId, 'cancelled', actor.userId);
      const t = await one(
        tx,
        `INSERT INTO conversation_transfers (workspace_id, conversation_id, from_user_id, to_team_id, note, status, responded_at)
         VALUES ($1, $2, $3, $4, $5, 'accepted', now()) RETURNING id`,
        [actor.workspaceId, conversationId, actor.userId, toTeamId, note],
      );
      transferId = t!.id as string;
      if (note) appended = await line(tx, actor.workspaceId, conversationId, actor, `${actor.name} transferred this conversation to team ${team.name as string}: ${note}`, true);
      return { assigneeId: null, teamId: toTeamId, activity: `${actor.name} transferred the conversation to team ${team.name as string}` };
    });
    if (appended) pipeline.publish({ ...appended, conversation, reopened: false });
    // Into the team's queue: routing assigns it to a free member of the team, or it waits.
    await deps.route(actor.workspaceId, conversationId);
    const now = presentConversation((await one(db, `SELECT * FROM conversations WHERE id = $1`, [conversationId]))!);
    await announce('transfer.responded', actor.workspaceId, cancelled, now);
    return (await loadTransfer(db, actor.workspaceId, transferId))!;
  }

  /** Loads a transfer addressed to the actor, or throws (not_found across workspaces, forbidden otherwise). */
  async function ownIncoming(actor: UserActor, transferId: string): Promise<Transfer> {
    const t = await loadTransfer(db, actor.workspaceId, transferId);
    if (!t) throw notFound('transfer');
    if (t.toUserId !== actor.userId) throw forbidden('only the agent this transfer is addressed to can answer it');
    if (t.status !== 'pending') throw conflict(`this transfer is already ${t.status}`);
    return t;
  }

  async function expire(job: Job<ExpireJob>, ctx: JobContext): Promise<void> {
    const { workspaceId, transferId } = job.payload;
    const r = await ctx.fence(async (tx) => {
      const t = await one(
        tx,
        `UPDATE conversation_transfers SET status = 'expired', responded_at = now()
         WHERE id = $1 AND workspace_id = $2 AND status = 'pending' RETURNING conversation_id`,
        [transferId, workspaceId],
      );
      if (!t) return null;
      const info = (await loadTransfer(tx, workspaceId, transferId))!;
      const text = `The transfer to ${info.toUserName ?? 'an agent'} was not answered in time; the conversation stays where it was`;
      const appended = await line(tx, workspaceId, t.conversation_id as string, { kind: 'system', workspaceId, via: 'system' }, text, true);
      const conversation = presentConversation((await one(tx, `SELECT * FROM conversations WHERE id = $1`, [t.conversation_id]))!);
      return { appended, conversation };
    }, { complete: true });
    if (!r) return;
    pipeline.publish({ ...r.appended, conversation: r.conversation, reopened: false });
    await announce('transfer.responded', workspaceId, [transferId], r.conversation);
  }

  return {
    options,

    /** Registers the expiry job handler (app.ts, with the node's job queue). */
    start(input: { jobs: JobQueue }): void {
      jobs = input.jobs;
      jobs.register<ExpireJob>(TRANSFER_EXPIRE_QUEUE, expire);
    },

    async requestTransfer(actor: Actor, conversationId: string, body: { toUserId?: string | undefined; toTeamId?: string | undefined; note?: string | undefined }): Promise<Transfer> {
      const user = requireUserActor(actor);
      requirePermission(user, 'conversation.assign');
      const note = (body.note ?? '').trim();
      if (body.toUserId && body.toTeamId) throw invalid('body.toTeamId', 'give either toUserId or toTeamId, not both');
      if (body.toUserId) return transferToUser(user, conversationId, body.toUserId, note);
      if (body.toTeamId) return transferToTeam(user, conversationId, body.toTeamId, note);
      throw invalid('body.toUserId', 'give toUserId (an agent) or toTeamId (a team) to transfer to');
    },

    async list(actor: Actor, q: { status: TransferStatus | 'all'; direction: 'incoming' | 'outgoing' }): Promise<Transfer[]> {
      const user = requireUserActor(actor);
      const column = q.direction === 'incoming' ? 't.to_user_id' : 't.from_user_id';
      const rows = await db.query(
        `${TRANSFER_SQL} WHERE t.workspace_id = $1 AND ${column} = $2 AND ($3::text = 'all' OR t.status = $3)
         ORDER BY t.created_at DESC, t.id DESC LIMIT 200`,
        [user.workspaceId, user.userId, q.status],
      );
      return rows.map(presentTransfer);
    },

    async get(actor: Actor, transferId: string): Promise<Transfer> {
      const user = requireUserActor(actor);
      const t = await loadTransfer(db, user.workspaceId, transferId);
      if (!t || (t.toUserId !== user.userId && t.fromUserId !== user.userId && !isSupervisor(user))) throw notFound('transfer');
      return t;
    },

    /** The receiving agent accepts: the assignment moves to them, with an activity line. */
    async accept(actor: Actor, transferId: string): Promise<Transfer> {
      const user = requireUserActor(actor);
      const t = await ownIncoming(user, transferId);
      const { conversation } = await conversations.moveAssignment(user, t.conversationId, async (tx, conv) => {
        const settled = await one(
          tx,
          `UPDATE conversation_transfers SET status = 'accepted', responded_at = now(), responded_by = $3
           WHERE id = $1 AND workspace_id = $2 AND status = 'pending' AND (expires_at IS NULL OR expires_at > now()) RETURNING id`,
          [transferId, user.workspaceId, user.userId],
        );
        if (!settled) {
          const now = await one(tx, `SELECT status FROM conversation_transfers WHERE id = $1`, [transferId]);
          throw conflict(now?.status === 'pending' ? 'this transfer has expired' : `this transfer is already ${now?.status as string}`);
        }
        if (conv.assignee_id === user.userId) return null;
        return { assigneeId: user.userId, activity: `${user.name} accepted the transfer from ${t.fromUserName}` };
      });
      const [transfer] = await announce('transfer.responded', user.workspaceId, [transferId], conversation);
      return transfer!;
    },

    /** The receiving agent declines: the conversation stays where it is; the requester is told. */
    async decline(actor: Actor, transferId: string, reason?: string): Promise<Transfer> {
      const user = requireUserActor(actor);
      const t = await ownIncoming(user, transferId);
      const why = reason?.trim() || null;
      const r = await db.transaction(async (tx) => {
        const settled = await one(
          tx,
          `UPDATE conversation_transfers SET status = 'declined', responded_at = now(), responded_by = $3, decline_reason = $4
           WHERE id = $1 AND workspace_id = $2 AND status = 'pending' RETURNING id`,
          [transferId, user.workspaceId, user.userId, why],
        );
        if (!settled) throw conflict('this transfer was answered meanwhile');
        const text = `${user.name} declined the transfer from ${t.fromUserName}${why ? `: ${why}` : ''}`;
        const appended = await line(tx, user.workspaceId, t.conversationId, user, text, true);
        const conversation = presentConversation((await one(tx, `SELECT * FROM conversations WHERE id = $1`, [t.conversationId]))!);
        return { appended, conversation };
      });
      pipeline.publish({ ...r.appended, conversation: r.conversation, reopened: false });
      const [transfer] = await announce('transfer.responded', user.workspaceId, [transferId], r.conversation);
      return transfer!;
    },

    /** A supervisor assigns the conversation to themselves at once (a pending transfer is cancelled). */
    async takeOver(actor: Actor, conversationId: string): Promise<Conversation> {
      const user = requireUserActor(actor);
      // Visibility first: another workspace's id is not_found, whatever the permissions.
      await conversations.getVisibleRow(db, user, conversationId);
      if (!isSupervisor(user)) throw forbidden('taking over needs conversation.read_all and conversation.assign (supervisors)');
      let cancelled: string[] = [];
      const { conversation } = await conversations.moveAssignment(user, conversationId, async (tx, conv) => {
        cancelled = await settlePending(tx, user.workspaceId, conversationId, 'cancelled', user.userId);
        if (conv.assignee_id === user.userId) return null;
        const from = conv.assignee_id ? await one(tx, `SELECT name FROM users WHERE id = $1`, [conv.assignee_id]) : undefined;
        return { assigneeId: user.userId, activity: `Supervisor ${user.name} took over${from ? ` from ${from.name as string}` : ''}` };
      });
      await announce('transfer.responded', user.workspaceId, cancelled, conversation);
      return conversation;
    },
  };
}
export type TransferService = ReturnType<typeof createTransferService>;
