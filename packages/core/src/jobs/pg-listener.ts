import pg from 'pg';
import type { Logger } from '../shared/logger.ts';
import type { ListenFn } from './job-queue.ts';

export interface PgListener {
  listen: ListenFn;
  /** Ends the dedicated connection and stops reconnecting. */
  close(): Promise<void>;
}

/**
 * LISTEN on PostgreSQL through one dedicated client outside the pool: a pooled connection is handed to
 * other queries between uses, and its subscriptions would go with it. PostgreSQL only; never PGlite.
 *
 * After a reconnect every subscriber is called once, because notifications sent while the connection
 * was down are lost and the subscribers must look for themselves.
 */
export function pgListener(url: string, opts: { logger?: Logger; maxReconnectMs?: number } = {}): PgListener {
  const { logger } = opts;
  const maxReconnectMs = opts.maxReconnectMs ?? 30_000;
  const subscribers = new Map<string, Set<() => void>>();
  let client: pg.Client | undefined;
  let listening = new Set<string>();
  let connecting: Promise<pg.Client> | undefined;
  let closed = false;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let reconnectDelay = 500;

  const notifyAll = () => {
    for (const set of subscribers.values()) for (const cb of set) cb();
  };

  async function connect(): Promise<pg.Client> {
    const c = new pg.Client({ connectionString: url });
    c.on('notification', (msg) => {
      for (const cb of subscribers.get(msg.channel) ?? []) cb();
    });
    // Without an 'error' listener a dropped connection would crash the process.
    c.on('error', (err) => {
      logger?.warn({ err }, 'pg listener connection error');
      drop(c);
    });
    c.on('end', () => drop(c));
    const subscribed = new Set<string>();
    try {
      await c.connect();
      for (const channel of subscribers.keys()) {
        await c.query(`LISTEN ${c.escapeIdentifier(channel)}`);
        subscribed.add(channel);
      }
      if (closed) throw new Error('pg listener is closed');
    } catch (err) {
      await c.end().catch(() => {});
      throw err;
    }
    client = c;
    listening = subscribed;
    reconnectDelay = 500;
    return c;
  }

  function ensure(): Promise<pg.Client> {
    if (client) return Promise.resolve(client);
    connecting ??= connect().finally(() => {
      connecting = undefined;
    });
    return connecting;
  }

  function drop(c: pg.Client): void {
    if (client !== c) return;
    client = undefined;
    listening = new Set();
    c.end().catch(() => {});
    scheduleReconnect();
  }

  function scheduleReconnect(): void {
    if (closed || reconnectTimer || subscribers.size === 0) return;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      ensure().then(notifyAll, (err: unknown) => {
        logger?.warn({ err }, 'pg listener reconnect failed');
        reconnectDelay = Math.min(reconnectDelay * 2, maxReconnectMs);
        scheduleReconnect();
      });
    }, reconnectDelay);
    reconnectTimer.unref();
  }

  return {
    async listen(channel, onNotify) {
      if (closed) throw new Error('pg listener is closed');
      let set = subscribers.get(channel);
      if (!set) subscribers.set(channel, (set = new Set()));
      set.add(onNotify);
      try {
        const c = await ensure();
        if (!listening.has(channel)) {
          listening.add(channel);
          await c.query(`LISTEN ${c.escapeIdentifier(channel)}`);
        }
      } catch (err) {
        // Keep the subscription; it is re-established on reconnect.
        logger?.warn({ err, channel }, 'pg listener: LISTEN failed; will retry');
        scheduleReconnect();
      }
      return async () => {
        const current = subscribers.get(channel);
        if (!current?.delete(onNotify) || current.size > 0) return;
        subscribers.delete(channel);
        const c = client;
        if (c && listening.delete(channel)) await c.query(`UNLISTEN ${c.escapeIdentifier(channel)}`).catch(() => {});
      };
    },
    async close() {
      closed = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      reconnectTimer = undefined;
      const c = client ?? (await connecting?.catch(() => undefined));
      client = undefined;
      if (c) await c.end().catch(() => {});
    },
  };
}
