/**
 * Long-running inbound connections (IMAP IDLE + polling fallback): one `adapter.poll` per ready inbox
 * whose adapter polls, on exactly ONE node of the installation.
 *
 * Which node: a lease row per inbox (channel_inbound_state.lease_owner + lease_expires_at). A node takes a
 * free or expired lease with one conditional upsert, renews it every `renewMs`, and stops its poller the
 * moment a renewal finds the lease gone (another node took it after we stalled). Positions (PollState)
 * are written only while the lease is ours, so a stalled node cannot move the position back. The same
 * tick notices changed settings (inboxes.channel_updated_at, also changed on other nodes) and restarts
 * the poller; a change on this node restarts it at once through the `inbox.channel_changed` event.
 *
 * Errors an adapter logs with `ctx.logger.error` (login failed, connection lost) become the inbox's
 * lastError for the console; a successful delivery or position save clears it.
 */
import { randomUUID } from 'node:crypto';
import type { ChannelLogger, NormalizedInbound, PollHandle, PollSink } from '@huiliu/channels';
import type { ChannelType } from '@huiliu/contracts';
import type { Database } from '../db/database.ts';
import { one } from '../db/database.ts';
import { AppError } from '../shared/errors.ts';
import type { DomainEvents } from '../shared/events.ts';
import type { Logger } from '../shared/logger.ts';
import type { ChannelConfigService } from './channel-config.service.ts';
import type { ChannelIngestService } from './channel-ingest.service.ts';

export interface ChannelPollersOptions {
  /** How long a lease lasts without renewal; another node takes over after it. Default 60 s. */
  leaseMs?: number;
  /** Renewal and rescan interval. Default a third of the lease. */
  renewMs?: number;
  /** This node's name in lease rows (default: a random id per process). */
  nodeId?: string;
}

interface Running {
  workspaceId: string;
  inboxId: string;
  /** inboxes.channel_updated_at the poller was started with. */
  version: string;
  handle: PollHandle | null;
  /** Set when stopping: late deliveries and position saves of a stopping poller are refused. */
  stopped: boolean;
}

class LeaseLostError extends Error {
  constructor(inboxId: string) {
    super(`this node no longer holds the poll lease of inbox ${inboxId}; another node polls it now`);
    this.name = 'LeaseLostError';
  }
}

