/**
 * Durable background jobs in the `jobs` table, on both drivers (embedded PGlite = one connection, and
 * node-postgres pools).
 *
 * Why not pg-boss or graphile-worker: graphile-worker needs a second, dedicated LISTEN connection, which
 * deadlocks on PGlite's single connection; pg-boss polls (≥ 0.5 s latency) and cannot enqueue inside our
 * own transaction object on PGlite. We need both: enqueue in the caller's transaction (transactional
 * outbox — the job exists if and only if the data commits) and immediate pickup.
 *
 * Guarantees:
 * - At-least-once execution; `ctx.fence(fn)` makes a handler's DB effects conditional on still holding
 *   the lease, so a worker that stalled past its lease cannot commit over the worker that took the job.
 * - Jobs with the same `ordering_key` run one at a time in id order (the key is global across queues,
 *   matching `jobs_ordering_idx`); a retrying job holds back later ones, a dead one does not.
 * - Wake-up: in-process on enqueue/notify, a timer at the next known run_at / lease expiry, a slow
 *   safety poll, and optionally LISTEN/NOTIFY across PostgreSQL nodes.
 */
import type { Database, Row, Sql } from '../db/database.ts';
import type { Logger } from '../shared/logger.ts';

/** NOTIFY channel used between nodes on PostgreSQL. */
export const JOBS_CHANNEL = 'huiliu_jobs';

const MAX_ERROR_LENGTH = 2000;
// setTimeout stores its delay in an int32; longer delays fire immediately.
const MAX_TIMER_MS = 2_147_483_647;
// How long stop() still waits for handlers after aborting them, so none is mid-transaction when the
// caller closes the database right after.
const ABORT_GRACE_MS = 1_000;

/** Thrown by `ctx.fence` (and used as the abort reason) when another worker now owns the job. */
export class LeaseLostError extends Error {
  constructor(readonly jobId: number) {
    super(`lease on job ${jobId} was lost to another worker`);
    this.name = 'LeaseLostError';
  }
}

export interface Job<P = unknown> {
  id: number;
  payload: P;
  /** 1 on the first run. */
  attempts: number;
  workspaceId: string | null;
  orderingKey: string | null;
}

export interface FenceOptions {
  /**
   * Mark the job done in this same transaction, so the effect and the completion commit together
   * (exactly-once DB effects). Use it on the handler's last fence; later fences then throw. It is
   * explicit because the queue cannot know in advance which fence is the last one, and holding a
   * transaction open until the handler returns would block PGlite's only connection.
   */
  complete?: boolean;
}

export interface JobContext {
  /**
   * Runs `fn` in a transaction that first locks the job row and checks that our lease token is still
   * current (extending the lease). Throws LeaseLostError, committing nothing, when it is not. Inside,
   * use only `tx`: on PGlite a `db.query` there would wait for this very transaction.
   */
  fence<T>(fn: (tx: Sql) => Promise<T>, opts?: FenceOptions): Promise<T>;
  /** Aborted when the lease is lost or the queue stops after its drain time. */
  signal: AbortSignal;
}

export type JobHandler<P = unknown> = (job: Job<P>, ctx: JobContext) => Promise<void>;

export interface EnqueueJob<P = unknown> {
  queue: string;
  payload: P;
  orderingKey?: string | null;
  workspaceId?: string | null;
  runAt?: Date;
  maxAttempts?: number;
}

/** Subscribes to a NOTIFY channel; resolves to an unsubscribe function. See `pgListener`. */
export type ListenFn = (channel: string, onNotify: () => void) => Promise<() => Promise<void>>;

export interface JobQueueOptions {
  db: Database;
  logger: Logger;
  /** How long a claim is valid without a heartbeat. */
  leaseMs?: number;
  /** Safety poll interval: catches jobs whose wake-up was missed (e.g. enqueued by another node). */
  pollMs?: number;
  /** Lease extension interval; default leaseMs / 3. Mostly for tests that simulate a stalled worker. */
  heartbeatMs?: number;
  /** Delay before retry number `attempt` (1 = after the first failure), in ms. */
  backoff?: (attempt: number) => number;
  /** Cross-node wake-up on PostgreSQL (ignored on PGlite, where all workers share one process). */
  listen?: ListenFn;
}

