/**
 * Calls to the WeChat Official Account API (api.weixin.qq.com) and the mapping of its errors.
 *
 * Every call carries the account's access_token in the query string. The token comes from the shared
 * token service (`ctx.tokens`, one cache for all nodes) and is fetched with the stable_token endpoint
 * (https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/getStableAccessToken.html).
 * WeChat answers errors with HTTP 200 and `{ "errcode": n, "errmsg": "… rid: …" }`
 * (https://developers.weixin.qq.com/doc/offiaccount/Getting_Started/Global_Return_Code.html).
 *
 * The token travels in URLs: every error message that could contain a URL is redacted here, and the
 * token itself never appears in a message or a log.
 */
import type { ChannelContext, ChannelErrorCode, ChannelHttpRequest, ChannelHttpResponse } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';
import { errorOf } from '../wechat/api-common.ts';
import { apiUrl, type WechatOaConfig } from './config.ts';

export const ACCESS_TOKEN_KEY = 'access_token';

/** A refused call: the ChannelError core acts on, plus WeChat's own code (for the token retry). */
export class WechatApiError extends ChannelError {
  constructor(
    readonly errcode: number,
    code: ChannelErrorCode,
    message: string,
    opts: { retryable?: boolean; retryAfterMs?: number } = {},
  ) {
    super(code, message, opts);
    this.name = 'WechatApiError';
  }
}

/** Access-token errors of a token our cache still considered valid: invalid (40001, 40014) or expired (42001). */
export const TOKEN_REFUSED = new Set([40001, 40014, 42001]);

/** Removes access tokens (query parameter) and the given secrets from a text meant for logs or agents. */
export function redact(text: string, ...secrets: Array<string | undefined>): string {
  let out = text.replace(/access_token=[^&\s"'<>]*/gi, 'access_token=<redacted>');
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('<redacted>');
  return out;
}

function appSecret(ctx: ChannelContext<WechatOaConfig>): string {
  const secret = ctx.secrets.appSecret;
  if (!secret) {
    throw new ChannelError('not_configured', 'WeChat AppSecret is not set: copy it from 设置与开发 → 基本配置 (开发者密码) into the inbox secret "appSecret"', { retryable: false });
  }
  return secret;
}

/** One HTTP exchange with the API; transport failures become retryable network errors, redacted. */
export async function exchange(ctx: ChannelContext<WechatOaConfig>, url: string, init: ChannelHttpRequest): Promise<ChannelHttpResponse> {
  try {
    return await ctx.http(url, init);
  } catch (err) {
    const message = redact(err instanceof Error ? err.message : String(err), ctx.secrets.appSecret);
    if (err instanceof ChannelError) {
      // Rebuilt with the redacted message and without `cause` (whose message may hold the URL); core's
      // flags on it (ssrfBlocked) are kept.
      const { ssrfBlocked } = err as ChannelError & { ssrfBlocked?: boolean };
      const rebuilt = new ChannelError(err.code, `WeChat API: ${message}`, { retryable: err.retryable, ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}) });
      throw ssrfBlocked ? Object.assign(rebuilt, { ssrfBlocked }) : rebuilt;
    }
    throw new ChannelError('network', `WeChat API unreachable: ${message}`);
  }
}

/** Parses a JSON answer; an HTTP error or a non-JSON body becomes a provider error. */
export function jsonAnswer(what: string, res: ChannelHttpResponse): unknown {
  if (res.status >= 500 || res.status === 429) {
    throw new ChannelError('provider_error', `WeChat ${what} failed with HTTP ${res.status}`, { retryable: true });
  }
  let body: unknown;
  try {
    body = res.json();
  } catch {
    body = undefined;
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    // WeChat answers its errors with HTTP 200 and JSON; anything else came from a proxy or gateway.
    throw new ChannelError('provider_error', `WeChat ${what} answered HTTP ${res.status} without a JSON body`, { retryable: res.status < 400 || res.status === 408 });
  }
  return body;
}

