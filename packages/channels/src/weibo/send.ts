/**
 * Replies through the fans-service reply API (发送客服消息): POST {apiBaseUrl}{replyPath},
 * Content-Type application/x-www-form-urlencoded, fields
 *
 *   access_token, type=text, data=<URL-encoded JSON {"text": …}>, receiver_id=<user uid>, save_sender_box=0|1
 *
 * "data: 消息数据…必须为json做URLEncode后的字符串格式，采用UTF-8编码": the field's value is the URL-encoded
 * JSON, and the form encoding encodes it once more on the wire (Weibo decodes both).
 *
 * Text only (type text; articles and position are not used): core refuses attachments up front.
 * The documented answer carries no message id; when one is present (id / idstr / msg_id) it is kept,
 * otherwise our own message id stands in. Weibo has no idempotency key.
 */
import type { ChannelContext, OutboundMessage, SendResult } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';
import { MAX_TEXT, urlOf, type WeiboConfig } from './config.ts';
import { accessToken, failureOf, jsonOf, weiboError, weiboExchange } from './api.ts';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export async function sendWeibo(msg: OutboundMessage, ctx: ChannelContext<WeiboConfig>): Promise<SendResult> {
  if (!/^\d{1,20}$/.test(msg.recipient.sourceId)) {
    throw new ChannelError('recipient_invalid', `Weibo recipient "${msg.recipient.sourceId}" is not a Weibo uid`, { retryable: false });
  }
  if (msg.attachments.length > 0) {
    throw new ChannelError('content_unsupported', 'Huiliu sends Weibo replies as text only: remove the attachments or send a link', { retryable: false });
  }
  const text = msg.text.trim();
  if (!text) throw new ChannelError('content_unsupported', 'Nothing to send to Weibo: the message has no text', { retryable: false });
  const length = [...text].length;
  if (length > MAX_TEXT) {
    throw new ChannelError('content_unsupported', `Weibo replies must be shorter than 300 characters; this one has ${length}: split it`, { retryable: false });
  }
  const token = accessToken(ctx);
  const form = new URLSearchParams({
    access_token: token,
    type: 'text',
    data: encodeURIComponent(JSON.stringify({ text })),
    receiver_id: msg.recipient.sourceId,
    save_sender_box: ctx.config.saveSenderBox ? '1' : '0',
  });
  const res = await weiboExchange(ctx, urlOf(ctx.config.apiBaseUrl, ctx.config.replyPath), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  }, token);
  const body = jsonOf(res);
  const failure = failureOf(res.status, body);
  if (failure) throw weiboError('reply', res.status, failure, token);
  const answer = isObject(body) ? body : {};
  const id = [answer.idstr, answer.id, answer.msg_id].find((v) => (typeof v === 'string' && v !== '') || typeof v === 'number');
  return { externalId: `wb-out:${id !== undefined ? String(id) : msg.idempotencyKey}` };
}
