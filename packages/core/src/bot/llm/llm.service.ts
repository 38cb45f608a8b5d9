import type { LlmSettings, LlmFeatures, LlmPreset, LlmUsageDay as LlmUsageDaySchema } from '@huiliu/contracts';
import type { z } from 'zod';
import type { Database, Sql } from '../../db/database.ts';
import type { Actor } from '../../auth/actor.ts';
import { requirePermission } from '../../auth/actor.ts';
import { recordAudit } from '../../audit/audit.service.ts';
import type { SafeRequestInit, SafeResponse } from '../../net/safe-http.ts';
import type { Logger } from '../../shared/logger.ts';
import { invalid } from '../../shared/errors.ts';
import type { Vault } from '../../vault/vault.ts';
import { maskPii } from './pii-mask.ts';
import { createOpenAiCompatibleClient, LLM_PRESETS, LlmError, type ChatMessage, type OpenAiCompatibleClient, type TokenUsage } from './openai-compatible.ts';

/**
 * The workspace's optional LLM provider: settings (admin API), and chat / embeddings for the bot runtime.
 * The runtime methods never throw for provider trouble: they return null (not configured, feature off,
 * provider failed) and the caller falls back to the offline engine. Every call, failed or not, is counted
 * in llm_usage per workspace, UTC day and purpose. Every text is PII-masked here, the one door to the
 * provider, whatever the caller already did.
 */

type Features = z.infer<typeof LlmFeatures>;
type LlmUsageDay = z.infer<typeof LlmUsageDaySchema>;
type UpdateBody = {
  enabled?: boolean | undefined;
  preset?: z.infer<typeof LlmPreset> | undefined;
  baseUrl?: string | null | undefined;
  chatModel?: string | null | undefined;
  embeddingModel?: string | null | undefined;
  apiKey?: string | null | undefined;
  features?: Partial<Features> | undefined;
};

export type LlmPurpose = 'answer' | 'intent' | 'summary' | 'suggestion' | 'translation';
const FEATURE_OF: Record<LlmPurpose, keyof Features> = {
  answer: 'answers',
  intent: 'intentFallback',
  summary: 'summaries',
  suggestion: 'suggestions',
  translation: 'translation',
};
/** With the master switch on, every use is on until the admin turns one off. */
export const DEFAULT_LLM_FEATURES: Features = { answers: true, intentFallback: true, summaries: true, suggestions: true, translation: true };
/** Vault name of the workspace's API key. */
export const LLM_KEY_SECRET = 'llm.api_key';

