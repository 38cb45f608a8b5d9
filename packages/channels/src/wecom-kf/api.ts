/**
 * Calls to the WeCom server API (qyapi.weixin.qq.com) for 微信客服 and the mapping of its errors.
 *
 * - access_token: GET cgi-bin/gettoken?corpid=&corpsecret= (https://developer.work.weixin.qq.com/document/path/91039),
 *   valid 7200 s, kept by the shared token service (`ctx.tokens`, one cache for all nodes). A token WeCom
 *   refuses although it had not expired for us (40014 invalid, 42001 expired, 41001 missing) is invalidated
 *   and the call made once more with a fresh one.
 * - WeCom answers errors with HTTP 200 and `{ "errcode": n, "errmsg": "… hint: […]" }`; callers act on
 *   errcode only (https://developer.work.weixin.qq.com/document/path/90313: "不应该依赖errmsg来匹配").
 *
 * The token travels in the query string: every text that could contain a URL is redacted, and neither the
 * token nor the Secret ever appears in an error or a log.
 */
import type { ChannelContext, ChannelErrorCode, ChannelHttpRequest, ChannelHttpResponse } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';
import { errorOf } from '../wechat/api-common.ts';
import { ACCESS_TOKEN_KEY, apiUrl, type WecomKfConfig } from './config.ts';

export type Ctx = ChannelContext<WecomKfConfig>;

/** A refused call: the ChannelError core acts on, with WeCom's errcode for callers that branch on it. */
export class WecomApiError extends ChannelError {
  constructor(readonly errcode: number, code: ChannelErrorCode, message: string, opts: { retryable?: boolean; retryAfterMs?: number } = {}) {
    super(code, message, opts);
    this.name = 'WecomApiError';
  }
}

/** The token was refused although our cache still held it: invalid (40014), expired (42001), missing (41001). */
export const TOKEN_REFUSED = new Set([40014, 41001, 42001]);
/** sync_msg: the callback's Token is invalid or older than its 10 minutes (不合法的msgtoken). */
export const MSGTOKEN_INVALID = 95007;

/** Removes access tokens and the given secrets from a text meant for logs, admins or agents. */
export function redact(text: string, ...secrets: Array<string | undefined>): string {
  let out = text.replace(/(access_token|corpsecret)=[^&\s"'<>]*/gi, '$1=<redacted>');
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('<redacted>');
  return out;
}

function requireSecret(ctx: Ctx): string {
  const secret = ctx.secrets.secret;
  if (!secret) {
    throw new ChannelError('not_configured', 'the WeCom app Secret is not set: copy it from 应用管理 → (the app that manages 微信客服) → Secret into the inbox secret "secret"', { retryable: false });
  }
  return secret;
}

/** One HTTP exchange; transport failures become retryable network errors with the URL redacted. */
export async function exchange(ctx: Ctx, url: string, init: ChannelHttpRequest): Promise<ChannelHttpResponse> {
  try {
    return await ctx.http(url, init);
  } catch (err) {
    const message = redact(err instanceof Error ? err.message : String(err), ctx.secrets.secret);
    if (err instanceof ChannelError) {
      throw new ChannelError(err.code, `WeCom API: ${message}`, { retryable: err.retryable, ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}) });
    }
    throw new ChannelError('network', `WeCom API unreachable: ${message}`);
  }
}

/** Parses a JSON answer. An errcode is mapped first (WeCom sends it with any HTTP status); then HTTP trouble. */
export function jsonAnswer(ctx: Ctx, what: string, res: ChannelHttpResponse): Record<string, unknown> {
  let body: unknown;
  try {
    body = res.json();
  } catch {
    body = undefined;
  }
  const error = errorOf(body);
  if (error) throw wecomError(what, error.errcode, redact(error.errmsg, ctx.secrets.secret));
  if (res.status >= 500 || res.status === 429 || res.status === 408) {
    throw new ChannelError(res.status === 429 ? 'rate_limited' : 'provider_error', `WeCom ${what} failed with HTTP ${res.status}`, { retryable: true });
  }
  if (res.status >= 400) throw new ChannelError('provider_error', `WeCom ${what} failed with HTTP ${res.status}`, { retryable: false });
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    // WeCom answers with JSON; anything else came from a proxy or gateway on the way.
    throw new ChannelError('provider_error', `WeCom ${what} answered HTTP ${res.status} without a JSON body`, { retryable: true });
  }
  return body as Record<string, unknown>;
}

