/**
 * Outbound: the customer-service message API, POST cgi-bin/message/custom/send?access_token=…
 * (https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Service_Center_messages.html):
 *
 *   { "touser": OPENID, "msgtype": "text",  "text":  { "content": "…" } }
 *   { "touser": OPENID, "msgtype": "image", "image": { "media_id": "…" } }   (uploaded first, media.ts)
 *   { "touser": OPENID, "msgtype": "news",  "news":  { "articles": [{ "title", "description", "url", "picurl" }] } }
 *
 * Allowed within 48 hours of the customer's last message, 5 messages per customer message (core's
 * send-window engine enforces both from `capabilities().sendWindow`; 45015 / 45047 from WeChat mean
 * the same and fail the message at once). The API answers `{"errcode":0,"errmsg":"ok"}` without a
 * message id and takes no idempotency key: a send whose answer was lost can reach the customer twice.
 */
import type { ChannelContext, OutboundMessage, SendResult } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';
import { callApi } from './api.ts';
import { IMAGE_TYPES, MAX_IMAGE_BYTES, MAX_TEXT, OPENID_PATTERN, type WechatOaConfig } from './config.ts';
import { uploadImage } from './media.ts';

/** A link card (图文消息), sent as a one-article news message. */
export interface OutboundCard {
  title: string;
  description?: string;
  url?: string;
  imageUrl?: string;
}

export function newsBody(card: OutboundCard): { articles: Array<Record<string, string>> } {
  // Customer-service news messages carry exactly one article.
  return {
    articles: [{
      title: card.title,
      ...(card.description ? { description: card.description } : {}),
      ...(card.url ? { url: card.url } : {}),
      ...(card.imageUrl ? { picurl: card.imageUrl } : {}),
    }],
  };
}

interface SendAnswer {
  errcode?: number;
  errmsg?: string;
  msgid?: number | string;
}

export async function sendWechatOa(msg: OutboundMessage, ctx: ChannelContext<WechatOaConfig>): Promise<SendResult> {
  const openid = msg.recipient.sourceId;
  if (!OPENID_PATTERN.test(openid)) {
    throw new ChannelError('recipient_invalid', `"${openid.slice(0, 80)}" is not a WeChat OpenID of this Official Account`, { retryable: false });
  }
  if (msg.template) {
    throw new ChannelError('content_unsupported', 'WeChat Official Account customer-service messages have no templates; send free text within 48 hours of the customer\'s last message', { retryable: false });
  }
  const text = msg.text.trim() === '' ? '' : msg.text;
  if (text.length > MAX_TEXT) {
    throw new ChannelError('content_unsupported', `WeChat text messages hold at most ${MAX_TEXT} characters; this one has ${text.length}: split it`, { retryable: false });
  }
  // Everything is checked before the first call: a message is refused whole, not half sent.
  for (const a of msg.attachments) {
    if (!IMAGE_TYPES[a.contentType.toLowerCase()]) {
      throw new ChannelError('content_unsupported', `${a.fileName} is ${a.contentType}; WeChat customer-service messages carry JPEG, PNG and GIF images only (send other files as a link)`, { retryable: false });
    }
    if (a.size > MAX_IMAGE_BYTES) {
      throw new ChannelError('media_too_large', `${a.fileName} is ${a.size} bytes; WeChat accepts images up to ${MAX_IMAGE_BYTES} bytes (10 MB)`, { retryable: false });
    }
  }
  const card = msg.card;
  if (!text && msg.attachments.length === 0 && !card) {
    throw new ChannelError('content_unsupported', 'Nothing to send to WeChat: the message has neither text nor images', { retryable: false });
  }

  const post = async (body: Record<string, unknown>, what: string) => {
    const answer = await callApi<SendAnswer>(ctx, what, 'cgi-bin/message/custom/send', { method: 'POST', json: { touser: openid, ...body }, timeoutMs: 30_000 });
    return answer.msgid !== undefined && answer.msgid !== null && String(answer.msgid) !== '' ? String(answer.msgid) : null;
  };
  // Every image is uploaded before the first message goes out: an upload that fails (and is retried
  // by core) then has sent nothing yet, instead of leaving a text the retry would send a second time.
  const mediaIds: string[] = [];
  for (const a of msg.attachments) mediaIds.push(await uploadImage(ctx, a));
  const ids: Array<string | null> = [];
  // With a card, `text` is only its readable fallback: the news message replaces it.
  if (text && !card) ids.push(await post({ msgtype: 'text', text: { content: text } }, 'text message'));
  for (const mediaId of mediaIds) ids.push(await post({ msgtype: 'image', image: { media_id: mediaId } }, 'image message'));
  if (card) ids.push(await post({ msgtype: 'news', news: newsBody(card) }, 'news message'));
  // custom/send answers no message id: our own message id stands in for it. It is unique and stable
  // across retries of the same message, and the prefix keeps it apart from WeChat's numeric MsgIds.
  return { externalId: ids.find((id): id is string => id !== null) ?? `wxoa:${msg.idempotencyKey}` };
}
