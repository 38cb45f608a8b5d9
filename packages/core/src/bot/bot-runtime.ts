import type { BotReply } from '@huiliu/contracts';
import type { Database, Sql } from '../db/database.ts';
import { one } from '../db/database.ts';
import type { DomainEvents } from '../shared/events.ts';
import type { Logger } from '../shared/logger.ts';
import type { JobQueue } from '../jobs/job-queue.ts';
import { createBurstCatchUp, createCursorAtPresent, createLogConsumer, type LogConsumer, type MessageLogRow } from '../jobs/log-consumer.ts';
import type { AppendInput, AppendResult, MessagePipeline } from '../messages/pipeline.ts';
import { enqueueHandoff } from '../routing/routing.service.ts';
import { EMPTY_BOT_STATE, runBrain, type BotState, type BrainOutcome } from './bot-brain.ts';
import type { BotEngine } from './bot-engine.ts';

/**
 * The bot in live conversations. A message-log consumer (like routing's) turns each customer message in a
 * conversation that is with the bot into a durable job `bot.turn`, ordered per conversation. The job thinks
 * outside any transaction (a flow may call an HTTP API, the LLM may take seconds: PGlite's only connection
 * must not wait on them), then writes the replies, the new state, the turn row and — when a human should
 * take over — `bot_status = 'handed_off'` plus the routing job, all in the job's completing transaction:
 * a crash before it re-runs the turn, a crash after it never repeats it (bot_turns.message_id is unique).
 */

const CONSUMER_NAME = 'bot';
const TURN_MAX_ATTEMPTS = 5;
const GIVE_UP_MESSAGE = '抱歉，系统出了点问题，正在为您转接人工客服。';
export const BOT_TURN_QUEUE = 'bot.turn';

interface TurnJob {
  workspaceId: string;
  conversationId: string;
  messageId: string;
}

