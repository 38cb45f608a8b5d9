/**
 * A local OpenAI-compatible server for tests (node:http on 127.0.0.1, random port), speaking the wire
 * format of the chat-completions, streaming, embeddings and models endpoints as OpenAI documents it:
 *   POST /v1/chat/completions   JSON, or with `stream: true` text/event-stream chunks `data: {…}\n\n`, a chunk
 *                               with finish_reason "stop", a usage chunk (empty choices) when
 *                               stream_options.include_usage, then `data: [DONE]\n\n`
 *   POST /v1/embeddings         deterministic vectors from hashed character n-grams (similar texts → similar vectors)
 *   GET  /v1/models
 * Bearer auth is checked (401 with OpenAI's error body); every request is recorded so tests can assert
 * what left the product (PII masked, key sent); replies are scriptable; failures and delays can be injected.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeOpenAiRequest {
  method: string;
  /** Path without the query, e.g. /v1/chat/completions */
  path: string;
  /** The Authorization header as sent (undefined when none). */
  authorization: string | undefined;
  /** Parsed JSON body (undefined for GET or a body that is not JSON). */
  body: any;
  /** The raw body text. */
  raw: string;
}

export interface FakeChatMessage {
  role: string;
  content: string;
}

/** Returns the assistant's answer for a chat request. */
export type FakeReply = (messages: FakeChatMessage[], request: { model: string; body: any }) => string;

export interface FakeOpenAiOptions {
  /** The accepted key; default 'sk-fake-test-key-0001'. null accepts any request, with or without a key. */
  apiKey?: string | null;
  reply?: FakeReply;
  /** Embedding dimensions; default 64. */
  dimensions?: number;
  models?: string[];
}

export interface FakeOpenAi {
  /** http://127.0.0.1:PORT/v1 — what an admin types as the base URL. */
  baseUrl: string;
  host: string;
  port: number;
  apiKey: string | null;
  requests: FakeOpenAiRequest[];
  /** Every piece of text sent to the server (message contents and embedding inputs), for PII assertions. */
  sentTexts(): string[];
  setReply(reply: FakeReply): void;
  /** The next `times` requests (default 1) get this HTTP status with an OpenAI error body. */
  failNext(status: number, opts?: { times?: number; message?: string }): void;
  /** Every response waits this long before its first byte (0 = none); use to provoke client timeouts. */
  setDelay(ms: number): void;
  /** Forget recorded requests, scripted failures, delay and reply. */
  reset(): void;
  close(): Promise<void>;
}

export const FAKE_OPENAI_KEY = 'sk-fake-test-key-0001';
/** What the default reply answers when the prompt holds no passages (the llm-tasks refusal token). */
export const FAKE_NO_ANSWER = 'NO_ANSWER';

/**
 * Default reply: grounded-answer behaviour. When the prompt holds numbered passages ("[1] title\ntext"),
 * quote the first passage's first sentence and cite it with [1]; otherwise answer NO_ANSWER.
 */
export const defaultFakeReply: FakeReply = (messages) => {
  const prompt = messages.map((m) => m.content).join('\n');
  const passage = /^\[1\][^\n]*\n([\s\S]*?)(?:\n\s*\n|\n\[2\]|$)/m.exec(prompt);
  const text = passage?.[1]?.trim();
  if (!text) return FAKE_NO_ANSWER;
  const sentence = /^[\s\S]*?[。！？.!?](?=\s|$|[^\d])/.exec(text)?.[0] ?? text;
  return `${sentence.slice(0, 300)} [1]`;
};

/** Deterministic embedding: character 1–3-grams of the lowercased text hashed into `dims` buckets, L2-normalised. */
export function fakeEmbedding(text: string, dims = 64): number[] {
  const v = new Array<number>(dims).fill(0);
  const chars = Array.from(text.toLowerCase().replace(/\s+/g, ' ').trim());
  for (let n = 1; n <= 3; n++) {
    for (let i = 0; i + n <= chars.length; i++) {
      const gram = chars.slice(i, i + n).join('');
      const h = fnv1a(gram);
      // A sign bit from the hash keeps unrelated grams from only ever adding up (less spurious similarity).
      v[h % dims]! += (h & 0x80000000 ? -1 : 1) * n;
    }
  }
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  return v.map((x) => Math.round((x / norm) * 1e6) / 1e6);
}

/** Rough token count: one per CJK character, one per other word or punctuation mark. */
export function fakeTokenCount(text: string): number {
  return (text.match(/[\u3400-\u9fff\uf900-\ufaff]|[A-Za-z0-9]+|[^\sA-Za-z0-9\u3400-\u9fff\uf900-\ufaff]/g) ?? []).length;
}

