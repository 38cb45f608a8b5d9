/**
 * Offline email replies: when an agent answers in a web-widget conversation while the visitor has no
 * live connection, the reply is emailed to the visitor (if they left an email), so it reaches them after
 * they closed the page.
 *
 * Two steps, both durable:
 *  1. A message-log consumer (jobs/log-consumer.ts) reads each public agent reply once, across restarts
 *     and nodes. If the visitor is not connected at that moment (`isContactOnline`, answered by the
 *     realtime gateway — core never imports the transport) and has an email, the reply is recorded in
 *     `offline_reply_pending` and the conversation's email job is enqueued, in the consumer's own
 *     transaction (exactly once). The job runs `delayMs` later; replies arriving meanwhile find the job
 *     still queued and simply wait for it: several replies in a short window become one email.
 *  2. The job (ordering key per conversation) takes the pending replies, drops those the visitor has
 *     seen in the meantime (read receipt, or they wrote again after them, or they are connected now),
 *     writes the email to `email_notifications` as 'sending', sends it over SMTP, then marks it 'sent'.
 *     SMTP cannot join our transaction, so the row written before the call is what prevents a second
 *     send: a retry of the same job that finds its own 'sending' row cannot know whether the email went
 *     out, and gives up on it ('unknown') rather than risk a duplicate. A refused send (SMTP error) is
 *     recorded as 'failed' and retried with backoff while the error is temporary (4xx, network).
 */
import type { Database, Row, Sql } from '../db/database.ts';
import { one } from '../db/database.ts';
import type { DomainEvents } from '../shared/events.ts';
import type { Logger } from '../shared/logger.ts';
import type { Job, JobContext, JobQueue } from '../jobs/job-queue.ts';
import { createBurstCatchUp, createCursorAtPresent, createLogConsumer, type LogConsumer, type MessageLogRow } from '../jobs/log-consumer.ts';
import { isPermanentMailError, type Mailer } from './mailer.ts';

export const OFFLINE_REPLIES_QUEUE = 'mail.offline_replies';
/** Created at the present position the first time the feature starts, so history is never mailed. */
const CONSUMER_NAME = 'offline-replies';
/**
 * Replies older than this when the consumer reads them (after downtime) are not mailed: whether the
 * visitor was connected when they were written can no longer be known.
 */
const STALE_AFTER_MS = 10 * 60_000;
const MAX_ATTEMPTS = 8;

export interface OfflineRepliesOptions {
  /** How long after the first unanswered reply the email goes out (collecting the replies meanwhile). */
  delayMs: number;
}
export const DEFAULT_OFFLINE_REPLIES_OPTIONS: OfflineRepliesOptions = { delayMs: 60_000 };

/** Answers whether a visitor (contact) has a live widget connection right now, on any node. */
export type ContactOnlineCheck = (contactId: string) => Promise<boolean>;

interface OfflineRepliesJob {
  workspaceId: string;
  conversationId: string;
}

interface PendingReply {
  messageId: string;
  seq: number;
  senderName: string | null;
  text: string;
  content: Record<string, unknown>;
}

type Locale = 'zh' | 'en';

const oneLine = (s: string) => s.replace(/[\r\n]+/g, ' ').trim();

/** The visible body of one reply: its text, and a line for what text cannot carry (files, cards, places). */
function replyBody(r: PendingReply, locale: Locale): string {
  const parts: string[] = [];
  if (r.text.trim()) parts.push(r.text.trim());
  const attachments = (r.content.attachments ?? []) as { fileName?: string }[];
  for (const a of attachments) parts.push(locale === 'zh' ? `[附件：${a.fileName ?? ''}]` : `[Attachment: ${a.fileName ?? ''}]`);
  const card = r.content.card as { title?: string; url?: string } | undefined;
  if (card?.title) parts.push(`[${card.title}]${card.url ? ` ${card.url}` : ''}`);
  const location = r.content.location as { name?: string; address?: string } | undefined;
  if (location) parts.push(locale === 'zh' ? `[位置：${location.name ?? location.address ?? ''}]` : `[Location: ${location.name ?? location.address ?? ''}]`);
  return parts.join('\n') || (locale === 'zh' ? '[消息]' : '[Message]');
}

