/**
 * pull(): fetches what a kf_msg_or_event callback announced with POST cgi-bin/kf/sync_msg
 * (https://developer.work.weixin.qq.com/document/path/94670, 读取消息):
 *
 *   { cursor, token, limit: 1000, voice_format: 0, open_kfid } → { next_cursor, has_more, msg_list }
 *
 * - One cursor per kf account, kept in the inbox's poll state as `{ cursors: { <open_kfid>: cursor } }`
 *   and saved only after the page it ends was delivered (stored) — a failed pull resumes where it
 *   stopped, a repeated one re-reads at most one page, which core stores once (msgid = externalId).
 * - Pages until has_more is 0 ("不能通过判断msg_list是否空来停止拉取").
 * - The callback's Token is valid for 10 minutes. A pull that runs later (retried, queued) gets 95007
 *   (不合法的msgtoken) and continues without it: allowed, at a stricter rate limit.
 * - Without a cursor sync_msg starts at the oldest message of the last 3 days, which imports recent
 *   history once when an inbox is connected.
 */
import type { PollSink, PullRequest } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';
import { MSGTOKEN_INVALID, postJson, WecomApiError, type Ctx } from './api.ts';
import { handlesKfAccount, MAX_SYNC_PAGES, SYNC_PAGE_LIMIT } from './config.ts';
import { normalizeItems, ORIGIN_CUSTOMER, type CustomerProfile } from './parse-messages.ts';

export interface SyncState {
  cursors: Record<string, string>;
}

function readState(raw: Record<string, unknown> | null): SyncState {
  const cursors: Record<string, string> = {};
  const stored = raw && typeof raw.cursors === 'object' && raw.cursors !== null ? (raw.cursors as Record<string, unknown>) : {};
  for (const [k, v] of Object.entries(stored)) if (typeof v === 'string' && v) cursors[k] = v;
  return { cursors };
}

function parseRequest(request: PullRequest): { openKfId: string; token: string | null } {
  const openKfId = request.openKfId;
  if (typeof openKfId !== 'string' || !/^[A-Za-z0-9_-]{4,64}$/.test(openKfId)) {
    throw new ChannelError('malformed', 'WeCom pull request without a valid openKfId', { retryable: false });
  }
  const token = typeof request.token === 'string' && request.token ? request.token : null;
  return { openKfId, token };
}

export async function pullKfMessages(request: PullRequest, ctx: Ctx, sink: PollSink): Promise<void> {
  const { openKfId, token: callbackToken } = parseRequest(request);
  let token = callbackToken;
  if (!handlesKfAccount(ctx.config, openKfId)) {
    ctx.logger.info({ openKfId }, 'wecom pull skipped: the kf account is not in this inbox\'s openKfIds');
    return;
  }
  let cursor = readState(await sink.state.get()).cursors[openKfId] ?? '';

  for (let page = 0; page < MAX_SYNC_PAGES; page++) {
    let answer: Record<string, unknown>;
    try {
      answer = await postJson(ctx, 'sync_msg', 'cgi-bin/kf/sync_msg', {
        ...(cursor ? { cursor } : {}),
        ...(token ? { token } : {}),
        limit: SYNC_PAGE_LIMIT,
        voice_format: 0,
        open_kfid: openKfId,
      });
    } catch (err) {
      if (token && err instanceof WecomApiError && err.errcode === MSGTOKEN_INVALID) {
        ctx.logger.info({ openKfId }, 'wecom callback token expired or invalid (95007); continuing sync_msg without it');
        token = null;
        page--;
        continue;
      }
      throw err;
    }
    const items = Array.isArray(answer.msg_list) ? answer.msg_list : [];
    const profiles = ctx.config.fetchCustomerProfiles ? await customerProfiles(ctx, items) : new Map<string, CustomerProfile>();
    const events = normalizeItems(items, profiles, ctx.logger);
    if (events.length > 0) await sink.deliver(events);

    const next = typeof answer.next_cursor === 'string' ? answer.next_cursor : '';
    if (next && next !== cursor) {
      cursor = next;
      // Read again before writing: the state object is shared by every kf account of the inbox.
      const latest = readState(await sink.state.get());
      latest.cursors[openKfId] = next;
      await sink.state.set({ cursors: latest.cursors });
    }
    const hasMore = Number(answer.has_more) === 1;
    if (!hasMore) return;
    if (!next) throw new ChannelError('provider_error', 'WeCom sync_msg said has_more without a next_cursor', { retryable: true });
  }
  // More than MAX_SYNC_PAGES pages in one pull: the cursor is saved, a retry continues from it.
  throw new ChannelError('provider_error', `WeCom sync_msg still has more after ${MAX_SYNC_PAGES} pages; continuing in the next pull`, { retryable: true });
}

/**
 * kf/customer/batchget (获取客户基础信息; https://developer.work.weixin.qq.com/document/path/96429 shows the
 * same page for 代开发 apps) for the customers who
 * wrote on this page, at most 100 per call: nickname and, when the kf account is bound to a WeChat Open
 * Platform account, the UnionID. A failure only costs the names (logged), never the messages.
 */
async function customerProfiles(ctx: Ctx, items: unknown[]): Promise<Map<string, CustomerProfile>> {
  const ids = new Set<string>();
  for (const item of items) {
    if (item && typeof item === 'object') {
      const i = item as Record<string, unknown>;
      if (Number(i.origin) === ORIGIN_CUSTOMER && typeof i.external_userid === 'string' && i.external_userid) ids.add(i.external_userid);
    }
  }
  const profiles = new Map<string, CustomerProfile>();
  const all = [...ids];
  for (let i = 0; i < all.length; i += 100) {
    try {
      const answer = await postJson(ctx, 'customer lookup', 'cgi-bin/kf/customer/batchget', { external_userid_list: all.slice(i, i + 100), need_enter_session_context: 0 });
      for (const c of Array.isArray(answer.customer_list) ? answer.customer_list : []) {
        if (!c || typeof c !== 'object') continue;
        const r = c as Record<string, unknown>;
        if (typeof r.external_userid !== 'string') continue;
        profiles.set(r.external_userid, {
          ...(typeof r.nickname === 'string' && r.nickname ? { nickname: r.nickname } : {}),
          ...(typeof r.unionid === 'string' && r.unionid ? { unionid: r.unionid } : {}),
        });
      }
    } catch (err) {
      ctx.logger.warn({ err: err instanceof Error ? err.message : String(err), customers: all.length }, 'wecom customer lookup failed; storing the messages without names');
    }
  }
  return profiles;
}
