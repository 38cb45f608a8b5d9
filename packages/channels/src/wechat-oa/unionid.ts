/**
 * The UnionID of a follower: the same person's id across every Official Account, mini-program and app
 * of one WeChat Open Platform account. Pushes carry only the OpenID (per account), so it is looked up
 * with cgi-bin/user/info (https://developers.weixin.qq.com/doc/offiaccount/User_Management/Get_users_basic_information_UnionID.html),
 * which returns `unionid` only when the account is bound to an Open Platform account.
 *
 * The lookup runs in the push's pull job (pull.ts), after WeChat has had its answer. An inbox's pulls run
 * one at a time, so a slow user/info would hold up every follower's messages behind it: the lookup is
 * bounded in time and never fails the push. Without an answer the message is stored under the OpenID
 * alone and a later message tries again. Answers are kept in this process's memory only (OpenID →
 * UnionID never changes, so a cache per node is enough and nothing personal is persisted beyond the
 * verified key itself).
 */
import type { ChannelContext } from '../adapter.ts';
import { callApi, redact, WechatApiError } from './api.ts';
import type { WechatOaConfig } from './config.ts';

const HIT_TTL_MS = 24 * 3_600_000;
/** No UnionID (account not bound, customer unfollowed): asked again after a while, the binding may change. */
const MISS_TTL_MS = 3_600_000;
/** The lookup failed (network, quota): a few minutes without asking, so a flood of pushes does not wait on it. */
const FAILURE_TTL_MS = 5 * 60_000;
/** The account may not call user/info at all (48001): asked again after an hour. */
const FORBIDDEN_TTL_MS = 3_600_000;
const MAX_ENTRIES = 10_000;
export const UNIONID_LOOKUP_TIMEOUT_MS = 3_000;

const byOpenId = new Map<string, { unionid: string | null; until: number }>();
const forbiddenUntil = new Map<string, number>();

/** Tests start from an empty cache. */
export function forgetUnionIds(): void {
  byOpenId.clear();
  forbiddenUntil.clear();
}

function remember(key: string, unionid: string | null, ttlMs: number, now: number): void {
  byOpenId.delete(key);
  if (byOpenId.size >= MAX_ENTRIES) byOpenId.delete(byOpenId.keys().next().value!);
  byOpenId.set(key, { unionid, until: now + ttlMs });
}

interface UserInfo {
  subscribe?: number;
  openid?: string;
  unionid?: string;
}

/** The follower's UnionID, or null when WeChat gives none or the lookup failed (logged). */
export async function unionIdOf(openid: string, ctx: ChannelContext<WechatOaConfig>): Promise<string | null> {
  const now = ctx.now().getTime();
  const appId = ctx.config.appId;
  if ((forbiddenUntil.get(appId) ?? 0) > now) return null;
  const key = `${appId}:${openid}`;
  const cached = byOpenId.get(key);
  if (cached && cached.until > now) return cached.unionid;

  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), UNIONID_LOOKUP_TIMEOUT_MS); });
  try {
    const lookup = callApi<UserInfo>(ctx, 'user info lookup', 'cgi-bin/user/info', { method: 'GET', query: { openid, lang: 'zh_CN' }, timeoutMs: UNIONID_LOOKUP_TIMEOUT_MS });
    // The lookup keeps running after a timeout (a token refresh it started still fills the token cache).
    lookup.catch(() => undefined);
    const info = await Promise.race([lookup, timeout]);
    if (info === 'timeout') {
      ctx.logger.warn({ timeoutMs: UNIONID_LOOKUP_TIMEOUT_MS }, 'wechat unionid lookup took too long; message stored under the openid only');
      remember(key, null, FAILURE_TTL_MS, now);
      return null;
    }
    const unionid = typeof info.unionid === 'string' && info.unionid ? info.unionid : null;
    remember(key, unionid, unionid ? HIT_TTL_MS : MISS_TTL_MS, now);
    return unionid;
  } catch (err) {
    if (err instanceof WechatApiError && err.errcode === 48001) {
      forbiddenUntil.set(appId, now + FORBIDDEN_TTL_MS);
      ctx.logger.warn({ errcode: 48001 }, 'wechat unionid lookup not permitted for this account (unverified?); set fetchUnionId to false to stop trying');
      return null;
    }
    ctx.logger.warn({ reason: redact(err instanceof Error ? err.message : String(err)) }, 'wechat unionid lookup failed; message stored under the openid only');
    remember(key, null, FAILURE_TTL_MS, now);
    return null;
  } finally {
    clearTimeout(timer);
  }
}
