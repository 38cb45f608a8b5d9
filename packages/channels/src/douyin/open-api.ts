/**
 * Calls to the Douyin OpenAPI: tokens, error mapping, and one retry with a fresh token when Douyin says
 * the cached one is invalid or expired.
 *
 * Tokens (https://developer.open-douyin.com/docs/resource/zh-CN/mini-app/develop/server/reach-marketing/instant-message/FAQ):
 * - user access_token (`act.…`, 15 days): what the IM send API takes — im.direct_message is a
 *   "须用户授权" scope, so the call acts for the account that authorized the app. Renewed with
 *   POST /oauth/refresh_token/ (form: client_key, grant_type=refresh_token, refresh_token). The refresh
 *   token itself lasts 30 days and is not extended by refreshing: the admin re-authorizes (or renews it
 *   with /oauth/renew_refresh_token/, up to 5 times) and pastes the new one before then.
 * - client_token (`clt.…`, 2 hours): POST /oauth/client_token/ {client_key, client_secret,
 *   grant_type: client_credential}; for APIs that act for the app, not an account.
 * Both are kept in ChannelContext.tokens (one cache for all nodes, one refresh in flight).
 *
 * Errors (https://developer.open-douyin.com/docs/resource/zh-cn/dop/develop/openapi/status-code): HTTP 200
 * with a non-zero error code in data.error_code, extra.error_code / sub_error_code or err_no. Tokens never
 * appear in errors or logs.
 */
import type { ChannelContext, ChannelHttpRequest, ChannelHttpResponse } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';
import { apiUrl, type DouyinConfig } from './config.ts';

type Ctx = ChannelContext<DouyinConfig>;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The cached token is invalid or expired: drop it and try once with a new one. */
const TOKEN_CODES = new Set([28001003, 28001008, 2190002, 2190008, 10008]);
/** Busy / network trouble on Douyin's side: retry later. */
const TRANSIENT_CODES = new Set([-1, 2100004, 28001005, 28001006, 2191000]);
const RATE_CODES = new Set([28003018, 28001052]);
/** The app or the account lacks the capability or the authorization: an admin must act. */
const PERMISSION_CODES = new Set([2100007, 2190004, 28001012, 28001014, 28001015, 28001016, 28001018, 28001019, 28001020, 28001021, 28001042]);
/** The customer's account cannot be reached (banned, deleted, private). */
const RECIPIENT_CODES = new Set([2100009, 28001045, 28001046, 28001047]);
/** refresh_token expired: the account must authorize the app again. */
const REFRESH_EXPIRED_CODES = new Set([10010, 2190003]);

export interface DouyinFailure { code: number | null; description: string }

/** The error a Douyin answer carries, or null when it is a success. */
export function failureOf(status: number, body: unknown): DouyinFailure | null {
  const b = isObject(body) ? body : {};
  const data = isObject(b.data) ? b.data : {};
  const extra = isObject(b.extra) ? b.extra : {};
  const codes: Array<[unknown, unknown]> = [
    [data.error_code, data.description],
    [extra.error_code, extra.description],
    [extra.sub_error_code, extra.sub_description],
    [b.err_no, b.err_msg],
    [b.error_code, b.description],
  ];
  for (const [code, description] of codes) {
    const n = Number(code);
    if (code !== undefined && code !== null && code !== '' && Number.isFinite(n) && n !== 0) {
      return { code: n, description: typeof description === 'string' && description ? description : `error ${n}` };
    }
  }
  if (status < 200 || status >= 300) return { code: null, description: `HTTP ${status}` };
  if (!isObject(body)) return { code: null, description: 'the answer is not JSON' };
  return null;
}

export function douyinError(what: string, status: number, f: DouyinFailure): ChannelError {
  const code = f.code;
  const text = `Douyin ${what} failed (${code ?? `HTTP ${status}`}): ${f.description}`;
  if (code !== null && REFRESH_EXPIRED_CODES.has(code)) {
    return new ChannelError('unauthorized', `${text}. The refresh token expired (30 days): have the account authorize the app again and paste the new refresh token into the inbox settings`, { retryable: false });
  }
  if (code !== null && TOKEN_CODES.has(code)) {
    return new ChannelError('unauthorized', `${text}. Douyin refused a freshly issued token too: check the Client Key, Client Secret and refresh token`, { retryable: false });
  }
  if (code !== null && PERMISSION_CODES.has(code)) {
    return new ChannelError('unauthorized', `${text}. The app needs the im.direct_message capability (控制台 → 能力管理) and the account's authorization for it`, { retryable: false });
  }
  if (code !== null && RECIPIENT_CODES.has(code)) return new ChannelError('recipient_invalid', text, { retryable: false });
  if (code === 28003017) return new ChannelError('rate_limited', `${text}. The app's daily quota is used up`, { retryable: false });
  if ((code !== null && RATE_CODES.has(code)) || status === 429) return new ChannelError('rate_limited', text, { retryable: true });
  if ((code !== null && TRANSIENT_CODES.has(code)) || status >= 500) return new ChannelError('provider_error', text, { retryable: true });
  return new ChannelError('provider_error', text, { retryable: false });
}

