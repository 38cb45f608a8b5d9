import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Database } from '@huiliu/core/db/database';
import { openPglite } from '@huiliu/core/db/pglite';
import { openPostgres } from '@huiliu/core/db/postgres';
import { migrate } from '@huiliu/core/db/migrate';
import { lockDataDir } from '@huiliu/core/db/data-dir-lock';
import { createLogger, type Logger } from '@huiliu/core/shared/logger';
import { loadOrCreateMasterKey } from '@huiliu/core/vault/vault';
import { createJobQueue, type JobQueue } from '@huiliu/core/jobs/job-queue';
import { createLogConsumer, type LogConsumer } from '@huiliu/core/jobs/log-consumer';
import { pgListener, type PgListener } from '@huiliu/core/jobs/pg-listener';
import { runConversationSweep } from '@huiliu/core/conversations/lifecycle';
import { recordReportingFacts } from '@huiliu/core/analytics/reporting.consumer';
import { createSmtpMailer, parseMailFrom } from '@huiliu/core/mail/mailer';
import { createDatabaseStorage } from '@huiliu/core/storage/database-storage';
import { createDiskStorage } from '@huiliu/core/storage/disk-storage';
import type { Config } from './config.ts';
import { createServices, type ServiceDeps, type Services } from './services.ts';
import { buildHttpServer } from './http/server.ts';
import { createGateway, type Gateway, type GatewayOptions } from './realtime/gateway.ts';
import type { DeliveryOptions } from '@huiliu/core/channels/outbound-delivery';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import type { Redis } from 'ioredis';
import { connectRedis } from './cluster/redis.ts';
import { redisPresence } from './cluster/presence.ts';
import { relayDomainEvents, relayLogWakeups } from './cluster/relay.ts';
import { alwaysLeader, electLeader, type Leadership } from './cluster/leader.ts';
import { checkPostgresSafety, checkRedisSafety } from './cluster/safety.ts';
import { isEmpty, seedDemo, type DemoCredentials } from './setup/seed.ts';
import { seedDemoBot } from './setup/seed-bot.ts';

export const VERSION = '0.1.0';
const SWEEP_QUEUE = 'conversations.sweep';
const SWEEP_EVERY_MS = 60_000;

export interface HuiliuOptions {
  config: Config;
  logger?: Logger;
  /** An already open database (tests); otherwise opened from the config. */
  db?: Database;
  /** Seed the demo workspace when the embedded database is empty (default: config.seedDemo). */
  seed?: boolean;
  rateLimitFactor?: number;
  /** External channel adapters (default: all of @huiliu/channels); tests pass fake ones. */
  channelAdapters?: ServiceDeps['channelAdapters'];
  channelPollers?: ServiceDeps['channelPollers'];
  /** Delay before a failed job's retry (default: exponential with jitter); tests make channel retries fast. */
  jobBackoff?: (attempt: number) => number;
  /** Outbound channel delivery: send deadline, concurrency and per-inbox cap (tests: a short deadline). */
  channelDelivery?: DeliveryOptions;
  /** Realtime gateway tuning (tests: a small outgoing buffer limit). */
  realtime?: Pick<GatewayOptions, 'maxBufferedBytes'>;
  /** Cluster timings (tests shorten them). */
  cluster?: { presenceHeartbeatMs?: number; leaderRetryMs?: number };
}

export interface Huiliu {
  services: Services;
  gateway: Gateway;
  jobs: JobQueue;
  url: string;
  port: number;
  demo: DemoCredentials | undefined;
  /** Unsafe durability settings found at start (also logged); empty when all is well. */
  warnings: string[];
  /** Whether this node currently runs the scheduler (leader election in cluster mode). */
  isScheduler(): boolean;
  close(): Promise<void>;
}

/**
 * Starts one Huiliu node: database (embedded PGlite by default, PostgreSQL with DATABASE_URL), migrations,
 * demo seed on a fresh embedded install, HTTP API, realtime gateway, job workers and the scheduler.
 */