export function createChannelPollers(deps: {
  db: Database;
  events: DomainEvents;
  logger: Logger;
  channelConfig: ChannelConfigService;
  ingest: ChannelIngestService;
  options?: ChannelPollersOptions;
}) {
  const { db, events, channelConfig, ingest } = deps;
  const leaseMs = deps.options?.leaseMs ?? 60_000;
  const renewMs = deps.options?.renewMs ?? Math.max(1_000, Math.floor(leaseMs / 3));
  const nodeId = deps.options?.nodeId ?? `node-${randomUUID()}`;
  const log = deps.logger.child({ component: 'channels.pollers', nodeId });
  const running = new Map<string, Running>();
  let timer: NodeJS.Timeout | undefined;
  let started = false;
  let ticking: Promise<void> | undefined;
  let offChanged: (() => void) | undefined;

  const pollKinds = (): ChannelType[] => [...channelConfig.adapters.values()].filter((a) => typeof a.poll === 'function').map((a) => a.kind);

  /** Takes the lease when free, expired or already ours; true when we hold it. */
  async function acquire(workspaceId: string, inboxId: string): Promise<boolean> {
    const r = await one(
      db,
      `INSERT INTO channel_inbound_state (inbox_id, workspace_id, lease_owner, lease_expires_at)
       VALUES ($1, $2, $3, now() + make_interval(secs => $4::double precision / 1000))
       ON CONFLICT (inbox_id) DO UPDATE SET lease_owner = EXCLUDED.lease_owner, lease_expires_at = EXCLUDED.lease_expires_at, updated_at = now()
       WHERE channel_inbound_state.workspace_id = EXCLUDED.workspace_id
         AND (channel_inbound_state.lease_owner IS NULL OR channel_inbound_state.lease_owner = EXCLUDED.lease_owner
              OR channel_inbound_state.lease_expires_at IS NULL OR channel_inbound_state.lease_expires_at < now())
       RETURNING inbox_id`,
      [inboxId, workspaceId, nodeId, leaseMs],
    );
    return Boolean(r);
  }

  async function release(workspaceId: string, inboxId: string): Promise<void> {
    await db.query(
      `UPDATE channel_inbound_state SET lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
       WHERE inbox_id = $1 AND workspace_id = $2 AND lease_owner = $3`,
      [inboxId, workspaceId, nodeId],
    );
  }

  function sinkFor(run: Running, rtProvider: () => Parameters<ChannelIngestService['ingest']>[0]): PollSink {
    const { workspaceId, inboxId } = run;
    const guard = () => {
      if (run.stopped) throw new LeaseLostError(inboxId);
    };
    return {
      state: {
        async get() {
          const r = await one(db, `SELECT poll_state FROM channel_inbound_state WHERE inbox_id = $1 AND workspace_id = $2`, [inboxId, workspaceId]);
          return (r?.poll_state as Record<string, unknown> | null) ?? null;
        },
        async set(state) {
          guard();
          // Fenced by the lease: a node that lost it cannot overwrite the new owner's position.
          const rows = await db.query(
            `UPDATE channel_inbound_state SET poll_state = $4, last_error = NULL, last_error_at = NULL, updated_at = now()
             WHERE inbox_id = $1 AND workspace_id = $2 AND lease_owner = $3 RETURNING inbox_id`,
            [inboxId, workspaceId, nodeId, JSON.stringify(state)],
          );
          if (rows.length === 0) {
            void stopOne(inboxId, 'lease lost');
            throw new LeaseLostError(inboxId);
          }
        },
      },
      async deliver(batch: NormalizedInbound[]) {
        guard();
        await ingest.ingest(rtProvider(), batch);
        await channelConfig.recordError(workspaceId, inboxId, null);
      },
    };
  }

  async function startOne(workspaceId: string, inboxId: string, version: string): Promise<void> {
    if (running.has(inboxId) || !started) return;
    const run: Running = { workspaceId, inboxId, version, handle: null, stopped: false };
    running.set(inboxId, run);
    try {
      if (!(await acquire(workspaceId, inboxId))) {
        running.delete(inboxId);
        return;
      }
      const inboxLog = log.child({ inboxId });
      // The adapter reports connection problems through its logger: errors become the inbox's lastError.
      const logger: ChannelLogger = {
        info: (obj, msg) => inboxLog.info(obj, msg),
        warn: (obj, msg) => inboxLog.warn(obj, msg),
        error: (obj, msg) => {
          inboxLog.error(obj, msg);
          if (!run.stopped) channelConfig.recordError(workspaceId, inboxId, msg).catch((err: unknown) => inboxLog.warn({ err }, 'could not record the poller error'));
        },
      };
      let rt;
      try {
        rt = await channelConfig.contextFor(workspaceId, inboxId, { logger });
      } catch (err) {
        // Not ready (a secret missing) or no adapter: nothing to poll until an admin changes the settings.
        running.delete(inboxId);
        await release(workspaceId, inboxId);
        if (!(err instanceof AppError)) throw err;
        return;
      }
      if (!rt.adapter.poll || run.stopped) {
        running.delete(inboxId);
        await release(workspaceId, inboxId);
        return;
      }
      const runtime = rt;
      run.handle = rt.adapter.poll(rt.ctx, sinkFor(run, () => runtime));
      inboxLog.info({ channel: rt.inbox.channelType }, 'channel poller started');
    } catch (err) {
      running.delete(inboxId);
      log.error({ err, inboxId }, 'channel poller could not start');
      const message = err instanceof Error ? err.message : String(err);
      await channelConfig.recordError(workspaceId, inboxId, `the poller could not start: ${message}`).catch(() => {});
      await release(workspaceId, inboxId).catch(() => {});
    }
  }

  async function stopOne(inboxId: string, why: string): Promise<void> {
    const run = running.get(inboxId);
    if (!run || run.stopped) return;
    run.stopped = true;
    try {
      await run.handle?.stop();
    } catch (err) {
      log.warn({ err, inboxId }, 'channel poller did not stop cleanly');
    }
    running.delete(inboxId);
    await release(run.workspaceId, inboxId).catch((err: unknown) => log.warn({ err, inboxId }, 'could not release the poll lease'));
    log.info({ inboxId, why }, 'channel poller stopped');
  }

  /** Renews our leases, stops pollers whose lease, inbox or settings went away, starts the missing ones. */
  async function tick(): Promise<void> {
    const kinds = pollKinds();
    // Installation-wide on purpose (like the job queue): pollers serve every workspace's inboxes.
    const inboxes = kinds.length
      ? await db.query(
          `SELECT id, workspace_id, channel_updated_at FROM inboxes WHERE channel_type = ANY($1::text[]) AND deleted_at IS NULL`,
          [kinds],
        )
      : [];
    const wanted = new Map(inboxes.map((r) => [r.id as string, { workspaceId: r.workspace_id as string, version: new Date(r.channel_updated_at as string).toISOString() }]));
    if (running.size) {
      const renewed = await db.query(
        `UPDATE channel_inbound_state SET lease_expires_at = now() + make_interval(secs => $2::double precision / 1000), updated_at = now()
         WHERE lease_owner = $1 AND inbox_id = ANY($3::uuid[]) RETURNING inbox_id`,
        [nodeId, leaseMs, [...running.keys()]],
      );
      const held = new Set(renewed.map((r) => r.inbox_id as string));
      for (const [inboxId, run] of [...running]) {
        if (!run.handle) continue; // still starting
        const w = wanted.get(inboxId);
        if (!held.has(inboxId)) await stopOne(inboxId, 'lease lost to another node');
        else if (!w) await stopOne(inboxId, 'inbox deleted or no longer a polling channel');
        else if (w.version !== run.version) await stopOne(inboxId, 'channel settings changed');
      }
    }
    for (const [inboxId, w] of wanted) {
      if (!running.has(inboxId)) await startOne(w.workspaceId, inboxId, w.version);
    }
  }

  function runTick(): Promise<void> {
    ticking ??= tick()
      .catch((err: unknown) => log.warn({ err }, 'channel pollers: tick failed'))
      .finally(() => {
        ticking = undefined;
      });
    return ticking;
  }

  return {
    nodeId,
    /** Starts the pollers of every ready polling inbox this node can lease, and keeps them leased. */
    async start(): Promise<void> {
      if (started) return;
      started = true;
      offChanged = events.on('inbox.channel_changed', ({ inboxId }) => {
        void (async () => {
          await ticking;
          await stopOne(inboxId, 'channel settings changed');
          await runTick();
        })().catch((err: unknown) => log.warn({ err, inboxId }, 'channel poller restart failed'));
      });
      await runTick();
      timer = setInterval(() => void runTick(), renewMs);
      timer.unref();
    },
    /** Stops every poller and releases the leases (another node takes over at once). */
    async stop(): Promise<void> {
      if (!started) return;
      started = false;
      if (timer) clearInterval(timer);
      offChanged?.();
      await ticking;
      await Promise.all([...running.keys()].map((id) => stopOne(id, 'shutdown')));
    },
    /** Inbox ids this node polls now (tests, health). */
    polling(): string[] {
      return [...running.values()].filter((r) => r.handle).map((r) => r.inboxId);
    },
    /** Runs one lease / settings check now instead of waiting for the timer. */
    refresh: runTick,
  };
}
export type ChannelPollers = ReturnType<typeof createChannelPollers>;