/** Subject and plain-text body (never HTML: agent text is shown as typed, nothing in it can run). */
export function composeOfflineRepliesEmail(input: {
  locale: Locale;
  inboxName: string;
  contactName: string | null;
  displayId: number;
  replies: PendingReply[];
}): { subject: string; text: string } {
  const { locale, replies } = input;
  const inbox = oneLine(input.inboxName);
  const blocks = replies.map((r) => `${oneLine(r.senderName ?? (locale === 'zh' ? '客服' : 'Support'))}:\n${replyBody(r, locale)}`);
  if (locale === 'zh') {
    return {
      subject: `${inbox} 回复了您的咨询`,
      text: [
        `${input.contactName ? `${input.contactName}，` : ''}您好：`,
        '',
        `您在 ${inbox} 的咨询（会话 #${input.displayId}）有新的回复：`,
        '',
        blocks.join('\n\n'),
        '',
        '如需继续沟通，请再次打开我们网站上的聊天窗口，在那里直接回复即可。',
      ].join('\n'),
    };
  }
  return {
    subject: `New reply from ${inbox}`,
    text: [
      `Hello${input.contactName ? ` ${input.contactName}` : ''},`,
      '',
      `You have ${replies.length === 1 ? 'a new reply' : 'new replies'} in your conversation #${input.displayId} with ${inbox}:`,
      '',
      blocks.join('\n\n'),
      '',
      'To answer, open the chat on our website again and reply there.',
    ].join('\n'),
  };
}

/** The inbox's widget language if fixed, else what the visitor's browser said, else the workspace default. */
function pickLocale(widget: Row | null, attributes: Row | null, settings: Row | null): Locale {
  const fixed = widget?.locale;
  if (fixed === 'zh-CN') return 'zh';
  if (fixed === 'en') return 'en';
  const visitor = attributes?.locale;
  if (typeof visitor === 'string' && visitor) return visitor.toLowerCase().startsWith('zh') ? 'zh' : 'en';
  return settings?.defaultLocale === 'en' ? 'en' : 'zh';
}