export async function startFakeOpenAi(opts: FakeOpenAiOptions = {}): Promise<FakeOpenAi> {
  const apiKey = opts.apiKey === undefined ? FAKE_OPENAI_KEY : opts.apiKey;
  const dims = opts.dimensions ?? 64;
  const modelIds = opts.models ?? ['fake-chat', 'fake-embedding'];
  let reply: FakeReply = opts.reply ?? defaultFakeReply;
  let delayMs = 0;
  let failures: Array<{ status: number; message: string | undefined }> = [];
  const requests: FakeOpenAiRequest[] = [];
  let seq = 0;

  const server = createServer((req, res) => {
    void handle(req, res).catch((err) => {
      if (!res.headersSent) sendError(res, 500, `fake server error: ${(err as Error).message}`, 'server_error', null);
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const path = (req.url ?? '/').split('?')[0]!;
    let body: any;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = undefined;
    }
    const authorization = typeof req.headers.authorization === 'string' ? req.headers.authorization : undefined;
    requests.push({ method: req.method ?? 'GET', path, authorization, body, raw });

    if (delayMs > 0) {
      await new Promise((r) => setTimeout(r, delayMs));
      if (res.destroyed || req.socket.destroyed) return;
    }
    const failure = failures.shift();
    if (failure) return sendFailure(res, failure.status, failure.message);

    if (apiKey !== null) {
      const presented = authorization?.startsWith('Bearer ') ? authorization.slice(7) : undefined;
      if (presented !== apiKey) {
        // OpenAI echoes the (partly hidden) key; some compatible servers echo it whole. We echo it whole
        // so tests prove the client never passes a provider's message on with the key in it.
        const message = presented
          ? `Incorrect API key provided: ${presented}. You can find your API key at https://platform.openai.com/account/api-keys.`
          : "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).";
        return sendError(res, 401, message, 'invalid_request_error', presented ? 'invalid_api_key' : null);
      }
    }

    if (req.method === 'POST' && path === '/v1/chat/completions') return chat(res, body);
    if (req.method === 'POST' && path === '/v1/embeddings') return embeddings(res, body);
    if (req.method === 'GET' && path === '/v1/models') {
      return sendJson(res, 200, { object: 'list', data: modelIds.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'huiliu-fake' })) });
    }
    return sendError(res, 404, `Invalid URL (${req.method} ${path})`, 'invalid_request_error', null);
  }

  function chat(res: ServerResponse, body: any): void {
    if (!body || typeof body.model !== 'string' || !Array.isArray(body.messages) || body.messages.length === 0) {
      return sendError(res, 400, "'messages' and 'model' are required properties", 'invalid_request_error', null);
    }
    const messages: FakeChatMessage[] = body.messages.map((m: any) => ({ role: String(m?.role), content: typeof m?.content === 'string' ? m.content : JSON.stringify(m?.content) }));
    const answer = reply(messages, { model: body.model, body });
    const promptTokens = messages.reduce((s, m) => s + fakeTokenCount(m.content) + 4, 0);
    const completionTokens = fakeTokenCount(answer);
    const usage = { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
    const id = `chatcmpl-fake${++seq}`;
    const created = Math.floor(Date.now() / 1000);

    if (body.stream !== true) {
      return sendJson(res, 200, {
        id, object: 'chat.completion', created, model: body.model,
        choices: [{ index: 0, message: { role: 'assistant', content: answer }, logprobs: null, finish_reason: 'stop' }],
        usage,
      });
    }
    const includeUsage = body.stream_options?.include_usage === true;
    const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: body.model, choices, ...(includeUsage ? { usage: null } : {}), ...extra })}\n\n`;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    // First chunk carries the role, as OpenAI's does; then the content in small pieces.
    res.write(chunk([{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]));
    const chars = Array.from(answer);
    for (let i = 0; i < chars.length; i += 3) {
      res.write(chunk([{ index: 0, delta: { content: chars.slice(i, i + 3).join('') }, logprobs: null, finish_reason: null }]));
    }
    res.write(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }]));
    if (includeUsage) res.write(chunk([], { usage }));
    res.end('data: [DONE]\n\n');
  }

  function embeddings(res: ServerResponse, body: any): void {
    const input = typeof body?.input === 'string' ? [body.input] : body?.input;
    if (!body || typeof body.model !== 'string' || !Array.isArray(input) || input.some((x: unknown) => typeof x !== 'string')) {
      return sendError(res, 400, "'input' (string or array of strings) and 'model' are required", 'invalid_request_error', null);
    }
    const promptTokens = (input as string[]).reduce((s, t) => s + fakeTokenCount(t), 0);
    return sendJson(res, 200, {
      object: 'list',
      data: (input as string[]).map((text, index) => ({ object: 'embedding', index, embedding: fakeEmbedding(text, dims) })),
      model: body.model,
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
    });
  }

  function sendFailure(res: ServerResponse, status: number, message: string | undefined): void {
    if (status === 429) return sendError(res, 429, message ?? 'Rate limit reached for requests. Please try again in 20s.', 'requests', 'rate_limit_exceeded', { 'retry-after': '20' });
    if (status >= 500) return sendError(res, status, message ?? 'The server had an error while processing your request. Sorry about that!', 'server_error', null);
    return sendError(res, status, message ?? `scripted failure (HTTP ${status})`, 'invalid_request_error', null);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    host: '127.0.0.1',
    port,
    apiKey,
    requests,
    sentTexts() {
      const out: string[] = [];
      for (const r of requests) {
        if (Array.isArray(r.body?.messages)) for (const m of r.body.messages) out.push(typeof m?.content === 'string' ? m.content : JSON.stringify(m?.content));
        if (typeof r.body?.input === 'string') out.push(r.body.input);
        if (Array.isArray(r.body?.input)) out.push(...r.body.input.map(String));
      }
      return out;
    },
    setReply(fn) {
      reply = fn;
    },
    failNext(status, o = {}) {
      for (let i = 0; i < (o.times ?? 1); i++) failures.push({ status, message: o.message });
    },
    setDelay(ms) {
      delayMs = ms;
    },
    reset() {
      requests.length = 0;
      failures = [];
      delayMs = 0;
      reply = opts.reply ?? defaultFakeReply;
    },
    close() {
      return new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}

function sendJson(res: ServerResponse, status: number, data: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(data);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** OpenAI's error format. */
function sendError(res: ServerResponse, status: number, message: string, type: string, code: string | null, headers: Record<string, string> = {}): void {
  sendJson(res, status, { error: { message, type, param: null, code } }, headers);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
