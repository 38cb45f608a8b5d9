/**
 * Consumers that read the `messages` table as a log from a stored cursor (`log_cursors`), for
 * analytics today and bots / routing / webhooks later.
 *
 * Why the cursor is a transaction id and not a log_id: `log_id` comes from a sequence, so it is handed
 * out in insert order, not commit order. Filtering `log_id > cursor AND tx < xmin` is not enough:
 * transaction A takes its xid, B takes a later xid and inserts log_id 1, A inserts log_id 2 and
 * commits; now xmin = B, A's row passes `tx < xmin`, the cursor moves to 2, and B's row 1 is skipped
 * for good when B commits (reproduced in apps/server/test/jobs.int.test.ts). What is safe is the set of
 * rows with `tx < pg_snapshot_xmin(pg_current_snapshot())`: every transaction below xmin has ended,
 * and any later writer gets an xid ≥ xmin, so that set never changes again. The consumer therefore
 * walks rows in (tx, log_id) order and stores the last fully processed transaction id in
 * `log_cursors.position`. A batch always holds whole transactions.
 *
 * Consequence for handlers: rows arrive in transaction order, by log_id within a transaction. Two
 * concurrent writers to one conversation can arrive out of `seq` order; use `seq` where that matters.
 */
import type { Database, Row, Sql } from '../db/database.ts';
import type { Logger } from '../shared/logger.ts';

export interface MessageLogRow {
  logId: number;
  /** Writing transaction id (xid8 as a decimal string). */
  tx: string;
  id: string;
  workspaceId: string;
  inboxId: string;
  conversationId: string;
  seq: number;
  direction: 'incoming' | 'outgoing' | 'activity';
  private: boolean;
  senderType: 'contact' | 'user' | 'bot' | 'system';
  senderId: string | null;
  identityId: string | null;
  contentType: string;
  text: string;
  content: Record<string, unknown>;
  clientId: string | null;
  externalId: string | null;
  deliveryStatus: string;
  createdAt: string;
}

export interface LogConsumerOptions {
  db: Database;
  /** Cursor name; instances with the same name (on any node) share one position and never overlap. */
  name: string;
  batchSize?: number;
  /** Safety poll interval, for rows whose writer did not call wake() (e.g. another node). */
  pollMs?: number;
  logger?: Logger;
  /**
   * Called in the transaction that advances the cursor: DB writes made through `tx` happen exactly
   * once. Throwing rolls the batch back; it is retried on the next wake or poll.
   */
  handle(tx: Sql, rows: MessageLogRow[]): Promise<void>;
}

export interface LogConsumer {
  readonly name: string;
  /** Starts the safety poll and runs once. */
  start(): void;
  /** Stops polling and waits for a run in progress. */
  stop(): Promise<void>;
  /** Runs soon; wakes in a burst are coalesced into one run. */
  wake(): void;
  /** Processes batches until caught up; resolves to the number of rows handled. */
  catchUp(): Promise<number>;
}

interface LogRow extends Row {
  log_id: number;
  tx: string;
  id: string;
  workspace_id: string;
  inbox_id: string;
  conversation_id: string;
  seq: number;
  direction: MessageLogRow['direction'];
  private: boolean;
  sender_type: MessageLogRow['senderType'];
  sender_id: string | null;
  identity_id: string | null;
  content_type: string;
  text: string;
  content: Record<string, unknown>;
  client_id: string | null;
  external_id: string | null;
  delivery_status: string;
  created_at: string;
}

const COLUMNS = `m.log_id, m.tx::text AS tx, m.id, m.workspace_id, m.inbox_id, m.conversation_id, m.seq,
  m.direction, m.private, m.sender_type, m.sender_id, m.identity_id, m.content_type, m.text, m.content,
  m.client_id, m.external_id, m.delivery_status, m.created_at`;

/**
 * Creates a consumer's cursor at the present position of the log, the first time only (later starts keep
 * the stored position). For consumers of a feature whose past messages are not theirs to act on
 * (outbound delivery, offline email replies, platform session sync): reading the whole log on the first
 * start would redo or cost what nobody asked for. Call it before `start()`, so nothing stored after the
 * feature started is skipped.
 */
export async function createCursorAtPresent(db: Database, name: string): Promise<void> {
  await db.query(
    `INSERT INTO log_cursors (name, position) VALUES ($1, pg_snapshot_xmin(pg_current_snapshot())::text::bigint - 1) ON CONFLICT (name) DO NOTHING`,
    [name],
  );
}

/** How soon a background run looks again after finding the cursor held by another instance. */
const BUSY_RETRY_MS = 25;

