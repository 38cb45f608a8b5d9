/**
 * Calls to the Telegram Bot API (https://core.telegram.org/bots/api#making-requests) and the mapping of
 * its answers to ChannelError. Every answer is `{ ok: true, result }` or
 * `{ ok: false, error_code, description, parameters? }`; `parameters.retry_after` comes with flood control.
 *
 * The bot token is part of every URL, so no URL and no raw transport error ever leaves this module
 * without the token being redacted.
 */
import type { ChannelContext, ChannelHttpResponse } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';
import { baseUrl, type TelegramConfig } from './config.ts';

export interface BotApiError {
  ok: false;
  error_code?: number;
  description?: string;
  parameters?: { retry_after?: number; migrate_to_chat_id?: number };
}

export function botToken(ctx: ChannelContext<TelegramConfig>): string {
  const token = ctx.secrets.botToken;
  if (!token) throw new ChannelError('not_configured', 'Telegram bot token is not set: paste the token @BotFather gave you into the inbox channel settings (secret "botToken")', { retryable: false });
  return token;
}

export function redact(text: string, token: string): string {
  return token ? text.split(token).join('<bot-token>') : text;
}

/** One HTTP exchange with the Bot API server; transport failures become retryable `network` errors. */
export async function exchange(
  ctx: ChannelContext<TelegramConfig>,
  url: string,
  init: Parameters<ChannelContext<TelegramConfig>['http']>[1],
): Promise<ChannelHttpResponse> {
  const token = botToken(ctx);
  try {
    return await ctx.http(url, init);
  } catch (err) {
    if (err instanceof ChannelError) throw err;
    const reason = redact(err instanceof Error ? err.message : String(err), token);
    throw new ChannelError('network', `Telegram Bot API unreachable at ${baseUrl(ctx.config)}: ${reason}`);
  }
}

/**
 * Calls `method` with a JSON body, or a multipart body already encoded by the caller, and returns `result`.
 * Telegram accepts both for every method (https://core.telegram.org/bots/api#making-requests).
 */
export async function callBotApi<T>(
  ctx: ChannelContext<TelegramConfig>,
  method: string,
  body: { json: Record<string, unknown> } | { multipart: { bytes: Buffer; contentType: string } },
  timeoutMs = 30_000,
): Promise<T> {
  const token = botToken(ctx);
  const url = `${baseUrl(ctx.config)}/bot${token}/${method}`;
  const res = await exchange(ctx, url, 'json' in body
    ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body.json), timeoutMs }
    : { method: 'POST', headers: { 'content-type': body.multipart.contentType }, body: body.multipart.bytes, timeoutMs });
  let parsed: unknown;
  try {
    parsed = res.json();
  } catch {
    parsed = undefined;
  }
  const answer = parsed as { ok?: boolean; result?: T } | undefined;
  if (res.status >= 200 && res.status < 300 && answer?.ok === true && answer.result !== undefined) return answer.result;
  throw botApiError(method, res.status, answer?.ok === false ? (answer as BotApiError) : undefined, token);
}

/**
 * Maps a failed call. 429 carries retry_after (flood control); 403 means the user blocked the bot or the
 * chat is gone, which no retry will fix; 5xx and transport trouble are retried; other 4xx are final.
 */
export function botApiError(method: string, status: number, body: BotApiError | undefined, token: string): ChannelError {
  const code = body?.error_code ?? status;
  const description = redact(body?.description ?? `HTTP ${status}`, token);
  const what = `Telegram ${method} failed (${code}): ${description}`;
  if (code === 429 || status === 429) {
    const seconds = body?.parameters?.retry_after;
    return new ChannelError('rate_limited', what, { retryable: true, ...(typeof seconds === 'number' ? { retryAfterMs: seconds * 1000 } : {}) });
  }
  if (code === 403) return new ChannelError('recipient_invalid', `${what} — the customer blocked the bot or the chat no longer exists`, { retryable: false });
  if (code === 401 || code === 404) return new ChannelError('unauthorized', `${what} — check the bot token in the inbox channel settings`, { retryable: false });
  if (code === 413 || /file is too big/i.test(description)) return new ChannelError('media_too_large', what, { retryable: false });
  if (code === 400 && /chat not found|user not found|PEER_ID_INVALID/i.test(description)) {
    return new ChannelError('recipient_invalid', what, { retryable: false });
  }
  if (status >= 500 || code >= 500) return new ChannelError('provider_error', what, { retryable: true });
  return new ChannelError('provider_error', what, { retryable: false });
}