export async function startHuiliu(opts: HuiliuOptions): Promise<Huiliu> {
  const { config } = opts;
  const logger = opts.logger ?? createLogger({ level: config.logLevel });
  const embedded = !opts.db && !config.databaseUrl;
  const lock = embedded ? await lockDataDir(config.dataDir) : undefined;
  let db: Database | undefined = opts.db;
  let listener: PgListener | undefined;
  let redis: Redis | undefined;
  // What a start that fails half-way must undo (newest first), so the process can exit and a held
  // scheduler lock, a listening port or Redis connections do not outlive it.
  const undo: (() => Promise<unknown>)[] = [];
  const roles = config.roles;
  try {
    if (!db) {
      db = config.databaseUrl ? await openPostgres(config.databaseUrl, { max: config.dbPool }) : await openPglite(join(config.dataDir, 'pgdata'));
    }
    const applied = await migrate(db);
    if (applied.length) logger.info({ applied }, 'migrations applied');
    // Cluster mode: Redis carries realtime fan-out, recovery sessions and live presence between nodes.
    if (config.redisUrl) redis = await connectRedis(config.redisUrl, { logger, name: `huiliu-${config.nodeId}` });
    const warnings = [...(await checkPostgresSafety(db)), ...(redis ? await checkRedisSafety(redis) : [])];
    for (const w of warnings) logger.warn({ check: 'durability' }, w);
    const masterKey = await loadOrCreateMasterKey({ env: { HUILIU_SECRET_KEY: config.secretKeyEnv }, dataDir: config.dataDir });
    const mail = config.mail
      ? { mailer: createSmtpMailer(config.mail.smtpUrl), from: parseMailFrom(config.mail.from)!, offlineDelayMs: config.mail.offlineDelayMs }
      : undefined;
    // The URL platforms call our webhooks on; a node on a random port (tests) knows it only after listen.
    let publicUrl = config.publicUrl;
    const services = createServices({
      db, logger, masterKey, attachmentsDir: join(config.dataDir, 'attachments'), maxUploadBytes: config.maxUploadBytes, ...(mail ? { mail } : {}),
      publicUrl: () => publicUrl,
      // Attachments in the shared database (HUILIU_STORAGE=database, the default in a cluster): any node serves any file.
      // Files this node stored on disk before (HUILIU_STORAGE=disk) are moved in on first read.
      ...(config.storage === 'database' ? { storage: createDatabaseStorage(db, { previous: createDiskStorage(join(config.dataDir, 'attachments')) }) } : {}),
      ...(opts.channelAdapters ? { channelAdapters: opts.channelAdapters } : {}),
      ...(opts.channelPollers ? { channelPollers: opts.channelPollers } : {}),
    });

    const seed = opts.seed ?? (embedded && config.seedDemo);
    const demo = seed && (await isEmpty(db)) ? await seedDemo(services) : undefined;
    // The AI bot's demo inbox; its 查询订单 flow calls the demo order API this very server serves.
    if (demo) demo.botInboxPublicId = (await seedDemoBot(services, { workspaceId: demo.workspaceId, userIds: demo.userIds, orderApiUrl: `http://127.0.0.1:${config.port}/demo/api` })).inboxPublicId;

    // Background work: the scheduler's sweep (auto-resolve, snooze ends) as a durable job, and the
    // reporting consumer reading the message log.
    if (db.kind === 'postgres' && config.databaseUrl) listener = pgListener(config.databaseUrl, { logger });
    const jobs = createJobQueue({ db, logger: logger.child({ component: 'jobs' }), ...(listener ? { listen: listener.listen } : {}), ...(opts.jobBackoff ? { backoff: opts.jobBackoff } : {}) });
    jobs.register(SWEEP_QUEUE, async (_job, ctx) => {
      const published = await ctx.fence((tx) => runConversationSweep(tx, services.pipeline), { complete: true });
      for (const r of published) {
        services.pipeline.publish(r);
        services.events.emit('conversation.updated', { conversation: r.conversation, previousAssigneeId: r.conversation.assigneeId });
      }
    });
    // Every node registers the job handlers and event subscriptions (they enqueue work where it happens);
    // only worker nodes claim jobs and read the message log (`consume`).
    const consume = roles.has('worker');
    // Routing: job handlers, its message-log consumer and event subscriptions (routing.service.ts).
    services.routing.start({ jobs, consume });
    // Outbound channel delivery: its message-log consumer and the channel.deliver jobs (outbound-delivery.ts).
    await services.outbound.start({ jobs, consume, ...opts.channelDelivery });
    // Pulls a channel's webhook announced (channel-pulls.ts), one inbox's at a time.
    services.channelPulls.start({ jobs });
    // Platform session sync on assignment / resolution (session-sync.ts): its log consumer and jobs.
    await services.sessionSync.start({ jobs, consume });
    // Transfers: the expiry of unanswered agent → agent requests (transfer.service.ts).
    services.transfers.start({ jobs });
    // Contacts CSV imports, applied in batches by a durable job (contact-import.ts).
    services.contactImports.start({ jobs });
    // Knowledge-base imports and embeddings as durable jobs (kb.service.ts).
    services.knowledge.start({ jobs });
    // The AI bot: its message-log consumer and the bot.turn jobs (bot-runtime.ts).
    await services.bot.runtime.start({ jobs, consume });
    const reporting: LogConsumer = createLogConsumer({ db, name: 'reporting', logger, handle: recordReportingFacts });
    // Reporting is not urgent: read the log once per burst of messages, not once per stored batch.
    let reportingTimer: NodeJS.Timeout | undefined;
    const offMessage = onEither(services.events, ['message.created', 'message.log_wake'], () => {
      reportingTimer ??= setTimeout(() => {
        reportingTimer = undefined;
        reporting.wake();
      }, 50);
    });
    const database = db;
    const scheduleSweep = async () => {
      try {
        // One sweep queued at a time, whichever node schedules it.
        await database.transaction(async (tx) => {
          const pending = await tx.query(`SELECT 1 FROM jobs WHERE queue = $1 AND status IN ('queued', 'running') LIMIT 1`, [SWEEP_QUEUE]);
          if (pending.length === 0) await jobs.enqueue(tx, { queue: SWEEP_QUEUE, payload: {}, orderingKey: SWEEP_QUEUE, maxAttempts: 3 });
        });
        jobs.notify();
      } catch (err) {
        logger.warn({ err }, 'could not schedule the conversation sweep');
      }
    };
    // The scheduler role: one node at a time (PostgreSQL advisory lock), on the embedded database this one.
    let sweepTimer: NodeJS.Timeout | undefined;
    const leadership: Leadership | undefined = !roles.has('scheduler')
      ? undefined
      : (() => {
          const onElected = () => {
            sweepTimer ??= setInterval(scheduleSweep, SWEEP_EVERY_MS);
            sweepTimer.unref();
            void scheduleSweep();
          };
          const onDeposed = () => {
            clearInterval(sweepTimer);
            sweepTimer = undefined;
          };
          return database.kind === 'postgres' && config.databaseUrl
            ? electLeader(config.databaseUrl, { logger, onElected, onDeposed, ...(opts.cluster?.leaderRetryMs ? { retryMs: opts.cluster.leaderRetryMs } : {}) })
            : alwaysLeader(onElected);
        })();
    if (leadership) undo.push(() => leadership.close());

    let ready = false;
    const { app } = await buildHttpServer(services, {
      version: VERSION, publicUrl: config.publicUrl, isReady: () => ready, api: roles.has('api'),
      ...(opts.rateLimitFactor ? { rateLimitFactor: opts.rateLimitFactor } : {}),
    });
    undo.push(() => app.close());
    await app.listen({ port: config.port, host: config.host });
    if (config.port === 0) publicUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    // Every node has the gateway: a node without the realtime role accepts no connections but still
    // broadcasts its domain events (a worker assigning a conversation) to other nodes' sockets.
    const gateway = createGateway(roles.has('realtime') ? app.server : undefined, services, {
      ...opts.realtime,
      ...(redis
        ? {
            // Own stream and pub/sub channels per installation (HUILIU_REDIS_PREFIX), so installations and
            // test runs sharing one Redis never hear each other.
            adapter: createAdapter(redis, { streamName: `${config.redisPrefix}socket.io`, channelPrefix: `${config.redisPrefix}socket.io`, maxLen: 100_000 }),
            presence: redisPresence({
              redis, prefix: config.redisPrefix, nodeId: config.nodeId, logger,
              onAgentGone: (a) => void services.routing.agentDisconnected(a).catch((err: unknown) => logger.warn({ err }, 'presence: disconnect of an agent on a dead node not recorded')),
              onAgentBack: (a) => void services.routing.agentConnected(a).catch((err: unknown) => logger.warn({ err }, 'presence: agent back after a pause not recorded')),
              ...(opts.cluster?.presenceHeartbeatMs ? { heartbeatMs: opts.cluster.presenceHeartbeatMs } : {}),
            }),
          }
        : {}),
    });
    undo.push(() => gateway.close());
    const offRelays = redis
      ? [relayDomainEvents(gateway.io, services.events, redis), relayLogWakeups(gateway.io, services.events, { send: !consume })]
      : [];
    // Offline email replies need to know whether a visitor is connected, which only the gateway knows.
    if (services.offlineReplies) {
      await services.offlineReplies.start({ jobs, isContactOnline: gateway.isContactOnline, consume });
      logger.info({ smtp: services.offlineReplies.endpoint, delaySeconds: services.offlineReplies.options.delayMs / 1000 }, 'offline email replies are on');
    } else {
      logger.info('offline email replies are off: set SMTP_URL and HUILIU_MAIL_FROM to email agents\' replies to visitors who left');
    }
    if (consume) {
      undo.push(() => jobs.stop({ drainMs: 1_000 }));
      await jobs.start();
      // Long-running inbound channels (IMAP…): one node per inbox, by lease (channel-pollers.ts).
      await services.channelPollers.start();
      reporting.start();
    }
    ready = true;
    logger.info({ node: config.nodeId, roles: [...roles], cluster: Boolean(redis) }, 'node started');
    const port = (app.server.address() as AddressInfo).port;
    const url = config.port === 0 ? `http://127.0.0.1:${port}` : config.publicUrl;

    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        ready = false;
        await leadership?.close();
        clearInterval(sweepTimer);
        offMessage();
        offRelays.forEach((off) => off());
        if (reportingTimer) clearTimeout(reportingTimer);
        await gateway.close();
        await app.close();
        await services.channelPollers.stop();
        await services.pipeline.drain();
        await services.routing.stop();
        await services.bot.runtime.stop();
        await services.outbound.stop();
        await services.sessionSync.stop();
        await services.offlineReplies?.stop();
        await jobs.stop({ drainMs: 5_000 });
        services.offlineReplies?.close();
        await reporting.stop();
        await listener?.close();
        redis?.disconnect();
        if (!opts.db) await database.close();
        await lock?.release();
      })());
    return { services, gateway, jobs, url, port, demo, warnings, isScheduler: () => leadership?.isLeader ?? false, close };
  } catch (err) {
    for (const step of undo.reverse()) await step().catch(() => {});
    redis?.disconnect();
    await listener?.close().catch(() => {});
    if (db && !opts.db) await db.close().catch(() => {});
    await lock?.release();
    throw err;
  }
}

/** Subscribes one handler to several events; returns one unsubscribe. */
function onEither(events: Services['events'], names: ('message.created' | 'message.log_wake')[], handler: () => void): () => void {
  const offs = names.map((n) => events.on(n, handler));
  return () => offs.forEach((off) => off());
}
