/**
 * Outbound delivery: every public agent or bot message in a conversation of an external channel
 * (email, Telegram, WhatsApp…) is handed to the channel's adapter by a durable job, retried with
 * backoff, in conversation order, and ends either 'sent' (with the platform's id) or 'failed' with a
 * reason the agent reads ("not delivered — retry / copy").
 *
 * Two steps, like routing and offline email replies:
 *  1. A message-log consumer (jobs/log-consumer.ts) reads each stored message once, across restarts and
 *     nodes, and enqueues `channel.deliver` in the transaction that advances its cursor: a message that
 *     is stored is delivered, even if the process dies right after the COMMIT. The ordering key is the
 *     conversation, so a conversation's messages go out one at a time in order; a retrying message holds
 *     the later ones back, a dead letter (failed) does not.
 *  2. The job builds the OutboundMessage (text, attachments with their bytes and a signed URL, template,
 *     email threading), calls `adapter.send` with our message id as the idempotency key, and records the
 *     attempt. Success stores the external id and 'sent' in the same transaction that completes the job
 *     (fenced by the lease), so a retry never sends again after a recorded success. A send interrupted
 *     before that (crash, lost lease) is sent again: at least once, with the same idempotency key for the
 *     platforms that deduplicate by it.
 *
 * Retries: a ChannelError decides (`retryable`); anything unexpected is treated as temporary. The queue's
 * backoff (exponential with jitter) spaces the attempts; it has no per-failure delay, so a platform's
 * Retry-After is logged but the backoff stands. Status changes are announced as `message.updated`.
 *
 * Slow platforms: one send has a deadline (`sendTimeoutMs`, covering every request the adapter makes, whose
 * own timeouts are cut to what is left of it); past it the attempt is a retryable 'network' failure, retried
 * with the backoff like any other. And one inbox's sends hold at most `maxPerInbox` of the node's
 * `concurrency` slots (the queue's group limit on the payload's inboxId), so a platform that answers in 30 s
 * — or never — delays only its own inbox: the other inboxes' messages keep their slots. A cap per inbox
 * rather than a separate "slow lane": it needs no guess about which inbox is slow (they all start fast) and
 * no moving of jobs between queues, and the conversation order (ordering keys) is untouched.
 */
import type { ChannelType, DeliveryAttempt, FailedDelivery, Message } from '@huiliu/contracts';
import { ChannelError, type ChannelAdapter, type ChannelContext, type ChannelHttp, type OutboundAttachment, type OutboundMessage, type ThreadRef } from '@huiliu/channels';
import type { Readable } from 'node:stream';
import type { Database, Row, Sql } from '../db/database.ts';
import { one } from '../db/database.ts';
import type { Actor } from '../auth/actor.ts';
import { requirePermission } from '../auth/actor.ts';
import type { FileUrlSigner } from '../auth/tokens.ts';
import { AppError, conflict, notFound } from '../shared/errors.ts';
import type { DomainEvents } from '../shared/events.ts';
import type { Logger } from '../shared/logger.ts';
import type { BlobStorage } from '../storage/blob-storage.ts';
import type { InboxService } from '../inboxes/inbox.service.ts';
import type { Job, JobContext, JobQueue } from '../jobs/job-queue.ts';
import { LeaseLostError } from '../jobs/job-queue.ts';
import { createBurstCatchUp, createCursorAtPresent, createLogConsumer, type LogConsumer, type MessageLogRow } from '../jobs/log-consumer.ts';
import { isUniqueViolation } from '../shared/errors.ts';
import { presentConversation, presentMessage } from '../messages/present.ts';
import type { SendPolicy } from './send-policy.ts';
import type { ChannelRuntime } from './channel-config.service.ts';

export const DELIVER_QUEUE = 'channel.deliver';
const CONSUMER_NAME = 'channel-outbound';
/**
 * Attempts a message gets before it is a dead letter. The job itself may run once more: a worker that
 * died mid-send on the last attempt leaves the job to be claimed again after its lease, and that run
 * must still be able to record the outcome (the queue marks a job dead without running it once
 * attempts reach max_attempts).
 */