/** WeChat's errcode → ChannelError with what the agent or admin does about it. */
export function wechatError(what: string, errcode: number, errmsg: string): WechatApiError {
  const said = `WeChat ${what} failed (${errcode}${errmsg ? ` ${errmsg}` : ''})`;
  const make = (code: ChannelErrorCode, advice: string, opts: { retryable?: boolean; retryAfterMs?: number } = { retryable: false }) =>
    new WechatApiError(errcode, code, `${said}${advice ? `: ${advice}` : ''}`, opts);
  switch (errcode) {
    case -1:
      return make('provider_error', 'WeChat is busy; retrying', { retryable: true });
    case 45015:
      return make('window_closed', 'more than 48 hours passed since the customer\'s last message, or they unfollowed the account; you can write again once the customer sends a message');
    case 45047:
      return make('window_closed', 'the customer-service message quota for this customer is used up (WeChat allows 5 messages per customer message); you can write again once the customer sends a message');
    case 45009:
      return make('rate_limited', 'the account\'s daily API quota is used up; it resets at midnight Beijing time (an admin can also reset it in the WeChat console)', { retryable: true, retryAfterMs: 30 * 60_000 });
    case 45011:
      return make('rate_limited', 'too many API calls this minute; retrying', { retryable: true, retryAfterMs: 60_000 });
    case 40003:
      return make('recipient_invalid', 'the recipient is not a follower of this Official Account (invalid OpenID)');
    case 43004:
      return make('recipient_invalid', 'the customer does not follow the Official Account (any more)');
    case 40001:
    case 40014:
    case 42001:
      return make('unauthorized', 'WeChat refused the access token even after fetching a fresh one; check the AppID and AppSecret, and that no other system resets the account\'s token with force_refresh');
    case 40013:
      return make('not_configured', 'the AppID is invalid: copy it from 设置与开发 → 基本配置 in the WeChat console');
    case 40125:
      return make('not_configured', 'the AppSecret is invalid: copy it (or reset it) under 设置与开发 → 基本配置 → 开发者密码 in the WeChat console');
    case 40164:
      return make('unauthorized', 'add this server\'s IP address (the one WeChat names above) to the IP whitelist (IP白名单) under 设置与开发 → 基本配置 in the WeChat console');
    case 89503:
    case 89501:
      return make('unauthorized', 'this server\'s IP address needs the administrator\'s confirmation in the WeChat console, or add it to the IP whitelist');
    case 48001:
      return make('unauthorized', 'the Official Account has no permission for this API (customer-service messages and user info need a verified service or subscription account)');
    case 45002:
      return make('content_unsupported', 'the text is too long for WeChat; shorten it or split it into several messages');
    case 40004:
    case 40005:
    case 40006:
    case 41005:
      return make('content_unsupported', 'WeChat does not accept this file (images: JPEG, PNG or GIF up to 10 MB)');
    case 40007:
      return make('provider_error', 'the media id is unknown or expired (temporary media are kept for 3 days)');
    default:
      // Negative codes are WeChat's own trouble; positive ones describe the request and repeat on retry.
      return make('provider_error', '', { retryable: errcode < 0 });
  }
}

/**
 * POST cgi-bin/stable_token (client_credential, force_refresh false): the account's current token, the
 * same for every caller until it expires, so several installations or nodes never invalidate each
 * other's token. Called by the token service only (and by "test connection").
 */
export async function fetchStableToken(ctx: ChannelContext<WechatOaConfig>): Promise<{ token: string; expiresInSeconds: number }> {
  const secret = appSecret(ctx);
  const res = await exchange(ctx, apiUrl(ctx.config, 'cgi-bin/stable_token'), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credential', appid: ctx.config.appId, secret, force_refresh: false }),
    timeoutMs: 15_000,
  });
  const body = jsonAnswer('access token request', res) as { access_token?: unknown; expires_in?: unknown };
  const error = errorOf(body);
  if (error) {
    // For the token endpoints 40001 means "AppSecret wrong", not "token invalid".
    const errcode = error.errcode === 40001 ? 40125 : error.errcode;
    throw wechatError('access token request', errcode, redact(error.errmsg, secret));
  }
  if (typeof body.access_token !== 'string' || !body.access_token) {
    throw new ChannelError('provider_error', 'WeChat access token request answered without access_token', { retryable: true });
  }
  const expires = Number(body.expires_in);
  return { token: body.access_token, expiresInSeconds: Number.isFinite(expires) && expires > 0 ? expires : 7200 };
}

export async function accessToken(ctx: ChannelContext<WechatOaConfig>): Promise<string> {
  // Guard for a core without the shared token service: a clear failure instead of a TypeError.
  if (!ctx.tokens) throw new ChannelError('provider_error', 'this Huiliu server has no shared token service for WeChat access tokens', { retryable: true });
  return ctx.tokens.get(ACCESS_TOKEN_KEY, () => fetchStableToken(ctx));
}

/**
 * Runs `call` with the cached access token. When WeChat refuses the token although it had not expired
 * for us (40001 / 40014 / 42001: reset elsewhere, clocks apart), the token is invalidated — only if it
 * is still the cached one — and the call runs once more with a fresh token. A second refusal is final.
 */
export async function withAccessToken<T>(ctx: ChannelContext<WechatOaConfig>, call: (token: string) => Promise<T>): Promise<T> {
  const token = await accessToken(ctx);
  try {
    return await call(token);
  } catch (err) {
    if (!(err instanceof WechatApiError) || !TOKEN_REFUSED.has(err.errcode)) throw err;
    ctx.logger.warn({ errcode: err.errcode }, 'wechat refused the cached access token; fetching a fresh one and retrying once');
    await ctx.tokens.invalidate(ACCESS_TOKEN_KEY, token);
    return call(await accessToken(ctx));
  }
}

export interface ApiCall {
  method: 'GET' | 'POST';
  query?: Record<string, string>;
  json?: unknown;
  body?: Buffer;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** One API call answering JSON: the parsed answer, or the mapped error (with the token retry). */
export function callApi<T>(ctx: ChannelContext<WechatOaConfig>, what: string, path: string, call: ApiCall): Promise<T> {
  return withAccessToken(ctx, async (token) => {
    const headers = { ...(call.json !== undefined ? { 'content-type': 'application/json' } : {}), ...(call.headers ?? {}) };
    const res = await exchange(ctx, apiUrl(ctx.config, path, { access_token: token, ...(call.query ?? {}) }), {
      method: call.method,
      headers,
      // JSON.stringify keeps Chinese as UTF-8 characters, which WeChat shows as is (escaped \uXXXX works too).
      ...(call.json !== undefined ? { body: JSON.stringify(call.json) } : call.body !== undefined ? { body: call.body } : {}),
      timeoutMs: call.timeoutMs ?? 15_000,
    });
    const body = jsonAnswer(what, res);
    const error = errorOf(body);
    if (error) throw wechatError(what, error.errcode, error.errmsg);
    return body as T;
  });
}