export interface DeadJob {
  id: number;
  queue: string;
  workspaceId: string | null;
  orderingKey: string | null;
  payload: unknown;
  attempts: number;
  maxAttempts: number;
  lastError: string | null;
  createdAt: string;
  finishedAt: string | null;
}

export interface JobQueue {
  /**
   * Inserts the job with the caller's transaction `sql`, so it commits (or rolls back) with the data.
   * Call `notify()` after the commit for immediate pickup on PostgreSQL; a wake is also scheduled here.
   */
  enqueue<P>(sql: Sql, job: EnqueueJob<P>): Promise<number>;
  /** Wakes the claim loop now (cheap when there is nothing to do). */
  notify(): void;
  /** Runs `handler` for the jobs of `queue` (see RegisterOptions). */
  register<P>(queue: string, handler: JobHandler<P>, opts?: RegisterOptions): void;
  start(): Promise<void>;
  /** Stops claiming, waits up to drainMs for running handlers, then aborts them and releases their jobs. */
  stop(opts?: { drainMs?: number }): Promise<void>;
  listDead(workspaceId?: string, opts?: { limit?: number }): Promise<DeadJob[]>;
  /** Requeues a dead job with a fresh attempt budget; false when it is not (or no longer) dead. */
  retryDead(id: number, workspaceId?: string): Promise<boolean>;
}

export interface RegisterOptions {
  /** Jobs of this queue run at once on this node. Default 1. */
  concurrency?: number;
  /**
   * A finished job keeps no payload (`{}`): for payloads that copy customer content (a channel's pushed
   * message), which must not outlive the message itself in the jobs table.
   */
  dropPayloadWhenDone?: boolean;
  /**
   * At most `maxRunning` jobs with the same value of the payload's `payloadField` (a string) run at once on
   * this node; jobs without that field are not limited. For queues whose jobs wait on outside parties
   * (channel.deliver, grouped by inbox): one slow party then holds at most `maxRunning` of the
   * `concurrency` slots, and the others keep flowing. Per node, not cluster-wide: counting the group's
   * running jobs in the database would scan the queue on every claim and race between nodes, and the
   * point is that every node keeps slots for the other groups.
   */
  groupLimit?: { payloadField: string; maxRunning: number };
}

/** Default backoff: 2^attempt seconds capped at one hour, with jitter so failed jobs do not retry in lockstep. */
export function defaultBackoff(attempt: number): number {
  const base = Math.min(2 ** attempt * 1000, 3_600_000);
  return Math.round(base / 2 + (Math.random() * base) / 2);
}

interface ClaimedRow extends Row {
  id: number;
  payload: unknown;
  attempts: number;
  workspace_id: string | null;
  ordering_key: string | null;
  lease_token: string;
  reaped: boolean;
}

interface Registration {
  queue: string;
  handler: JobHandler<unknown>;
  concurrency: number;
  dropPayloadWhenDone: boolean;
  groupLimit: { payloadField: string; maxRunning: number } | undefined;
  active: Set<RunningJob>;
}

interface RunningJob {
  job: Job<unknown>;
  token: string;
  controller: AbortController;
  /** Set by stop() once it gave the job back, so the run's own outcome is not written. */
  released: boolean;
  done: Promise<void>;
}

// Due jobs of queue $1 whose ordering-key predecessors are finished (both claims).
const READY_WHERE = `
  j.queue = $1
    AND ((j.status = 'queued' AND j.run_at <= now())
      OR (j.status = 'running' AND j.lease_expires_at <= now()))
    AND (j.ordering_key IS NULL OR NOT EXISTS (
      SELECT 1 FROM jobs e
      WHERE e.ordering_key = j.ordering_key AND e.id < j.id AND e.status IN ('queued', 'running')))`;