/** WeCom's errcode → ChannelError saying what the agent or admin does about it. */
export function wecomError(what: string, errcode: number, errmsg: string): WecomApiError {
  const said = `WeCom ${what} failed (${errcode}${errmsg ? ` ${errmsg}` : ''})`;
  const make = (code: ChannelErrorCode, advice: string, opts: { retryable?: boolean; retryAfterMs?: number } = { retryable: false }) =>
    new WecomApiError(errcode, code, `${said}${advice ? `: ${advice}` : ''}`, opts);
  switch (errcode) {
    case -1:
      return make('provider_error', 'WeCom is busy; retrying', { retryable: true });
    case 40013:
      return make('not_configured', 'the CorpID is invalid: copy it from 我的企业 → 企业信息 in the WeCom admin console');
    case 40001:
      return make('not_configured', 'the Secret is invalid: copy it (or reset it) under 应用管理 → the app that manages 微信客服 → Secret');
    case 40014: case 41001: case 42001:
      return make('unauthorized', 'WeCom refused the access token even after fetching a fresh one; check the CorpID and Secret');
    case 60020:
      return make('unauthorized', 'this server\'s IP address is not a trusted IP of the app: add the IP WeCom names above under 应用管理 → the app → 企业可信IP');
    case 48002:
      return make('unauthorized', 'the app may not call 微信客服 APIs: add it under 微信客服 → API → 可调用接口的应用, and let it manage the kf account (通过API管理微信客服账号)');
    case 45009: case 45033:
      return make('rate_limited', 'too many API calls; retrying later', { retryable: true, retryAfterMs: 60_000 });
    case 95000: case 95004:
      return make('recipient_invalid', 'the kf account (open_kfid) does not exist or is not managed by this app any more');
    case 95001:
      return make('window_closed', 'WeCom allows at most 5 messages per customer message; you can write again once the customer sends a message');
    case 95002:
      return make('window_closed', 'more than 48 hours passed since the customer\'s last message; you can write again once the customer sends a message');
    case 95018:
      return make('window_closed', 'WeCom refuses API messages in this session\'s state: it is served by a WeCom member in the WeCom app (由人工接待), waiting in WeCom\'s queue, or ended; reply in the WeCom app, or wait until the customer writes again');
    case 95013:
      return make('window_closed', 'the session has ended; it reopens when the customer writes again');
    case 95014:
      return make('not_configured', 'the WeCom user is not a 接待人员 (servicer) of this kf account, or not receiving (正在接待): add them under 微信客服 → the account → 接待人员');
    case 95016:
      return make('provider_error', 'WeCom does not allow this change of the session state');
    case 40096: case 40003:
      return make('recipient_invalid', 'WeCom does not know this customer (external_userid)');
    case 40004: case 40005: case 40006: case 40009: case 40011: case 41005: case 44001:
      return make('content_unsupported', 'WeCom does not accept this file (images: JPG or PNG up to 10 MB; voice: AMR up to 2 MB; video: MP4 up to 10 MB; other files up to 20 MB)');
    case 40007:
      return make('provider_error', 'the media id is unknown or expired (WeCom keeps temporary media for 3 days)');
    default:
      // Negative codes are WeCom's own trouble; positive ones describe the request and repeat on retry.
      return make('provider_error', '', { retryable: errcode < 0 });
  }
}

/** GET cgi-bin/gettoken: a new access_token (7200 s). Used by the token service only. */
export async function fetchAccessToken(ctx: Ctx): Promise<{ token: string; expiresInSeconds: number }> {
  const secret = requireSecret(ctx);
  const res = await exchange(ctx, apiUrl(ctx.config, 'cgi-bin/gettoken', { corpid: ctx.config.corpId, corpsecret: secret }), { method: 'GET', timeoutMs: 15_000 });
  const body = jsonAnswer(ctx, 'access token request', res);
  if (typeof body.access_token !== 'string' || !body.access_token) {
    throw new ChannelError('provider_error', 'WeCom access token request answered without access_token', { retryable: true });
  }
  const expires = Number(body.expires_in);
  return { token: body.access_token, expiresInSeconds: Number.isFinite(expires) && expires > 0 ? expires : 7200 };
}

export function accessToken(ctx: Ctx): Promise<string> {
  return ctx.tokens.get(ACCESS_TOKEN_KEY, () => fetchAccessToken(ctx));
}

/**
 * Runs `call` with the cached access token; a token WeCom refuses is invalidated (only if it is still the
 * cached one) and the call runs once more with a fresh token. A second refusal is final.
 */
export async function withAccessToken<T>(ctx: Ctx, call: (token: string) => Promise<T>): Promise<T> {
  const token = await accessToken(ctx);
  try {
    return await call(token);
  } catch (err) {
    if (!(err instanceof WecomApiError) || !TOKEN_REFUSED.has(err.errcode)) throw err;
    ctx.logger.warn({ errcode: err.errcode }, 'wecom refused the cached access token; fetching a fresh one and retrying once');
    await ctx.tokens.invalidate(ACCESS_TOKEN_KEY, token);
    return call(await accessToken(ctx));
  }
}

/** POST <path>?access_token= with a JSON body; the parsed answer, or the mapped error. */
export function postJson(ctx: Ctx, what: string, path: string, json: unknown, o: { timeoutMs?: number } = {}): Promise<Record<string, unknown>> {
  return withAccessToken(ctx, async (token) => {
    const res = await exchange(ctx, apiUrl(ctx.config, path, { access_token: token }), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(json),
      timeoutMs: o.timeoutMs ?? 30_000,
    });
    return jsonAnswer(ctx, what, res);
  });
}