export const MAX_DELIVERY_ATTEMPTS = 8;
/** Sends in flight on one node, all inboxes together. */
export const DEFAULT_DELIVERY_CONCURRENCY = 4;
/**
 * The whole of one send, all its requests together: long enough for the slowest legitimate send (a media
 * upload, which adapters allow 120 s, then the message), so a platform that hangs costs one slot this long
 * at most per attempt.
 */
export const DEFAULT_SEND_TIMEOUT_MS = 180_000;
/** What ChannelContext.http allows a request that names no timeout (channel-config.service.ts). */
const CHANNEL_HTTP_DEFAULT_TIMEOUT_MS = 15_000;
const MAX_REFERENCES = 20;
/** Links platforms fetch media from (WhatsApp, Telegram by URL); rebuilt on every attempt. */
const MEDIA_URL_TTL_SECONDS = 24 * 3600;
const MAX_ERROR_LENGTH = 1000;

export interface DeliverJob {
  workspaceId: string;
  messageId: string;
  /** The group of the per-inbox limit; absent in jobs queued before it existed (those are not limited). */
  inboxId?: string;
}

export interface DeliveryOptions {
  /** Sends in flight at once on this node (default DEFAULT_DELIVERY_CONCURRENCY). */
  concurrency?: number;
  /** Of those, at most this many for one inbox (default: half, at least 1), so a slow platform cannot take them all. */
  maxPerInbox?: number;
  /** Deadline of one send, all its requests included (default DEFAULT_SEND_TIMEOUT_MS). */
  sendTimeoutMs?: number;
}

/**
 * The adapter and its context for one inbox (ChannelConfigService.contextFor): throws conflict while a
 * required secret or setting is missing, not_found when the inbox is gone.
 */
export type ChannelContextFor = (workspaceId: string, inboxId: string) => Promise<Pick<ChannelRuntime, 'adapter' | 'ctx'>>;

const isDeliverable = (m: Pick<MessageLogRow, 'direction' | 'private' | 'senderType' | 'externalId' | 'deliveryStatus'>) =>
  m.direction === 'outgoing' && !m.private && m.senderType !== 'contact' &&
  // An external id means the message came from the platform (our own echo, a reply the business wrote
  // in the platform's app): it is already there.
  m.externalId === null && (m.deliveryStatus === 'pending' || m.deliveryStatus === 'sent');

async function streamToBuffer(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

/**
 * The adapter's context for one send: every request it makes ends by the send's deadline (its own timeout,
 * or the client's default, cut to what is left), so a send abandoned at the deadline leaves no request
 * running on behind it.
 */
function withDeadline<C>(ctx: ChannelContext<C>, deadlineAt: number): ChannelContext<C> {
  const http: ChannelHttp = (url, init = {}) =>
    ctx.http(url, { ...init, timeoutMs: Math.max(1, Math.min(init.timeoutMs ?? CHANNEL_HTTP_DEFAULT_TIMEOUT_MS, deadlineAt - Date.now())) });
  return { ...ctx, http };
}

const formatSeconds = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`);

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Location has no field in OutboundMessage and cards may not be carried: both also travel as readable text. */
function outboundText(m: Row): string {
  const text = (m.text as string) ?? '';
  const content = (m.content ?? {}) as { location?: { latitude: number; longitude: number; name?: string; address?: string }; card?: { title: string; description?: string; url?: string } };
  if (m.content_type === 'location' && content.location) {
    const l = content.location;
    const place = [l.name, l.address].filter(Boolean).join(', ');
    return [text, `${place ? `${place} ` : ''}(${l.latitude}, ${l.longitude}) https://www.openstreetmap.org/?mlat=${l.latitude}&mlon=${l.longitude}`].filter(Boolean).join('\n');
  }
  if (m.content_type === 'card' && content.card) {
    const c = content.card;
    return [text, c.title, c.description, c.url].filter(Boolean).join('\n');
  }
  return text;
}

const RE_PREFIX = /^\s*(re|aw|sv|回复|答复)\s*[:：]/i;

