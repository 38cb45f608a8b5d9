/**
 * Pulls: work a webhook announced but did not carry (WeCom kf's `kf_msg_or_event` callback says
 * "messages are waiting, fetch them with sync_msg"; the adapter returns them as `InboundResult.pulls`).
 *
 *  1. receiveWebhook stores one durable `channel.pull` job per pull BEFORE the platform gets its answer;
 *     if that fails the webhook answers 500 and the platform calls again. The ordering key is the inbox:
 *     one inbox's pulls run one at a time, in the order they were announced.
 *  2. The job calls `adapter.pull(request, ctx, sink)`. `sink.deliver` stores events through the same
 *     ingest as webhooks and pollers (idempotent by the platform's id); `sink.state` is the inbox's
 *     `channel_inbound_state.pull_state` (the adapter's cursor), written in a transaction fenced by the
 *     job's lease so a worker that stalled past its lease cannot move the cursor back. No poll lease is
 *     involved: the ordering key already serializes an inbox's pulls.
 *  3. A retryable ChannelError (or anything unexpected, e.g. storage down) retries with the queue's
 *     backoff and resumes from the saved cursor; a non-retryable one (credentials refused) and the last
 *     attempt are logged and become the inbox's lastError for the admin. A later successful pull clears
 *     that error.
 */
import type { NormalizedInbound, PollSink, PullRequest } from '@huiliu/channels';
import { ChannelError } from '@huiliu/channels';
import type { Database } from '../db/database.ts';
import { one } from '../db/database.ts';
import type { Job, JobContext, JobQueue } from '../jobs/job-queue.ts';
import { LeaseLostError } from '../jobs/job-queue.ts';
import { AppError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { ChannelConfigService, ChannelInbox, ChannelRuntime } from './channel-config.service.ts';

export const PULL_QUEUE = 'channel.pull';
/** Attempts before a pull gives up (the job may run once more to record that, as channel.deliver). */
export const MAX_PULL_ATTEMPTS = 8;
/** How the inbox's lastError of a failed pull begins (a successful pull clears only errors like it). */
export const PULL_ERROR_PREFIX = 'Fetching the messages the platform announced failed';

export interface PullJob {
  workspaceId: string;
  inboxId: string;
  request: PullRequest;
}

const pullOrderingKey = (inboxId: string) => `${PULL_QUEUE}:${inboxId}`;

export function createChannelPulls(deps: {
  db: Database;
  logger: Logger;
  channelConfig: ChannelConfigService;
  /** The ingest service's `ingest` (a function: the ingest service is created with this module as a dependency). */
  ingest: (rt: ChannelRuntime, batch: readonly NormalizedInbound[]) => Promise<unknown>;
}) {
  const { db, channelConfig } = deps;
  const log = deps.logger.child({ component: 'channels.pulls' });
  let jobs: JobQueue | undefined;

  /** Stores one durable job per pull, in one transaction; throws when they could not be stored. */
  async function enqueue(inbox: ChannelInbox, requests: readonly PullRequest[]): Promise<void> {
    const queue = jobs;
    if (!queue) throw new Error('channel pulls are not started: the job queue is not running');
    await db.transaction(async (tx) => {
      for (const request of requests) {
        await queue.enqueue<PullJob>(tx, {
          queue: PULL_QUEUE,
          payload: { workspaceId: inbox.workspaceId, inboxId: inbox.id, request },
          workspaceId: inbox.workspaceId,
          orderingKey: pullOrderingKey(inbox.id),
          maxAttempts: MAX_PULL_ATTEMPTS + 1,
        });
      }
    });
    queue.notify();
  }

  async function fail(workspaceId: string, inboxId: string, err: unknown, attempts: number): Promise<void> {
    const reason = err instanceof Error ? err.message : String(err);
    const code = err instanceof ChannelError ? err.code : 'internal';
    log.error({ workspaceId, inboxId, code, attempts, reason }, 'pulling announced messages failed; giving up on this pull');
    await channelConfig.recordError(workspaceId, inboxId, `${PULL_ERROR_PREFIX} (${code}, after ${attempts} attempt${attempts === 1 ? '' : 's'}): ${reason}`);
  }

  function sinkFor(job: Job<PullJob>, ctx: JobContext, rt: ChannelRuntime): PollSink {
    const { workspaceId, inboxId } = job.payload;
    // A run that lost its lease (another worker has the job now) must stop writing.
    const guard = () => {
      if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new LeaseLostError(job.id);
    };
    return {
      state: {
        async get() {
          const r = await one(db, `SELECT pull_state FROM channel_inbound_state WHERE inbox_id = $1 AND workspace_id = $2`, [inboxId, workspaceId]);
          return (r?.pull_state as Record<string, unknown> | null | undefined) ?? null;
        },
        async set(state) {
          guard();
          await ctx.fence((tx) =>
            tx.query(
              `INSERT INTO channel_inbound_state (inbox_id, workspace_id, pull_state) VALUES ($1, $2, $3)
               ON CONFLICT (inbox_id) DO UPDATE SET pull_state = EXCLUDED.pull_state, updated_at = now()
               WHERE channel_inbound_state.workspace_id = EXCLUDED.workspace_id`,
              [inboxId, workspaceId, JSON.stringify(state)],
            ),
          );
        },
      },
      async deliver(batch) {
        guard();
        await deps.ingest(rt, batch);
      },
    };
  }

  async function run(job: Job<PullJob>, ctx: JobContext): Promise<void> {
    const { workspaceId, inboxId, request } = job.payload;
    let rt: ChannelRuntime;
    try {
      rt = await channelConfig.contextFor(workspaceId, inboxId);
    } catch (err) {
      // Inbox deleted: nothing to fetch for. Not configured any more: retrying on a timer cannot fix it.
      if (err instanceof AppError && err.code === 'not_found') return;
      if (err instanceof AppError) return fail(workspaceId, inboxId, err, job.attempts);
      throw err;
    }
    if (!rt.adapter.pull) {
      return fail(workspaceId, inboxId, new Error(`the ${rt.adapter.displayName} channel announced messages but cannot fetch them (its adapter has no pull)`), job.attempts);
    }
    try {
      await rt.adapter.pull(request, rt.ctx, sinkFor(job, ctx, rt));
    } catch (err) {
      if (ctx.signal.aborted || err instanceof LeaseLostError) throw err;
      const retryable = err instanceof ChannelError ? err.retryable : true;
      if (!retryable || job.attempts >= MAX_PULL_ATTEMPTS) return fail(workspaceId, inboxId, err, job.attempts);
      log.warn({ workspaceId, inboxId, jobId: job.id, attempt: job.attempts, code: err instanceof ChannelError ? err.code : 'internal', reason: err instanceof Error ? err.message : String(err) }, 'pulling announced messages failed; will retry from the saved cursor');
      throw err;
    }
    await channelConfig.clearErrorStartingWith(workspaceId, inboxId, PULL_ERROR_PREFIX);
  }

  return {
    enqueue,
    /** Registers the job handler (app.ts). Inboxes' pulls run in parallel; one inbox's one at a time. */
    start(input: { jobs: JobQueue; concurrency?: number }): void {
      jobs = input.jobs;
      // A pull may carry the pushed message itself (WeChat OA defers its slow work this way).
      jobs.register<PullJob>(PULL_QUEUE, run, { concurrency: input.concurrency ?? 4, dropPayloadWhenDone: true });
    },
  };
}
export type ChannelPulls = ReturnType<typeof createChannelPulls>;