export function createBotRuntime(deps: { db: Database; events: DomainEvents; logger: Logger; pipeline: MessagePipeline; engine: BotEngine }) {
  const { db, events, pipeline, engine } = deps;
  const log = deps.logger.child({ component: 'bot' });
  let jobs: JobQueue | undefined;
  let consumer: LogConsumer | undefined;
  let stopped = false;
  const unsubscribe: Array<() => void> = [];

  async function handleLog(tx: Sql, rows: MessageLogRow[]): Promise<void> {
    const incoming = rows.filter((m) => m.direction === 'incoming' && !m.private);
    if (incoming.length === 0) return;
    const ids = [...new Set(incoming.map((m) => m.conversationId))];
    const withBot = new Set(
      (await tx.query(`SELECT id FROM conversations WHERE id = ANY($1::uuid[]) AND bot_status = 'bot' AND assignee_id IS NULL`, [ids])).map((r) => r.id as string),
    );
    for (const m of incoming) {
      if (!withBot.has(m.conversationId)) continue;
      const payload: TurnJob = { workspaceId: m.workspaceId, conversationId: m.conversationId, messageId: m.id };
      await jobs!.enqueue(tx, { queue: BOT_TURN_QUEUE, payload, workspaceId: m.workspaceId, orderingKey: `bot:${m.conversationId}`, maxAttempts: TURN_MAX_ATTEMPTS });
    }
  }

  async function runTurn(job: TurnJob, fence: <T>(fn: (tx: Sql) => Promise<T>, opts?: { complete?: boolean }) => Promise<T>): Promise<void> {
    const conv = await one(
      db,
      `SELECT c.id, c.bot_status, c.assignee_id, c.inbox_id, i.channel_type, i.bot_enabled, ct.name AS contact_name, ct.tags AS contact_tags,
              m.text, m.content_type, bc.state, bc.turns
         FROM conversations c JOIN inboxes i ON i.id = c.inbox_id JOIN contacts ct ON ct.id = c.contact_id
         JOIN messages m ON m.id = $3 AND m.conversation_id = c.id
         LEFT JOIN bot_conversations bc ON bc.conversation_id = c.id
        WHERE c.id = $1 AND c.workspace_id = $2`,
      [job.conversationId, job.workspaceId, job.messageId],
    );
    if (!conv || conv.bot_status !== 'bot' || conv.assignee_id) return;
    const state = { ...EMPTY_BOT_STATE, ...((conv.state as Partial<BotState> | null) ?? {}) };
    const turnsBefore = Number(conv.turns ?? 0);
    const settings = await engine.settings(job.workspaceId);
    const tags = (conv.contact_tags as string[]) ?? [];

    let outcome: BrainOutcome;
    const vip = tags.find((t) => settings.vipTags.some((v) => v.toLowerCase() === t.toLowerCase()));
    if (!conv.bot_enabled) {
      // The bot was switched off for this inbox while the conversation was with it: people take over.
      outcome = engine.forcedHandoff(state, 'business_rule', 'the bot is off for this inbox', []);
    } else if (vip) {
      outcome = engine.forcedHandoff(state, 'business_rule', `VIP contact (tag ${vip})`, [{ text: settings.handoffMessage, quickReplies: [], card: null, source: null }]);
    } else {
      const text = String(conv.text ?? ''); // '' for an attachment without a caption
      try {
        outcome = await runBrain(await engine.brainInput(job.workspaceId, { text, state, settings, contactName: conv.contact_name as string | null }), engine.ports);
      } catch (err) {
        // Never a stuck conversation: whatever broke, apologize and hand over.
        log.error({ err, conversationId: job.conversationId }, 'bot turn failed; handing over');
        outcome = engine.forcedHandoff(state, 'bot_failure', 'the bot failed on this message', [{ text: GIVE_UP_MESSAGE, quickReplies: [], card: null, source: null }]);
      }
    }

    const published = await fence(async (tx) => {
      const fresh = await one(tx, `SELECT bot_status, assignee_id FROM conversations WHERE id = $1 FOR UPDATE`, [job.conversationId]);
      if (!fresh || fresh.bot_status !== 'bot' || fresh.assignee_id) return [];
      const inserted = await tx.query(
        `INSERT INTO bot_turns (workspace_id, conversation_id, message_id, text, intent, confidence, sentiment, action)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (message_id) DO NOTHING RETURNING id`,
        [job.workspaceId, job.conversationId, job.messageId, String(conv.text ?? '').slice(0, 2000), outcome.trace.intent, outcome.trace.confidence, outcome.trace.sentiment, outcome.action],
      );
      if (inserted.length === 0) return []; // this turn already ran (the job is a retry after its commit)
      await tx.query(
        `INSERT INTO bot_conversations (conversation_id, workspace_id, state, turns, handoff_reason, summary, handed_off_at)
         VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $5::text IS NULL THEN NULL ELSE now() END)
         ON CONFLICT (conversation_id) DO UPDATE SET state = EXCLUDED.state, turns = EXCLUDED.turns,
           handoff_reason = COALESCE(EXCLUDED.handoff_reason, bot_conversations.handoff_reason),
           summary = COALESCE(EXCLUDED.summary, bot_conversations.summary),
           handed_off_at = COALESCE(EXCLUDED.handed_off_at, bot_conversations.handed_off_at), updated_at = now()`,
        [job.conversationId, job.workspaceId, JSON.stringify(outcome.state), turnsBefore + 1, outcome.handoff?.reason ?? null, outcome.handoff?.summary ?? null],
      );
      const results: AppendResult[] = [];
      const channel = conv.channel_type !== 'web';
      for (const r of outcome.replies) results.push(await pipeline.appendInTx(tx, botMessage(job, r, channel)));
      if (outcome.handoff) {
        results.push(
          await pipeline.appendInTx(tx, {
            workspaceId: job.workspaceId, conversationId: job.conversationId, scope: {}, direction: 'outgoing', private: true,
            senderType: 'bot', senderId: null, contentType: 'text', text: `[${settings.name} → 人工 / handoff]\n${outcome.handoff.summary}`,
          }),
        );
        await tx.query(`UPDATE conversations SET bot_status = 'handed_off', updated_at = now() WHERE id = $1`, [job.conversationId]);
        await enqueueHandoff(jobs!, tx, { workspaceId: job.workspaceId, conversationId: job.conversationId, reason: outcome.handoff.reason, teamId: outcome.handoff.teamId ?? null });
      }
      return results;
    }, { complete: true });
    for (const r of published) pipeline.publish(r);
    if (outcome.handoff && published.length > 0) {
      jobs!.notify();
      log.info({ conversationId: job.conversationId, reason: outcome.handoff.reason }, 'bot handed the conversation to a human');
    }
  }

  /** Minimal handoff when a turn cannot be written: an apology, bot_status 'handed_off' and the routing job. */
  async function giveUp(job: TurnJob, fence: <T>(fn: (tx: Sql) => Promise<T>, opts?: { complete?: boolean }) => Promise<T>): Promise<void> {
    const published = await fence(async (tx) => {
      const fresh = await one(
        tx,
        `SELECT c.bot_status, c.assignee_id, i.channel_type FROM conversations c JOIN inboxes i ON i.id = c.inbox_id WHERE c.id = $1 AND c.workspace_id = $2 FOR UPDATE OF c`,
        [job.conversationId, job.workspaceId],
      );
      if (!fresh || fresh.bot_status !== 'bot' || fresh.assignee_id) return [];
      await tx.query(
        `INSERT INTO bot_turns (workspace_id, conversation_id, message_id, text, action) VALUES ($1, $2, $3, '', 'handoff') ON CONFLICT (message_id) DO NOTHING`,
        [job.workspaceId, job.conversationId, job.messageId],
      );
      await tx.query(
        `INSERT INTO bot_conversations (conversation_id, workspace_id, handoff_reason, summary, handed_off_at) VALUES ($1, $2, 'bot_failure', $3, now())
         ON CONFLICT (conversation_id) DO UPDATE SET handoff_reason = 'bot_failure', summary = EXCLUDED.summary, handed_off_at = now(), updated_at = now()`,
        [job.conversationId, job.workspaceId, '转人工原因 / Reason: bot_failure (the bot could not process a message)'],
      );
      const apology = await pipeline.appendInTx(tx, botMessage(job, { text: GIVE_UP_MESSAGE, quickReplies: [], card: null, source: null }, fresh.channel_type !== 'web'));
      await tx.query(`UPDATE conversations SET bot_status = 'handed_off', updated_at = now() WHERE id = $1`, [job.conversationId]);
      await enqueueHandoff(jobs!, tx, { workspaceId: job.workspaceId, conversationId: job.conversationId, reason: 'bot_failure' });
      return [apology];
    }, { complete: true });
    for (const r of published) pipeline.publish(r);
    jobs!.notify();
  }

  const burst = createBurstCatchUp({
    consumer: () => consumer,
    isActive: () => !stopped,
    afterCatchUp: () => jobs?.notify(),
    onError: (err) => log.warn({ err }, 'bot log consumer failed; the poll retries'),
  });

  return {
    async start(input: { jobs: JobQueue; consume?: boolean }): Promise<void> {
      jobs = input.jobs;
      jobs.register<TurnJob>(
        BOT_TURN_QUEUE,
        async (job, ctx) => {
          try {
            await runTurn(job.payload, ctx.fence);
          } catch (err) {
            if (job.attempts < TURN_MAX_ATTEMPTS) throw err; // retried with backoff
            // The last attempt failed too (the database refused what the turn wrote, a store outage…): hand the
            // conversation to people rather than leave the customer with a bot that never answers.
            log.error({ err, conversationId: job.payload.conversationId }, 'bot turn failed on every attempt; handing over');
            await giveUp(job.payload, ctx.fence);
          }
        },
        { concurrency: 4, dropPayloadWhenDone: true },
      );
      // Past messages are not the bot's to answer: start reading at the present the first time.
      await createCursorAtPresent(db, CONSUMER_NAME);
      consumer = createLogConsumer({ db, name: CONSUMER_NAME, logger: log, pollMs: 2_000, handle: handleLog });
      if (input.consume !== false) consumer.start();
      unsubscribe.push(
        events.on('message.created', ({ message, conversation }) => {
          if (message.direction === 'incoming' && conversation.botStatus === 'bot') burst.trigger();
        }),
        events.on('message.log_wake', () => burst.trigger()),
        events.on('conversation.bot_resumed', ({ workspaceId, conversationId }) => {
          // Back from the queue: a fresh start for the low-confidence count (the customer already waited).
          db.query(`UPDATE bot_conversations SET state = jsonb_set(state, '{lowConfidenceStreak}', '0'), updated_at = now() WHERE conversation_id = $1 AND workspace_id = $2`, [conversationId, workspaceId]).catch(
            (err: unknown) => log.warn({ err, conversationId }, 'bot: resume bookkeeping failed'),
          );
        }),
      );
    },
    async stop(): Promise<void> {
      stopped = true;
      burst.cancel();
      unsubscribe.splice(0).forEach((u) => u());
      await consumer?.stop();
    },
    /** Reads the log until caught up (tests). */
    catchUp: async (): Promise<number> => (consumer ? consumer.catchUp() : 0),
  };
}
export type BotRuntime = ReturnType<typeof createBotRuntime>;

function botMessage(job: TurnJob, r: BotReply, channel: boolean): AppendInput {
  // Quick replies travel as text too, so every channel (and the widget) shows the choices.
  const text = r.quickReplies.length > 0 ? `${r.text}\n\n${r.quickReplies.map((q) => `【${q}】`).join(' ')}` : r.text;
  // Kept with the message (messages.content) for clients that render them: the choices, the flow's card, the cited article.
  const extraContent = { ...(r.quickReplies.length ? { quickReplies: r.quickReplies } : {}), ...(r.card ? { botCard: r.card } : {}), ...(r.source ? { source: r.source } : {}) };
  return {
    workspaceId: job.workspaceId, conversationId: job.conversationId, scope: {}, direction: 'outgoing', private: false,
    senderType: 'bot', senderId: null, contentType: 'text', text,
    ...(Object.keys(extraContent).length > 0 ? { extraContent } : {}),
    ...(channel ? { deliveryStatus: 'pending' as const } : {}),
  };
}