/** After a \`ready (id, exhausted)\` CTE: reaps the exhausted rows, leases the others, returns both. */
const claimTail = (extraColumn: string) => `
, reaped AS (
  UPDATE jobs SET status = 'dead', lease_token = NULL, lease_expires_at = NULL, finished_at = now(),
    last_error = 'lease expired on the final attempt (worker crashed or stalled)'
  FROM ready WHERE jobs.id = ready.id AND ready.exhausted
  RETURNING jobs.id, jobs.payload, jobs.attempts, jobs.workspace_id, jobs.ordering_key, jobs.lease_token
), claimed AS (
  UPDATE jobs SET status = 'running', attempts = jobs.attempts + 1, lease_token = gen_random_uuid(),
    lease_expires_at = now() + $3::float8 * interval '1 millisecond'
  FROM ready WHERE jobs.id = ready.id AND NOT ready.exhausted
  RETURNING jobs.id, jobs.payload, jobs.attempts, jobs.workspace_id, jobs.ordering_key, jobs.lease_token
)
SELECT id, payload, attempts, workspace_id, ordering_key, lease_token::text AS lease_token, false AS reaped${extraColumn} FROM claimed
UNION ALL
SELECT id, payload, attempts, workspace_id, ordering_key, NULL, true${extraColumn} FROM reaped`;

const CLAIM_SQL = `
WITH ready AS (
  SELECT j.id, (j.status = 'running' AND j.attempts >= j.max_attempts) AS exhausted
  FROM jobs j
  WHERE ${READY_WHERE}
  ORDER BY j.run_at, j.id
  LIMIT $2
  FOR UPDATE SKIP LOCKED
)${claimTail('')}`;

/** A job's group ($6: the payload field) when it is a non-empty string, like groupOf(). */
const GROUP_OF_J = `CASE WHEN jsonb_typeof(j.payload->$6::text) = 'string' THEN NULLIF(j.payload->>$6::text, '') END`;

/**
 * The claim of a queue with a group limit. $4/$5: the groups running on this node and how many of each;
 * $6: the payload field; $7: the limit; $8: how many due jobs to look at. Groups already at their limit are
 * left out before the LIMIT (a long backlog of one slow group cannot fill the window), then each group gets
 * at most its free places, in due order. \`more\`: some looked-at rows were left for their group's limit, so
 * the window may have hidden other groups' jobs; the caller claims again for slots still free.
 */
const CLAIM_GROUPED_SQL = `
WITH busy AS (
  SELECT b.g, b.n FROM unnest($4::text[], $5::int[]) AS b(g, n)
), candidates AS (
  SELECT j.id, j.run_at, (j.status = 'running' AND j.attempts >= j.max_attempts) AS exhausted, ${GROUP_OF_J} AS grp
  FROM jobs j
  WHERE ${READY_WHERE}
    AND NOT EXISTS (SELECT 1 FROM busy WHERE busy.g = ${GROUP_OF_J} AND busy.n >= $7::int)
  ORDER BY j.run_at, j.id
  LIMIT $8
  FOR UPDATE SKIP LOCKED
), ranked AS (
  SELECT c.id, c.run_at, c.exhausted, c.grp, row_number() OVER (PARTITION BY c.grp ORDER BY c.run_at, c.id) AS rank
  FROM candidates c
), ready AS (
  SELECT r.id, r.exhausted FROM ranked r LEFT JOIN busy b ON b.g = r.grp
  WHERE r.grp IS NULL OR r.rank + COALESCE(b.n, 0) <= $7::int
  ORDER BY r.run_at, r.id
  LIMIT $2
)${claimTail(', (SELECT count(*) FROM candidates) > (SELECT count(*) FROM ready) AS more')}`;
/** How many due jobs a grouped claim looks at per free slot. */
const GROUPED_WINDOW_PER_SLOT = 8;

// Only future instants: due-but-blocked jobs (ordering key, full concurrency, group limit) are woken by the job
// that unblocks them, and counting them here would spin the timer.
const NEXT_DUE_SQL = `
SELECT EXTRACT(EPOCH FROM (min(t) - now())) * 1000 AS ms FROM (
  SELECT min(run_at) AS t FROM jobs
  WHERE queue = ANY($1::text[]) AND status = 'queued' AND run_at > now()
  UNION ALL
  SELECT min(lease_expires_at) FROM jobs
  WHERE queue = ANY($1::text[]) AND status = 'running' AND lease_expires_at > now()
) s`;

