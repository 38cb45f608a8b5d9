import type { Redis } from 'ioredis';
import type { Server } from 'socket.io';
import type { DomainEventMap, DomainEventName, DomainEvents } from '@huiliu/core/shared/events';

/**
 * Domain events that other nodes must hear too, because they act on per-node state: socket rooms
 * (membership), cached routing rules, and the IMAP poller that holds an inbox's lease.
 * Everything else stays local: realtime fan-out already crosses nodes through the Socket.IO adapter, and
 * durable work crosses nodes as jobs.
 */
export const CLUSTER_EVENTS = ['inbox.members_changed', 'inbox.channel_changed', 'routing.config_changed'] as const satisfies readonly DomainEventName[];
type ClusterEventName = (typeof CLUSTER_EVENTS)[number];

const CHANNEL = 'huiliu:domain-event';
const LOG_WAKE = 'huiliu:log-wake';
/** Messages stored within this window wake the other nodes' log consumers once. */
const LOG_WAKE_COALESCE_MS = 10;

/** After Redis is back, wait this long (the adapter's own subscriber reconnects too) before resyncing. */
const RESYNC_DELAY_MS = 2_000;

/**
 * Forwards the cluster events of this node to the others over the Socket.IO adapter's inter-server channel
 * (`serverSideEmit`), and re-emits theirs locally. Events received from another node are not forwarded
 * again.
 *
 * The adapter sends these with Redis PUBLISH (unlike room broadcasts, which go through the stream), so a
 * node whose connection was down misses them for good. Hence `cluster.resync` after every reconnect: the
 * node drops its caches and recomputes rooms from the database, which is what the missed events would
 * have made it do.
 */
export function relayDomainEvents(io: Server, events: DomainEvents, redis: Redis): () => void {
  let replaying = false;
  const names = new Set<string>(CLUSTER_EVENTS);
  const offs = CLUSTER_EVENTS.map((name) =>
    events.on(name, (payload) => {
      if (!replaying) io.serverSideEmit(CHANNEL, name, payload);
    }),
  );
  const onRemote = (name: unknown, payload: unknown) => {
    if (typeof name !== 'string' || !names.has(name) || typeof payload !== 'object' || payload === null) return;
    replaying = true;
    try {
      events.emit(name as ClusterEventName, payload as DomainEventMap[ClusterEventName]);
    } finally {
      replaying = false;
    }
  };
  io.on(CHANNEL, onRemote);
  let wasDown = false;
  let resyncTimer: NodeJS.Timeout | undefined;
  const onDown = () => {
    wasDown = true;
  };
  const onReady = () => {
    if (!wasDown) return;
    wasDown = false;
    clearTimeout(resyncTimer);
    resyncTimer = setTimeout(() => events.emit('cluster.resync', {}), RESYNC_DELAY_MS);
    resyncTimer.unref();
  };
  redis.on('close', onDown);
  redis.on('ready', onReady);
  return () => {
    offs.forEach((off) => off());
    io.off(CHANNEL, onRemote);
    redis.off('close', onDown);
    redis.off('ready', onReady);
    clearTimeout(resyncTimer);
  };
}

/**
 * A node without the worker role stores messages but does not read the message log; the worker nodes
 * would otherwise only notice at their consumers' next poll (seconds). This node tells them instead: one
 * inter-server event per burst of messages, turned into `message.log_wake` on every node that hears it.
 * Installed on every node: all of them listen, only non-worker nodes send.
 */
export function relayLogWakeups(io: Server, events: DomainEvents, opts: { send: boolean }): () => void {
  let timer: NodeJS.Timeout | undefined;
  const off = opts.send
    ? events.on('message.created', () => {
        timer ??= setTimeout(() => {
          timer = undefined;
          io.serverSideEmit(LOG_WAKE);
        }, LOG_WAKE_COALESCE_MS);
      })
    : () => {};
  const onWake = () => events.emit('message.log_wake', {});
  io.on(LOG_WAKE, onWake);
  return () => {
    off();
    if (timer) clearTimeout(timer);
    io.off(LOG_WAKE, onWake);
  };
}
