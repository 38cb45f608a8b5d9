import type { BotHandoffReason, BotReply, BotSettings } from '@huiliu/contracts';
import type { Database } from '../db/database.ts';
import type { SafeRequestInit, SafeResponse } from '../net/safe-http.ts';
import type { Vault } from '../vault/vault.ts';
import { loadBotSettings } from './bot-settings.ts';
import type { BotTraining } from './bot-training.ts';
import { buildSummary, type BotFlowRef, type BotState, type BrainInput, type BrainOutcome, type BrainPorts } from './bot-brain.ts';
import { createEntityExtractor, type ExtractedEntity } from './nlu/entities.ts';
import { createSentimentAnalyzer } from './nlu/sentiment.ts';
import { FLOW_SECRET_PREFIX, type FlowIO } from './dialog/flow-engine.ts';

/**
 * What one turn of the bot needs for a workspace, cached per node for a couple of seconds (settings,
 * the entity extractor built from them, the trained model, the published flows), and the ports to the
 * knowledge base and the optional LLM. Shared by live conversations (bot-runtime.ts) and the simulator.
 */

const SETTINGS_TTL_MS = 2_000;
/** An HTTP step's response body is JSON of at most this size (order APIs answer in a few KB). */
const MAX_FLOW_RESPONSE_BYTES = 1024 * 1024;

export interface FlowSource {
  publishedFlows(workspaceId: string): Promise<BotFlowRef[]>;
  /** A version published before (a conversation finishes the version it started, even after a new publish). */
  publishedVersion(workspaceId: string, id: string, version: number): Promise<BotFlowRef | null>;
}

export function createBotEngine(deps: {
  db: Database;
  training: BotTraining;
  flows: FlowSource;
  ports: BrainPorts;
  vault: Vault;
  fetch: (workspaceId: string, url: string, init?: SafeRequestInit) => Promise<SafeResponse>;
}) {
  const { db, training } = deps;
  const settingsCache = new Map<string, { settings: BotSettings; at: number }>();
  const extractors = new Map<string, { key: string; extract: (text: string) => ExtractedEntity[] }>();
  const sentiment = createSentimentAnalyzer();

  async function settings(workspaceId: string): Promise<BotSettings> {
    const cached = settingsCache.get(workspaceId);
    if (cached && Date.now() - cached.at < SETTINGS_TTL_MS) return cached.settings;
    const s = await loadBotSettings(db, workspaceId);
    settingsCache.set(workspaceId, { settings: s, at: Date.now() });
    return s;
  }

  async function extractorFor(workspaceId: string, s: BotSettings): Promise<(text: string) => ExtractedEntity[]> {
    const custom = await training.entityDefinitions(workspaceId);
    const key = JSON.stringify([s.orderNumberPatterns, custom]);
    const cached = extractors.get(workspaceId);
    if (cached?.key === key) return cached.extract;
    const extractor = createEntityExtractor({ ...(s.orderNumberPatterns.length > 0 ? { orderPatterns: s.orderNumberPatterns } : {}), custom, timeZone: 'Asia/Shanghai' });
    const extract = (text: string) => extractor.extract(text);
    extractors.set(workspaceId, { key, extract });
    return extract;
  }

  function flowIO(workspaceId: string, extract: (text: string) => ExtractedEntity[]): FlowIO {
    return {
      extract,
      async http(req) {
        const res = await deps.fetch(workspaceId, req.url, {
          method: req.method,
          headers: { accept: 'application/json', ...(req.body !== undefined ? { 'content-type': 'application/json' } : {}), ...req.headers },
          ...(req.body !== undefined ? { body: req.body } : {}),
          timeoutMs: req.timeoutMs,
          maxResponseBytes: MAX_FLOW_RESPONSE_BYTES,
        });
        const text = res.body.toString('utf8');
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : null;
        } catch {
          // Not JSON: the flow sees the text (its response map then finds nothing).
        }
        return { status: res.status, body };
      },
      // Only the flows' own secrets (the engine asks for no others; this is the second lock on that door).
      secret: async (name) => (name.startsWith(FLOW_SECRET_PREFIX) ? deps.vault.get(workspaceId, name) : undefined),
      now: () => new Date(),
    };
  }

  return {
    settings,
    ports: deps.ports,

    /** Everything runBrain needs for one message, except the ports. */
    async brainInput(
      workspaceId: string,
      input: { text: string; state: BotState; settings?: BotSettings; contactName?: string | null; flows?: BotFlowRef[] },
    ): Promise<BrainInput> {
      const s = input.settings ?? (await settings(workspaceId));
      const extract = await extractorFor(workspaceId, s);
      const { model } = await training.model(workspaceId);
      return {
        workspaceId,
        text: input.text,
        state: input.state,
        settings: s,
        model,
        flows: input.flows ?? (await deps.flows.publishedFlows(workspaceId)),
        flowVersion: (id, version) => deps.flows.publishedVersion(workspaceId, id, version),
        extract,
        sentiment: (text) => sentiment.analyze(text).score,
        flowIO: flowIO(workspaceId, extract),
        context: { contact: { name: input.contactName ?? '' } },
        now: new Date(),
      };
    },

    /** A handoff decided before thinking (VIP, bot switched off, the bot failed). */
    forcedHandoff(state: BotState, reason: BotHandoffReason, detail: string, replies: BotReply[]): BrainOutcome {
      const next: BotState = { ...state, flow: null, turns: state.turns + 1 };
      return {
        state: next,
        replies,
        handoff: { reason, detail, summary: buildSummary(next, reason, detail) },
        trace: { intent: null, confidence: 0, entities: [], sentiment: 0, action: 'handoff', flow: null },
        action: 'handoff',
        ended: true,
      };
    },

    forget(workspaceId: string): void {
      settingsCache.delete(workspaceId);
      extractors.delete(workspaceId);
      training.forget(workspaceId);
    },
  };
}
export type BotEngine = ReturnType<typeof createBotEngine>;