export function createJobQueue(opts: JobQueueOptions): JobQueue {
  const { db, logger } = opts;
  const leaseMs = opts.leaseMs ?? 30_000;
  const pollMs = opts.pollMs ?? 5_000;
  const heartbeatMs = opts.heartbeatMs ?? Math.max(Math.floor(leaseMs / 3), 10);
  const backoff = opts.backoff ?? defaultBackoff;
  const crossNode = db.kind === 'postgres' && opts.listen !== undefined;

  const registrations = new Map<string, Registration>();
  let started = false;
  let pending = false;
  let loop: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let unlisten: (() => Promise<void>) | undefined;

  function wake(): void {
    if (!started) return;
    pending = true;
    if (loop) return;
    // setImmediate: coalesces a burst of wakes (e.g. many enqueues in one request) into one cycle.
    loop = new Promise<void>((resolve) => setImmediate(resolve))
      .then(runLoop)
      .finally(() => {
        loop = undefined;
        if (pending && started) wake();
      });
  }

  async function runLoop(): Promise<void> {
    while (pending && started) {
      pending = false;
      await cycle();
    }
  }

  async function cycle(): Promise<void> {
    let nextMs = pollMs;
    try {
      // Next due instant first, claims second: a job that becomes due between the two statements is
      // then caught by the claim; the other order would miss it (too late for the claim, no longer
      // "future" for the timer) and leave it to the safety poll.
      if (registrations.size > 0) {
        const due = await db.query<{ ms: number | null }>(NEXT_DUE_SQL, [[...registrations.keys()]]);
        const ms = due[0]?.ms;
        if (ms !== null && ms !== undefined) nextMs = Math.min(nextMs, Math.max(0, Math.ceil(ms)));
      }
      for (const reg of registrations.values()) {
        if (!started) return;
        const free = reg.concurrency - reg.active.size;
        if (free <= 0) continue;
        const rows = await claim(reg, free);
        for (const row of rows) {
          if (row.reaped) {
            logger.warn({ jobId: row.id, queue: reg.queue }, 'job dead: lease expired on its final attempt');
            // A reaped row took a slot in this claim without running; claim again for the free slot.
            pending = true;
            continue;
          }
          spawn(reg, row);
        }
      }
    } catch (err) {
      logger.error({ err }, 'job queue: claim failed');
      nextMs = Math.min(nextMs, 1_000);
    }
    armTimer(nextMs);
  }

  async function claim(reg: Registration, free: number): Promise<ClaimedRow[]> {
    const limit = reg.groupLimit;
    if (!limit) return db.query<ClaimedRow>(CLAIM_SQL, [reg.queue, free, leaseMs]);
    const busy = new Map<string, number>();
    for (const run of reg.active) {
      const g = groupOf(run.job.payload, limit.payloadField);
      if (g !== null) busy.set(g, (busy.get(g) ?? 0) + 1);
    }
    const rows = await db.query<ClaimedRow & { more: boolean }>(CLAIM_GROUPED_SQL, [
      reg.queue, free, leaseMs, [...busy.keys()], [...busy.values()], limit.payloadField, limit.maxRunning, free * GROUPED_WINDOW_PER_SLOT,
    ]);
    // Slots left free only because the window was full of capped groups: look again (the groups just
    // claimed now count as busy, so the next window reaches past them). Ends when a claim finds nothing.
    if (rows.length > 0 && rows.length < free && rows.some((r) => r.more)) pending = true;
    return rows;
  }

  function armTimer(ms: number): void {
    if (timer) clearTimeout(timer);
    if (!started) return;
    timer = setTimeout(wake, Math.min(ms, MAX_TIMER_MS));
    // A forgotten stop() must not keep the process alive.
    timer.unref();
  }

  function spawn(reg: Registration, row: ClaimedRow): void {
    const run: RunningJob = {
      job: {
        id: row.id,
        payload: row.payload,
        attempts: row.attempts,
        workspaceId: row.workspace_id,
        orderingKey: row.ordering_key,
      },
      token: row.lease_token,
      controller: new AbortController(),
      released: false,
      done: Promise.resolve(),
    };
    reg.active.add(run);
    run.done = execute(reg, run).finally(() => {
      reg.active.delete(run);
      // A slot is free and a successor with the same ordering key may be ready now.
      wake();
    });
  }

  async function execute(reg: Registration, run: RunningJob): Promise<void> {
    const { job, token, controller } = run;
    let completed = false;
    // Local view of when the lease ends, refreshed by each successful extension; if the database is
    // unreachable past it, another worker may already own the job, so the handler is told to stop.
    let leaseDeadline = Date.now() + leaseMs;
    let beating = false;

    const extend = async (sql: Sql): Promise<boolean> => {
      const sentAt = Date.now();
      const rows = await sql.query(
        `UPDATE jobs SET lease_expires_at = now() + $3::float8 * interval '1 millisecond'
         WHERE id = $1 AND lease_token = $2 AND status = 'running' RETURNING id`,
        [job.id, token, leaseMs],
      );
      if (rows.length > 0) leaseDeadline = sentAt + leaseMs;
      return rows.length > 0;
    };
    const lose = () => {
      if (!controller.signal.aborted) controller.abort(new LeaseLostError(job.id));
    };

    const heartbeat = setInterval(() => {
      if (beating || controller.signal.aborted) return;
      beating = true;
      extend(db)
        .then((ok) => {
          if (!ok) lose();
        })
        .catch((err: unknown) => {
          logger.warn({ err, jobId: job.id }, 'job heartbeat failed');
          if (Date.now() > leaseDeadline) lose();
        })
        .finally(() => {
          beating = false;
        });
    }, heartbeatMs);
    heartbeat.unref();

    const ctx: JobContext = {
      signal: controller.signal,
      fence: async <T>(fn: (tx: Sql) => Promise<T>, fenceOpts?: FenceOptions): Promise<T> => {
        if (completed) throw new Error(`job ${job.id} was already completed by an earlier fence`);
        if (controller.signal.reason instanceof LeaseLostError || run.released) throw new LeaseLostError(job.id);
        const result = await db.transaction(async (tx) => {
          // The UPDATE row-locks the job until commit, so no other worker can claim it in between.
          if (!(await extend(tx))) throw new LeaseLostError(job.id);
          const value = await fn(tx);
          if (fenceOpts?.complete) await markDone(tx, job.id, token, reg.dropPayloadWhenDone);
          return value;
        });
        if (fenceOpts?.complete) completed = true;
        return result;
      },
    };

    let failure: unknown;
    let failed = false;
    try {
      await reg.handler(job, ctx);
    } catch (err) {
      failed = true;
      failure = err;
    } finally {
      clearInterval(heartbeat);
    }
    if (run.released) return;

    try {
      if (!failed) {
        if (!completed && !(await markDone(db, job.id, token, reg.dropPayloadWhenDone))) {
          logger.warn({ jobId: job.id, queue: reg.queue }, 'job finished after its lease was lost; not marked done');
          return;
        }
        if (job.orderingKey !== null) await publish();
        return;
      }
      if (completed) {
        logger.error({ err: failure, jobId: job.id }, 'job handler threw after completing; ignored');
        return;
      }
      if (failure instanceof LeaseLostError || controller.signal.reason instanceof LeaseLostError) {
        logger.info({ jobId: job.id, queue: reg.queue }, 'job lease lost; another worker owns it');
        return;
      }
      const message = errorMessage(failure).slice(0, MAX_ERROR_LENGTH);
      const delayMs = Math.max(0, backoff(job.attempts));
      const rows = await db.query<{ status: string }>(
        `UPDATE jobs SET
           status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END,
           run_at = CASE WHEN attempts >= max_attempts THEN run_at
                         ELSE now() + $3::float8 * interval '1 millisecond' END,
           finished_at = CASE WHEN attempts >= max_attempts THEN now() END,
           last_error = $4, lease_token = NULL, lease_expires_at = NULL
         WHERE id = $1 AND lease_token = $2
         RETURNING status`,
        [job.id, token, delayMs, message],
      );
      const status = rows[0]?.status;
      if (status === 'dead') {
        logger.error({ jobId: job.id, queue: reg.queue, attempts: job.attempts, error: message }, 'job dead');
        if (job.orderingKey !== null) await publish();
      } else if (status === 'queued') {
        logger.warn({ jobId: job.id, queue: reg.queue, attempts: job.attempts, delayMs, error: message }, 'job failed; will retry');
      }
    } catch (err) {
      // The lease will expire and another claim retries the job.
      logger.error({ err, jobId: job.id }, 'job queue: recording the outcome failed');
    }
  }

  async function markDone(sql: Sql, id: number, token: string, dropPayload: boolean): Promise<boolean> {
    const rows = await sql.query(
      `UPDATE jobs SET status = 'done', finished_at = now(), lease_token = NULL, lease_expires_at = NULL,
              payload = CASE WHEN $3::boolean THEN '{}'::jsonb ELSE payload END
       WHERE id = $1 AND lease_token = $2 AND status = 'running' RETURNING id`,
      [id, token, dropPayload],
    );
    return rows.length > 0;
  }

  // A finished or dead job may unblock a successor with the same key whose queue another node serves.
  async function publish(): Promise<void> {
    if (crossNode) await db.query('SELECT pg_notify($1, $2)', [JOBS_CHANNEL, '']);
  }

  async function release(run: RunningJob): Promise<void> {
    run.released = true;
    try {
      // The interrupted attempt is not the job's fault, so it does not count against max_attempts.
      await db.query(
        `UPDATE jobs SET status = 'queued', run_at = now(), attempts = GREATEST(attempts - 1, 0),
           lease_token = NULL, lease_expires_at = NULL
         WHERE id = $1 AND lease_token = $2 AND status = 'running'`,
        [run.job.id, run.token],
      );
    } catch (err) {
      // Not fatal: the lease simply expires and another worker takes the job then.
      logger.warn({ err, jobId: run.job.id }, 'job queue: releasing a job on stop failed');
    }
  }

  const queue: JobQueue = {
    async enqueue<P>(sql: Sql, job: EnqueueJob<P>): Promise<number> {
      if (!job.queue) throw new Error('job queue name is required');
      if (job.maxAttempts !== undefined && !(Number.isInteger(job.maxAttempts) && job.maxAttempts >= 1)) {
        throw new Error('maxAttempts must be an integer ≥ 1');
      }
      const rows = await sql.query<{ id: number }>(
        `INSERT INTO jobs (queue, payload, ordering_key, workspace_id, run_at, max_attempts)
         VALUES ($1, $2::text::jsonb, $3, $4, COALESCE($5::timestamptz, now()), COALESCE($6::int, 10))
         RETURNING id`,
        [
          job.queue,
          JSON.stringify(job.payload === undefined ? {} : job.payload),
          job.orderingKey ?? null,
          job.workspaceId ?? null,
          job.runAt ? job.runAt.toISOString() : null,
          job.maxAttempts ?? null,
        ],
      );
      // Transactional NOTIFY: delivered to every listening node only if the caller commits.
      if (crossNode) await sql.query('SELECT pg_notify($1, $2)', [JOBS_CHANNEL, job.queue]);
      // On PGlite this claim queues behind the caller's transaction and so sees the job right after
      // commit; on PostgreSQL it may run before the commit, hence notify() after commit.
      wake();
      const id = rows[0]?.id;
      if (id === undefined) throw new Error('enqueue returned no id');
      return id;
    },

    notify: wake,

    register<P>(name: string, handler: JobHandler<P>, regOpts: RegisterOptions = {}): void {
      if (registrations.has(name)) throw new Error(`a handler for queue "${name}" is already registered`);
      const concurrency = regOpts.concurrency ?? 1;
      if (!(Number.isInteger(concurrency) && concurrency >= 1)) throw new Error('concurrency must be an integer ≥ 1');
      const groupLimit = regOpts.groupLimit;
      if (groupLimit && !(groupLimit.payloadField && Number.isInteger(groupLimit.maxRunning) && groupLimit.maxRunning >= 1)) {
        throw new Error('groupLimit needs a payloadField and an integer maxRunning ≥ 1');
      }
      registrations.set(name, {
        queue: name, handler: handler as JobHandler<unknown>, concurrency, dropPayloadWhenDone: regOpts.dropPayloadWhenDone ?? false,
        groupLimit: groupLimit ? { payloadField: groupLimit.payloadField, maxRunning: groupLimit.maxRunning } : undefined, active: new Set(),
      });
      wake();
    },

    async start(): Promise<void> {
      if (started) return;
      started = true;
      if (crossNode && opts.listen) {
        try {
          unlisten = await opts.listen(JOBS_CHANNEL, wake);
        } catch (err) {
          // The local wake, timers and safety poll still work; only cross-node latency suffers.
          logger.warn({ err }, 'job queue: LISTEN failed; relying on polling for other nodes');
        }
      }
      wake();
    },

    async stop(stopOpts: { drainMs?: number } = {}): Promise<void> {
      const drainMs = stopOpts.drainMs ?? 10_000;
      if (!started && !loop) return;
      started = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
      const off = unlisten;
      unlisten = undefined;
      if (off) await off().catch((err: unknown) => logger.warn({ err }, 'job queue: UNLISTEN failed'));
      // Let a claim in progress finish so the jobs it took are drained too.
      await loop;

      const running = () => [...registrations.values()].flatMap((r) => [...r.active]);
      await settleWithin(running().map((r) => r.done), drainMs);
      const left = running();
      if (left.length === 0) return;
      logger.warn({ jobs: left.map((r) => r.job.id) }, 'job queue: aborting handlers still running after drain');
      // Give the jobs back first, so a fence the aborted handler still attempts fails.
      await Promise.all(left.map(release));
      for (const run of left) run.controller.abort(new Error('job queue stopped'));
      await settleWithin(left.map((r) => r.done), ABORT_GRACE_MS);
    },

    listDead: (workspaceId, listOpts) => listDeadJobs(db, workspaceId, listOpts),

    async retryDead(id: number, workspaceId?: string): Promise<boolean> {
      const ok = await retryDeadJob(db, id, workspaceId);
      if (ok) {
        wake();
        await publish();
      }
      return ok;
    },
  };
  return queue;
}

