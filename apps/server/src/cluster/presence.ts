import type { Redis } from 'ioredis';
import type { Logger } from '@huiliu/core/shared/logger';

/**
 * Which agents have a live socket, across nodes. The routing engine keeps presence *status* and capacity in
 * PostgreSQL (assignment must lock them in the same transaction as the claim); this registry only answers
 * "is this agent's last socket gone?", which the node that saw the disconnect cannot know alone.
 *
 * Redis layout (prefix = HUILIU_REDIS_PREFIX):
 *   <prefix>nodes                 ZSET nodeId → last heartbeat (ms)
 *   <prefix>node:<nodeId>:agents  HASH "<workspaceId>:<userId>" → sockets of that agent on that node
 * A node that stops heartbeating (kill -9, SIGSTOP, network) is reaped by the first live node that sees it
 * stale: its agents with no socket left elsewhere are reported gone, so their conversations are re-queued
 * after the grace period like any disconnect. The local counts are the truth for this node; they are written
 * back whenever Redis comes back (a restarted Redis without AOF starts empty).
 */
export interface AgentRef {
  workspaceId: string;
  userId: string;
}

export interface PresenceRegistry {
  connected(agent: AgentRef): void;
  /** Resolves true when the agent has no socket left on any live node. */
  disconnected(agent: AgentRef): Promise<boolean>;
  close(): Promise<void>;
}

const field = (a: AgentRef) => `${a.workspaceId}:${a.userId}`;
const parseField = (f: string): AgentRef => {
  const i = f.indexOf(':');
  return { workspaceId: f.slice(0, i), userId: f.slice(i + 1) };
};

/** One process: the local count is the whole truth. */
export function localPresence(): PresenceRegistry {
  const counts = new Map<string, number>();
  return {
    connected(a) {
      counts.set(field(a), (counts.get(field(a)) ?? 0) + 1);
    },
    async disconnected(a) {
      const n = (counts.get(field(a)) ?? 1) - 1;
      if (n > 0) counts.set(field(a), n);
      else counts.delete(field(a));
      return n <= 0;
    },
    close: async () => counts.clear(),
  };
}

export interface RedisPresenceOptions {
  redis: Redis;
  prefix: string;
  nodeId: string;
  logger: Logger;
  /** An agent whose sockets were all on a node that died. */
  onAgentGone(agent: AgentRef): void;
  heartbeatMs?: number;
  /** A node silent this long is dead (default 4 heartbeats). */
  staleMs?: number;
}

export function redisPresence(o: RedisPresenceOptions): PresenceRegistry {
  const heartbeatMs = o.heartbeatMs ?? 5_000;
  const staleMs = o.staleMs ?? heartbeatMs * 4;
  const nodesKey = `${o.prefix}nodes`;
  const agentsKey = (nodeId: string) => `${o.prefix}node:${nodeId}:agents`;
  const mine = agentsKey(o.nodeId);
  const counts = new Map<string, number>();
  const log = o.logger.child({ component: 'presence' });
  let closed = false;

  const warn = (what: string) => (err: unknown) => {
    if (!closed) log.warn({ err }, `presence: ${what} failed`);
  };

  /** Writes this node's whole state (start, and after Redis came back possibly empty). */
  async function publishAll(): Promise<void> {
    const m = o.redis.multi().del(mine).zadd(nodesKey, Date.now(), o.nodeId);
    if (counts.size) m.hset(mine, Object.fromEntries(counts));
    await m.exec();
  }

  async function liveSocketsElsewhere(f: string): Promise<number> {
    const live = await o.redis.zrangebyscore(nodesKey, Date.now() - staleMs, '+inf');
    const others = live.filter((n) => n !== o.nodeId);
    if (others.length === 0) return 0;
    const p = o.redis.pipeline();
    for (const n of others) p.hget(agentsKey(n), f);
    const r = (await p.exec()) ?? [];
    return r.reduce((sum, [, v]) => sum + Math.max(0, Number(v ?? 0)), 0);
  }

  /** Removes nodes that stopped heartbeating; ZREM decides which live node reaps each one. */
  async function reap(): Promise<void> {
    const stale = await o.redis.zrangebyscore(nodesKey, '-inf', Date.now() - staleMs);
    for (const dead of stale) {
      if (dead === o.nodeId) continue;
      if ((await o.redis.zrem(nodesKey, dead)) !== 1) continue;
      const fields = await o.redis.hkeys(agentsKey(dead));
      await o.redis.del(agentsKey(dead));
      log.warn({ node: dead, agents: fields.length }, 'presence: a node stopped heartbeating; its agents are disconnected unless connected elsewhere');
      for (const f of fields) {
        if ((counts.get(f) ?? 0) > 0 || (await liveSocketsElsewhere(f)) > 0) continue;
        o.onAgentGone(parseField(f));
      }
    }
  }

  const ready = () => void publishAll().catch(warn('re-registering after reconnect'));
  o.redis.on('ready', ready);
  void publishAll().catch(warn('registering'));
  const timer = setInterval(() => {
    o.redis.zadd(nodesKey, Date.now(), o.nodeId).then(reap).catch(warn('heartbeat'));
  }, heartbeatMs);
  timer.unref();

  return {
    connected(a) {
      const f = field(a);
      counts.set(f, (counts.get(f) ?? 0) + 1);
      o.redis.hincrby(mine, f, 1).catch(warn('connect'));
    },
    async disconnected(a) {
      const f = field(a);
      const n = (counts.get(f) ?? 1) - 1;
      if (n > 0) {
        counts.set(f, n);
        await o.redis.hincrby(mine, f, -1);
        return false;
      }
      counts.delete(f);
      await o.redis.hdel(mine, f);
      return (await liveSocketsElsewhere(f)) === 0;
    },
    async close() {
      closed = true;
      clearInterval(timer);
      o.redis.off('ready', ready);
      await o.redis.multi().del(mine).zrem(nodesKey, o.nodeId).exec().catch(() => {});
    },
  };
}
