/**
 * Session sync: platforms that track who serves the customer (WeCom kf: state 3 "served by a human" with
 * the servicer's userid, 4 "ended") are told when that changes on our side, through
 * `adapter.syncSession` — for inboxes whose adapter has it.
 *
 * Durable like outbound delivery, in two steps:
 *  1. A message-log consumer (jobs/log-consumer.ts, its own stored cursor) reads every stored message
 *     once. Every assignment and resolution writes an activity line in its own transaction (manual assign,
 *     routing's claim, transfers, take-over, the auto-resolve sweep), and a customer message reopens a
 *     resolved conversation, so these rows are the signal. For each conversation of a syncing inbox whose
 *     present state differs from what the platform was last told (`channel_session_sync`), the consumer
 *     enqueues a `channel.session_sync` job in the transaction that advances its cursor: an acknowledged
 *     assignment is synced even if the process dies right after its COMMIT. Ordered per conversation;
 *     at most one job waits per conversation.
 *  2. The job reads the conversation's state NOW (resolved → 'ended'; assigned → 'human' with the
 *     agent's email and name; unassigned and open → nothing to say), skips it when the platform already
 *     knows it, else calls the adapter and records what was told in the same transaction that completes
 *     the job. A state that changed twice quickly is synced once, as its latest value.
 *
 * Failures: a retryable ChannelError (or anything unexpected) retries with the queue's backoff; a
 * non-retryable one, or the last attempt, is logged and becomes the inbox's lastError. The next change
 * tries again. A conversation the platform itself ended (ChannelEvent.endsConversation) is recorded as
 * 'ended' before it is resolved here, so the platform is not told what it told us.
 */
import type { ChannelAdapter, SessionChange } from '@huiliu/channels';
import { ChannelError } from '@huiliu/channels';
import type { ChannelType } from '@huiliu/contracts';
import type { Database, Sql } from '../db/database.ts';
import { one } from '../db/database.ts';
import type { Job, JobContext, JobQueue } from '../jobs/job-queue.ts';
import { LeaseLostError } from '../jobs/job-queue.ts';
import { createBurstCatchUp, createCursorAtPresent, createLogConsumer, type LogConsumer, type MessageLogRow } from '../jobs/log-consumer.ts';
import { AppError } from '../shared/errors.ts';
import type { DomainEvents } from '../shared/events.ts';
import type { Logger } from '../shared/logger.ts';
import type { ChannelRuntime } from './channel-config.service.ts';

export const SESSION_SYNC_QUEUE = 'channel.session_sync';
const CONSUMER_NAME = 'channel-session-sync';
/** Attempts before a sync gives up (the job may run once more to record that, as channel.deliver). */
export const MAX_SYNC_ATTEMPTS = 8;
/** How the inbox's lastError of a failed sync begins (a later successful sync clears only errors like it). */
export const SYNC_ERROR_PREFIX = 'Telling the platform who serves a conversation failed';

export interface SessionSyncJob {
  workspaceId: string;
  conversationId: string;
}

const syncOrderingKey = (conversationId: string) => `${SESSION_SYNC_QUEUE}:${conversationId}`;

/** Records what the platform knows about a conversation's session (after a sync, or because it told us). */
export async function recordSessionState(
  sql: Sql,
  s: { workspaceId: string; inboxId: string; conversationId: string; state: SessionChange['state']; agentId: string | null },
): Promise<void> {
  await sql.query(
    `INSERT INTO channel_session_sync (conversation_id, workspace_id, inbox_id, state, agent_id) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (conversation_id) DO UPDATE SET state = EXCLUDED.state, agent_id = EXCLUDED.agent_id, updated_at = now()
     WHERE channel_session_sync.workspace_id = EXCLUDED.workspace_id`,
    [s.conversationId, s.workspaceId, s.inboxId, s.state, s.agentId],
  );
}