function requireSecret(ctx: Ctx, name: 'clientSecret' | 'refreshToken'): string {
  const value = ctx.secrets[name];
  if (value) return value;
  throw new ChannelError('not_configured', name === 'clientSecret'
    ? 'Douyin secret "clientSecret" is not set: copy the Client Secret from the Douyin Open Platform console (应用 → 应用信息)'
    : 'Douyin secret "refreshToken" is not set: with tokenMode user_access_token the account must authorize the app (scope im.direct_message) and its refresh_token is pasted into the inbox settings', { retryable: false });
}

/** ctx.http with transport failures as retryable `network` errors whose text names no secret. */
async function exchange(ctx: Ctx, url: string, init: ChannelHttpRequest, hide: string[]): Promise<ChannelHttpResponse> {
  try {
    return await ctx.http(url, { timeoutMs: 30_000, ...init });
  } catch (err) {
    if (err instanceof ChannelError) throw err;
    let reason = err instanceof Error ? err.message : String(err);
    for (const secret of hide) if (secret) reason = reason.split(secret).join('<secret>');
    throw new ChannelError('network', `Douyin OpenAPI unreachable: ${reason}`);
  }
}

function jsonOf(res: ChannelHttpResponse): unknown {
  try {
    return res.json();
  } catch {
    return undefined;
  }
}

interface TokenAnswer { access_token?: unknown; expires_in?: unknown; open_id?: unknown }

async function issueToken(ctx: Ctx, what: string, path: string, init: ChannelHttpRequest, hide: string[]): Promise<{ token: string; expiresInSeconds: number; openId?: string }> {
  const res = await exchange(ctx, apiUrl(ctx.config, path), { method: 'POST', ...init }, hide);
  const body = jsonOf(res);
  const failure = failureOf(res.status, body);
  if (failure) {
    const e = douyinError(what, res.status, failure);
    if (e.retryable || (failure.code !== null && REFRESH_EXPIRED_CODES.has(failure.code))) throw e;
    // Any other refusal while issuing a token is a credential the admin must fix: never retried.
    const fix = path.includes('refresh') ? 'the Client Key and the refresh token' : 'the Client Key and Client Secret';
    throw new ChannelError('unauthorized', `Douyin ${what} failed (${failure.code ?? `HTTP ${res.status}`}): ${failure.description}. Check ${fix} in the inbox settings`, { retryable: false });
  }
  const data = (isObject(body) && isObject(body.data) ? body.data : {}) as TokenAnswer;
  const token = typeof data.access_token === 'string' ? data.access_token : '';
  const expires = Number(data.expires_in);
  if (!token || !Number.isFinite(expires) || expires <= 0) {
    throw new ChannelError('provider_error', `Douyin ${what} answered without access_token / expires_in`, { retryable: true });
  }
  return { token, expiresInSeconds: expires, ...(typeof data.open_id === 'string' ? { openId: data.open_id } : {}) };
}

function tokenKey(ctx: Ctx): string {
  return ctx.config.tokenMode === 'client_token'
    ? `douyin:client_token:${ctx.config.clientKey}`
    : `douyin:access_token:${ctx.config.clientKey}:${ctx.config.accountOpenId}`;
}

/** POST /oauth/client_token/ (JSON, documented). */
function clientToken(ctx: Ctx) {
  const secret = requireSecret(ctx, 'clientSecret');
  return issueToken(ctx, 'client_token', '/oauth/client_token/', {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_key: ctx.config.clientKey, client_secret: secret, grant_type: 'client_credential' }),
  }, [secret]);
}

/** POST /oauth/refresh_token/ (form, documented); the token must belong to the configured account. */
async function userToken(ctx: Ctx) {
  const refreshToken = requireSecret(ctx, 'refreshToken');
  const issued = await issueToken(ctx, 'refresh_token', '/oauth/refresh_token/', {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_key: ctx.config.clientKey, grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
  }, [refreshToken]);
  if (issued.openId && issued.openId !== ctx.config.accountOpenId) {
    throw new ChannelError('unauthorized', `the refresh token belongs to the Douyin account ${issued.openId}, not to the inbox's accountOpenId ${ctx.config.accountOpenId}: paste the refresh token of the right account, or fix accountOpenId`, { retryable: false });
  }
  return issued;
}

export function accessToken(ctx: Ctx): Promise<string> {
  return ctx.tokens.get(tokenKey(ctx), () => (ctx.config.tokenMode === 'client_token' ? clientToken(ctx) : userToken(ctx)));
}

/** A token issued now, not taken from the cache: proves the credentials work ("test connection"). */
export async function reissueToken(ctx: Ctx): Promise<string> {
  await ctx.tokens.invalidate(tokenKey(ctx), await accessToken(ctx));
  return accessToken(ctx);
}

/**
 * One OpenAPI call with the `access-token` header. A token Douyin calls invalid or expired is dropped
 * from the shared cache (only if it is still the cached one) and the call is made once more.
 */
export async function callWithToken(ctx: Ctx, what: string, url: string, init: ChannelHttpRequest): Promise<Record<string, unknown>> {
  for (let attempt = 0; ; attempt++) {
    const token = await accessToken(ctx);
    const res = await exchange(ctx, url, { ...init, headers: { ...(init.headers ?? {}), 'access-token': token } }, [token]);
    const body = jsonOf(res);
    const failure = failureOf(res.status, body);
    if (!failure) return body as Record<string, unknown>;
    if (attempt === 0 && failure.code !== null && TOKEN_CODES.has(failure.code)) {
      await ctx.tokens.invalidate(tokenKey(ctx), token);
      continue;
    }
    throw douyinError(what, res.status, failure);
  }
}
