import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testDbKind, type TestDatabase } from '@huiliu/testing';
import type { Database, Sql } from '@huiliu/core/db/database';
import { createLogger } from '@huiliu/core/shared/logger';
import {
  createJobQueue,
  LeaseLostError,
  type JobQueue,
  type JobQueueOptions,
} from '@huiliu/core/jobs/job-queue';
import { createLogConsumer, type LogConsumer, type LogConsumerOptions, type MessageLogRow } from '@huiliu/core/jobs/log-consumer';
import { pgListener, type PgListener } from '@huiliu/core/jobs/pg-listener';

const kind = testDbKind();
/**
 * Tests that need two concurrent connections (or LISTEN/NOTIFY) exist only in the postgres project:
 * PGlite has one connection, so these races cannot happen there. They are defined, not skipped.
 */
const itOnPostgres: typeof it = kind === 'postgres' ? it : ((() => undefined) as unknown as typeof it);
const logger = createLogger({ level: 'silent' });

let tdb: TestDatabase;
let db: Database;

const queues: JobQueue[] = [];
const consumers: LogConsumer[] = [];
const listeners: PgListener[] = [];

function queue(opts: Partial<JobQueueOptions> = {}): JobQueue {
  const q = createJobQueue({ db, logger, pollMs: 60_000, ...opts });
  queues.push(q);
  return q;
}

function consumer(opts: Omit<LogConsumerOptions, 'db'>): LogConsumer {
  const c = createLogConsumer({ db, logger, ...opts });
  consumers.push(c);
  return c;
}

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = tdb.db;
  await db.exec(`CREATE TABLE test_job_effects (job_id bigint NOT NULL, worker text NOT NULL);
    CREATE TABLE test_log_effects (consumer text NOT NULL, log_id bigint NOT NULL, UNIQUE (consumer, log_id));`);
});

afterEach(async () => {
  await Promise.all(queues.splice(0).map((q) => q.stop({ drainMs: 100 })));
  await Promise.all(consumers.splice(0).map((c) => c.stop()));
  await Promise.all(listeners.splice(0).map((l) => l.close()));
});

afterAll(async () => {
  await tdb?.drop();
});

// ---------------------------------------------------------------------------------------------------
// helpers

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Below vitest's 5 s per-test default (the inline projects do not inherit the root testTimeout), so a
// stuck wait reports itself instead of a bare test timeout.
async function waitFor<T>(probe: () => Promise<T | undefined | false>, timeoutMs = 4_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error('waitFor timed out');
    await sleep(20);
  }
}

async function jobRow(id: number) {
  const rows = await db.query<{
    status: string;
    attempts: number;
    last_error: string | null;
    lease_token: string | null;
  }>('SELECT status, attempts, last_error, lease_token FROM jobs WHERE id = $1', [id]);
  return rows[0];
}

const waitForStatus = (id: number, status: string) =>
  waitFor(async () => {
    const row = await jobRow(id);
    return row?.status === status ? row : undefined;
  });

/** A conversation to hang messages on: workspace → inbox → contact → identity → conversation. */
interface Conv {
  workspaceId: string;
  inboxId: string;
  conversationId: string;
  nextSeq: number;
}

async function createConversation(): Promise<Conv> {
  const tag = randomUUID().slice(0, 8);
  return db.transaction(async (tx) => {
    const one = async (text: string, params: unknown[]) => {
      const row = (await tx.query<{ id: string }>(text, params))[0];
      if (!row) throw new Error('fixture insert returned nothing');
      return row.id;
    };
    const workspaceId = await one(`INSERT INTO workspaces (name, slug) VALUES ('Test', $1) RETURNING id`, [`ws-${tag}`]);
    const inboxId = await one(
      `INSERT INTO inboxes (workspace_id, name, channel_type, public_id) VALUES ($1, 'Web', 'web', $2) RETURNING id`,
      [workspaceId, `pub-${tag}`],
    );
    const contactId = await one(`INSERT INTO contacts (workspace_id, name) VALUES ($1, 'Visitor') RETURNING id`, [workspaceId]);
    const identityId = await one(
      `INSERT INTO contact_identities (workspace_id, contact_id, inbox_id, channel_type, source_id)
       VALUES ($1, $2, $3, 'web', $4) RETURNING id`,
      [workspaceId, contactId, inboxId, `visitor-${tag}`],
    );
    const conversationId = await one(
      `INSERT INTO conversations (workspace_id, display_id, inbox_id, contact_id, identity_id)
       VALUES ($1, 1, $2, $3, $4) RETURNING id`,
      [workspaceId, inboxId, contactId, identityId],
    );
    return { workspaceId, inboxId, conversationId, nextSeq: 1 };
  });
}

