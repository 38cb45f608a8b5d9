/**
 * Replies to a Douyin private message: POST {apiBaseUrl}{sendPath}?open_id=<accountOpenId>, header
 * access-token, JSON body (https://developer.open-douyin.com/docs/resource/zh-CN/dop/develop/openapi/interaction-management/private-message/send-msg):
 *
 *   { msg_id: <server_message_id of the customer's message>, conversation_id: <conversation_short_id>,
 *     to_user_id: <customer open_id>, content: { msg_type: 1, text: { text } }, scene: "im_replay_msg" }
 *
 * msg_id and conversation_id come from the newest incoming message of the conversation (reply-ref.ts).
 * Text only: images would need Douyin's image upload tool first, which Huiliu does not call (the channel
 * declares text only, so core refuses attachments before they are stored).
 *
 * Douyin has no idempotency key: a retry after a lost answer may deliver twice. Retries happen only on
 * transport errors, rate limits and Douyin's busy codes.
 */
import type { ChannelContext, OutboundMessage, SendResult } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';
import { apiUrl, MAX_TEXT, REPLY_SCENE, type DouyinConfig } from './config.ts';
import { callWithToken } from './open-api.ts';
import { latestReplyRef } from './reply-ref.ts';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export async function sendDouyin(msg: OutboundMessage, ctx: ChannelContext<DouyinConfig>): Promise<SendResult> {
  if (msg.attachments.length > 0) {
    throw new ChannelError('content_unsupported', 'Huiliu sends Douyin private messages as text only: remove the attachments or send a link', { retryable: false });
  }
  const text = msg.text.trim();
  if (!text) throw new ChannelError('content_unsupported', 'Nothing to send to Douyin: the message has no text', { retryable: false });
  if ([...text].length > MAX_TEXT) {
    throw new ChannelError('content_unsupported', `Douyin replies hold at most ${MAX_TEXT} characters here; this one has ${[...text].length}: split it`, { retryable: false });
  }
  const ref = latestReplyRef(msg.thread?.references, msg.thread?.inReplyTo);
  if (!ref) {
    throw new ChannelError('window_closed', 'Douyin only lets the account answer a message the customer sent (the reply needs that message\'s id), and this conversation has none in its recent history: wait until the customer writes', { retryable: false });
  }
  const url = `${apiUrl(ctx.config, ctx.config.sendPath)}?open_id=${encodeURIComponent(ctx.config.accountOpenId)}`;
  const answer = await callWithToken(ctx, 'private message send', url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      msg_id: ref.serverMessageId,
      conversation_id: ref.conversationShortId,
      to_user_id: msg.recipient.sourceId,
      content: { msg_type: 1, text: { text } },
      scene: REPLY_SCENE,
    }),
  });
  // The answer's msg_id is documented inside data by some SDKs and at the top level by others.
  const data = isObject(answer.data) ? answer.data : {};
  const id = typeof data.msg_id === 'string' && data.msg_id ? data.msg_id : typeof answer.msg_id === 'string' && answer.msg_id ? answer.msg_id : null;
  if (!id) ctx.logger.warn({ conversationId: msg.conversationId }, 'douyin send answered without msg_id; our message id is kept instead');
  return { externalId: `dy-out:${id ?? msg.idempotencyKey}` };
}