export interface LlmChatOptions {
  temperature?: number;
  maxTokens?: number;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface LlmServiceDeps {
  db: Database;
  /** The vault on a given connection, so a key change commits with the settings and the audit entry. */
  vaultIn?: (sql: Sql) => Vault;
  vault?: Vault;
  /** services.fetchForWorkspace: the SSRF-safe client with the workspace's networkAllowlist. */
  fetch: (workspaceId: string, url: string, init?: SafeRequestInit) => Promise<SafeResponse>;
  logger: Logger;
  /** How long settings (and the decrypted key) are reused per workspace. Default 10 s. */
  cacheMs?: number;
  /** Per provider call. Default 30 s. */
  timeoutMs?: number;
}

interface Config {
  settings: LlmSettings;
  apiKey: string | undefined;
}

export function createLlmService(deps: LlmServiceDeps) {
  const { db } = deps;
  const log = deps.logger.child({ component: 'llm' });
  const cacheMs = deps.cacheMs ?? 10_000;
  const vaultOn = (sql: Sql): Vault => {
    if (deps.vaultIn) return deps.vaultIn(sql);
    if (deps.vault) return deps.vault;
    throw new Error('createLlmService needs vaultIn or vault');
  };
  const cache = new Map<string, { at: number; config: Promise<Config> }>();

  async function readSettings(sql: Sql, workspaceId: string): Promise<LlmSettings> {
    const rows = await sql.query(`SELECT * FROM llm_settings WHERE workspace_id = $1`, [workspaceId]);
    const hasApiKey = (await sql.query(`SELECT 1 FROM secrets WHERE workspace_id = $1 AND name = $2`, [workspaceId, LLM_KEY_SECRET])).length > 0;
    const r = rows[0];
    if (!r) {
      return { enabled: false, preset: 'custom', baseUrl: null, chatModel: null, embeddingModel: null, hasApiKey, features: { ...DEFAULT_LLM_FEATURES } };
    }
    const stored = (typeof r.features === 'string' ? JSON.parse(r.features) : r.features) as Partial<Features> | null;
    return {
      enabled: r.enabled as boolean,
      preset: r.preset as LlmSettings['preset'],
      baseUrl: (r.base_url as string | null) ?? null,
      chatModel: (r.chat_model as string | null) ?? null,
      embeddingModel: (r.embedding_model as string | null) ?? null,
      hasApiKey,
      features: { ...DEFAULT_LLM_FEATURES, ...(stored ?? {}) },
    };
  }

  function config(workspaceId: string): Promise<Config> {
    const hit = cache.get(workspaceId);
    if (hit && Date.now() - hit.at < cacheMs) return hit.config;
    const loading = (async () => {
      const settings = await readSettings(db, workspaceId);
      const apiKey = settings.hasApiKey ? await vaultOn(db).get(workspaceId, LLM_KEY_SECRET) : undefined;
      return { settings, apiKey };
    })();
    cache.set(workspaceId, { at: Date.now(), config: loading });
    // A failed load (database hiccup) must not be cached.
    loading.catch(() => cache.delete(workspaceId));
    return loading;
  }

  function clientFor(workspaceId: string, cfg: Config, timeoutMs?: number): OpenAiCompatibleClient {
    return createOpenAiCompatibleClient({
      baseUrl: cfg.settings.baseUrl!,
      apiKey: cfg.apiKey,
      fetch: (url, init) => deps.fetch(workspaceId, url, init),
      timeoutMs: timeoutMs ?? deps.timeoutMs ?? 30_000,
    });
  }

  async function record(workspaceId: string, purpose: string, ok: boolean, usage: TokenUsage, latencyMs: number): Promise<void> {
    try {
      await db.query(
        `INSERT INTO llm_usage (workspace_id, day, purpose, requests, failures, prompt_tokens, completion_tokens, total_latency_ms)
         VALUES ($1, $2, $3, 1, $4, $5, $6, $7)
         ON CONFLICT (workspace_id, day, purpose) DO UPDATE SET
           requests = llm_usage.requests + 1,
           failures = llm_usage.failures + EXCLUDED.failures,
           prompt_tokens = llm_usage.prompt_tokens + EXCLUDED.prompt_tokens,
           completion_tokens = llm_usage.completion_tokens + EXCLUDED.completion_tokens,
           total_latency_ms = llm_usage.total_latency_ms + EXCLUDED.total_latency_ms`,
        [workspaceId, utcDay(new Date()), purpose, ok ? 0 : 1, usage.promptTokens, usage.completionTokens, Math.round(latencyMs)],
      );
    } catch (err) {
      // Accounting must never turn an answer into a failure.
      log.warn({ err, workspaceId, purpose }, 'recording LLM usage failed');
    }
  }

  /** Runs one provider call with timing, usage accounting and logging; null on provider failure. */
  async function metered<T>(workspaceId: string, purpose: string, run: () => Promise<{ value: T; usage: TokenUsage }>): Promise<T | null> {
    const started = performance.now();
    try {
      const { value, usage } = await run();
      await record(workspaceId, purpose, true, usage, performance.now() - started);
      return value;
    } catch (err) {
      const latency = performance.now() - started;
      await record(workspaceId, purpose, false, { promptTokens: 0, completionTokens: 0 }, latency);
      if (err instanceof LlmError) {
        log.warn({ workspaceId, purpose, code: err.code, status: err.status, reason: err.message }, 'LLM call failed; falling back');
      } else {
        log.error({ err, workspaceId, purpose }, 'LLM call failed unexpectedly; falling back');
      }
      return null;
    }
  }

  const usable = (cfg: Config) => cfg.settings.enabled && !!cfg.settings.baseUrl && !!cfg.settings.chatModel;

  return {
    async settings(actor: Actor): Promise<LlmSettings> {
      requirePermission(actor, 'bot.manage');
      return readSettings(db, actor.workspaceId);
    },

    async update(actor: Actor, body: UpdateBody): Promise<LlmSettings> {
      requirePermission(actor, 'bot.manage');
      if (body.baseUrl) checkBaseUrl(body.baseUrl);
      const result = await db.transaction(async (tx) => {
        const before = await readSettings(tx, actor.workspaceId);
        const preset = body.preset ?? before.preset;
        const defaults = LLM_PRESETS[preset];
        // Choosing a preset fills in its URL and models unless the admin gives (or already gave) their own.
        const presetChanged = body.preset !== undefined && body.preset !== before.preset;
        const oldDefaults = LLM_PRESETS[before.preset];
        const pick = (given: string | null | undefined, current: string | null, fallback: string | null, oldFallback: string | null) =>
          given !== undefined ? given : presetChanged && (current === null || current === oldFallback) ? fallback : current;
        const next: Omit<LlmSettings, 'hasApiKey'> = {
          enabled: body.enabled ?? before.enabled,
          preset,
          baseUrl: pick(body.baseUrl, before.baseUrl, defaults.baseUrl, oldDefaults.baseUrl),
          chatModel: pick(body.chatModel, before.chatModel, defaults.chatModel, oldDefaults.chatModel),
          embeddingModel: pick(body.embeddingModel, before.embeddingModel, defaults.embeddingModel, oldDefaults.embeddingModel),
          features: { ...before.features, ...stripUndefined(body.features ?? {}) },
        };
        if (next.enabled && !next.baseUrl) throw invalid('body.baseUrl', 'required when the LLM is enabled (e.g. https://api.deepseek.com/v1)');
        if (next.enabled && !next.chatModel) throw invalid('body.chatModel', 'required when the LLM is enabled (e.g. deepseek-chat)');
        await tx.query(
          `INSERT INTO llm_settings (workspace_id, enabled, preset, base_url, chat_model, embedding_model, features, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, now())
           ON CONFLICT (workspace_id) DO UPDATE SET enabled = EXCLUDED.enabled, preset = EXCLUDED.preset, base_url = EXCLUDED.base_url,
             chat_model = EXCLUDED.chat_model, embedding_model = EXCLUDED.embedding_model, features = EXCLUDED.features, updated_at = now()`,
          [actor.workspaceId, next.enabled, next.preset, next.baseUrl, next.chatModel, next.embeddingModel, JSON.stringify(next.features)],
        );
        let apiKey: 'set' | 'removed' | 'unchanged' = 'unchanged';
        // The key belongs to the endpoint it was entered for: pointing the provider at another origin without
        // entering a key again drops it (otherwise whoever may edit the bot could send the key to their server).
        const movedAway = body.apiKey === undefined && origin(before.baseUrl) !== null && origin(next.baseUrl) !== origin(before.baseUrl);
        if (body.apiKey === null || movedAway) {
          if (await vaultOn(tx).remove(actor.workspaceId, LLM_KEY_SECRET)) apiKey = 'removed';
        } else if (body.apiKey !== undefined) {
          await vaultOn(tx).put(actor.workspaceId, LLM_KEY_SECRET, body.apiKey);
          apiKey = 'set';
        }
        const changed = (Object.keys(next) as Array<keyof typeof next>).filter((k) => JSON.stringify(next[k]) !== JSON.stringify(before[k]));
        // The key itself is never in the audit entry or the logs: only whether it was set or removed.
        await recordAudit(tx, actor, 'bot.llm_updated', null, { changed, apiKey });
        return readSettings(tx, actor.workspaceId);
      });
      cache.delete(actor.workspaceId);
      return result;
    },

    /** The console's "test connection": one tiny chat call (or the model list when no chat model is set). */
    async test(actor: Actor): Promise<{ ok: boolean; latencyMs: number; error: string | null }> {
      requirePermission(actor, 'bot.manage');
      cache.delete(actor.workspaceId);
      const cfg = await config(actor.workspaceId);
      if (!cfg.settings.baseUrl) return { ok: false, latencyMs: 0, error: 'no base URL is configured' };
      const client = clientFor(actor.workspaceId, cfg, 15_000);
      const started = performance.now();
      try {
        let usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
        if (cfg.settings.chatModel) {
          const r = await client.chat({ model: cfg.settings.chatModel, messages: [{ role: 'user', content: 'Reply with the single word OK.' }], maxTokens: 5, temperature: 0 });
          usage = r.usage;
        } else {
          await client.models();
        }
        const latencyMs = Math.round(performance.now() - started);
        await record(actor.workspaceId, 'test', true, usage, latencyMs);
        return { ok: true, latencyMs, error: null };
      } catch (err) {
        const latencyMs = Math.round(performance.now() - started);
        await record(actor.workspaceId, 'test', false, { promptTokens: 0, completionTokens: 0 }, latencyMs);
        if (!(err instanceof LlmError)) throw err;
        log.info({ workspaceId: actor.workspaceId, code: err.code }, 'LLM connection test failed');
        return { ok: false, latencyMs, error: `${err.code}: ${err.message}` };
      }
    },

    async usage(actor: Actor, days = 30): Promise<LlmUsageDay[]> {
      requirePermission(actor, 'bot.manage');
      const since = utcDay(new Date(Date.now() - (Math.max(1, days) - 1) * 86_400_000));
      const rows = await db.query(
        `SELECT day::text AS day, purpose, requests, failures, prompt_tokens, completion_tokens, total_latency_ms
         FROM llm_usage WHERE workspace_id = $1 AND day >= $2::date ORDER BY day DESC, purpose`,
        [actor.workspaceId, since],
      );
      return rows.map((r) => ({
        day: String(r.day),
        purpose: r.purpose as string,
        requests: Number(r.requests),
        failures: Number(r.failures),
        promptTokens: Number(r.prompt_tokens),
        completionTokens: Number(r.completion_tokens),
        avgLatencyMs: Number(r.requests) > 0 ? Math.round(Number(r.total_latency_ms) / Number(r.requests)) : 0,
      }));
    },

    // ---- bot runtime (no actor) ----

    async isEnabled(workspaceId: string, feature: keyof Features): Promise<boolean> {
      const cfg = await config(workspaceId);
      return usable(cfg) && cfg.settings.features[feature];
    },

    /** Whether embeddings can be requested (enabled, with an embedding model). */
    async canEmbed(workspaceId: string): Promise<boolean> {
      const cfg = await config(workspaceId);
      return cfg.settings.enabled && !!cfg.settings.baseUrl && !!cfg.settings.embeddingModel;
    },

    async chat(workspaceId: string, purpose: LlmPurpose, messages: ChatMessage[], opts: LlmChatOptions = {}): Promise<{ text: string } | null> {
      const cfg = await config(workspaceId);
      if (!usable(cfg) || !cfg.settings.features[FEATURE_OF[purpose]]) return null;
      const masked = messages.map((m) => ({ role: m.role, content: maskPii(m.content).text }));
      const client = clientFor(workspaceId, cfg, opts.timeoutMs);
      return metered(workspaceId, purpose, async () => {
        const r = await client.chat({
          model: cfg.settings.chatModel!,
          messages: masked,
          ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}),
          ...(opts.maxTokens !== undefined ? { maxTokens: opts.maxTokens } : {}),
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
        return { value: { text: r.text }, usage: r.usage };
      });
    },

    async embed(workspaceId: string, texts: string[]): Promise<number[][] | null> {
      const cfg = await config(workspaceId);
      if (!cfg.settings.enabled || !cfg.settings.baseUrl || !cfg.settings.embeddingModel) return null;
      if (texts.length === 0) return [];
      const client = clientFor(workspaceId, cfg);
      const input = texts.map((t) => maskPii(t).text);
      return metered(workspaceId, 'embedding', async () => {
        const r = await client.embedWithUsage({ model: cfg.settings.embeddingModel!, input });
        return { value: r.vectors, usage: r.usage };
      });
    },

    /** Drops cached settings (tests, or after a direct database change). */
    invalidate(workspaceId?: string): void {
      if (workspaceId) cache.delete(workspaceId);
      else cache.clear();
    },
  };
}
export type LlmService = ReturnType<typeof createLlmService>;

function checkBaseUrl(value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid('body.baseUrl', 'an http(s) URL like https://api.deepseek.com/v1');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw invalid('body.baseUrl', 'must start with http:// or https://');
  if (url.username || url.password) throw invalid('body.baseUrl', 'must not contain a username or password; put the key in apiKey');
  if (url.search || url.hash) throw invalid('body.baseUrl', 'must not contain a query or fragment (the base URL ends before /chat/completions)');
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function utcDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** scheme://host:port of a base URL (null when unset or unparsable). */
function origin(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}