export function createOfflineReplies(deps: {
  db: Database;
  events: DomainEvents;
  logger: Logger;
  mailer: Mailer;
  /** HUILIU_MAIL_FROM; without a display name the inbox's name is used. */
  from: { name: string | null; address: string };
  options?: Partial<OfflineRepliesOptions>;
}) {
  const { db, events, mailer, from } = deps;
  const log = deps.logger.child({ component: 'offline-replies' });
  /** Mutable on purpose: tests shorten the delay of a running node. */
  const options: OfflineRepliesOptions = { ...DEFAULT_OFFLINE_REPLIES_OPTIONS, ...deps.options };
  const fromDomain = from.address.split('@')[1] ?? 'huiliu.local';
  let jobs: JobQueue | undefined;
  let isContactOnline: ContactOnlineCheck | undefined;
  let consumer: LogConsumer | undefined;
  let stopped = true;
  let off: (() => void) | undefined;

  const isReply = (m: { direction: string; private: boolean; senderType: string }) => m.direction === 'outgoing' && !m.private && m.senderType === 'user';

  function started(): { jobs: JobQueue; online: ContactOnlineCheck } {
    if (!jobs || !isContactOnline) throw new Error('offline replies are not started');
    return { jobs, online: isContactOnline };
  }

  // ---------------------------------------------------------------------------------------------
  // 1. The log consumer: which replies the visitor was not there for

  let enqueuedSinceCatchUp = 0;
  async function handleLog(tx: Sql, rows: MessageLogRow[]): Promise<void> {
    const now = Date.now();
    const replies = rows.filter((m) => isReply(m) && now - Date.parse(m.createdAt) < STALE_AFTER_MS);
    if (replies.length === 0) return;
    const { jobs: queue, online } = started();
    const ids = [...new Set(replies.map((m) => m.conversationId))];
    // Web-widget conversations of visitors who left an email (contact info, see widget.service.ts).
    const convs = await tx.query(
      `SELECT c.id, c.workspace_id, c.contact_id FROM conversations c
       JOIN inboxes i ON i.id = c.inbox_id AND i.workspace_id = c.workspace_id
       JOIN contacts ct ON ct.id = c.contact_id AND ct.workspace_id = c.workspace_id
       WHERE c.id = ANY($1::uuid[]) AND i.channel_type = 'web' AND COALESCE(ct.email, '') <> ''`,
      [ids],
    );
    for (const c of convs) {
      const workspaceId = c.workspace_id as string;
      const conversationId = c.id as string;
      if (await online(c.contact_id as string)) continue;
      for (const m of replies.filter((r) => r.conversationId === conversationId)) {
        await tx.query(
          `INSERT INTO offline_reply_pending (message_id, workspace_id, conversation_id, seq) VALUES ($1, $2, $3, $4) ON CONFLICT (message_id) DO NOTHING`,
          [m.id, workspaceId, conversationId, m.seq],
        );
      }
      // A job still waiting collects these replies too; one already running (sending) does not, so a
      // new one is queued behind it (same ordering key).
      const key = `offline-replies:${conversationId}`;
      const waiting = await tx.query(`SELECT 1 FROM jobs WHERE queue = $1 AND ordering_key = $2 AND status = 'queued' LIMIT 1`, [OFFLINE_REPLIES_QUEUE, key]);
      if (waiting.length === 0) {
        await queue.enqueue<OfflineRepliesJob>(tx, {
          queue: OFFLINE_REPLIES_QUEUE,
          payload: { workspaceId, conversationId },
          workspaceId,
          orderingKey: key,
          runAt: new Date(Date.now() + options.delayMs),
          maxAttempts: MAX_ATTEMPTS,
        });
        enqueuedSinceCatchUp++;
      }
    }
  }

  // Replies are read soon after they are stored (the gap decides "was the visitor connected"), but once
  // per burst rather than once per stored batch.
  const logBurst = createBurstCatchUp({
    consumer: () => consumer,
    isActive: () => !stopped,
    afterCatchUp: () => {
      if (enqueuedSinceCatchUp > 0) jobs?.notify();
      enqueuedSinceCatchUp = 0;
    },
    onError: (err) => log.warn({ err }, 'offline replies: log consumer failed; the poll retries'),
  });

  // ---------------------------------------------------------------------------------------------
  // 2. The job: one email with every reply the visitor has not seen

  async function deliver(job: Job<OfflineRepliesJob>, ctx: JobContext): Promise<void> {
    const { workspaceId, conversationId } = job.payload;
    const { online } = started();

    // An earlier attempt of this very job reached the SMTP call and then lost track (crash, lost lease):
    // the email may be out. Never send it again.
    const earlier = await one(db, `SELECT id FROM email_notifications WHERE job_id = $1 AND workspace_id = $2 AND status = 'sending'`, [job.id, workspaceId]);
    if (earlier) {
      await ctx.fence(async (tx) => {
        await tx.query(`UPDATE email_notifications SET status = 'unknown', error = 'interrupted during the SMTP call; not resent to avoid a duplicate' WHERE id = $1`, [earlier.id]);
        await tx.query(`DELETE FROM offline_reply_pending WHERE notification_id = $1 AND workspace_id = $2`, [earlier.id, workspaceId]);
      }, { complete: true });
      log.warn({ jobId: job.id, workspaceId, conversationId, notificationId: earlier.id }, 'offline reply email: an earlier attempt was interrupted while sending; not resending');
      return;
    }

    const conv = await one(db, `SELECT contact_id FROM conversations WHERE id = $1 AND workspace_id = $2`, [conversationId, workspaceId]);
    if (!conv) return;
    // Outside the transaction: on PGlite nothing else may wait on the one connection meanwhile.
    const connected = await online(conv.contact_id as string);

    const prepared = await ctx.fence(async (tx) => {
      const c = await one(
        tx,
        `SELECT c.display_id, c.contact_read_seq, ct.email, ct.name AS contact_name, ct.attributes, i.name AS inbox_name, i.widget, w.settings,
           (SELECT max(seq) FROM messages WHERE conversation_id = c.id AND direction = 'incoming') AS last_incoming_seq
         FROM conversations c
         JOIN contacts ct ON ct.id = c.contact_id AND ct.workspace_id = c.workspace_id
         JOIN inboxes i ON i.id = c.inbox_id AND i.workspace_id = c.workspace_id
         JOIN workspaces w ON w.id = c.workspace_id
         WHERE c.id = $1 AND c.workspace_id = $2`,
        [conversationId, workspaceId],
      );
      const rows = await tx.query(
        `SELECT p.message_id, p.seq, m.text, m.content, u.name AS sender_name
         FROM offline_reply_pending p
         JOIN messages m ON m.id = p.message_id
         LEFT JOIN users u ON u.id = m.sender_id AND u.workspace_id = m.workspace_id
         WHERE p.conversation_id = $1 AND p.workspace_id = $2 AND p.notification_id IS NULL
         ORDER BY p.seq`,
        [conversationId, workspaceId],
      );
      if (!c || rows.length === 0) return null;
      const pending: PendingReply[] = rows.map((r) => ({
        messageId: r.message_id as string,
        seq: Number(r.seq),
        senderName: (r.sender_name as string | null) ?? null,
        text: (r.text as string) ?? '',
        content: (r.content as Record<string, unknown>) ?? {},
      }));
      // Seen already: read in the widget, or the visitor wrote again after it.
      const seenUpTo = Math.max(Number(c.contact_read_seq ?? 0), Number(c.last_incoming_seq ?? 0));
      const unseen = pending.filter((p) => p.seq > seenUpTo);
      const email = (c.email as string | null) ?? '';
      if (connected || !email || unseen.length === 0) {
        // Connected now: the widget shows them (it resyncs from its last seq on reconnect).
        await tx.query(`DELETE FROM offline_reply_pending WHERE message_id = ANY($1::uuid[]) AND workspace_id = $2`, [pending.map((p) => p.messageId), workspaceId]);
        return null;
      }
      const locale = pickLocale(c.widget as Row | null, c.attributes as Row | null, c.settings as Row | null);
      const inboxName = c.inbox_name as string;
      const { subject, text } = composeOfflineRepliesEmail({ locale, inboxName, contactName: (c.contact_name as string | null) ?? null, displayId: Number(c.display_id), replies: unseen });
      const n = await one(
        tx,
        `INSERT INTO email_notifications (workspace_id, conversation_id, contact_id, job_id, to_address, subject, body, message_ids, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::uuid[], 'sending') RETURNING id`,
        [workspaceId, conversationId, conv.contact_id, job.id, email, subject, text, unseen.map((p) => p.messageId)],
      );
      const notificationId = n!.id as string;
      const seen = pending.filter((p) => p.seq <= seenUpTo).map((p) => p.messageId);
      if (seen.length) await tx.query(`DELETE FROM offline_reply_pending WHERE message_id = ANY($1::uuid[]) AND workspace_id = $2`, [seen, workspaceId]);
      await tx.query(`UPDATE offline_reply_pending SET notification_id = $1 WHERE message_id = ANY($2::uuid[]) AND workspace_id = $3`, [notificationId, unseen.map((p) => p.messageId), workspaceId]);
      return { notificationId, email, subject, text, inboxName, replies: unseen.length };
    });
    if (!prepared) return;

    let response: string;
    try {
      const sent = await mailer.send({
        from: { name: from.name ?? oneLine(prepared.inboxName), address: from.address },
        to: prepared.email,
        subject: prepared.subject,
        text: prepared.text,
        messageId: `${prepared.notificationId}@${fromDomain}`,
        // RFC 3834: an automatic message, so auto-responders (vacation replies) stay quiet.
        headers: { 'Auto-Submitted': 'auto-generated', 'X-Auto-Response-Suppress': 'All' },
      });
      response = sent.response;
    } catch (err) {
      const permanent = isPermanentMailError(err);
      const message = err instanceof Error ? err.message.slice(0, 1000) : 'send failed';
      await ctx.fence(async (tx) => {
        await tx.query(`UPDATE email_notifications SET status = 'failed', error = $2 WHERE id = $1 AND workspace_id = $3`, [prepared.notificationId, message, workspaceId]);
        // Temporary: the replies go back to pending for the retry (or for the next reply's email).
        if (permanent) await tx.query(`DELETE FROM offline_reply_pending WHERE notification_id = $1 AND workspace_id = $2`, [prepared.notificationId, workspaceId]);
        else await tx.query(`UPDATE offline_reply_pending SET notification_id = NULL WHERE notification_id = $1 AND workspace_id = $2`, [prepared.notificationId, workspaceId]);
      }, permanent ? { complete: true } : {});
      if (permanent) {
        log.warn({ workspaceId, conversationId, notificationId: prepared.notificationId, error: message }, 'offline reply email refused by the SMTP server; not retried');
        return;
      }
      throw err;
    }
    await ctx.fence(async (tx) => {
      await tx.query(`UPDATE email_notifications SET status = 'sent', sent_at = now(), smtp_response = $2 WHERE id = $1 AND workspace_id = $3`, [prepared.notificationId, response.slice(0, 500), workspaceId]);
      await tx.query(`DELETE FROM offline_reply_pending WHERE notification_id = $1 AND workspace_id = $2`, [prepared.notificationId, workspaceId]);
    }, { complete: true });
    log.info({ workspaceId, conversationId, notificationId: prepared.notificationId, replies: prepared.replies }, 'offline reply email sent');
  }

  return {
    options,
    endpoint: mailer.endpoint,

    /**
     * Registers the job handler and starts the log consumer (app.ts, once the realtime gateway exists:
     * it answers `isContactOnline`).
     */
    async start(input: { jobs: JobQueue; /** Read the message log here (worker nodes; default true). */ consume?: boolean; isContactOnline: ContactOnlineCheck; consumerPollMs?: number }): Promise<void> {
      jobs = input.jobs;
      isContactOnline = input.isContactOnline;
      stopped = false;
      jobs.register<OfflineRepliesJob>(OFFLINE_REPLIES_QUEUE, deliver, { concurrency: db.kind === 'postgres' ? 2 : 1 });
      // The first time email is turned on, the consumer starts at the present: replies from before were
      // never meant to be mailed. (Not in the migration: a seeded row would make a fresh database look
      // non-empty to migrate-to-postgres.) Later restarts keep the stored position.
      await createCursorAtPresent(db, CONSUMER_NAME);
      consumer = createLogConsumer({ db, name: CONSUMER_NAME, logger: log, pollMs: input.consumerPollMs ?? 2_000, handle: handleLog });
      if (input.consume !== false) consumer.start();
      const offs = [
        events.on('message.created', ({ message }) => {
          if (isReply(message)) logBurst.trigger();
        }),
        events.on('message.log_wake', () => logBurst.trigger()),
      ];
      off = () => offs.forEach((o) => o());
      // A wrong host or password shows at start-up, not at the first visitor who needed an email.
      mailer.verify().then(
        () => log.info({ smtp: mailer.endpoint }, 'offline email replies: SMTP server reachable'),
        (err: unknown) => log.warn({ smtp: mailer.endpoint, error: err instanceof Error ? err.message : String(err) }, 'offline email replies: the SMTP server did not accept a test connection; emails will be retried'),
      );
    },

    async stop(): Promise<void> {
      stopped = true;
      off?.();
      off = undefined;
      logBurst.cancel();
      await consumer?.stop();
    },

    /** Closes the SMTP connection (after the job queue stopped). */
    close(): void {
      mailer.close();
    },
  };
}
export type OfflineReplies = ReturnType<typeof createOfflineReplies>;
