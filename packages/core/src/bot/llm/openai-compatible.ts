import type { SafeRequestInit, SafeResponse } from '../../net/safe-http.ts';
import { AppError } from '../../shared/errors.ts';

/**
 * The one LLM driver: any endpoint speaking the OpenAI chat-completions / embeddings protocol (DeepSeek,
 * Qwen via DashScope compatible mode, GLM, Doubao/Ark, OpenAI, Ollama, vLLM…). Requests go through the
 * SSRF-safe client (`fetch`, normally services.fetchForWorkspace bound to a workspace), so a base URL
 * pointing at a private address only works when the workspace admin allowlisted that host.
 *
 * Error messages never contain the API key: the key only ever goes into the Authorization header and
 * provider error bodies are reduced to their `error.message`, with anything looking like the key removed.
 */

export const LLM_PRESETS = {
  // Verified against the providers' docs (Nov 2026); the admin may always override the URL.
  deepseek: { baseUrl: 'https://api.deepseek.com/v1', chatModel: 'deepseek-chat', embeddingModel: null },
  qwen: { baseUrl: 'https://dashscope.aliyuncs.com/compatible-mode/v1', chatModel: 'qwen-plus', embeddingModel: 'text-embedding-v3' },
  glm: { baseUrl: 'https://open.bigmodel.cn/api/paas/v4', chatModel: 'glm-4-flash', embeddingModel: 'embedding-3' },
  // Ark identifies models by endpoint id (ep-…) or model name; there is no useful default.
  doubao: { baseUrl: 'https://ark.cn-beijing.volces.com/api/v3', chatModel: null, embeddingModel: null },
  openai: { baseUrl: 'https://api.openai.com/v1', chatModel: 'gpt-4o-mini', embeddingModel: 'text-embedding-3-small' },
  ollama: { baseUrl: 'http://localhost:11434/v1', chatModel: null, embeddingModel: null },
  vllm: { baseUrl: 'http://localhost:8000/v1', chatModel: null, embeddingModel: null },
  custom: { baseUrl: null, chatModel: null, embeddingModel: null },
} as const satisfies Record<string, { baseUrl: string | null; chatModel: string | null; embeddingModel: string | null }>;
export type LlmPresetName = keyof typeof LLM_PRESETS;

export type LlmErrorCode = 'llm_unreachable' | 'llm_auth_failed' | 'llm_rate_limited' | 'llm_bad_response' | 'llm_timeout';

export class LlmError extends Error {
  constructor(
    readonly code: LlmErrorCode,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'LlmError';
  }
}

export type ChatRole = 'system' | 'user' | 'assistant';
export interface ChatMessage {
  role: ChatRole;
  content: string;
}
export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  signal?: AbortSignal;
  /** Whole exchange; default the client's timeoutMs. */
  timeoutMs?: number;
}
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}
export interface ChatResult {
  text: string;
  usage: TokenUsage;
}
export interface EmbedResult {
  vectors: number[][];
  usage: TokenUsage;
}

/** services.fetchForWorkspace with the workspace bound, or a SafeHttpClient.request. */
export type LlmFetch = (url: string, init: SafeRequestInit) => Promise<SafeResponse>;

export interface OpenAiCompatibleClient {
  chat(req: ChatRequest): Promise<ChatResult>;
  /**
   * Streams with SSE. The SSRF-safe client buffers the response, so `onDelta` is called for every
   * content delta in order once the response has arrived, not as bytes come in: the bot sends whole
   * messages to channels anyway, and the SSRF guarantees matter more than token-by-token display.
   */
  chatStream(req: ChatRequest, onDelta: (delta: string) => void): Promise<ChatResult>;
  embed(req: { model: string; input: string[]; signal?: AbortSignal }): Promise<number[][]>;
  /** Same as embed, with token usage. */
  embedWithUsage(req: { model: string; input: string[]; signal?: AbortSignal }): Promise<EmbedResult>;
  models(opts?: { signal?: AbortSignal }): Promise<string[]>;
}