/** Dead jobs, newest first, for the admin view; scoped to one workspace when given. */
export async function listDeadJobs(
  sql: Sql,
  workspaceId?: string,
  opts: { limit?: number } = {},
): Promise<DeadJob[]> {
  const rows = await sql.query<{
    id: number;
    queue: string;
    workspace_id: string | null;
    ordering_key: string | null;
    payload: unknown;
    attempts: number;
    max_attempts: number;
    last_error: string | null;
    created_at: string;
    finished_at: string | null;
  }>(
    `SELECT id, queue, workspace_id, ordering_key, payload, attempts, max_attempts, last_error, created_at, finished_at
     FROM jobs WHERE status = 'dead' AND ($1::uuid IS NULL OR workspace_id = $1::uuid)
     ORDER BY id DESC LIMIT $2`,
    [workspaceId ?? null, opts.limit ?? 100],
  );
  return rows.map((r) => ({
    id: r.id,
    queue: r.queue,
    workspaceId: r.workspace_id,
    orderingKey: r.ordering_key,
    payload: r.payload,
    attempts: r.attempts,
    maxAttempts: r.max_attempts,
    lastError: r.last_error,
    createdAt: r.created_at,
    finishedAt: r.finished_at,
  }));
}

/** Puts a dead job back in the queue with a fresh attempt budget (last_error kept for history). */
export async function retryDeadJob(sql: Sql, id: number, workspaceId?: string): Promise<boolean> {
  const rows = await sql.query(
    `UPDATE jobs SET status = 'queued', attempts = 0, run_at = now(), finished_at = NULL
     WHERE id = $1 AND status = 'dead' AND ($2::uuid IS NULL OR workspace_id = $2::uuid)
     RETURNING id`,
    [id, workspaceId ?? null],
  );
  return rows.length > 0;
}

/** The job's group for a group limit: the payload field when it is a non-empty string (GROUP_OF_J in SQL). */
function groupOf(payload: unknown, field: string): string | null {
  if (payload === null || typeof payload !== 'object') return null;
  const v = (payload as Record<string, unknown>)[field];
  return typeof v === 'string' && v !== '' ? v : null;
}

function errorMessage(err: unknown): string {
  // Message only: stacks and error objects can carry payload data into an admin-visible column.
  if (err instanceof Error) return err.message || err.name;
  if (typeof err === 'string') return err;
  return 'non-error thrown';
}

async function settleWithin(promises: Promise<unknown>[], ms: number): Promise<void> {
  if (promises.length === 0) return;
  let t: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled(promises),
    new Promise<void>((resolve) => {
      t = setTimeout(resolve, ms);
    }),
  ]);
  if (t) clearTimeout(t);
}
