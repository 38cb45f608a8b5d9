import { useCallback, useEffect, useRef, useState } from 'react';
import type { ServerPayload } from '@huiliu/client';
import { api } from '../../lib/api.ts';
import { useConnectionStatus, useServerEvent } from '../../lib/realtime.ts';
import type { AgentPresence, QueueItem } from '../shared/types.ts';

/** At most one queue reload per this many ms, and always one after the last event of a burst. */
const QUEUE_THROTTLE_MS = 500;
/** Estimates and positions also drift without events (handling times): refresh slowly regardless. */
const FALLBACK_REFRESH_MS = 30_000;

export interface LiveQueue {
  items: QueueItem[] | undefined;
  /**
   * Browser clock minus server clock (ms), estimated from the answers: waiting times are computed as
   * `now - skew - queuedAt`, so they tick every second and a wrong browser clock does not show them wrong.
   */
  skewMs: number;
  agents: AgentPresence[] | undefined;
  error: unknown;
  refresh: () => void;
}

/**
 * The queue and the agents' presence, kept live. 'queue.changed' carries no data (it says "re-read the
 * queue"), and a busy contact center emits it many times a second, so reloads are throttled with a trailing
 * call; responses older than the newest request are dropped. 'presence.updated' carries the agent's new
 * status and load, merged in place without a request. After a reconnect both are re-read: events sent while
 * the socket was down are lost.
 */
export function useLiveQueue(): LiveQueue {
  const [items, setItems] = useState<QueueItem[] | undefined>(undefined);
  const [skewMs, setSkewMs] = useState(0);
  // waitingSeconds is rounded down and arrives after some latency, so every answer over-estimates the skew
  // by up to ~1 s; the smallest estimate seen is the best one (and keeps the clocks from jumping backwards).
  const skewRef = useRef<number | null>(null);
  const [agents, setAgents] = useState<AgentPresence[] | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const agentsRef = useRef(agents);
  agentsRef.current = agents;
  const seq = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const pending = useRef(false);

  const loadQueue = useCallback(async () => {
    const mine = ++seq.current;
    try {
      const q = await api<QueueItem[]>('GET', '/routing/queue');
      if (mine !== seq.current) return;
      const arrived = Date.now();
      for (const i of q) {
        const estimate = arrived - (Date.parse(i.queuedAt) + i.waitingSeconds * 1000);
        if (skewRef.current === null || estimate < skewRef.current) skewRef.current = estimate;
      }
      setSkewMs(skewRef.current ?? 0);
      setItems(q);
      setError(null);
    } catch (err) {
      if (mine === seq.current) setError(err);
    }
  }, []);

  const loadAgents = useCallback(async () => {
    try {
      setAgents(await api<AgentPresence[]>('GET', '/presence'));
    } catch (err) {
      setError(err);
    }
  }, []);

  const scheduleQueue = useCallback(() => {
    if (timer.current) {
      pending.current = true;
      return;
    }
    void loadQueue();
    timer.current = setTimeout(function tick() {
      timer.current = null;
      if (pending.current) {
        pending.current = false;
        void loadQueue();
        timer.current = setTimeout(tick, QUEUE_THROTTLE_MS);
      }
    }, QUEUE_THROTTLE_MS);
  }, [loadQueue]);

  useEffect(() => {
    void loadAgents();
    scheduleQueue();
    const every = setInterval(() => {
      scheduleQueue();
      void loadAgents();
    }, FALLBACK_REFRESH_MS);
    return () => {
      clearInterval(every);
      if (timer.current) clearTimeout(timer.current);
      timer.current = null;
    };
  }, [loadAgents, scheduleQueue]);

  useServerEvent('queue.changed', scheduleQueue);

  const onPresence = useCallback(
    (p: ServerPayload<'presence.updated'>) => {
      // A new agent (just invited or given routing settings): fetch the full row with skills.
      if (agentsRef.current && !agentsRef.current.some((a) => a.userId === p.userId)) void loadAgents();
      else setAgents((list) => list?.map((a) => (a.userId === p.userId ? { ...a, name: p.name, status: p.status, capacity: p.capacity, load: p.load } : a)));
      // More free capacity or a new online agent changes the estimates of the waiting conversations.
      scheduleQueue();
    },
    [loadAgents, scheduleQueue],
  );
  useServerEvent('presence.updated', onPresence);

  const status = useConnectionStatus();
  const wasOnline = useRef(status === 'online');
  useEffect(() => {
    if (status === 'online' && !wasOnline.current) {
      scheduleQueue();
      void loadAgents();
    }
    wasOnline.current = status === 'online';
  }, [status, scheduleQueue, loadAgents]);

  const refresh = useCallback(() => {
    scheduleQueue();
    void loadAgents();
  }, [scheduleQueue, loadAgents]);

  return { items, skewMs, agents, error, refresh };
}