export function createOpenAiCompatibleClient(opts: {
  baseUrl: string;
  apiKey: string | null | undefined;
  fetch: LlmFetch;
  /** Default 30 s: LLM answers are slow, and the caller falls back when this expires. */
  timeoutMs?: number;
  /** Default 8 MB. */
  maxResponseBytes?: number;
}): OpenAiCompatibleClient {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const defaultTimeout = opts.timeoutMs ?? 30_000;
  const host = safeHost(base);

  async function call(method: 'GET' | 'POST', path: string, body: unknown, o: { signal?: AbortSignal | undefined; timeoutMs?: number | undefined }): Promise<SafeResponse> {
    const timeoutMs = o.timeoutMs ?? defaultTimeout;
    // Our own deadline, so a timeout is told apart from any other failure without parsing messages.
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = o.signal ? AbortSignal.any([o.signal, deadline]) : deadline;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (opts.apiKey) headers.authorization = `Bearer ${opts.apiKey}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: SafeResponse;
    try {
      res = await opts.fetch(`${base}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal,
        // A little longer than ours, so our deadline fires first and names the error.
        timeoutMs: timeoutMs + 1_000,
        maxResponseBytes: opts.maxResponseBytes ?? 8 * 1024 * 1024,
      });
    } catch (err) {
      if (deadline.aborted) throw new LlmError('llm_timeout', `${host} did not answer within ${timeoutMs} ms`);
      const reason = err instanceof AppError || err instanceof Error ? err.message : String(err);
      throw new LlmError('llm_unreachable', scrub(`${host} could not be reached: ${reason}`, opts.apiKey));
    }
    if (res.status >= 200 && res.status < 300) return res;
    const detail = scrub(providerMessage(res.body), opts.apiKey);
    const suffix = detail ? `: ${detail}` : '';
    if (res.status === 401 || res.status === 403) {
      throw new LlmError('llm_auth_failed', `${host} refused the API key (HTTP ${res.status})${suffix}`, res.status);
    }
    if (res.status === 429) throw new LlmError('llm_rate_limited', `${host} is rate limiting or out of quota (HTTP 429)${suffix}`, 429);
    if (res.status === 404) throw new LlmError('llm_bad_response', `${host} has no ${path} (HTTP 404); check the base URL and model${suffix}`, 404);
    if (res.status >= 500) throw new LlmError('llm_unreachable', `${host} failed (HTTP ${res.status})${suffix}`, res.status);
    throw new LlmError('llm_bad_response', `${host} rejected the request (HTTP ${res.status})${suffix}`, res.status);
  }

  function json(res: SafeResponse): any {
    try {
      return JSON.parse(res.body.toString('utf8'));
    } catch {
      throw new LlmError('llm_bad_response', `${host} answered with something that is not JSON`);
    }
  }

  function chatBody(req: ChatRequest, stream: boolean) {
    return {
      model: req.model,
      messages: req.messages,
      ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
      ...(req.maxTokens !== undefined ? { max_tokens: req.maxTokens } : {}),
      stream,
      // Usage arrives in one last chunk (empty choices) before [DONE]; servers that ignore the option
      // just send no usage and we count 0 tokens.
      ...(stream ? { stream_options: { include_usage: true } } : {}),
    };
  }

  async function embedWithUsage(req: { model: string; input: string[]; signal?: AbortSignal }): Promise<EmbedResult> {
    if (req.input.length === 0) return { vectors: [], usage: { promptTokens: 0, completionTokens: 0 } };
    const data = json(await call('POST', '/embeddings', { model: req.model, input: req.input, encoding_format: 'float' }, { signal: req.signal }));
    const items = data?.data;
    if (!Array.isArray(items) || items.length !== req.input.length) {
      throw new LlmError('llm_bad_response', `${host} returned ${Array.isArray(items) ? items.length : 'no'} embeddings for ${req.input.length} inputs`);
    }
    const vectors: number[][] = new Array(req.input.length);
    items.forEach((item: any, i: number) => {
      const index = typeof item?.index === 'number' ? item.index : i;
      if (!Array.isArray(item?.embedding) || !item.embedding.every((x: unknown) => typeof x === 'number') || index < 0 || index >= vectors.length) {
        throw new LlmError('llm_bad_response', `${host} returned a malformed embedding`);
      }
      vectors[index] = item.embedding;
    });
    if (vectors.some((v) => v === undefined)) throw new LlmError('llm_bad_response', `${host} returned duplicate embedding indexes`);
    return { vectors, usage: { promptTokens: num(data.usage?.prompt_tokens), completionTokens: 0 } };
  }

  return {
    async chat(req) {
      const data = json(await call('POST', '/chat/completions', chatBody(req, false), req));
      const content = data?.choices?.[0]?.message?.content;
      if (typeof content !== 'string') throw new LlmError('llm_bad_response', `${host} returned no message content`);
      return { text: content, usage: usageOf(data.usage) };
    },

    async chatStream(req, onDelta) {
      const res = await call('POST', '/chat/completions', chatBody(req, true), req);
      const type = res.headers.get('content-type') ?? '';
      // A server that ignores `stream: true` answers with one JSON body; accept it.
      if (type.includes('application/json')) {
        const data = json(res);
        const content = data?.choices?.[0]?.message?.content;
        if (typeof content !== 'string') throw new LlmError('llm_bad_response', `${host} returned no message content`);
        onDelta(content);
        return { text: content, usage: usageOf(data.usage) };
      }
      let text = '';
      let usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
      let done = false;
      for (const data of sseData(res.body.toString('utf8'))) {
        if (data === '[DONE]') {
          done = true;
          break;
        }
        let chunk: any;
        try {
          chunk = JSON.parse(data);
        } catch {
          throw new LlmError('llm_bad_response', `${host} sent a stream chunk that is not JSON`);
        }
        if (chunk?.error) throw new LlmError('llm_bad_response', scrub(`${host} failed mid-stream: ${String(chunk.error.message ?? 'unknown error')}`, opts.apiKey));
        const delta = chunk?.choices?.[0]?.delta?.content;
        if (typeof delta === 'string' && delta.length > 0) {
          text += delta;
          onDelta(delta);
        }
        if (chunk?.usage) usage = usageOf(chunk.usage);
      }
      if (!done && text === '') throw new LlmError('llm_bad_response', `${host} ended the stream without content or [DONE]`);
      return { text, usage };
    },

    async embed(req) {
      return (await embedWithUsage(req)).vectors;
    },
    embedWithUsage,

    async models(o = {}) {
      const data = json(await call('GET', '/models', undefined, { signal: o.signal }));
      if (!Array.isArray(data?.data)) throw new LlmError('llm_bad_response', `${host} returned no model list`);
      return data.data.map((m: any) => String(m?.id ?? '')).filter(Boolean);
    },
  };
}

