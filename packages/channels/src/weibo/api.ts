/**
 * Calls to Weibo's APIs with the fans-service access token, and the mapping of Weibo's errors.
 *
 * Error body (https://open.weibo.com/wiki/Error_code): { "error": "…", "error_code": 21327,
 * "request": "/2/messages/reply.json" }. The access token travels in the form body or the query string:
 * it is cut out of every error text.
 */
import type { ChannelContext, ChannelHttpRequest, ChannelHttpResponse } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';
import type { WeiboConfig } from './config.ts';

type Ctx = ChannelContext<WeiboConfig>;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Token missing, invalid, expired or revoked: only a new token from the fans-service console helps. */
const AUTH_CODES = new Set([21301, 21314, 21315, 21316, 21317, 21319, 21327, 21332, 21501, 10006]);
/** IP / user / app request limits. */
const RATE_CODES = new Set([10022, 10023, 10024]);
/** System error, service unavailable, remote service error, too many pending tasks, job expired. */
const TRANSIENT_CODES = new Set([10001, 10002, 10003, 10009, 10010]);
/** The user does not exist (or no longer). */
const RECIPIENT_CODES = new Set([20003]);
/** Parameter errors: our request, not the user's situation. */
const PARAM_CODES = new Set([10008, 10016, 10017, 10018]);

export function accessToken(ctx: Ctx): string {
  const token = ctx.secrets.accessToken;
  if (!token) throw new ChannelError('not_configured', 'Weibo secret "accessToken" is not set: copy it from 粉丝服务平台 → 高级功能 → 开发者模式 (valid one year)', { retryable: false });
  return token;
}

const redact = (text: string, token: string) => (token ? text.split(token).join('<access-token>').split(encodeURIComponent(token)).join('<access-token>') : text);

export async function weiboExchange(ctx: Ctx, url: string, init: ChannelHttpRequest, token: string): Promise<ChannelHttpResponse> {
  try {
    return await ctx.http(url, { timeoutMs: 30_000, ...init });
  } catch (err) {
    if (err instanceof ChannelError) throw new ChannelError(err.code, redact(err.message, token), { retryable: err.retryable, ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}) });
    throw new ChannelError('network', `Weibo API unreachable: ${redact(err instanceof Error ? err.message : String(err), token)}`);
  }
}

export interface WeiboFailure { code: number | null; error: string }

export function failureOf(status: number, body: unknown): WeiboFailure | null {
  if (isObject(body) && (body.error_code !== undefined || body.error !== undefined)) {
    const code = Number(body.error_code);
    return { code: Number.isFinite(code) ? code : null, error: typeof body.error === 'string' && body.error ? body.error : `error ${String(body.error_code)}` };
  }
  if (status < 200 || status >= 300) return { code: null, error: `HTTP ${status}` };
  return null;
}

export function weiboError(what: string, status: number, f: WeiboFailure, token: string): ChannelError {
  const text = redact(`Weibo ${what} failed (${f.code ?? `HTTP ${status}`}): ${f.error}`, token);
  const code = f.code;
  if ((code !== null && AUTH_CODES.has(code)) || status === 401) {
    return new ChannelError('unauthorized', `${text}. Paste a new access token from 粉丝服务平台 → 高级功能 → 开发者模式 into the inbox settings`, { retryable: false });
  }
  if (code !== null && RECIPIENT_CODES.has(code)) return new ChannelError('recipient_invalid', text, { retryable: false });
  if ((code !== null && RATE_CODES.has(code)) || status === 429) return new ChannelError('rate_limited', text, { retryable: true });
  if ((code !== null && TRANSIENT_CODES.has(code)) || status >= 500) return new ChannelError('provider_error', text, { retryable: true });
  if (code !== null && PARAM_CODES.has(code)) return new ChannelError('provider_error', text, { retryable: false });
  // Quota and 48-hour rule refusals have no documented code: they land here, final, with Weibo's words.
  return new ChannelError('provider_error', `${text} (Weibo refuses replies more than 48 hours after the user's last message, and after the user unfollowed the account)`, { retryable: false });
}

export function jsonOf(res: ChannelHttpResponse): unknown {
  try {
    return res.json();
  } catch {
    return undefined;
  }
}
