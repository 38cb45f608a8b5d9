/**
 * A local Telegram Bot API server implementing the endpoints Huiliu uses, as documented at
 * https://core.telegram.org/bots/api :
 *
 *   POST /bot<token>/getMe | setWebhook | getWebhookInfo | sendMessage | sendPhoto | sendDocument | sendChatAction | getFile
 *   GET  /file/bot<token>/<file_path>
 *
 * Requests are checked as Telegram checks them: the token in the path, the content type
 * (application/json or multipart/form-data — https://core.telegram.org/bots/api#making-requests), the
 * required parameters of each method. Anything else is recorded in `rejected` and answered like Telegram
 * does ({ ok: false, error_code, description }). Answers follow the documented shapes with generated ids.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { FakePlatform } from '../contract.ts';
import { jsonWebhookRequest, startFakeServer } from './fake-server.ts';

export interface TelegramFakeOptions {
  token: string;
  botUsername?: string;
}

export interface TelegramSent {
  method: string;
  chatId: string;
  text?: string;
  caption?: string;
  file?: { field: string; fileName: string; contentType: string; bytes: Buffer };
  messageId: number;
}

export interface TelegramFake extends FakePlatform {
  token: string;
  /** Messages the bot sent, in order. */
  sent: TelegramSent[];
  /** The webhook registered with setWebhook. */
  webhook: { url: string; secretToken?: string; allowedUpdates?: string[] } | null;
  /** Stores a file as if a user had sent it; returns its file_id (for getFile and the download). */
  addFile(bytes: Buffer, opts?: { fileId?: string; path?: string; fileSize?: number }): string;
  /** Requests for file downloads (paths), to assert a file was or was not fetched. */
  downloads: string[];
}

interface StoredFile { fileId: string; uniqueId: string; path: string; bytes: Buffer; declaredSize: number }

/** https://core.telegram.org/bots/api#making-requests — error answers; descriptions as Telegram words them. */
function errorBody(status: number): Record<string, unknown> {
  if (status === 429) return { ok: false, error_code: 429, description: 'Too Many Requests: retry after 7', parameters: { retry_after: 7 } };
  if (status === 403) return { ok: false, error_code: 403, description: 'Forbidden: bot was blocked by the user' };
  if (status === 400) return { ok: false, error_code: 400, description: 'Bad Request: chat not found' };
  if (status === 401) return { ok: false, error_code: 401, description: 'Unauthorized' };
  if (status === 404) return { ok: false, error_code: 404, description: 'Not Found' };
  return { ok: false, error_code: status, description: status === 502 ? 'Bad Gateway' : 'Internal Server Error' };
}

const SEND_METHODS = new Set(['sendMessage', 'sendPhoto', 'sendDocument']);