/** The `data:` payloads of an SSE body, events separated by blank lines, multi-line data joined with \n. */
export function* sseData(body: string): Generator<string> {
  for (const event of body.split(/\r?\n\r?\n/)) {
    const lines = event.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, ''));
    if (lines.length) yield lines.join('\n');
  }
}

function usageOf(u: any): TokenUsage {
  return { promptTokens: num(u?.prompt_tokens), completionTokens: num(u?.completion_tokens) };
}
const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** OpenAI error format `{ error: { message, type, code } }`; some servers send `{ message }` or plain text. */
function providerMessage(body: Buffer): string {
  const raw = body.toString('utf8').slice(0, 2000);
  try {
    const data = JSON.parse(raw);
    const m = data?.error?.message ?? data?.message ?? (typeof data?.error === 'string' ? data.error : undefined);
    return typeof m === 'string' ? m.slice(0, 300) : '';
  } catch {
    return raw.replace(/\s+/g, ' ').trim().slice(0, 200);
  }
}

/**
 * Providers sometimes echo a (partial) key in their error ("Incorrect API key provided: sk-abc…"); remove
 * the key and anything shaped like a bearer token before the message reaches logs or an admin's screen.
 */
function scrub(message: string, apiKey: string | null | undefined): string {
  let out = message;
  // A very short "key" (local servers accept anything) would turn every message into confetti.
  if (apiKey && apiKey.length >= 6) out = out.split(apiKey).join('[key]');
  return out.replace(/\b(sk|ak|key)-[A-Za-z0-9_*.-]{6,}/gi, '[key]');
}

function safeHost(base: string): string {
  try {
    return new URL(base).host;
  } catch {
    return 'the LLM endpoint';
  }
}
