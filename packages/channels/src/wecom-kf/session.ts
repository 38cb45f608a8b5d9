/**
 * syncSession(): tells WeCom who serves the customer now, with kf/service_state/get and
 * kf/service_state/trans (分配客服会话, https://developer.work.weixin.qq.com/document/path/94669).
 *
 * WeCom's session states and what the API may do in them:
 *   0 未处理          new session: reply through the API, or move it to 1, 2 or 3
 *   1 由智能助手接待   the API (a bot, or Huiliu) serves it and may reply; can move to 2 or 3
 *   2 待接入池排队中   waiting in WeCom's own queue; can be given to a WeCom member (3)
 *   3 由人工接待       a WeCom member serves it in the WeCom app; can go to another member or end
 *   4 已结束/未开始    ended or not started; the API may not change it — the customer's next message
 *                     makes it 0 again
 * send_msg works only in 0 and 1 (https://developer.work.weixin.qq.com/document/path/94677:
 * "当微信客户处于“新接入待处理”或“由智能助手接待”状态下，可调用该接口给用户发送消息"; 95018 otherwise).
 *
 * Our mapping:
 * - 'human' in sessionMode assistant (default): Huiliu's agents answer through the API, so WeCom must
 *   keep the session on the API side: 0 → 1 (a session already in 1 is left alone). Sessions WeCom gave
 *   to its own queue or members (2, 3) are not taken back (the API cannot move them to 1); that is
 *   logged, and replies fail with 95018 until the customer writes again after the session ended.
 * - 'human' in sessionMode servicer: 0/1/2/3 → 3 with the agent's WeCom userid (servicerUserIds, else
 *   defaultServicerUserId; neither → skipped with a warning). The agent then answers in the WeCom app.
 * - 'ended': any state but 4 → 4. Already 4: nothing to do.
 * Moving a session to the state it is in is never requested (service_state/get first).
 */
import type { SessionChange } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';
import { postJson, WecomApiError, type Ctx } from './api.ts';
import { parseCustomerSourceId } from './config.ts';

export const STATE_NEW = 0;
export const STATE_ASSISTANT = 1;
export const STATE_QUEUED = 2;
export const STATE_SERVICER = 3;
export const STATE_ENDED = 4;
/** service_state/trans into 4 of a session WeCom already ended (会话已经结束). */
const SESSION_ALREADY_ENDED = 95013;

interface Session {
  openKfId: string;
  externalUserId: string;
}

async function currentState(ctx: Ctx, s: Session): Promise<{ state: number; servicer: string | null }> {
  const answer = await postJson(ctx, 'service_state/get', 'cgi-bin/kf/service_state/get', { open_kfid: s.openKfId, external_userid: s.externalUserId });
  const state = Number(answer.service_state);
  if (!Number.isInteger(state) || state < 0 || state > 4) {
    throw new ChannelError('provider_error', 'WeCom service_state/get answered without a service_state of 0-4', { retryable: true });
  }
  return { state, servicer: typeof answer.servicer_userid === 'string' && answer.servicer_userid ? answer.servicer_userid : null };
}

async function transfer(ctx: Ctx, s: Session, to: number, servicer?: string): Promise<void> {
  await postJson(ctx, 'service_state/trans', 'cgi-bin/kf/service_state/trans', {
    open_kfid: s.openKfId,
    external_userid: s.externalUserId,
    service_state: to,
    ...(servicer ? { servicer_userid: servicer } : {}),
  });
}

function servicerFor(ctx: Ctx, agent: SessionChange['agent']): string | null {
  if (agent?.email) {
    const email = agent.email.toLowerCase();
    for (const [k, v] of Object.entries(ctx.config.servicerUserIds)) if (k.toLowerCase() === email) return v;
  }
  return ctx.config.defaultServicerUserId ?? null;
}

export async function syncKfSession(change: SessionChange, ctx: Ctx): Promise<void> {
  const s = parseCustomerSourceId(change.recipient.sourceId);
  if (!s) {
    throw new ChannelError('recipient_invalid', `WeCom kf session of "${change.recipient.sourceId.slice(0, 80)}": not "<open_kfid>:<external_userid>"`, { retryable: false });
  }
  const log = { conversationId: change.conversationId, openKfId: s.openKfId, change: change.state };
  const { state, servicer } = await currentState(ctx, s);

  if (change.state === 'ended') {
    if (state === STATE_ENDED) return;
    try {
      await transfer(ctx, s, STATE_ENDED);
    } catch (err) {
      // Ended on WeCom's side between our get and trans (a member ended it, the 48 h ran out).
      if (err instanceof WecomApiError && err.errcode === SESSION_ALREADY_ENDED) return;
      throw err;
    }
    ctx.logger.info({ ...log, from: state }, 'wecom kf session ended');
    return;
  }

  if (state === STATE_ENDED) {
    // The API may not change an ended session; the customer's next message opens a new one (state 0).
    ctx.logger.info(log, 'wecom kf session already ended; nothing to hand over');
    return;
  }

  if (ctx.config.sessionMode === 'assistant') {
    if (state === STATE_ASSISTANT) return;
    if (state === STATE_NEW) {
      await transfer(ctx, s, STATE_ASSISTANT);
      ctx.logger.info(log, 'wecom kf session set to 由智能助手接待 (1): Huiliu answers through the API');
      return;
    }
    ctx.logger.warn({ ...log, state, servicer }, state === STATE_SERVICER
      ? 'wecom kf session is served by a WeCom member in the WeCom app (state 3); WeCom refuses API replies until it ends'
      : 'wecom kf session waits in WeCom\'s own queue (state 2); WeCom refuses API replies there and only lets a WeCom member take it');
    return;
  }

  const target = servicerFor(ctx, change.agent);
  if (!target) {
    ctx.logger.warn(log, 'wecom kf hand-over skipped: the agent has no WeCom userid in servicerUserIds and there is no defaultServicerUserId');
    return;
  }
  if (state === STATE_SERVICER && servicer === target) return;
  await transfer(ctx, s, STATE_SERVICER, target);
  ctx.logger.info({ ...log, from: state }, 'wecom kf session handed to a WeCom member (state 3)');
}