export async function startTelegramFake(opts: TelegramFakeOptions): Promise<TelegramFake> {
  const accepted: FakePlatform['accepted'] = [];
  const rejected: FakePlatform['rejected'] = [];
  const sent: TelegramSent[] = [];
  const downloads: string[] = [];
  const files = new Map<string, StoredFile>();
  const failures: number[] = [];
  let nextMessageId = 500;
  const botId = 7_000_000_000 + Math.floor(Math.random() * 1_000_000);

  const fake: TelegramFake = {
    baseUrl: '',
    token: opts.token,
    accepted,
    rejected,
    sent,
    downloads,
    webhook: null,
    failNext(status) { failures.push(status); },
    addFile(bytes, o = {}) {
      const fileId = o.fileId ?? `AgAC${randomBytes(18).toString('base64url')}`;
      const path = o.path ?? `photos/file_${files.size}.jpg`;
      files.set(fileId, { fileId, uniqueId: `AQAD${randomBytes(6).toString('base64url')}`, path, bytes, declaredSize: o.fileSize ?? bytes.length });
      return fileId;
    },
    close: () => http.close(),
  };

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const refuse = (req: IncomingMessage, res: ServerResponse, path: string, status: number, reason: string, description?: string) => {
    rejected.push({ method: req.method ?? '?', path: redactToken(path), reason });
    send(res, status, { ok: false, error_code: status, description: description ?? reason });
  };
  const redactToken = (path: string) => path.split(opts.token).join('<token>');

  async function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;

    const fileMatch = /^\/file\/bot([^/]+)\/(.+)$/.exec(path);
    if (fileMatch) {
      if (req.method !== 'GET') return refuse(req, res, path, 405, `file downloads are GET, got ${req.method}`);
      if (fileMatch[1] !== opts.token) return refuse(req, res, path, 401, 'file download with a wrong bot token', 'Unauthorized');
      const file = [...files.values()].find((f) => f.path === decodeURIComponent(fileMatch[2]!));
      if (!file) return refuse(req, res, path, 404, 'no such file_path', 'Not Found');
      downloads.push(file.path);
      accepted.push({ method: 'GET', path: `/file/bot<token>/${file.path}`, body: null });
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(file.bytes.length) });
      res.end(file.bytes);
      return;
    }

    const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(path);
    if (!m) return refuse(req, res, path, 404, 'not a Bot API path (/bot<token>/<method>)', 'Not Found');
    if (m[1] !== opts.token) return refuse(req, res, path, 401, 'wrong bot token in the path', 'Unauthorized');
    const method = m[2]!;
    if (req.method !== 'POST' && req.method !== 'GET') return refuse(req, res, path, 405, `Bot API takes GET or POST, got ${req.method}`);

    let params: Record<string, unknown>;
    const uploads: Record<string, { fileName: string; contentType: string; bytes: Buffer }> = {};
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (raw.length === 0) params = Object.fromEntries(url.searchParams);
    else if (type === 'application/json') {
      try {
        const parsed: unknown = JSON.parse(raw.toString('utf8'));
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return refuse(req, res, path, 400, 'JSON body is not an object', 'Bad Request: invalid JSON');
        params = parsed as Record<string, unknown>;
      } catch {
        return refuse(req, res, path, 400, 'body is not valid JSON', 'Bad Request: invalid JSON');
      }
    } else if (type === 'multipart/form-data') {
      const form = await new Request('http://fake/', { method: 'POST', headers: { 'content-type': req.headers['content-type']! }, body: new Uint8Array(raw) }).formData();
      params = {};
      const fields: Array<[string, FormDataEntryValue]> = [];
      form.forEach((v, k) => { fields.push([k, v]); });
      for (const [k, v] of fields) {
        if (typeof v === 'string') params[k] = v;
        else uploads[k] = { fileName: v.name, contentType: v.type, bytes: Buffer.from(await v.arrayBuffer()) };
      }
    } else {
      return refuse(req, res, path, 400, `unsupported content type "${type}" (Telegram takes JSON, urlencoded or multipart)`, 'Bad Request: unsupported content type');
    }
    const body = { ...params, ...Object.fromEntries(Object.entries(uploads).map(([k, u]) => [k, { upload: u.fileName, contentType: u.contentType, size: u.bytes.length }])) };

    if (SEND_METHODS.has(method) && failures.length > 0) {
      const status = failures.shift()!;
      accepted.push({ method: req.method, path: `/bot<token>/${method}`, body });
      return send(res, status, errorBody(status));
    }

    const chatOk = (v: unknown) => (typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && /^(-?\d+|@[A-Za-z]\w{3,})$/.test(v));
    const message = (chatId: unknown, extra: Record<string, unknown>) => ({
      message_id: nextMessageId++,
      from: { id: botId, is_bot: true, first_name: 'Huiliu Test Bot', username: opts.botUsername ?? 'huiliu_test_bot' },
      chat: { id: Number(chatId), type: 'private' },
      date: Math.floor(Date.now() / 1000),
      ...extra,
    });
    const ok = (result: unknown) => {
      accepted.push({ method: req.method!, path: `/bot<token>/${method}`, body });
      send(res, 200, { ok: true, result });
    };

    switch (method) {
      case 'getMe':
        return ok({ id: botId, is_bot: true, first_name: 'Huiliu Test Bot', username: opts.botUsername ?? 'huiliu_test_bot', can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false });
      case 'setWebhook': {
        // https://core.telegram.org/bots/api#setwebhook
        if (typeof params.url !== 'string') return refuse(req, res, path, 400, 'setWebhook without url', 'Bad Request: bad webhook: URL must be provided');
        if (params.url !== '' && !params.url.startsWith('https://')) return refuse(req, res, path, 400, 'setWebhook with a non-HTTPS url', 'Bad Request: bad webhook: An HTTPS URL must be provided for webhook');
        if (params.secret_token !== undefined && (typeof params.secret_token !== 'string' || !/^[A-Za-z0-9_-]{1,256}$/.test(params.secret_token))) {
          return refuse(req, res, path, 400, 'secret_token outside 1-256 of A-Z a-z 0-9 _ -', 'Bad Request: secret token contains unallowed characters');
        }
        if (params.allowed_updates !== undefined && !Array.isArray(params.allowed_updates)) return refuse(req, res, path, 400, 'allowed_updates is not an array', 'Bad Request: can\'t parse allowed updates');
        fake.webhook = {
          url: params.url,
          ...(typeof params.secret_token === 'string' ? { secretToken: params.secret_token } : {}),
          ...(Array.isArray(params.allowed_updates) ? { allowedUpdates: params.allowed_updates as string[] } : {}),
        };
        return ok(true);
      }
      case 'getWebhookInfo':
        return ok({ url: fake.webhook?.url ?? '', has_custom_certificate: false, pending_update_count: 0, ...(fake.webhook?.allowedUpdates ? { allowed_updates: fake.webhook.allowedUpdates } : {}) });
      case 'sendChatAction':
        if (!chatOk(params.chat_id) || typeof params.action !== 'string') return refuse(req, res, path, 400, 'sendChatAction needs chat_id and action', 'Bad Request: chat_id and action are required');
        return ok(true);
      case 'sendMessage': {
        // https://core.telegram.org/bots/api#sendmessage — chat_id and text (1-4096 characters) are required.
        if (!chatOk(params.chat_id)) return refuse(req, res, path, 400, 'sendMessage without a valid chat_id', 'Bad Request: chat_id is empty');
        if (typeof params.text !== 'string' || params.text.trim() === '') return refuse(req, res, path, 400, 'sendMessage without text', 'Bad Request: message text is empty');
        if ([...params.text].length > 4096) return refuse(req, res, path, 400, 'text longer than 4096 characters', 'Bad Request: message is too long');
        if (params.parse_mode !== undefined && !['MarkdownV2', 'HTML', 'Markdown'].includes(String(params.parse_mode))) return refuse(req, res, path, 400, 'unknown parse_mode', 'Bad Request: unsupported parse_mode');
        const result = message(params.chat_id, { text: params.text });
        sent.push({ method, chatId: String(params.chat_id), text: params.text, messageId: result.message_id });
        return ok(result);
      }
      case 'sendPhoto': case 'sendDocument': {
        // https://core.telegram.org/bots/api#sendphoto / #senddocument — chat_id and the file are required.
        const field = method === 'sendPhoto' ? 'photo' : 'document';
        if (!chatOk(params.chat_id)) return refuse(req, res, path, 400, `${method} without a valid chat_id`, 'Bad Request: chat_id is empty');
        const upload = uploads[field];
        if (!upload && typeof params[field] !== 'string') return refuse(req, res, path, 400, `${method} without "${field}"`, `Bad Request: there is no ${field} in the request`);
        if (upload && upload.bytes.length === 0) return refuse(req, res, path, 400, `${method} with an empty file`, 'Bad Request: file must be non-empty');
        if (method === 'sendPhoto' && upload && upload.bytes.length > 10 * 1024 * 1024) return refuse(req, res, path, 400, 'photo larger than 10 MB', 'Bad Request: PHOTO_SAVE_FILE_INVALID');
        if (params.caption !== undefined && (typeof params.caption !== 'string' || [...params.caption].length > 1024)) return refuse(req, res, path, 400, 'caption longer than 1024 characters', 'Bad Request: message caption is too long');
        const fileId = `BQAC${randomBytes(12).toString('base64url')}`;
        const media = method === 'sendPhoto'
          ? { photo: [{ file_id: fileId, file_unique_id: 'AQADu', width: 90, height: 90, file_size: upload?.bytes.length ?? 0 }] }
          : { document: { file_id: fileId, file_unique_id: 'AgADu', file_name: upload?.fileName ?? 'file', mime_type: upload?.contentType, file_size: upload?.bytes.length ?? 0 } };
        const result = message(params.chat_id, { ...media, ...(typeof params.caption === 'string' ? { caption: params.caption } : {}) });
        sent.push({
          method, chatId: String(params.chat_id), messageId: result.message_id,
          ...(typeof params.caption === 'string' ? { caption: params.caption } : {}),
          ...(upload ? { file: { field, ...upload } } : {}),
        });
        return ok(result);
      }
      case 'getFile': {
        // https://core.telegram.org/bots/api#getfile — answers a File with file_path.
        if (typeof params.file_id !== 'string') return refuse(req, res, path, 400, 'getFile without file_id', 'Bad Request: file_id not specified');
        const file = files.get(params.file_id);
        if (!file) return refuse(req, res, path, 400, 'getFile with an unknown file_id', 'Bad Request: invalid file_id');
        if (file.declaredSize > 20 * 1024 * 1024) {
          accepted.push({ method: req.method, path: `/bot<token>/${method}`, body });
          return send(res, 400, { ok: false, error_code: 400, description: 'Bad Request: file is too big' });
        }
        return ok({ file_id: file.fileId, file_unique_id: file.uniqueId, file_size: file.declaredSize, file_path: file.path });
      }
      default:
        return refuse(req, res, path, 404, `method ${method} is not implemented by the fake`, 'Not Found: method not found');
    }
  }

  const http = await startFakeServer((req, res, raw) =>
    handle(req, res, raw).catch((err: unknown) => {
      refuse(req, res, req.url ?? '', 500, `fake crashed: ${String(err)}`, 'Internal Server Error');
    }));
  fake.baseUrl = http.baseUrl;
  return fake;
}

/** A webhook request as Telegram sends it: the Update as JSON with the secret token header. */
export function telegramWebhookRequest(update: unknown, secretToken: string | undefined, path?: string) {
  return jsonWebhookRequest(update, secretToken !== undefined ? { 'x-telegram-bot-api-secret-token': secretToken } : {}, path);
}
