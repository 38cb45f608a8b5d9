import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '@huiliu/core/shared/logger';

/**
 * Which agents have a live socket, across nodes. The routing engine keeps presence *status* and capacity in
 * PostgreSQL (assignment must lock them in the same transaction as the claim); this registry only answers
 * "is this agent's last socket gone?", which the node that saw the disconnect cannot know alone.
 *
 * Redis layout (prefix = HUILIU_REDIS_PREFIX; instance = HUILIU_NODE_ID + a random suffix per process, so a
 * node restarted under the same name never overwrites what its crashed predecessor left to be reaped):
 *   <prefix>nodes                   ZSET instance → last heartbeat (Redis TIME in ms: one clock for all)
 *   <prefix>node:<instance>:agents  HASH "<workspaceId>:<userId>" → sockets of that agent on that instance
 * An instance that stops heartbeating (kill -9, SIGSTOP, network) is reaped by the first live node that sees
 * it stale: its agents with no socket left elsewhere are reported gone, so their conversations are re-queued
 * after the grace period like any disconnect. A paused instance that wakes up and finds itself reaped
 * registers again and reports its agents back (cancelling that grace period). The local counts are the
 * truth for this process; they are written back whenever Redis comes back (a restarted Redis without AOF
 * starts empty).
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
  /** An agent with sockets here, after this node had been reaped (it was paused or cut off) and came back. */
  onAgentBack(agent: AgentRef): void;
  heartbeatMs?: number;
  /** A node silent this long is dead (default 4 heartbeats). */
  staleMs?: number;
}

export function redisPresence(o: RedisPresenceOptions): PresenceRegistry {
  const heartbeatMs = o.heartbeatMs ?? 5_000;
  const staleMs = o.staleMs ?? heartbeatMs * 4;
  const nodesKey = `${o.prefix}nodes`;
  const agentsKey = (instance: string) => `${o.prefix}node:${instance}:agents`;
  const instance = `${o.nodeId}.${randomBytes(4).toString('hex')}`;
  const mine = agentsKey(instance);
  const counts = new Map<string, number>();
  const log = o.logger.child({ component: 'presence', instance });
  const pending = new Set<Promise<unknown>>();
  let closed = false;

  /** Redis' clock, so nodes with skewed clocks never reap each other. */
  async function now(): Promise<number> {
    const [s, us] = await o.redis.time();
    return Number(s) * 1000 + Math.floor(Number(us) / 1000);
  }

  const warn = (what: string) => (err: unknown) => {
    if (!closed) log.warn({ err }, `presence: ${what} failed`);
  };

  /** Writes this node's whole state (start, and after Redis came back possibly empty). */
  async function publishAll(): Promise<void> {
    const m = o.redis.multi().del(mine).zadd(nodesKey, await now(), instance);
    if (counts.size) m.hset(mine, Object.fromEntries(counts));
    await m.exec();
  }

  async function liveSocketsElsewhere(f: string): Promise<number> {
    const live = await o.redis.zrangebyscore(nodesKey, (await now()) - staleMs, '+inf');
    const others = live.filter((n) => n !== instance);
    if (others.length === 0) return 0;
    const p = o.redis.pipeline();
    for (const n of others) p.hget(agentsKey(n), f);
    const r = (await p.exec()) ?? [];
    return r.reduce((sum, [, v]) => sum + Math.max(0, Number(v ?? 0)), 0);
  }

  /** Removes nodes that stopped heartbeating; ZREM decides which live node reaps each one. */
  async function reap(): Promise<void> {
    const stale = await o.redis.zrangebyscore(nodesKey, '-inf', (await now()) - staleMs);
    for (const dead of stale) {
      if (dead === instance) continue;
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
  async function heartbeat(): Promise<void> {
    const added = await o.redis.zadd(nodesKey, await now(), instance);
    if (added === 1 && !closed) {
      // We had been reaped (paused past staleMs, or cut off from Redis): our hash is gone and our agents
      // were reported gone although their sockets are still here. Put both back.
      log.warn({ agents: counts.size }, 'presence: this node had been reaped as dead; registering its sockets again');
      await publishAll();
      for (const f of counts.keys()) o.onAgentBack(parseField(f));
    }
    await reap();
  }
  const timer = setInterval(() => void heartbeat().catch(warn('heartbeat')), heartbeatMs);
  timer.unref();

  return {
    connected(a) {
      const f = field(a);
      counts.set(f, (counts.get(f) ?? 0) + 1);
      o.redis.hincrby(mine, f, 1).catch(warn('connect'));
    },
    disconnected(a) {
      const f = field(a);
      const n = (counts.get(f) ?? 1) - 1;
      const p = (async () => {
        if (n > 0) {
          counts.set(f, n);
          await o.redis.hincrby(mine, f, -1);
          return false;
        }
        counts.delete(f);
        await o.redis.hdel(mine, f);
        return (await liveSocketsElsewhere(f)) === 0;
      })();
      pending.add(p);
      void p.finally(() => pending.delete(p)).catch(() => {});
      return p;
    },
    async close() {
      // Disconnects of this node's last sockets (io.close just now) are decided before the node leaves the set.
      await Promise.race([Promise.allSettled([...pending]), new Promise((r) => setTimeout(r, 3_000).unref())]);
      closed = true;
      clearInterval(timer);
      o.redis.off('ready', ready);
      await o.redis.multi().del(mine).zrem(nodesKey, instance).exec().catch(() => {});
    },
  };
}