async function insertMessage(sql: Sql | pg.PoolClient, conv: Conv, text: string): Promise<number> {
  const text_ = `INSERT INTO messages (workspace_id, inbox_id, conversation_id, seq, direction, sender_type, text)
     VALUES ($1, $2, $3, $4, 'incoming', 'contact', $5) RETURNING log_id`;
  const params = [conv.workspaceId, conv.inboxId, conv.conversationId, conv.nextSeq++, text];
  // A raw pool client (PostgreSQL-only tests) returns a QueryResult; our Sql returns the rows.
  const rows: { log_id: number | string }[] =
    'release' in sql ? (await sql.query<{ log_id: string }>(text_, params)).rows : await sql.query<{ log_id: number }>(text_, params);
  const row = rows[0];
  if (!row) throw new Error('message insert returned nothing');
  return Number(row.log_id);
}

// ---------------------------------------------------------------------------------------------------
// job queue

describe('job queue', () => {
  it('never runs a job enqueued in a transaction that rolled back', async () => {
    const q = queue();
    let ran = false;
    q.register('rollback', async () => {
      ran = true;
    });
    await q.start();
    let id = 0;
    await expect(
      db.transaction(async (tx) => {
        id = await q.enqueue(tx, { queue: 'rollback', payload: { x: 1 } });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    q.notify();
    await sleep(200);
    expect(ran).toBe(false);
    expect(id).toBeGreaterThan(0);
    expect(await jobRow(id)).toBeUndefined();
  });

  it('runs promptly after notify without waiting for the poll', { timeout: 10_000 }, async () => {
    const q = queue({ pollMs: 60_000 });
    const ran = deferred<{ payload: unknown; attempts: number; workspaceId: string | null; orderingKey: string | null }>();
    q.register('prompt', async (job) => {
      ran.resolve({ payload: job.payload, attempts: job.attempts, workspaceId: job.workspaceId, orderingKey: job.orderingKey });
    });
    await q.start();
    await sleep(20); // the first cycle after start() is over; only a wake can pick the job up now
    const workspaceId = randomUUID();
    const id = await db.transaction((tx) =>
      q.enqueue(tx, { queue: 'prompt', payload: { hello: 'world' }, workspaceId, orderingKey: 'k-prompt' }),
    );
    q.notify();
    expect(await ran.promise).toEqual({ payload: { hello: 'world' }, attempts: 1, workspaceId, orderingKey: 'k-prompt' });
    const row = await waitForStatus(id, 'done');
    expect(row.lease_token).toBeNull();
  });

  it('retries with backoff and then succeeds', async () => {
    const q = queue({ backoff: () => 10 });
    const attempts: number[] = [];
    q.register('flaky', async (job) => {
      attempts.push(job.attempts);
      if (job.attempts < 3) throw new Error(`failure ${job.attempts}`);
    });
    await q.start();
    const id = await db.transaction((tx) => q.enqueue(tx, { queue: 'flaky', payload: {} }));
    q.notify();
    const row = await waitForStatus(id, 'done');
    expect(attempts).toEqual([1, 2, 3]);
    expect(row.attempts).toBe(3);
    expect(row.last_error).toBe('failure 2');
  });

  it('schedules runAt in the future and wakes itself when it is due', async () => {
    const q = queue({ pollMs: 60_000 });
    const ran = deferred<number>();
    q.register('later', async () => ran.resolve(Date.now()));
    await q.start();
    const runAt = new Date(Date.now() + 300);
    await db.transaction((tx) => q.enqueue(tx, { queue: 'later', payload: {}, runAt }));
    q.notify();
    const at = await ran.promise;
    // Database and test clocks are the same machine here; allow a little rounding.
    expect(at).toBeGreaterThanOrEqual(runAt.getTime() - 50);
  });

  it('goes dead after max attempts, does not hold back its ordering key, and can be retried', async () => {
    const q = queue({ backoff: () => 10 });
    let failing = true;
    const order: string[] = [];
    q.register('fragile', async (job) => {
      const { name } = job.payload as { name: string };
      order.push(`${name}#${job.attempts}`);
      if (name === 'd1' && failing) throw new Error(`boom ${'x'.repeat(5000)}`);
    });
    await q.start();
    const workspaceId = randomUUID();
    const [d1, d2] = await db.transaction(async (tx) => [
      await q.enqueue(tx, { queue: 'fragile', payload: { name: 'd1' }, orderingKey: 'dead-key', workspaceId, maxAttempts: 2 }),
      await q.enqueue(tx, { queue: 'fragile', payload: { name: 'd2' }, orderingKey: 'dead-key', workspaceId }),
    ]);
    q.notify();
    await waitForStatus(d2!, 'done');
    const dead = await waitForStatus(d1!, 'dead');
    expect(dead.attempts).toBe(2);
    expect(dead.last_error?.startsWith('boom xxx')).toBe(true);
    expect(dead.last_error?.length).toBeLessThanOrEqual(2000);
    // d2 waited while d1 was retrying, and ran once d1 was dead.
    expect(order).toEqual(['d1#1', 'd1#2', 'd2#1']);

    const listed = await q.listDead(workspaceId);
    expect(listed.map((j) => j.id)).toEqual([d1]);
    expect(listed[0]).toMatchObject({ queue: 'fragile', workspaceId, orderingKey: 'dead-key', attempts: 2, maxAttempts: 2 });
    expect(await q.listDead(randomUUID())).toEqual([]);
    expect((await q.listDead()).some((j) => j.id === d1)).toBe(true);

    expect(await q.retryDead(d1!, randomUUID())).toBe(false); // another workspace cannot touch it
    failing = false;
    expect(await q.retryDead(d1!, workspaceId)).toBe(true);
    const done = await waitForStatus(d1!, 'done');
    expect(done.attempts).toBe(1);
    expect(await q.retryDead(d1!)).toBe(false);
  });

  it('keeps per-ordering-key order with concurrency > 1, even across a retry', async () => {
    const q = queue({ backoff: () => 500 });
    const log: string[] = [];
    const running = new Map<string, number>();
    let overlaps = 0;
    q.register(
      'ordered',
      async (job) => {
        const { name } = job.payload as { name: string };
        const key = job.orderingKey ?? '';
        if ((running.get(key) ?? 0) > 0) overlaps++;
        running.set(key, (running.get(key) ?? 0) + 1);
        log.push(`start ${name}`);
        try {
          await sleep(20);
          if (name === 'A2' && job.attempts === 1) throw new Error('A2 fails once');
          log.push(`done ${name}`);
        } finally {
          running.set(key, (running.get(key) ?? 0) - 1);
        }
      },
      { concurrency: 4 },
    );
    await q.start();
    const names = ['A1', 'B1', 'A2', 'B2', 'A3', 'B3', 'A4'];
    const ids = await db.transaction(async (tx) => {
      const out: number[] = [];
      for (const name of names) out.push(await q.enqueue(tx, { queue: 'ordered', payload: { name }, orderingKey: `key-${name[0]}` }));
      return out;
    });
    q.notify();
    for (const id of ids) await waitForStatus(id, 'done');

    const done = (prefix: string) => log.filter((l) => l.startsWith(`done ${prefix}`)).map((l) => l.slice(5));
    expect(done('A')).toEqual(['A1', 'A2', 'A3', 'A4']);
    expect(done('B')).toEqual(['B1', 'B2', 'B3']);
    expect(overlaps).toBe(0);
    expect(log.filter((l) => l === 'start A2')).toHaveLength(2);
    // A3 waited for A2's retry; key B was not held up by it.
    expect(log.indexOf('done B3')).toBeLessThan(log.indexOf('start A3'));
    // Nothing of key A started between A2's failure and its successful retry.
    const firstA2 = log.indexOf('start A2');
    const secondA2 = log.lastIndexOf('start A2');
    expect(log.slice(firstA2 + 1, secondA2).filter((l) => l.startsWith('start A'))).toEqual([]);
  });

  it('fences a worker whose lease expired: its effect does not commit', async () => {
    // Worker 1 "pauses": a tiny lease and no heartbeat during the test, as in a long GC pause.
    const w1 = queue({ leaseMs: 100, heartbeatMs: 60_000 });
    const w1Started = deferred();
    const w1Resume = deferred();
    const w1Outcome = deferred<unknown>();
    w1.register('fenced', async (job, ctx) => {
      w1Started.resolve();
      await w1Resume.promise;
      try {
        await ctx.fence(async (tx) => {
          await tx.query(`INSERT INTO test_job_effects (job_id, worker) VALUES ($1, 'w1')`, [job.id]);
        }, { complete: true });
        w1Outcome.resolve('committed');
      } catch (err) {
        w1Outcome.resolve(err);
        throw err;
      }
    });
    await w1.start();
    const id = await db.transaction((tx) => w1.enqueue(tx, { queue: 'fenced', payload: {} }));
    w1.notify();
    await w1Started.promise;

    const w2 = queue({ leaseMs: 30_000 });
    const w2Done = deferred();
    w2.register('fenced', async (job, ctx) => {
      await ctx.fence(async (tx) => {
        await tx.query(`INSERT INTO test_job_effects (job_id, worker) VALUES ($1, 'w2')`, [job.id]);
      }, { complete: true });
      w2Done.resolve();
    });
    // No notify: worker 2 must wake by itself when worker 1's lease runs out.
    await w2.start();
    await w2Done.promise;
    const row = await waitForStatus(id, 'done');
    expect(row.attempts).toBe(2);

    w1Resume.resolve();
    const outcome = await w1Outcome.promise;
    expect(outcome).toBeInstanceOf(LeaseLostError);
    const effects = await db.query<{ worker: string }>('SELECT worker FROM test_job_effects WHERE job_id = $1', [id]);
    expect(effects.map((e) => e.worker)).toEqual(['w2']);
    expect((await jobRow(id))?.status).toBe('done');
  });

  it('marks a job dead when its lease expires on the final attempt', async () => {
    const w1 = queue({ leaseMs: 80, heartbeatMs: 60_000 });
    const started = deferred();
    const resume = deferred();
    w1.register('crashy', async () => {
      started.resolve();
      await resume.promise;
    });
    await w1.start();
    const id = await db.transaction((tx) => w1.enqueue(tx, { queue: 'crashy', payload: {}, maxAttempts: 1 }));
    w1.notify();
    await started.promise;
    const w2 = queue();
    let w2Ran = false;
    w2.register('crashy', async () => {
      w2Ran = true;
    });
    await w2.start();
    const row = await waitForStatus(id, 'dead');
    expect(row.last_error).toMatch(/lease expired/);
    expect(w2Ran).toBe(false);
    resume.resolve();
  });

  it('stop() waits for running handlers to finish', async () => {
    const q = queue();
    const started = deferred();
    q.register('drain', async (job, ctx) => {
      started.resolve();
      await sleep(150);
      await ctx.fence(async (tx) => {
        await tx.query(`INSERT INTO test_job_effects (job_id, worker) VALUES ($1, 'drain')`, [job.id]);
      }, { complete: true });
    });
    await q.start();
    const id = await db.transaction((tx) => q.enqueue(tx, { queue: 'drain', payload: {} }));
    q.notify();
    await started.promise;
    await q.stop({ drainMs: 5_000 });
    expect((await jobRow(id))?.status).toBe('done');
    expect(await db.query('SELECT 1 FROM test_job_effects WHERE job_id = $1', [id])).toHaveLength(1);
  });

  it('stop() aborts handlers still running after drainMs and gives their jobs back', async () => {
    const q = queue();
    const started = deferred();
    const afterAbort = deferred<unknown>();
    q.register('stuck', async (job, ctx) => {
      started.resolve();
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve, { once: true }));
      try {
        await ctx.fence(async (tx) => {
          await tx.query(`INSERT INTO test_job_effects (job_id, worker) VALUES ($1, 'stuck')`, [job.id]);
        });
        afterAbort.resolve('committed');
      } catch (err) {
        afterAbort.resolve(err);
      }
    });
    await q.start();
    const id = await db.transaction((tx) => q.enqueue(tx, { queue: 'stuck', payload: {} }));
    q.notify();
    await started.promise;
    await q.stop({ drainMs: 50 });
    expect(await afterAbort.promise).toBeInstanceOf(LeaseLostError);
    const row = await jobRow(id);
    expect(row).toMatchObject({ status: 'queued', attempts: 0, lease_token: null });
    expect(await db.query('SELECT 1 FROM test_job_effects WHERE job_id = $1', [id])).toHaveLength(0);

    // Another worker takes it over at once.
    const q2 = queue();
    q2.register('stuck', async () => {});
    await q2.start();
    expect((await waitForStatus(id, 'done')).attempts).toBe(1);
  });

  itOnPostgres('wakes a worker on another node through LISTEN/NOTIFY', { timeout: 10_000 }, async () => {
    const url = tdb.url!;
    const listenerA = pgListener(url, { logger });
    const listenerB = pgListener(url, { logger });
    listeners.push(listenerA, listenerB);
    // Node A only enqueues; node B only works. Neither polls within the test.
    const nodeA = queue({ listen: listenerA.listen, pollMs: 60_000 });
    const nodeB = queue({ listen: listenerB.listen, pollMs: 60_000 });
    const ran = deferred<number>();
    nodeB.register('remote', async (job) => ran.resolve(job.id));
    await nodeB.start();
    await sleep(50); // nodeB's start-up cycle is over
    const id = await db.transaction((tx) => nodeA.enqueue(tx, { queue: 'remote', payload: {} }));
    // No notify() anywhere: the NOTIFY sent on commit is the only wake-up.
    expect(await ran.promise).toBe(id);
  });
});

// ---------------------------------------------------------------------------------------------------
// log consumer

describe('log consumer', () => {
  it('sees committed rows through the xmin predicate (also on PGlite)', { timeout: 15_000 }, async () => {
    const conv = await createConversation();
    const logId = await insertMessage(db, conv, 'committed');
    const visible = (sql: Sql) =>
      sql.query('SELECT 1 FROM messages WHERE log_id = $1 AND tx < pg_snapshot_xmin(pg_current_snapshot())', [logId]);
    // The xmin horizon is server-wide: a transaction running in ANOTHER database on the same PostgreSQL
    // (parallel test files) holds it back for a moment. Committed rows become visible once it ends.
    expect(await waitFor(async () => ((await visible(db)).length === 1 ? true : undefined), 10_000)).toBe(true);
    // Inside a transaction that already holds an xid (as the consumer's does after FOR UPDATE): the
    // snapshot's xmin is at most our own xid, and the committed row's xid is older still.
    const inTx = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_current_xact_id()');
      return visible(tx);
    });
    expect(inTx).toHaveLength(1);
  });

  it('processes rows once, in order, across two instances with the same name', { timeout: 15_000 }, async () => {
    const conv = await createConversation();
    const expected: number[] = [];
    for (let i = 0; i < 12; i++) expected.push(await insertMessage(db, conv, `m${i}`));
    // One transaction with several rows: a batch must never split it.
    const multi = await db.transaction(async (tx) => {
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) ids.push(await insertMessage(tx, conv, `multi${i}`));
      return ids;
    });
    expected.push(...multi);
    for (let i = 0; i < 3; i++) expected.push(await insertMessage(db, conv, `tail${i}`));

    const seen: MessageLogRow[] = [];
    const batches: number[][] = [];
    const handle = (who: string) => async (tx: Sql, rows: MessageLogRow[]) => {
      batches.push(rows.map((r) => r.logId));
      seen.push(...rows);
      for (const r of rows) await tx.query('INSERT INTO test_log_effects (consumer, log_id) VALUES ($1, $2)', ['order', r.logId]);
      if (who === 'c1') await sleep(5); // let the instances interleave
    };
    const c1 = consumer({ name: 'order-test', batchSize: 4, handle: handle('c1') });
    const c2 = consumer({ name: 'order-test', batchSize: 4, handle: handle('c2') });
    await Promise.all([c1.catchUp(), c2.catchUp(), c1.catchUp(), c2.catchUp()]);
    // Rows become visible once no older transaction runs anywhere on the server (see the xmin test).
    await waitFor(async () => {
      await Promise.all([c1.catchUp(), c2.catchUp()]);
      return seen.filter((r) => r.conversationId === conv.conversationId).length >= expected.length ? true : undefined;
    }, 10_000);

    const allSeen = seen.map((r) => r.logId);
    expect(new Set(allSeen).size).toBe(allSeen.length);
    const mine = seen.filter((r) => r.conversationId === conv.conversationId);
    expect(mine.map((r) => r.logId)).toEqual(expected);
    expect(mine[0]).toMatchObject({ text: 'm0', seq: 1, direction: 'incoming', senderType: 'contact', workspaceId: conv.workspaceId });
    expect(batches.some((b) => multi.every((id) => b.includes(id)))).toBe(true);
    const effects = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM test_log_effects WHERE consumer = 'order'`);
    expect(effects[0]?.n).toBe(allSeen.length);
  });

  it('keeps its cursor across re-creation', { timeout: 15_000 }, async () => {
    const conv = await createConversation();
    await insertMessage(db, conv, 'before');
    const seen: number[] = [];
    const handle = async (_tx: Sql, rows: MessageLogRow[]) => {
      seen.push(...rows.map((r) => r.logId));
    };
    const first = consumer({ name: 'persist-test', handle });
    expect(await waitFor(async () => ((await first.catchUp()) > 0 ? true : undefined), 10_000)).toBe(true);
    await first.stop();

    const again = consumer({ name: 'persist-test', handle });
    const before = seen.length;
    expect(await again.catchUp()).toBe(0);
    const a = await insertMessage(db, conv, 'after 1');
    const b = await insertMessage(db, conv, 'after 2');
    // Visible once no older transaction runs anywhere on the server (see the xmin test above).
    let caught = 0;
    await waitFor(async () => ((caught += await again.catchUp()) >= 2 ? true : undefined), 10_000);
    expect(caught).toBe(2);
    expect(seen.slice(before)).toEqual([a, b]);
  });

  it('runs promptly on wake()', { timeout: 10_000 }, async () => {
    const conv = await createConversation();
    const got = deferred<string>();
    const c = consumer({
      name: 'wake-test',
      pollMs: 60_000,
      handle: async (_tx, rows) => {
        const row = rows.find((r) => r.conversationId === conv.conversationId);
        if (row) got.resolve(row.text);
      },
    });
    c.start();
    await c.catchUp(); // start-up run done; only wake() can deliver the next row within the test
    await insertMessage(db, conv, 'ping');
    // The row is readable once no older transaction runs anywhere on the server (other test files share it):
    // wake until then — the 60 s poll cannot be what delivers it.
    c.wake();
    const waking = setInterval(() => c.wake(), 200);
    try {
      expect(await got.promise).toBe('ping');
    } finally {
      clearInterval(waking);
    }
  });

  itOnPostgres('does not skip a row of a transaction still open when a later row commits first', async () => {
    const pool = (db as Database & { pool: pg.Pool }).pool;
    const conv = await createConversation();
    const seen: number[] = [];
    const c = consumer({ name: 'inflight-test', handle: async (_tx, rows) => void seen.push(...rows.map((r) => r.logId)) });
    await c.catchUp();

    const a = await pool.connect();
    const b = await pool.connect();
    try {
      await a.query('BEGIN');
      const early = await insertMessage(a, conv, 'begun first, commits last'); // lower log_id, in flight
      const late = await insertMessage(b, conv, 'committed first'); // autocommit
      expect(early).toBeLessThan(late);
      await c.catchUp();
      expect(seen).not.toContain(early);
      expect(seen).not.toContain(late); // held back behind the open transaction's xid
      await a.query('COMMIT');
      await c.catchUp();
      expect(seen.filter((id) => id === early || id === late)).toEqual([early, late]);
    } finally {
      await a.query('ROLLBACK').catch(() => {});
      a.release();
      b.release();
    }
  });

  itOnPostgres('does not skip a lower log_id whose transaction took a later xid (naive log_id cursor would)', async () => {
    const pool = (db as Database & { pool: pg.Pool }).pool;
    const conv = await createConversation();
    const seen: number[] = [];
    const c = consumer({ name: 'xid-order-test', handle: async (_tx, rows) => void seen.push(...rows.map((r) => r.logId)) });
    await c.catchUp();

    const a = await pool.connect();
    const b = await pool.connect();
    try {
      await a.query('BEGIN');
      await a.query('SELECT pg_current_xact_id()'); // A takes its xid first…
      await b.query('BEGIN');
      const fromB = await insertMessage(b, conv, 'B: later xid, lower log_id');
      const fromA = await insertMessage(a, conv, 'A: earlier xid, higher log_id'); // …but inserts after B
      await a.query('COMMIT');
      expect(fromB).toBeLessThan(fromA);
      await c.catchUp();
      // A's row is final (its xid is below every open transaction), so it is delivered now — a cursor
      // on log_id would now stand at fromA, past B's row.
      expect(seen).toContain(fromA);
      expect(seen).not.toContain(fromB);
      await b.query('COMMIT');
      await c.catchUp();
      expect(seen.filter((id) => id === fromA || id === fromB)).toEqual([fromA, fromB]);
    } finally {
      await a.query('ROLLBACK').catch(() => {});
      await b.query('ROLLBACK').catch(() => {});
      a.release();
      b.release();
    }
  });
});
