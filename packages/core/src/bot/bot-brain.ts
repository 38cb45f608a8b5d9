import { BotHandoffReason as BotHandoffReasonSchema, type BotHandoffReason, type BotReply, type BotSettings, type BotTurnTrace, type FlowDocument, type KbEntry } from '@huiliu/contracts';
import type { IntentModel, IntentPrediction } from './nlu/intent-model.ts';
import type { ExtractedEntity } from './nlu/entities.ts';
import { conversationSentiment } from './nlu/sentiment.ts';
import { continueFlow, startFlow, type FlowIO, type FlowState, type FlowTurn } from './dialog/flow-engine.ts';

/**
 * One turn of the bot: what it says to one customer message and whether a human takes over. No database
 * and no transport here (the runtime persists, the simulator keeps state in memory), so the same decisions
 * run in conversations and in the console's simulator.
 *
 * Order of decisions, first match wins:
 *  1. global interrupts: the customer asks for a human ("转人工", "agent") → handoff; "重新开始" / "cancel" end a flow;
 *  2. sentiment at or below the workspace threshold → handoff (the angry customer goes to a person);
 *  3. a flow waiting for an answer continues (unless it timed out);
 *  4. a flow whose trigger phrase matches starts;
 *  5. a flow whose trigger intent was recognized starts, unless the knowledge base is surer of an answer;
 *  6. a knowledge-base answer above the knowledge threshold (grounded by the LLM when configured);
 *  7. the LLM intent fallback (when configured) may still start a flow;
 *  8. a greeting on the first turn, else the fallback message; N fallbacks in a row → handoff.
 */

export interface BotFlowRef {
  id: string;
  name: string;
  version: number;
  document: FlowDocument;
}

export interface KnowledgeAnswer {
  entry: KbEntry;
  snippet: string;
  confidence: number;
}

/** What the brain needs from the knowledge base and the optional LLM (ports, implemented by their services). */
export interface BrainPorts {
  knowledge: {
    /** Best entries for the query, best first, each with a 0…1 confidence. */
    searchFor(workspaceId: string, query: string, limit: number): Promise<KnowledgeAnswer[]>;
  };
  llm: {
    /** Grounded answer from passages; null when the LLM is off or failed, refused when the passages do not answer. */
    answer(workspaceId: string, question: string, passages: Array<{ id: string; title: string; text: string }>): Promise<{ text: string; sourceIds: string[] } | { refused: true } | null>;
    classifyIntent(workspaceId: string, text: string): Promise<string | null>;
    summarize(workspaceId: string, transcript: TranscriptLine[]): Promise<string | null>;
  };
}

export interface TranscriptLine {
  from: 'customer' | 'bot' | 'agent';
  text: string;
}

/** Persisted per conversation (bot_conversations.state) — JSON only. */
export interface BotState {
  flow: FlowState | null;
  lowConfidenceStreak: number;
  sentiments: number[];
  lastIntent: string | null;
  lastConfidence: number | null;
  slots: Record<string, unknown>;
  transcript: TranscriptLine[];
  turns: number;
}

export const EMPTY_BOT_STATE: BotState = { flow: null, lowConfidenceStreak: 0, sentiments: [], lastIntent: null, lastConfidence: null, slots: {}, transcript: [], turns: 0 };

export interface BrainInput {
  workspaceId: string;
  text: string;
  state: BotState;
  settings: BotSettings;
  model: IntentModel | null;
  flows: BotFlowRef[];
  /** An older published version of a flow (a conversation in the middle of it keeps it after a new publish). */
  flowVersion?: (id: string, version: number) => Promise<BotFlowRef | null>;
  extract(text: string): ExtractedEntity[];
  sentiment(text: string): number;
  flowIO: FlowIO;
  /** Variables flows may use: {{contact.name}}… */
  context: Record<string, unknown>;
  now: Date;
}

export interface BrainOutcome {
  state: BotState;
  replies: BotReply[];
  handoff: { reason: BotHandoffReason; detail: string; summary: string; teamId?: string } | null;
  trace: BotTurnTrace;
  /** For analytics and the misrecognized list: flow, knowledge, llm_answer, greeting, fallback, low_confidence, handoff, restart, cancel. */
  action: string;
  ended: boolean;
}

const HUMAN = /(转|找|要|接)\s*(人工|真人|客服)|人工(客服|服务)|真人|^人工$|\b(human|real person|live agent|representative)\b|\btalk to (an? )?(agent|person|someone)\b|^agent$/iu;
const RESTART = /^(重新开始|重来|从头开始|restart|start over)[。.!！]?$/iu;
const CANCEL = /^(取消|算了|不用了|不查了|cancel|stop|never ?mind)[。.!！]?$/iu;
const MAX_TRANSCRIPT = 20;