/** What the agent reads under a message that was not delivered. */
export function describeFailure(channelName: string, err: unknown, attempts: number): { code: string; text: string } {
  if (err instanceof ChannelError) {
    const detail = err.message.slice(0, 500);
    switch (err.code) {
      case 'not_configured':
        return { code: err.code, text: `channel not configured: ${detail}; an admin has to finish this inbox's ${channelName} settings, then retry` };
      case 'unauthorized':
        return { code: err.code, text: `${channelName} refused our credentials (${detail}); an admin has to check the inbox's channel settings, then retry` };
      case 'recipient_invalid':
        return { code: err.code, text: `${channelName} refused the recipient: ${detail}` };
      case 'window_closed':
        return { code: err.code, text: `${channelName} refused it because the reply window is closed (${detail}); send an approved template instead` };
      case 'content_unsupported':
      case 'media_too_large':
        return { code: err.code, text: `${channelName} cannot carry this message: ${detail}` };
      default:
        return err.retryable
          ? { code: err.code, text: `${channelName} could not be reached after ${attempts} attempts: ${detail}` }
          : { code: err.code, text: `${channelName} did not accept the message: ${detail}` };
    }
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'internal', text: `not delivered after ${attempts} attempts because of an error on our side (${message.slice(0, 300)}); retry, or copy the text` };
}