export function createLogConsumer(opts: LogConsumerOptions): LogConsumer {
  const { db, name, handle, logger } = opts;
  const batchSize = opts.batchSize ?? 200;
  const pollMs = opts.pollMs ?? 5_000;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new Error('batchSize must be an integer ≥ 1');

  let started = false;
  let timer: NodeJS.Timeout | undefined;
  let wakeScheduled = false;
  // Runs are serialized in-process (the cursor row lock serializes them across instances and nodes);
  // `queued` is the run not yet begun, which every caller in the meantime shares.
  let chain: Promise<unknown> = Promise.resolve();
  let queued: Promise<number> | undefined;

  /**
   * One batch under the cursor's row lock. `wait`: queue behind another instance holding it (catchUp's
   * promise: everything stored before the call is handled when it resolves). Background runs pass false:
   * an instance on another node is already reading, so this one comes back shortly instead of holding a
   * pooled connection in a lock queue (measured with two nodes: that queue was where messages waited).
   */
  async function batch(wait: boolean): Promise<{ count: number; more: boolean; busy?: boolean }> {
    return db.transaction(async (tx) => {
      let cursor = (await tx.query<{ position: number }>(
        `SELECT position FROM log_cursors WHERE name = $1 FOR UPDATE${wait ? '' : ' SKIP LOCKED'}`, [name],
      ))[0];
      if (!cursor && !wait && (await tx.query('SELECT 1 FROM log_cursors WHERE name = $1', [name])).length > 0) {
        return { count: 0, more: false, busy: true };
      }
      if (!cursor) {
        await tx.query('INSERT INTO log_cursors (name) VALUES ($1) ON CONFLICT (name) DO NOTHING', [name]);
        cursor = (await tx.query<{ position: number }>(
          'SELECT position FROM log_cursors WHERE name = $1 FOR UPDATE', [name],
        ))[0];
        if (!cursor) throw new Error(`log cursor ${name} could not be created`);
      }
      const rows = await tx.query<LogRow>(
        `SELECT ${COLUMNS} FROM messages m
         WHERE m.tx > $1::text::xid8 AND m.tx < pg_snapshot_xmin(pg_current_snapshot())
         ORDER BY m.tx, m.log_id
         LIMIT $2`,
        [String(cursor.position), batchSize],
      );
      const last = rows[rows.length - 1];
      if (!last) return { count: 0, more: false };
      const more = rows.length === batchSize;
      // The cursor can only stand between transactions, so finish the last one the LIMIT cut into.
      // Its transaction has ended (tx < xmin), so this later statement sees the same rows.
      const all = more
        ? rows.concat(await tx.query<LogRow>(
            `SELECT ${COLUMNS} FROM messages m WHERE m.tx = $1::text::xid8 AND m.log_id > $2 ORDER BY m.log_id`,
            [last.tx, last.log_id],
          ))
        : rows;
      await handle(tx, all.map(toMessageLogRow));
      await tx.query('UPDATE log_cursors SET position = $2::text::bigint, updated_at = now() WHERE name = $1', [
        name,
        last.tx,
      ]);
      return { count: all.length, more };
    });
  }

  /** Batches until caught up; `busy` when another instance held the cursor (background runs only). */
  async function drain(wait: boolean): Promise<{ total: number; busy: boolean }> {
    let total = 0;
    for (;;) {
      const { count, more, busy } = await batch(wait);
      total += count;
      if (busy) return { total, busy: true };
      if (!more) return { total, busy: false };
    }
  }

  function run(wait: boolean): Promise<{ total: number; busy: boolean }> {
    const next = chain.then(() => {
      if (wait) queued = undefined;
      return drain(wait);
    });
    chain = next.catch(() => undefined);
    return next;
  }

  function catchUp(): Promise<number> {
    if (queued) return queued;
    const next = run(true).then((r) => r.total);
    queued = next;
    return next;
  }

  function background(): void {
    run(false).then(
      // Another node is reading: look again soon for what it may not have seen yet.
      ({ busy }) => arm(busy ? BUSY_RETRY_MS : pollMs),
      (err: unknown) => {
        logger?.error({ err, consumer: name }, 'log consumer batch failed; will retry');
        arm(pollMs);
      },
    );
  }

  function arm(ms: number): void {
    if (timer) clearTimeout(timer);
    if (!started) return;
    timer = setTimeout(background, ms);
    timer.unref();
  }

  return {
    name,
    start() {
      if (started) return;
      started = true;
      background();
    },
    async stop() {
      started = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await chain;
    },
    wake() {
      if (!started || wakeScheduled) return;
      wakeScheduled = true;
      setImmediate(() => {
        wakeScheduled = false;
        if (started) background();
      });
    },
    catchUp,
  };
}

function toMessageLogRow(r: LogRow): MessageLogRow {
  return {
    logId: r.log_id,
    tx: r.tx,
    id: r.id,
    workspaceId: r.workspace_id,
    inboxId: r.inbox_id,
    conversationId: r.conversation_id,
    seq: r.seq,
    direction: r.direction,
    private: r.private,
    senderType: r.sender_type,
    senderId: r.sender_id,
    identityId: r.identity_id,
    contentType: r.content_type,
    text: r.text,
    content: r.content,
    clientId: r.client_id,
    externalId: r.external_id,
    deliveryStatus: r.delivery_status,
    createdAt: r.created_at,
  };
}

/**
 * Catches a log consumer up once per burst of stored messages — a short delay after the first one — rather
 * than once per stored batch: keeps consumers off the message hot path while they still react within tens
 * of milliseconds (the poll stays the safety net). `afterCatchUp` runs after each successful catch-up,
 * e.g. to wake the job queue for jobs the consumer enqueued (on PostgreSQL a worker may otherwise have
 * looked before the consumer's COMMIT).
 */
export function createBurstCatchUp(opts: {
  consumer: () => LogConsumer | undefined;
  isActive: () => boolean;
  afterCatchUp?: () => void;
  onError: (err: unknown) => void;
  delayMs?: number;
}): { trigger(): void; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  return {
    trigger() {
      if (timer || !opts.isActive() || !opts.consumer()) return;
      timer = setTimeout(() => {
        timer = undefined;
        const consumer = opts.consumer();
        if (!opts.isActive() || !consumer) return;
        consumer.catchUp().then(() => {
          if (opts.isActive()) opts.afterCatchUp?.();
        }, opts.onError);
      }, opts.delayMs ?? 20);
    },
    cancel() {
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
