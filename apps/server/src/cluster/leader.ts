import pg from 'pg';
import type { Logger } from '@huiliu/core/shared/logger';

/**
 * Leader election for singleton duties (the scheduler role) through a PostgreSQL session advisory lock on
 * one dedicated connection: the lock is held exactly as long as that connection lives, so a leader that
 * crashes, is killed or loses its connection (PostgreSQL restart, network) releases it at once, and a
 * paused leader (SIGSTOP) keeps it — its duties only schedule durable jobs, which the job queue's leases
 * protect anyway. Followers retry every `retryMs`.
 *
 * The embedded database has one process by definition: `alwaysLeader()`.
 */
export interface Leadership {
  readonly isLeader: boolean;
  close(): Promise<void>;
}

/** Arbitrary constant: the advisory lock key of the scheduler ("huiliu" in ASCII). */
export const SCHEDULER_LOCK_KEY = 0x6875696c6975n;

export function alwaysLeader(onElected: () => void): Leadership {
  onElected();
  return { isLeader: true, close: async () => {} };
}

export function electLeader(url: string, opts: { logger: Logger; onElected(): void; onDeposed(): void; retryMs?: number; key?: bigint }): Leadership {
  const retryMs = opts.retryMs ?? 5_000;
  const key = (opts.key ?? SCHEDULER_LOCK_KEY).toString();
  let client: pg.Client | undefined;
  let leader = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  /** Only the current connection's loss counts: a late 'end' of an old one must not depose the new one. */
  const depose = (c: pg.Client | undefined, why: string) => {
    if (c !== client) return;
    client = undefined;
    if (!leader) return;
    leader = false;
    opts.logger.warn({ why }, 'scheduler leadership lost; another node takes over');
    opts.onDeposed();
  };

  /** One step every retryMs: connect when needed, then try the lock (follower) or check the connection (leader). */
  async function tick(): Promise<void> {
    timer = undefined;
    if (closed) return;
    try {
      if (!client) {
        // keepAlive + query_timeout: a half-open connection (host or network gone) is noticed in seconds, not
        // after the kernel's 2 h keepalive default, so a cut-off leader steps down.
        const c = new pg.Client({ connectionString: url, application_name: 'huiliu-leader', keepAlive: true, keepAliveInitialDelayMillis: 10_000, query_timeout: retryMs * 2 });
        c.on('error', (err) => depose(c, err.message));
        c.on('end', () => depose(c, 'connection ended'));
        client = c;
        await c.connect();
      }
      if (leader) await client.query('SELECT 1');
      else {
        const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [key]);
        if (r.rows[0]?.ok && !closed) {
          leader = true;
          opts.logger.info('this node is the scheduler leader');
          opts.onElected();
        }
      }
    } catch (err) {
      const c = client;
      depose(c, err instanceof Error ? err.message : String(err));
      await c?.end().catch(() => {});
    }
    if (!closed) {
      timer = setTimeout(() => void tick(), retryMs);
      timer.unref();
    }
  }
  void tick();

  return {
    get isLeader() {
      return leader;
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      const c = client;
      client = undefined;
      if (leader) {
        leader = false;
        opts.onDeposed();
      }
      // Ending the session releases the lock for the next node.
      await c?.end().catch(() => {});
    },
  };
}
