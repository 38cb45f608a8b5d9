import { randomUUID } from 'node:crypto';
import type { BotAnalytics, BotConversationState, ReplySuggestion, SimulateResult } from '@huiliu/contracts';
import type { Database } from '../db/database.ts';
import { one } from '../db/database.ts';
import type { Actor } from '../auth/actor.ts';
import { can, requirePermission } from '../auth/actor.ts';
import { maskPii } from './llm/pii-mask.ts';
import type { DomainEvents } from '../shared/events.ts';
import type { Logger } from '../shared/logger.ts';
import { notFound } from '../shared/errors.ts';
import type { MessagePipeline } from '../messages/pipeline.ts';
import type { SafeRequestInit, SafeResponse } from '../net/safe-http.ts';
import type { Vault } from '../vault/vault.ts';
import { createBotSettingsStore } from './bot-settings.ts';
import { createBotTraining } from './bot-training.ts';
import { createBotEngine, type FlowSource } from './bot-engine.ts';
import { createBotRuntime } from './bot-runtime.ts';
import { EMPTY_BOT_STATE, runBrain, type BotFlowRef, type BotState, type BrainPorts, type TranscriptLine } from './bot-brain.ts';
import { conversationSentiment } from './nlu/sentiment.ts';

/**
 * The AI bot (issue 7), composed: settings, the training loop, the runtime in live conversations, the
 * console's simulator, what agents see (state, suggestions) and analytics. Transport handlers call these.
 */

/** Simulator sessions live on the node that started them, for half an hour of inactivity. */
const SIMULATION_TTL_MS = 30 * 60_000;
const MAX_SIMULATIONS = 5_000;
const MAX_SIMULATIONS_PER_WORKSPACE = 50;

export interface BotDeps {
  db: Database;
  events: DomainEvents;
  logger: Logger;
  pipeline: MessagePipeline;
  vault: Vault;
  fetch: (workspaceId: string, url: string, init?: SafeRequestInit) => Promise<SafeResponse>;
  flows: FlowSource & { draftFlow(workspaceId: string, id: string): Promise<BotFlowRef | null> };
  ports: BrainPorts;
  /** The LLM's reply suggestions for agents (null when not configured). */
  suggestReplies?: (workspaceId: string, transcript: TranscriptLine[], passages: Array<{ id: string; title: string; text: string }>) => Promise<string[] | null>;
  /** Authorization of conversation reads (throws not_found / forbidden). */
  canReadConversation(actor: Actor, conversationId: string): Promise<void>;
  canned(actor: Actor): Promise<Array<{ shortCode: string; content: string }>>;
}

