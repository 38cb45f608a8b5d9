import { Redis } from 'ioredis';
import type { Logger } from '@huiliu/core/shared/logger';

/**
 * Redis connections of a cluster node. Redis holds nothing that cannot be rebuilt (messages live in
 * PostgreSQL): the Socket.IO stream between nodes and live presence.
 * Commands issued while Redis is unreachable wait in ioredis' offline queue and run after the reconnect,
 * so a Redis restart delays fan-out instead of dropping it.
 */
export class RedisUnavailableError extends Error {
  constructor(where: string, cause: unknown) {
    super(`REDIS_URL: cannot reach Redis at ${where} (${cause instanceof Error ? cause.message : String(cause)}) — start Redis or fix REDIS_URL`);
    this.name = 'RedisUnavailableError';
  }
}

/** host:port of a Redis URL, never its password (for messages and logs). */
export function redisEndpoint(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || '6379'}${u.pathname && u.pathname !== '/' ? u.pathname : ''}`;
  } catch {
    return 'an unparsable URL';
  }
}

export async function connectRedis(url: string, opts: { logger: Logger; name: string; connectTimeoutMs?: number }): Promise<Redis> {
  const endpoint = redisEndpoint(url);
  const client = new Redis(url, {
    lazyConnect: true,
    connectionName: opts.name,
    connectTimeout: opts.connectTimeoutMs ?? 5_000,
    // Keep retrying while Redis restarts; commands queue meanwhile instead of failing after 20 tries.
    maxRetriesPerRequest: null,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
  });
  let down = false;
  client.on('error', (err: Error) => {
    if (!down) opts.logger.warn({ err: { message: err.message }, redis: endpoint, connection: opts.name }, 'redis connection error; reconnecting');
    down = true;
  });
  client.on('ready', () => {
    if (down) opts.logger.info({ redis: endpoint, connection: opts.name }, 'redis connection restored');
    down = false;
  });
  try {
    // A first connection that fails stops the start: a node that cannot fan out must not look healthy.
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw new RedisUnavailableError(endpoint, err);
  }
  return client;
}