/** The conversations among `conversationIds` whose present state the platform does not know yet. */
const OUT_OF_SYNC_SQL = `
SELECT c.id, c.workspace_id FROM conversations c
JOIN inboxes i ON i.id = c.inbox_id AND i.workspace_id = c.workspace_id
LEFT JOIN channel_session_sync s ON s.conversation_id = c.id
WHERE c.id = ANY($1::uuid[]) AND i.channel_type = ANY($2::text[])
  AND CASE WHEN c.status = 'resolved' THEN s.state IS DISTINCT FROM 'ended'
           WHEN c.assignee_id IS NOT NULL THEN s.state IS DISTINCT FROM 'human' OR s.agent_id IS DISTINCT FROM c.assignee_id
           ELSE false END
  AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.ordering_key = $3 || c.id::text AND j.status = 'queued')
ORDER BY c.id`;

export function createSessionSync(deps: {
  db: Database;
  events: DomainEvents;
  logger: Logger;
  adapters: ReadonlyMap<ChannelType, ChannelAdapter<any>>;
  /** ChannelConfigService.contextFor. */
  contextFor: (workspaceId: string, inboxId: string) => Promise<ChannelRuntime>;
  /** ChannelConfigService.recordError / clearErrorStartingWith: failures show as the inbox's lastError. */
  recordError: (workspaceId: string, inboxId: string, message: string) => Promise<void>;
  clearErrorStartingWith: (workspaceId: string, inboxId: string, prefix: string) => Promise<void>;
}) {
  const { db, events } = deps;
  const log = deps.logger.child({ component: 'channels.session-sync' });
  const syncKinds = [...deps.adapters.values()].filter((a) => typeof a.syncSession === 'function').map((a) => a.kind);
  let jobs: JobQueue | undefined;
  let consumer: LogConsumer | undefined;
  let stopped = true;
  const offs: (() => void)[] = [];

  // -------------------------------------------------------------------------------------------------
  // 1. The log consumer

  let enqueuedSinceCatchUp = 0;
  async function handleLog(tx: Sql, rows: MessageLogRow[]): Promise<void> {
    const queue = jobs;
    if (!queue || syncKinds.length === 0) return;
    const ids = [...new Set(rows.filter((m) => m.direction === 'activity' || m.direction === 'incoming').map((m) => m.conversationId))];
    if (ids.length === 0) return;
    const due = await tx.query<{ id: string; workspace_id: string }>(OUT_OF_SYNC_SQL, [ids, syncKinds, `${SESSION_SYNC_QUEUE}:`]);
    for (const c of due) {
      await queue.enqueue<SessionSyncJob>(tx, {
        queue: SESSION_SYNC_QUEUE,
        payload: { workspaceId: c.workspace_id, conversationId: c.id },
        workspaceId: c.workspace_id,
        orderingKey: syncOrderingKey(c.id),
        maxAttempts: MAX_SYNC_ATTEMPTS + 1,
      });
      enqueuedSinceCatchUp++;
    }
  }

  const logBurst = createBurstCatchUp({
    consumer: () => consumer,
    isActive: () => !stopped,
    afterCatchUp: () => {
      if (enqueuedSinceCatchUp > 0) jobs?.notify();
      enqueuedSinceCatchUp = 0;
    },
    onError: (err) => log.warn({ err }, 'session sync: log consumer failed; the poll retries'),
  });

  // -------------------------------------------------------------------------------------------------
  // 2. The job

  async function fail(workspaceId: string, inboxId: string, conversationId: string, err: unknown, attempts: number): Promise<void> {
    const reason = err instanceof Error ? err.message : String(err);
    const code = err instanceof ChannelError ? err.code : 'internal';
    log.error({ workspaceId, inboxId, conversationId, code, attempts, reason }, 'session sync failed; giving up on this change');
    await deps.recordError(workspaceId, inboxId, `${SYNC_ERROR_PREFIX} (conversation ${conversationId}, ${code}): ${reason}`);
  }

  async function sync(job: Job<SessionSyncJob>, ctx: JobContext): Promise<void> {
    const { workspaceId, conversationId } = job.payload;
    const c = await one(
      db,
      `SELECT c.inbox_id, c.status, c.assignee_id, ci.source_id, ci.inbox_id AS identity_inbox_id, u.email AS agent_email, u.name AS agent_name,
         s.state AS synced_state, s.agent_id AS synced_agent_id
       FROM conversations c
       LEFT JOIN contact_identities ci ON ci.id = c.identity_id AND ci.workspace_id = c.workspace_id
       LEFT JOIN users u ON u.id = c.assignee_id AND u.workspace_id = c.workspace_id
       LEFT JOIN channel_session_sync s ON s.conversation_id = c.id
       WHERE c.id = $1 AND c.workspace_id = $2`,
      [conversationId, workspaceId],
    );
    if (!c) return;
    const inboxId = c.inbox_id as string;
    const assigneeId = (c.assignee_id as string | null) ?? null;
    const state: SessionChange['state'] | null = c.status === 'resolved' ? 'ended' : assigneeId ? 'human' : null;
    if (!state) return;
    const agentId = state === 'human' ? assigneeId : null;
    if (c.synced_state === state && ((c.synced_agent_id as string | null) ?? null) === agentId) return;
    if (!c.source_id || c.identity_inbox_id !== inboxId) {
      log.warn({ workspaceId, conversationId }, 'session sync skipped: the customer has no identity on this channel in this conversation');
      return;
    }

    let rt: ChannelRuntime;
    try {
      rt = await deps.contextFor(workspaceId, inboxId);
    } catch (err) {
      if (err instanceof AppError && err.code === 'not_found') return;
      if (err instanceof AppError) return fail(workspaceId, inboxId, conversationId, err, job.attempts);
      throw err;
    }
    if (!rt.adapter.syncSession) return;

    const change: SessionChange = {
      conversationId,
      recipient: { sourceId: c.source_id as string },
      state,
      agent: state === 'human' ? { email: c.agent_email as string, name: c.agent_name as string } : null,
    };
    try {
      await rt.adapter.syncSession(change, rt.ctx);
    } catch (err) {
      if (ctx.signal.aborted || err instanceof LeaseLostError) throw err;
      const retryable = err instanceof ChannelError ? err.retryable : true;
      if (!retryable || job.attempts >= MAX_SYNC_ATTEMPTS) return fail(workspaceId, inboxId, conversationId, err, job.attempts);
      log.warn({ workspaceId, conversationId, jobId: job.id, attempt: job.attempts, code: err instanceof ChannelError ? err.code : 'internal', reason: err instanceof Error ? err.message : String(err) }, 'session sync failed; will retry');
      throw err;
    }
    await ctx.fence((tx) => recordSessionState(tx, { workspaceId, inboxId, conversationId, state, agentId }), { complete: true });
    log.info({ workspaceId, conversationId, state }, 'platform session synced');
    await deps.clearErrorStartingWith(workspaceId, inboxId, SYNC_ERROR_PREFIX);
  }

  return {
    /** Registers the job handler and starts the log consumer (app.ts); does nothing without syncing adapters. */
    async start(input: { jobs: JobQueue; /** Read the message log here (worker nodes; default true). */ consume?: boolean; consumerPollMs?: number; concurrency?: number }): Promise<void> {
      if (syncKinds.length === 0) return;
      jobs = input.jobs;
      stopped = false;
      jobs.register<SessionSyncJob>(SESSION_SYNC_QUEUE, sync, { concurrency: input.concurrency ?? 2 });
      // Created at the present position the first time: changes made before this feature are not replayed.
      await createCursorAtPresent(db, CONSUMER_NAME);
      consumer = createLogConsumer({ db, name: CONSUMER_NAME, logger: log, pollMs: input.consumerPollMs ?? 2_000, handle: handleLog });
      if (input.consume !== false) consumer.start();
      // Assignments and resolutions announce themselves; a reopening customer message is left to the poll.
      offs.push(events.on('conversation.updated', () => logBurst.trigger()), events.on('message.log_wake', () => logBurst.trigger()));
    },

    async stop(): Promise<void> {
      stopped = true;
      for (const off of offs.splice(0)) off();
      logBurst.cancel();
      await consumer?.stop();
    },

    /** Catches the message log up now (tests; normally woken by events and a poll). */
    catchUp: async (): Promise<number> => (consumer ? consumer.catchUp() : 0),
  };
}
export type SessionSync = ReturnType<typeof createSessionSync>;