export function reply(text: string, extra: Partial<BotReply> = {}): BotReply {
  return { text, quickReplies: [], card: null, source: null, ...extra };
}

export async function runBrain(input: BrainInput, ports: BrainPorts): Promise<BrainOutcome> {
  const { settings, workspaceId } = input;
  const text = input.text.trim();
  const state: BotState = structuredClone(input.state);
  state.turns += 1;
  state.transcript = [...state.transcript, { from: 'customer' as const, text }].slice(-MAX_TRANSCRIPT);
  const score = text ? input.sentiment(text) : 0;
  state.sentiments = [...state.sentiments, score].slice(-20);
  const entities = text ? input.extract(text) : [];
  const threshold = settings.intentThreshold ?? input.model?.threshold;
  const prediction: IntentPrediction | null = input.model && text ? input.model.predict(text, threshold === undefined ? {} : { threshold }) : null;
  if (prediction && !prediction.outOfScope) {
    state.lastIntent = prediction.intent;
    state.lastConfidence = prediction.confidence;
  }

  const trace = (action: string): BotTurnTrace => ({
    intent: prediction?.outOfScope === false ? prediction.intent : null,
    confidence: prediction?.confidence ?? 0,
    entities: entities.map((e) => ({ entity: e.entity, value: e.value, text: e.text })),
    sentiment: round(score),
    action,
    flow: state.flow ? { flowId: state.flow.flowId, step: state.flow.stepId, variables: state.flow.variables } : null,
  });
  const done = (action: string, replies: BotReply[], extra: Partial<BrainOutcome> = {}): BrainOutcome => {
    state.transcript = [...state.transcript, ...replies.map((r) => ({ from: 'bot' as const, text: r.text }))].slice(-MAX_TRANSCRIPT);
    return { state, replies, handoff: null, trace: trace(action), action, ended: false, ...extra };
  };
  const handoff = async (reason: BotHandoffReason, detail: string, replies: BotReply[], teamId?: string, flowSummary?: string): Promise<BrainOutcome> => {
    const summary = flowSummary || (await ports.llm.summarize(workspaceId, state.transcript)) || buildSummary(state, reason, detail);
    state.flow = null;
    const outcome = done('handoff', replies);
    outcome.handoff = { reason, detail, summary, ...(teamId ? { teamId } : {}) };
    outcome.ended = true;
    return outcome;
  };

  // 1. Global interrupts.
  if (text && HUMAN.test(text)) return handoff('customer_request', 'the customer asked for a person', [reply(settings.handoffMessage)]);
  if (text && RESTART.test(text)) {
    state.flow = null;
    state.lowConfidenceStreak = 0;
    return done('restart', [reply('好的，我们重新开始。请问有什么可以帮您？')]);
  }
  if (text && CANCEL.test(text) && state.flow) {
    state.flow = null;
    return done('cancel', [reply('已取消。还有什么可以帮您？')]);
  }

  // 2. Sentiment.
  if (settings.negativeSentimentThreshold !== null && text && score <= settings.negativeSentimentThreshold) {
    return handoff('negative_sentiment', `sentiment ${round(score)} ≤ ${settings.negativeSentimentThreshold}`, [reply(settings.handoffMessage)]);
  }

  const fromFlow = async (flow: BotFlowRef, turn: FlowTurn, action: string): Promise<BrainOutcome> => {
    state.flow = turn.state;
    state.slots = { ...state.slots, ...withoutContext(turn.variables) };
    state.lowConfidenceStreak = 0;
    if (turn.handoff) return handoff(flowHandoffReason(turn.handoff.reason), `flow "${flow.name}": ${turn.handoff.reason}`, turn.replies, turn.handoff.teamId, turn.handoff.summary);
    return done(action, turn.replies, { ended: turn.state === null });
  };

  // 3. A flow waiting for the customer's answer.
  if (state.flow) {
    const { flowId, version } = state.flow;
    const flow = input.flows.find((f) => f.id === flowId && f.version === version) ?? (await input.flowVersion?.(flowId, version)) ?? undefined;
    const expired = input.now.getTime() - Date.parse(state.flow.updatedAt) > settings.flowTimeoutMinutes * 60_000;
    if (!flow || expired) state.flow = null;
    else return fromFlow(flow, await continueFlow(flow, state.flow, { text }, input.flowIO), 'flow');
  }

  // 4. A flow's trigger phrase; 5. a flow's intent, unless the knowledge base is surer of an answer (both are
  // calibrated probabilities: a small model may call an off-topic question its nearest intent).
  const lowered = text.toLowerCase();
  const byPhrase = input.flows.find((f) => f.document.triggers.phrases.some((p) => lowered.includes(p.toLowerCase())));
  if (byPhrase) return fromFlow(byPhrase, await startFlow(byPhrase, { text, variables: { ...input.context } }, input.flowIO), 'flow');
  const understood = prediction !== null && !prediction.outOfScope;
  const byIntent = understood ? input.flows.find((f) => f.document.triggers.intents.includes(prediction.intent!)) : undefined;
  const grounded = text ? await ports.knowledge.searchFor(workspaceId, text, 4) : [];
  if (byIntent && !(grounded[0] && grounded[0].confidence >= settings.knowledgeThreshold && grounded[0].confidence > prediction!.confidence)) {
    return fromFlow(byIntent, await startFlow(byIntent, { text, variables: { ...input.context } }, input.flowIO), 'flow');
  }

  // 6. The knowledge base. A recognized intent corroborates a near-threshold article ("我要退货" → 如何申请退货): a fifth lower bar.
  const bar = understood ? settings.knowledgeThreshold * 0.8 : settings.knowledgeThreshold;
  const relevant = grounded.filter((h) => h.confidence >= bar);
  if (relevant.length > 0) {
    const llm = await ports.llm.answer(workspaceId, text, relevant.map((h) => ({ id: h.entry.id, title: h.entry.title, text: h.snippet })));
    if (llm && 'text' in llm) {
      const source = relevant.find((h) => llm.sourceIds.includes(h.entry.id)) ?? relevant[0]!;
      state.lowConfidenceStreak = 0;
      return done('llm_answer', [reply(llm.text, { source: { entryId: source.entry.id, title: source.entry.title } })]);
    }
    if (!llm) {
      const best = relevant[0]!;
      state.lowConfidenceStreak = 0;
      return done('knowledge', [reply(best.entry.kind === 'faq' ? best.entry.body : best.snippet, { source: { entryId: best.entry.id, title: best.entry.title } })]);
    }
    // The LLM read the passages and found no answer in them: do not answer from them either.
  }

  // 7. The LLM's opinion on the intent, when the offline model was unsure.
  if (text && (!prediction || prediction.outOfScope)) {
    const intent = await ports.llm.classifyIntent(workspaceId, text);
    const flow = intent ? input.flows.find((f) => f.document.triggers.intents.includes(intent)) : undefined;
    if (flow) return fromFlow(flow, await startFlow(flow, { text, variables: { ...input.context } }, input.flowIO), 'flow');
  }

  // 8. Greeting or fallback.
  if (state.turns === 1 && settings.greeting && text.length <= 12 && !(prediction && !prediction.outOfScope)) {
    return done('greeting', [reply(settings.greeting)]);
  }
  state.lowConfidenceStreak += 1;
  if (settings.lowConfidenceTurns > 0 && state.lowConfidenceStreak >= settings.lowConfidenceTurns) {
    return handoff('low_confidence', `${state.lowConfidenceStreak} turns in a row not understood`, [reply(settings.handoffMessage)]);
  }
  return done(prediction && !prediction.outOfScope ? 'low_confidence' : 'fallback', [reply(settings.fallbackMessage)]);
}

