/**
 * Telegram (Bot API, webhook mode).
 *
 * Inbound: Telegram POSTs each Update to the inbox's webhook URL with the header
 * X-Telegram-Bot-Api-Secret-Token set to the secret_token given to setWebhook
 * (https://core.telegram.org/bots/api#setwebhook); a request without the right secret is refused before
 * its body is read. Media arrive as file ids resolved by `fetchMedia` (getFile, then the file URL).
 *
 * Webhook registration: "test connection" (`check`) verifies the token with getMe and then calls
 * setWebhook with the inbox's webhook URL and the secret, so pasting the two secrets and pressing "test"
 * is the whole setup. setWebhook is idempotent, and calling it every time also applies a changed secret.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ChannelAdapter, ChannelCapabilities, ChannelContext, InboundHttpRequest, InboundResult, MediaRef } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';
import { botToken, callBotApi, exchange, redact } from './bot-api.ts';
import { baseUrl, MAX_DOWNLOAD_BYTES, MAX_TEXT, MAX_UPLOAD_BYTES, TELEGRAM_SECRETS, telegramConfigSchema, WEBHOOK_SECRET_PATTERN, type TelegramConfig } from './config.ts';
import { parseUpdate } from './parse-update.ts';
import { sendTelegram } from './send.ts';

export { telegramConfigSchema, type TelegramConfig } from './config.ts';

const capabilities: ChannelCapabilities = {
  contentTypes: ['text', 'image', 'file', 'audio', 'video', 'location'],
  maxTextLength: MAX_TEXT,
  maxMediaBytes: MAX_UPLOAD_BYTES,
  // sendChatAction exists, but nothing depends on it.
  typing: true,
  readReceipts: false,
  deliveryReports: false,
  templates: false,
  sendWindow: null,
};

/** Compares secrets without leaking, through timing, how much of a guess was right. */
export function secretsEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}

function verifySecretToken(req: InboundHttpRequest, ctx: ChannelContext<TelegramConfig>): void {
  const expected = ctx.secrets.webhookSecret;
  if (!expected) {
    throw new ChannelError('not_configured', 'Telegram webhook secret is not set: set the secret "webhookSecret" and press "test connection" to register the webhook with it', { retryable: false });
  }
  const given = req.headers['x-telegram-bot-api-secret-token'];
  if (!given) throw new ChannelError('signature_invalid', 'Telegram webhook request has no X-Telegram-Bot-Api-Secret-Token header: the webhook was set without our secret (press "test connection" to register it again)', { retryable: false });
  if (!secretsEqual(given, expected)) throw new ChannelError('signature_invalid', 'Telegram webhook request carries a wrong X-Telegram-Bot-Api-Secret-Token', { retryable: false });
}

async function receive(req: InboundHttpRequest, ctx: ChannelContext<TelegramConfig>): Promise<InboundResult> {
  if (req.method.toUpperCase() !== 'POST') {
    throw new ChannelError('malformed', `Telegram delivers updates by POST; got ${req.method}`, { retryable: false });
  }
  verifySecretToken(req, ctx);
  const { events } = parseUpdate(req.rawBody, ctx.logger);
  return { response: { status: 200, contentType: 'text/plain', body: '' }, events };
}

/** getFile (https://core.telegram.org/bots/api#getfile), then the file at /file/bot<token>/<file_path>. */
async function fetchMedia(media: MediaRef, ctx: ChannelContext<TelegramConfig>): Promise<{ bytes: Buffer; contentType: string; fileName: string }> {
  if (!media.ref) throw new ChannelError('malformed', 'Telegram media has no file_id to fetch', { retryable: false });
  const tooLarge = (size: number) => new ChannelError('media_too_large', `Telegram file is ${size} bytes; bots can download at most ${MAX_DOWNLOAD_BYTES} bytes (20 MB)`, { retryable: false });
  if (media.size !== undefined && media.size > MAX_DOWNLOAD_BYTES) throw tooLarge(media.size);
  const file = await callBotApi<{ file_id: string; file_size?: number; file_path?: string }>(ctx, 'getFile', { json: { file_id: media.ref } });
  if (typeof file.file_size === 'number' && file.file_size > MAX_DOWNLOAD_BYTES) throw tooLarge(file.file_size);
  if (!file.file_path) throw new ChannelError('provider_error', 'Telegram getFile returned no file_path: the file is not downloadable (larger than 20 MB?)', { retryable: false });
  const token = botToken(ctx);
  const path = file.file_path.split('/').map(encodeURIComponent).join('/');
  const res = await exchange(ctx, `${baseUrl(ctx.config)}/file/bot${token}/${path}`, { method: 'GET', maxBytes: MAX_DOWNLOAD_BYTES, timeoutMs: 120_000 });
  if (res.status !== 200) {
    throw new ChannelError('provider_error', `Telegram file download failed with HTTP ${res.status}`, { retryable: res.status >= 500 || res.status === 429 });
  }
  const fileName = media.fileName ?? file.file_path.split('/').pop() ?? 'file';
  const headerType = res.headers['content-type']?.split(';')[0]?.trim();
  // Telegram serves most files as application/octet-stream; the type the update declared is better.
  const contentType = media.contentType ?? (headerType && headerType !== 'application/octet-stream' ? headerType : 'application/octet-stream');
  return { bytes: res.body, contentType, fileName };
}

/**
 * Registers the inbox's webhook URL with our secret (https://core.telegram.org/bots/api#setwebhook).
 * Only the update kinds we handle are requested.
 */
export async function registerTelegramWebhook(ctx: ChannelContext<TelegramConfig>): Promise<void> {
  const secret = ctx.secrets.webhookSecret;
  if (!secret || !WEBHOOK_SECRET_PATTERN.test(secret)) {
    throw new ChannelError('not_configured', 'Telegram webhook secret must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram refuses others)', { retryable: false });
  }
  await callBotApi<boolean>(ctx, 'setWebhook', {
    json: { url: ctx.webhookUrl, secret_token: secret, allowed_updates: ['message', 'edited_message', 'my_chat_member'] },
  });
}

async function check(ctx: ChannelContext<TelegramConfig>): Promise<{ ok: true } | { ok: false; message: string }> {
  try {
    const me = await callBotApi<{ id: number; is_bot: boolean; username?: string }>(ctx, 'getMe', { json: {} });
    if (ctx.config.botUsername && me.username?.toLowerCase() !== ctx.config.botUsername.toLowerCase()) {
      return { ok: false, message: `The bot token belongs to @${me.username ?? me.id}, not @${ctx.config.botUsername}: fix the token or the bot username` };
    }
    await registerTelegramWebhook(ctx);
    return { ok: true };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, message: redact(message, ctx.secrets.botToken ?? '') };
  }
}

export const telegramAdapter: ChannelAdapter<TelegramConfig> = {
  kind: 'telegram',
  displayName: 'Telegram',
  configSchema: telegramConfigSchema,
  secrets: TELEGRAM_SECRETS,
  capabilities: () => capabilities,
  receive,
  send: sendTelegram,
  fetchMedia,
  check,
};