export function createOutboundDelivery(deps: {
  db: Database;
  events: DomainEvents;
  logger: Logger;
  files: FileUrlSigner;
  storage: BlobStorage;
  inboxes: InboxService;
  policy: SendPolicy;
  /** Channel kinds that have an adapter (web has none: it speaks Huiliu's own protocol). */
  adapters: ReadonlyMap<ChannelType, ChannelAdapter<any>>;
  contextFor: ChannelContextFor;
  /** Absolute base of the signed media links (HUILIU_PUBLIC_URL); a function: a test node learns its port late. */
  publicUrl: () => string;
}) {
  const { db, events, files, storage, inboxes, adapters } = deps;
  const log = deps.logger.child({ component: 'outbound-delivery' });
  let jobs: JobQueue | undefined;
  let consumer: LogConsumer | undefined;
  let stopped = true;
  let off: (() => void) | undefined;

  const queue = (): JobQueue => {
    if (!jobs) throw new Error('outbound delivery is not started');
    return jobs;
  };

  let sendTimeoutMs = DEFAULT_SEND_TIMEOUT_MS;

  function enqueue(tx: Sql, workspaceId: string, inboxId: string, conversationId: string, messageId: string): Promise<number> {
    return queue().enqueue<DeliverJob>(tx, {
      queue: DELIVER_QUEUE,
      payload: { workspaceId, messageId, inboxId },
      workspaceId,
      // Per conversation, and only among deliveries (keys are global across queues).
      orderingKey: `${DELIVER_QUEUE}:${conversationId}`,
      maxAttempts: MAX_DELIVERY_ATTEMPTS + 1,
    });
  }

  // -------------------------------------------------------------------------------------------------
  // 1. The log consumer

  let enqueuedSinceCatchUp = 0;
  async function handleLog(tx: Sql, rows: MessageLogRow[]): Promise<void> {
    const candidates = rows.filter(isDeliverable);
    if (candidates.length === 0) return;
    const inboxIds = [...new Set(candidates.map((m) => m.inboxId))];
    const workspaceIds = [...new Set(candidates.map((m) => m.workspaceId))];
    const channelInboxes = await tx.query<{ id: string; channel_type: ChannelType }>(
      `SELECT id, channel_type FROM inboxes WHERE id = ANY($1::uuid[]) AND workspace_id = ANY($2::uuid[])`,
      [inboxIds, workspaceIds],
    );
    const external = new Set(channelInboxes.filter((i) => adapters.has(i.channel_type)).map((i) => i.id));
    // Rows come in transaction order; within a conversation, seq order is the order the customer reads.
    // Conversations keep the order of their first row (a total order, unlike comparing seq only within one).
    const firstSeen = new Map<string, number>();
    const deliver = candidates.filter((m) => external.has(m.inboxId));
    deliver.forEach((m, i) => { if (!firstSeen.has(m.conversationId)) firstSeen.set(m.conversationId, i); });
    deliver.sort((a, b) => firstSeen.get(a.conversationId)! - firstSeen.get(b.conversationId)! || a.seq - b.seq);
    for (const m of deliver) {
      await enqueue(tx, m.workspaceId, m.inboxId, m.conversationId, m.id);
      enqueuedSinceCatchUp++;
    }
  }

  const logBurst = createBurstCatchUp({
    consumer: () => consumer,
    isActive: () => !stopped,
    afterCatchUp: () => {
      if (enqueuedSinceCatchUp > 0) jobs?.notify();
      enqueuedSinceCatchUp = 0;
    },
    onError: (err) => log.warn({ err }, 'outbound delivery: log consumer failed; the poll retries'),
  });

  // -------------------------------------------------------------------------------------------------
  // 2. The job

  async function loadMessage(sql: Sql, workspaceId: string, messageId: string): Promise<Row | undefined> {
    return one(
      sql,
      `SELECT m.*, c.identity_id AS conv_identity_id, ci.source_id, ci.inbox_id AS identity_inbox_id,
         ct.name AS contact_name, i.channel_type, u.name AS sender_name,
         EXISTS (SELECT 1 FROM channel_delivery_attempts a WHERE a.message_id = m.id AND a.workspace_id = m.workspace_id AND a.outcome = 'sent') AS sent_before
       FROM messages m
       JOIN conversations c ON c.id = m.conversation_id AND c.workspace_id = m.workspace_id
       JOIN inboxes i ON i.id = m.inbox_id AND i.workspace_id = m.workspace_id
       LEFT JOIN contact_identities ci ON ci.id = c.identity_id AND ci.workspace_id = c.workspace_id
       LEFT JOIN contacts ct ON ct.id = c.contact_id AND ct.workspace_id = c.workspace_id
       LEFT JOIN users u ON u.id = m.sender_id AND u.workspace_id = m.workspace_id AND m.sender_type = 'user'
       WHERE m.id = $1 AND m.workspace_id = $2`,
      [messageId, workspaceId],
    );
  }

  async function threadOf(workspaceId: string, m: Row): Promise<ThreadRef | undefined> {
    const first = await one(
      db,
      `SELECT content->>'subject' AS subject, direction FROM messages
       WHERE conversation_id = $1 AND workspace_id = $2 AND COALESCE(content->>'subject', '') <> ''
       ORDER BY seq LIMIT 1`,
      [m.conversation_id, workspaceId],
    );
    const ids = (
      await db.query<{ external_id: string }>(
        `SELECT external_id FROM messages
         WHERE conversation_id = $1 AND workspace_id = $2 AND external_id IS NOT NULL AND seq < $3
         ORDER BY seq`,
        [m.conversation_id, workspaceId, m.seq],
      )
    ).map((r) => r.external_id);
    const thread: ThreadRef = {};
    if (first) {
      const subject = first.subject as string;
      // Answering the customer's email: "Re: their subject", once.
      thread.subject = first.direction === 'incoming' && !RE_PREFIX.test(subject) ? `Re: ${subject}` : subject;
    }
    const last = ids[ids.length - 1];
    if (last) {
      thread.inReplyTo = last;
      // Long threads: keep the root and the most recent ones (what mail clients need to thread).
      thread.references = ids.length > MAX_REFERENCES ? [ids[0]!, ...ids.slice(-(MAX_REFERENCES - 1))] : ids;
    }
    return Object.keys(thread).length ? thread : undefined;
  }

  async function attachmentsOf(workspaceId: string, m: Row): Promise<OutboundAttachment[]> {
    const stored = ((m.content as Row | null)?.attachments ?? []) as { id: string }[];
    if (stored.length === 0) return [];
    const rows = await db.query(
      `SELECT id, file_name, content_type, size, storage_key FROM attachments WHERE workspace_id = $1 AND message_id = $2`,
      [workspaceId, m.id],
    );
    const byId = new Map(rows.map((r) => [r.id as string, r]));
    const base = deps.publicUrl().replace(/\/$/, '');
    return stored.flatMap((a) => {
      const r = byId.get(a.id);
      if (!r) return [];
      const key = r.storage_key as string;
      return [{
        fileName: r.file_name as string,
        contentType: r.content_type as string,
        size: Number(r.size),
        read: async () => streamToBuffer(await storage.get(key)),
        url: `${base}${files.url(a.id, MEDIA_URL_TTL_SECONDS)}`,
      }];
    });
  }

  async function recordAttempt(
    tx: Sql,
    m: Row,
    job: Job<DeliverJob>,
    a: { outcome: 'sent' | 'retry' | 'failed'; externalId?: string | null; error?: string | null; errorCode?: string | null; durationMs: number },
  ): Promise<void> {
    await tx.query(
      `INSERT INTO channel_delivery_attempts (workspace_id, inbox_id, conversation_id, message_id, job_id, attempt, outcome, external_id, error, error_code, duration_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [m.workspace_id, m.inbox_id, m.conversation_id, m.id, job.id, job.attempts, a.outcome, a.externalId ?? null, a.error?.slice(0, MAX_ERROR_LENGTH) ?? null, a.errorCode ?? null, Math.max(0, Math.round(a.durationMs))],
    );
  }

  /** The stored message and its conversation after a change, for `message.updated`. */
  async function presentUpdated(tx: Sql, workspaceId: string, messageId: string): Promise<{ message: Message; conversation: ReturnType<typeof presentConversation> } | null> {
    const r = await one(
      tx,
      `SELECT m.*, to_jsonb(c) AS conversation FROM messages m JOIN conversations c ON c.id = m.conversation_id
       WHERE m.id = $1 AND m.workspace_id = $2`,
      [messageId, workspaceId],
    );
    return r ? { message: presentMessage(r, files), conversation: presentConversation(r.conversation as Row) } : null;
  }

  function announce(updated: { message: Message; conversation: ReturnType<typeof presentConversation> } | null): void {
    if (updated) events.emit('message.updated', updated);
  }

  async function markFailed(job: Job<DeliverJob>, ctx: JobContext, m: Row, failure: { code: string; text: string }, durationMs: number): Promise<void> {
    const updated = await ctx.fence(async (tx) => {
      await recordAttempt(tx, m, job, { outcome: 'failed', error: failure.text, errorCode: failure.code, durationMs });
      const rows = await tx.query(
        `UPDATE messages SET delivery_status = 'failed', content = content || jsonb_build_object('deliveryError', $3::text)
         WHERE id = $1 AND workspace_id = $2 AND delivery_status IN ('pending', 'sent') RETURNING id`,
        [m.id, m.workspace_id, failure.text],
      );
      return rows.length ? presentUpdated(tx, m.workspace_id as string, m.id as string) : null;
    }, { complete: true });
    announce(updated);
    log.warn({ workspaceId: m.workspace_id, conversationId: m.conversation_id, messageId: m.id, jobId: job.id, code: failure.code, error: failure.text }, 'channel message not delivered');
  }

  async function markSent(job: Job<DeliverJob>, ctx: JobContext, m: Row, externalId: string, durationMs: number): Promise<void> {
    const store = (withExternalId: boolean) =>
      ctx.fence(async (tx) => {
        await recordAttempt(tx, m, job, { outcome: 'sent', externalId, durationMs });
        const rows = await tx.query(
          `UPDATE messages SET delivery_status = 'sent', external_id = CASE WHEN $3::boolean THEN $4 ELSE external_id END,
             content = content - 'deliveryError'
           WHERE id = $1 AND workspace_id = $2 AND delivery_status IN ('pending', 'sent') RETURNING id`,
          [m.id, m.workspace_id, withExternalId, externalId],
        );
        return rows.length ? presentUpdated(tx, m.workspace_id as string, m.id as string) : null;
      }, { complete: true });
    let updated;
    try {
      updated = await store(true);
    } catch (err) {
      // The platform's echo of this very message was stored first under the same external id (the
      // inbound side then keeps it as a separate row). The message went out: record it as sent.
      if (!isUniqueViolation(err)) throw err;
      log.warn({ messageId: m.id, externalId }, 'outbound delivery: external id already stored by an inbound echo; marking sent without it');
      updated = await store(false);
    }
    announce(updated);
  }

  async function deliver(job: Job<DeliverJob>, ctx: JobContext): Promise<void> {
    const { workspaceId, messageId } = job.payload;
    const m = await loadMessage(db, workspaceId, messageId);
    // Gone (conversation deleted) or already handled. 'pending' is what this job is for (also an agent's
    // retry of a message the platform reported failed after taking it, which has an external id); a
    // 'sent' one without external id was stored by a writer that does not know channels (default status)
    // and is delivered unless an attempt already succeeded.
    if (!m) return;
    const due = m.delivery_status === 'pending' || (m.delivery_status === 'sent' && m.external_id === null && !m.sent_before);
    if (!due) return;
    const channelType = m.channel_type as ChannelType;
    const adapter = adapters.get(channelType);
    const channelName = adapter?.displayName ?? channelType;
    const started = Date.now();
    const elapsed = () => Date.now() - started;

    // An unexpected error before the send (vault, storage, database) is retried by the queue; on the last
    // attempt it becomes a dead letter the agent sees, instead of a job that dies leaving 'pending' forever.
    const lastAttempt = (err: unknown): Promise<void> => {
      if (job.attempts < MAX_DELIVERY_ATTEMPTS || ctx.signal.aborted || err instanceof LeaseLostError) throw err;
      return markFailed(job, ctx, m, describeFailure(channelName, err, job.attempts), elapsed());
    };

    let resolved: Pick<ChannelRuntime, 'adapter' | 'ctx'>;
    try {
      if (!adapter) throw new AppError('not_found', `this server has no ${channelType} channel adapter`);
      resolved = await deps.contextFor(workspaceId, m.inbox_id as string);
    } catch (err) {
      // Not ready (secret or setting missing) or gone: retrying on a timer cannot fix it, an admin can.
      if (!(err instanceof AppError)) return lastAttempt(err);
      return markFailed(job, ctx, m, { code: 'not_configured', text: `channel not configured: ${err.message}; retry once it is fixed` }, elapsed());
    }

    if (!m.source_id || m.identity_inbox_id !== m.inbox_id) {
      return markFailed(job, ctx, m, { code: 'recipient_invalid', text: `this customer has no ${channelName} address in this conversation, so the message cannot be sent here` }, elapsed());
    }

    const content = (m.content ?? {}) as { template?: OutboundMessage['template']; card?: OutboundMessage['card'] };
    let outbound: OutboundMessage;
    try {
      outbound = {
        idempotencyKey: m.id as string,
        conversationId: m.conversation_id as string,
        createdAt: new Date(m.created_at as string),
        recipient: { sourceId: m.source_id as string, name: (m.contact_name as string | null) ?? null },
        text: outboundText(m),
        attachments: await attachmentsOf(workspaceId, m),
        senderName: (m.sender_name as string | null) ?? null,
      };
      if (content.template) outbound.template = content.template;
      if (m.content_type === 'card' && content.card?.title) outbound.card = content.card;
      const thread = await threadOf(workspaceId, m);
      if (thread) outbound.thread = thread;
    } catch (err) {
      return lastAttempt(err);
    }

    let externalId: string;
    const deadline = AbortSignal.timeout(sendTimeoutMs);
    try {
      const send = resolved.adapter.send(outbound, withDeadline(resolved.ctx, Date.now() + sendTimeoutMs));
      externalId = (await raceAbort(send, AbortSignal.any([ctx.signal, deadline]))).externalId;
    } catch (caught) {
      // Stopped or lost the lease: the job is back in the queue (or another worker's); record nothing.
      if (ctx.signal.aborted || caught instanceof LeaseLostError) throw caught;
      // Past the deadline the adapter's promise is left behind; its requests end by the same deadline.
      const err = deadline.aborted && caught === deadline.reason
        ? new ChannelError('network', `${channelName} did not answer within ${formatSeconds(sendTimeoutMs)}`)
        : caught;
      const retryable = err instanceof ChannelError ? err.retryable : true;
      if (!retryable || job.attempts >= MAX_DELIVERY_ATTEMPTS) {
        return markFailed(job, ctx, m, describeFailure(channelName, err, job.attempts), elapsed());
      }
      const message = err instanceof Error ? err.message : String(err);
      await ctx.fence((tx) => recordAttempt(tx, m, job, { outcome: 'retry', error: message, errorCode: err instanceof ChannelError ? err.code : 'internal', durationMs: elapsed() }));
      log.info({ workspaceId, messageId, jobId: job.id, attempt: job.attempts, retryAfterMs: err instanceof ChannelError ? err.retryAfterMs : undefined, error: message }, 'channel send failed; will retry');
      throw err;
    }
    await markSent(job, ctx, m, externalId, elapsed());
  }

  // -------------------------------------------------------------------------------------------------
  // Agents and admins

  /** Sends a failed message again (a fresh job behind the conversation's queued messages). */
  async function retry(actor: Actor, conversationId: string, messageId: string): Promise<Message> {
    requirePermission(actor, 'conversation.reply');
    const inboxIds = await inboxes.visibleInboxIds(actor);
    const m = await one(
      db,
      `SELECT m.direction, m.private, m.delivery_status, m.content, m.inbox_id, i.channel_type FROM messages m
       JOIN conversations c ON c.id = m.conversation_id AND c.workspace_id = m.workspace_id
       JOIN inboxes i ON i.id = m.inbox_id AND i.workspace_id = m.workspace_id
       WHERE m.id = $1 AND m.conversation_id = $2 AND m.workspace_id = $3 AND ($4::uuid[] IS NULL OR c.inbox_id = ANY($4::uuid[]))`,
      [messageId, conversationId, actor.workspaceId, inboxIds],
    );
    if (!m) throw notFound('message');
    if (m.direction !== 'outgoing' || m.private) throw conflict('only replies to the customer are delivered to a channel; this message is not one, so there is nothing to retry');
    if (!adapters.has(m.channel_type as ChannelType)) throw conflict('this conversation is not on an external channel; there is no delivery to retry');
    if (m.delivery_status !== 'failed') throw conflict(`this message is ${m.delivery_status}; only a message whose delivery failed can be retried`);
    // A closed window would fail again at the platform: say so now (templates pass outside the window).
    const status = await deps.policy.status(actor, conversationId);
    const isTemplate = Boolean((m.content as Row | null)?.template);
    if (status.reasonCode === 'window_closed' || status.reasonCode === 'quota_exhausted') {
      if (!(isTemplate && status.templatesOnly)) throw new AppError('send_window_closed', status.reason ?? 'the channel does not allow a message now');
    }
    const updated = await db.transaction(async (tx) => {
      const rows = await tx.query(
        `UPDATE messages SET delivery_status = 'pending', content = content - 'deliveryError'
         WHERE id = $1 AND workspace_id = $2 AND delivery_status = 'failed' RETURNING id`,
        [messageId, actor.workspaceId],
      );
      if (rows.length === 0) throw conflict('this message is no longer failed (someone retried it already)');
      await enqueue(tx, actor.workspaceId, m.inbox_id as string, conversationId, messageId);
      return presentUpdated(tx, actor.workspaceId, messageId);
    });
    queue().notify();
    announce(updated);
    log.info({ workspaceId: actor.workspaceId, conversationId, messageId }, 'channel delivery retried by an agent');
    return updated!.message;
  }

  async function listFailed(actor: Actor, opts: { limit: number }): Promise<FailedDelivery[]> {
    requirePermission(actor, 'inbox.manage');
    const rows = await db.query(
      `SELECT m.id, m.conversation_id, c.display_id, m.inbox_id, i.channel_type, m.text, m.content, m.created_at,
         la.error_code, la.created_at AS failed_at,
         (SELECT count(*)::int FROM channel_delivery_attempts a WHERE a.message_id = m.id AND a.workspace_id = m.workspace_id) AS attempts
       FROM messages m
       JOIN conversations c ON c.id = m.conversation_id AND c.workspace_id = m.workspace_id
       JOIN inboxes i ON i.id = m.inbox_id AND i.workspace_id = m.workspace_id
       LEFT JOIN LATERAL (
         SELECT a.error_code, a.created_at FROM channel_delivery_attempts a
         WHERE a.message_id = m.id AND a.workspace_id = m.workspace_id ORDER BY a.id DESC LIMIT 1
       ) la ON true
       WHERE m.workspace_id = $1 AND m.delivery_status = 'failed' AND m.direction = 'outgoing'
       ORDER BY COALESCE(la.created_at, m.created_at) DESC, m.id
       LIMIT $2`,
      [actor.workspaceId, opts.limit],
    );
    return rows.map((r) => {
      const content = (r.content ?? {}) as { deliveryError?: string; template?: { name: string } };
      return {
        messageId: r.id as string,
        conversationId: r.conversation_id as string,
        conversationDisplayId: Number(r.display_id),
        inboxId: r.inbox_id as string,
        channelType: r.channel_type as ChannelType,
        text: (r.text as string) || (content.template ? `[template ${content.template.name}]` : ''),
        error: content.deliveryError ?? 'not delivered',
        errorCode: (r.error_code as string | null) ?? null,
        attempts: Number(r.attempts),
        failedAt: new Date((r.failed_at ?? r.created_at) as string).toISOString(),
      };
    });
  }

  async function listAttempts(actor: Actor, inboxId: string, q: { outcome?: 'sent' | 'retry' | 'failed' | undefined; limit: number; beforeId?: number | undefined }): Promise<DeliveryAttempt[]> {
    requirePermission(actor, 'inbox.manage');
    await inboxes.get(actor, inboxId);
    const rows = await db.query(
      `SELECT * FROM channel_delivery_attempts
       WHERE workspace_id = $1 AND inbox_id = $2 AND ($3::text IS NULL OR outcome = $3) AND ($4::bigint IS NULL OR id < $4)
       ORDER BY id DESC LIMIT $5`,
      [actor.workspaceId, inboxId, q.outcome ?? null, q.beforeId ?? null, q.limit],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      inboxId: r.inbox_id as string,
      conversationId: r.conversation_id as string,
      messageId: r.message_id as string,
      attempt: Number(r.attempt),
      outcome: r.outcome as DeliveryAttempt['outcome'],
      externalId: (r.external_id as string | null) ?? null,
      error: (r.error as string | null) ?? null,
      errorCode: (r.error_code as string | null) ?? null,
      durationMs: Number(r.duration_ms),
      createdAt: new Date(r.created_at as string).toISOString(),
    }));
  }

  return {
    /** Registers the job handler and starts the log consumer (app.ts). */
    async start(input: { jobs: JobQueue; /** Read the message log here (worker nodes; default true). */ consume?: boolean; consumerPollMs?: number } & DeliveryOptions): Promise<void> {
      jobs = input.jobs;
      stopped = false;
      const concurrency = input.concurrency ?? DEFAULT_DELIVERY_CONCURRENCY;
      const maxPerInbox = Math.min(concurrency, input.maxPerInbox ?? Math.max(1, Math.floor(concurrency / 2)));
      sendTimeoutMs = input.sendTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS;
      if (!(sendTimeoutMs > 0)) throw new Error('sendTimeoutMs must be > 0');
      // Sending waits on the platform, not on the database: several conversations go out in parallel
      // (one conversation is serialized by its ordering key), at most maxPerInbox of them per inbox (see top).
      jobs.register<DeliverJob>(DELIVER_QUEUE, deliver, { concurrency, groupLimit: { payloadField: 'inboxId', maxRunning: maxPerInbox } });
      // Created at the present position the first time: messages stored before this feature existed are
      // not channel messages, and reading the whole log on the first start would only cost time.
      await createCursorAtPresent(db, CONSUMER_NAME);
      consumer = createLogConsumer({ db, name: CONSUMER_NAME, logger: log, pollMs: input.consumerPollMs ?? 2_000, handle: handleLog });
      if (input.consume !== false) consumer.start();
      const offs = [
        events.on('message.created', ({ message }) => {
          if (message.direction === 'outgoing' && !message.private && message.externalId === null) logBurst.trigger();
        }),
        events.on('message.log_wake', () => logBurst.trigger()),
      ];
      off = () => offs.forEach((o) => o());
    },

    async stop(): Promise<void> {
      stopped = true;
      off?.();
      off = undefined;
      logBurst.cancel();
      await consumer?.stop();
    },

    /** Catches the message log up now (tests; normally woken by events and a poll). */
    catchUp: async (): Promise<number> => (consumer ? consumer.catchUp() : 0),

    retry,
    listFailed,
    listAttempts,
  };
}
export type OutboundDelivery = ReturnType<typeof createOutboundDelivery>;