/** The agent's summary when no LLM writes one: intent, slots, sentiment and the customer's last words. */
export function buildSummary(state: BotState, reason: BotHandoffReason, detail: string): string {
  const lines = [`转人工原因 / Reason: ${reason} (${detail})`];
  if (state.lastIntent) lines.push(`意图 / Intent: ${state.lastIntent} (${round(state.lastConfidence ?? 0)})`);
  const slots = Object.entries(state.slots).filter(([k, v]) => k !== 'contact' && v !== undefined && v !== null && typeof v !== 'object');
  if (slots.length > 0) lines.push(`信息 / Slots: ${slots.map(([k, v]) => `${k}=${String(v)}`).join(', ')}`);
  if (state.sentiments.length > 0) {
    const s = conversationSentiment(state.sentiments);
    lines.push(`情绪 / Sentiment: ${round(s.score)} (${s.trend})`);
  }
  const said = state.transcript.filter((t) => t.from === 'customer').slice(-3).map((t) => t.text);
  if (said.length > 0) lines.push(`客户说 / Customer said: ${said.map((s) => `“${s.slice(0, 120)}”`).join(' / ')}`);
  return lines.join('\n');
}

/** The engine's own failures are the bot failing; a handoff step's reason counts when it is one of ours. */
const FLOW_FAILURES = new Set(['api_unreachable', 'slot_failed', 'flow_loop', 'flow_error']);
function flowHandoffReason(reason: string): BotHandoffReason {
  if (FLOW_FAILURES.has(reason)) return 'bot_failure';
  const known = BotHandoffReasonSchema.safeParse(reason);
  return known.success ? known.data : 'flow_action';
}

/** Flow variables minus what the runtime passed in (contact…): the slots the customer gave. */
function withoutContext(vars: Record<string, unknown>): Record<string, unknown> {
  const { contact: _c, conversation: _v, ...rest } = vars;
  return rest;
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