export function createBotService(deps: BotDeps) {
  const { db } = deps;
  const training = createBotTraining({ db, logger: deps.logger });
  const engine = createBotEngine({ db, training, flows: deps.flows, ports: deps.ports, vault: deps.vault, fetch: deps.fetch });
  const settings = createBotSettingsStore({ db, onChange: (ws) => engine.forget(ws) });
  const runtime = createBotRuntime({ db, events: deps.events, logger: deps.logger, pipeline: deps.pipeline, engine });
  const simulations = new Map<string, { workspaceId: string; state: BotState; at: number }>();

  return {
    settings,
    training,
    runtime,
    engine,

    /** Chat with the bot from the console: the published flows, or one flow's draft in their place. */
    async simulate(actor: Actor, body: { text: string; sessionId?: string | undefined; flowId?: string | undefined }): Promise<SimulateResult> {
      requirePermission(actor, 'bot.manage');
      const now = Date.now();
      for (const [id, s] of simulations) if (now - s.at > SIMULATION_TTL_MS) simulations.delete(id);
      const existing = body.sessionId ? simulations.get(body.sessionId) : undefined;
      const sessionId = existing && existing.workspaceId === actor.workspaceId ? body.sessionId! : randomUUID();
      const state = existing && existing.workspaceId === actor.workspaceId ? existing.state : EMPTY_BOT_STATE;
      let flows = await deps.flows.publishedFlows(actor.workspaceId);
      if (body.flowId) {
        const draft = await deps.flows.draftFlow(actor.workspaceId, body.flowId);
        if (!draft) throw notFound('flow');
        flows = [draft, ...flows.filter((f) => f.id !== draft.id)];
      }
      const outcome = await runBrain(await engine.brainInput(actor.workspaceId, { text: body.text, state, flows, contactName: actor.kind === 'user' ? actor.name : null }), deps.ports);
      if (outcome.handoff) simulations.delete(sessionId);
      else {
        // Bounded per workspace (one workspace cannot evict another's sessions) and overall.
        const mine = [...simulations].filter(([, v]) => v.workspaceId === actor.workspaceId);
        if (mine.length >= MAX_SIMULATIONS_PER_WORKSPACE) simulations.delete(mine[0]![0]);
        if (simulations.size >= MAX_SIMULATIONS) simulations.delete(simulations.keys().next().value!);
        simulations.set(sessionId, { workspaceId: actor.workspaceId, state: outcome.state, at: now });
      }
      return {
        sessionId,
        replies: outcome.replies,
        trace: outcome.trace,
        handoff: outcome.handoff ? { reason: outcome.handoff.reason, summary: outcome.handoff.summary } : null,
        ended: outcome.ended,
      };
    },

    /** What the bot knows about a conversation, for the agent who takes it over. */
    async conversationState(actor: Actor, conversationId: string): Promise<BotConversationState> {
      await deps.canReadConversation(actor, conversationId);
      const row = await one(
        db,
        `SELECT c.bot_status, bc.state, bc.handoff_reason, bc.summary FROM conversations c
           LEFT JOIN bot_conversations bc ON bc.conversation_id = c.id
          WHERE c.id = $1 AND c.workspace_id = $2`,
        [conversationId, actor.workspaceId],
      );
      if (!row) throw notFound('conversation');
      const state = { ...EMPTY_BOT_STATE, ...((row.state as Partial<BotState> | null) ?? {}) };
      const sentiment = state.sentiments.length > 0 ? conversationSentiment(state.sentiments) : null;
      // Slots hold what the customer typed (phone, ID number…): masked like contact fields for viewers without contact.pii.
      const shown = can(actor, 'contact.pii') ? (v: string) => v : (v: string) => maskPii(v).text;
      const slots = Object.fromEntries(Object.entries(state.slots).filter(([k]) => k !== 'contact').map(([k, v]) => [k, typeof v === 'string' ? shown(v) : v]));
      return {
        status: row.bot_status === 'bot' ? 'bot' : row.bot_status === 'handed_off' ? 'handed_off' : 'none',
        intent: state.lastIntent,
        confidence: state.lastConfidence,
        slots,
        sentiment: sentiment ? { score: Math.round(sentiment.score * 100) / 100, trend: sentiment.trend } : null,
        handoffReason: (row.handoff_reason as string | null) ?? null,
        summary: row.summary ? shown(row.summary as string) : null,
        flowId: state.flow?.flowId ?? null,
        flowStep: state.flow?.stepId ?? null,
      };
    },

    /** Agent assist: knowledge-base answers, matching canned responses and (when configured) LLM drafts for the last customer message. */
    async suggestions(actor: Actor, conversationId: string): Promise<ReplySuggestion[]> {
      await deps.canReadConversation(actor, conversationId);
      const recent = await db.query(
        `SELECT direction, sender_type, text FROM messages WHERE conversation_id = $1 AND workspace_id = $2 AND NOT private AND direction <> 'activity'
          ORDER BY seq DESC LIMIT 10`,
        [conversationId, actor.workspaceId],
      );
      const lastCustomer = recent.find((m) => m.direction === 'incoming' && String(m.text).trim());
      if (!lastCustomer) return [];
      const question = String(lastCustomer.text);
      const knowledge = await deps.ports.knowledge.searchFor(actor.workspaceId, question, 3);
      const out: ReplySuggestion[] = knowledge
        .filter((k) => k.confidence > 0.2)
        .map((k) => ({ kind: 'knowledge', title: k.entry.title, text: k.entry.kind === 'faq' ? k.entry.body : k.snippet, score: round(k.confidence), entryId: k.entry.id }));
      const wanted = bigrams(question);
      const canned = (await deps.canned(actor))
        .map((c) => ({ c, score: overlap(wanted, bigrams(c.content + ' ' + c.shortCode)) }))
        .filter((x) => x.score >= 0.15)
        .sort((a, b) => b.score - a.score)
        .slice(0, 2);
      for (const { c, score } of canned) out.push({ kind: 'canned', title: `/${c.shortCode}`, text: c.content, score: round(score), entryId: null });
      if (deps.suggestReplies) {
        const transcript: TranscriptLine[] = recent.reverse().map((m) => ({ from: m.direction === 'incoming' ? 'customer' : m.sender_type === 'bot' ? 'bot' : 'agent', text: String(m.text) }));
        const drafts = await deps.suggestReplies(actor.workspaceId, transcript, knowledge.map((k) => ({ id: k.entry.id, title: k.entry.title, text: k.snippet })));
        for (const d of drafts ?? []) out.push({ kind: 'llm', title: 'AI', text: d, score: 0, entryId: null });
      }
      return out;
    },

    /** Customer messages the bot did not understand, newest first (the training loop). */
    async misrecognized(actor: Actor) {
      requirePermission(actor, 'bot.manage');
      const rows = await db.query(
        `SELECT id, conversation_id, text, intent, confidence, created_at FROM bot_turns
          WHERE workspace_id = $1 AND NOT reviewed AND action IN ('fallback', 'low_confidence') AND text <> ''
          ORDER BY created_at DESC LIMIT 200`,
        [actor.workspaceId],
      );
      return rows.map((r) => ({
        id: r.id as string, conversationId: r.conversation_id as string, text: r.text as string,
        predictedIntent: (r.intent as string | null) ?? null, confidence: round(Number(r.confidence)), createdAt: new Date(r.created_at as string).toISOString(),
      }));
    },

    async resolveMisrecognized(actor: Actor, id: string, intent: string | null): Promise<void> {
      requirePermission(actor, 'bot.manage');
      const row = await one(db, `UPDATE bot_turns SET reviewed = true WHERE id = $1 AND workspace_id = $2 RETURNING text`, [id, actor.workspaceId]);
      if (!row) throw notFound('misrecognized message');
      // A name that is not an intent yet starts one with this message as its first example.
      if (intent && !(await training.addExample(actor.workspaceId, intent, row.text as string))) {
        await training.createIntent(actor, { name: intent, description: '', examples: [row.text as string] });
      }
    },

    /** Containment: conversations the bot answered first that no human had to take. */
    async analytics(actor: Actor, days: number): Promise<BotAnalytics> {
      requirePermission(actor, 'bot.manage');
      const since = new Date(Date.now() - days * 86_400_000).toISOString();
      const totals = await one(
        db,
        `SELECT count(*)::int AS conversations,
                count(*) FILTER (WHERE bc.handed_off_at IS NULL AND c.assignee_id IS NULL AND c.bot_status = 'bot')::int AS contained,
                count(*) FILTER (WHERE bc.handed_off_at IS NOT NULL)::int AS handed_off
           FROM bot_conversations bc JOIN conversations c ON c.id = bc.conversation_id
          WHERE bc.workspace_id = $1 AND bc.created_at >= $2`,
        [actor.workspaceId, since],
      );
      const reasons = await db.query(
        `SELECT handoff_reason AS reason, count(*)::int AS count FROM bot_conversations
          WHERE workspace_id = $1 AND created_at >= $2 AND handoff_reason IS NOT NULL GROUP BY 1 ORDER BY 2 DESC`,
        [actor.workspaceId, since],
      );
      const intents = await db.query(
        `SELECT intent, count(*)::int AS count FROM bot_turns WHERE workspace_id = $1 AND created_at >= $2 AND intent IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 10`,
        [actor.workspaceId, since],
      );
      const actions = await one(
        db,
        `SELECT count(*) FILTER (WHERE action IN ('knowledge', 'llm_answer'))::int AS knowledge, count(*) FILTER (WHERE action IN ('fallback', 'low_confidence'))::int AS fallbacks
           FROM bot_turns WHERE workspace_id = $1 AND created_at >= $2`,
        [actor.workspaceId, since],
      );
      const conversations = Number(totals?.conversations ?? 0);
      const contained = Number(totals?.contained ?? 0);
      return {
        conversations,
        contained,
        handedOff: Number(totals?.handed_off ?? 0),
        containmentRate: conversations > 0 ? round(contained / conversations) : null,
        handoffReasons: reasons.map((r) => ({ reason: r.reason as string, count: Number(r.count) })),
        topIntents: intents.map((r) => ({ intent: r.intent as string, count: Number(r.count) })),
        knowledgeAnswers: Number(actions?.knowledge ?? 0),
        fallbacks: Number(actions?.fallbacks ?? 0),
      };
    },
  };
}
export type BotService = ReturnType<typeof createBotService>;

function bigrams(text: string): Set<string> {
  const s = text.toLowerCase().replace(/[\s\p{P}\p{S}]+/gu, '');
  const out = new Set<string>();
  for (let i = 0; i + 1 < s.length; i++) out.add(s.slice(i, i + 2));
  return out;
}

/** Share of the question's character bigrams found in the candidate (how much of what was asked it covers). */
function overlap(question: Set<string>, candidate: Set<string>): number {
  if (question.size === 0) return 0;
  let hit = 0;
  for (const b of question) if (candidate.has(b)) hit++;
  return hit / question.size;
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
