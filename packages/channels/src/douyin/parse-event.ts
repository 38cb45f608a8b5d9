/**
 * One Douyin webhook body → normalized events.
 *
 * Envelope (https://developer.open-douyin.com/docs/resource/zh-CN/dop/develop/webhooks/summarize):
 * { event, client_key, from_user_id, to_user_id, content, log_id }. `content` is a JSON string in the
 * pushes (the webhook overview types it "string, json 格式") while the event pages print it as an object:
 * both are read.
 *
 * - verify_webhook → the challenge to echo;
 * - im_receive_msg (a customer wrote to the account) → a message;
 * - im_send_msg (the account sent a message: through our API or from the Douyin app) → an echo;
 * - im_enter_direct_msg and other events → ChannelEvent (recorded as activity);
 * - content.message_type we do not know → the message is kept as unsupported with its raw content.
 *
 * Image and video-share messages carry no media URL for web apps ("图片消息和视频分享消息不返回具体 URL，需到抖音端内
 * APP 内查看", private-msg-webhook page): they are kept with that explanation instead of an empty picture.
 */
import type { ChannelEvent, ChannelLogger, InboundMessageEvent, NormalizedContent, NormalizedSender } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';
import { encodeReplyRef } from './reply-ref.ts';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v : typeof v === 'number' ? String(v) : undefined);

export type DouyinWebhook =
  | { kind: 'verify'; challenge: string | number }
  | { kind: 'events'; event: string; createdAt: Date | null; events: Array<InboundMessageEvent | ChannelEvent> };

interface Envelope {
  event: string;
  fromUserId: string | undefined;
  toUserId: string | undefined;
  content: Record<string, unknown>;
  raw: Record<string, unknown>;
}

function malformed(message: string): ChannelError {
  return new ChannelError('malformed', message, { retryable: false });
}

function parseEnvelope(rawBody: Buffer): Envelope {
  let body: unknown;
  try {
    body = JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw malformed('Douyin webhook body is not JSON: expected {"event": …, "content": …}');
  }
  if (!isObject(body) || typeof body.event !== 'string' || body.event === '') {
    throw malformed('Douyin webhook body has no "event" name');
  }
  let content: unknown = body.content ?? {};
  if (typeof content === 'string') {
    try {
      content = content.trim() === '' ? {} : JSON.parse(content);
    } catch {
      throw malformed(`Douyin ${body.event} webhook: "content" is a string but not JSON`);
    }
  }
  if (!isObject(content)) throw malformed(`Douyin ${body.event} webhook: "content" must be a JSON object`);
  return { event: body.event, fromUserId: str(body.from_user_id), toUserId: str(body.to_user_id), content, raw: body };
}

/** create_time is a 13-digit millisecond timestamp (documented); seconds are accepted too. */
function createdAt(content: Record<string, unknown>): Date | null {
  const n = Number(content.create_time);
  if (!Number.isFinite(n) || n <= 0) return null;
  return new Date(n < 1e12 ? n * 1000 : n);
}

function senderOf(openId: string, content: Record<string, unknown>): NormalizedSender {
  const infos = Array.isArray(content.user_infos) ? content.user_infos.filter(isObject) : [];
  const me = infos.find((u) => u.open_id === openId);
  const name = str(me?.nick_name);
  return { sourceId: openId, name: name ?? null };
}

const NO_MEDIA_URL = 'Douyin does not deliver it through the API; open the conversation in the Douyin app to see it';

export function contentOf(c: Record<string, unknown>): NormalizedContent {
  const type = str(c.message_type) ?? 'unknown';
  const text = str(c.text);
  const resourceUrl = str(c.resource_url);
  const httpUrl = resourceUrl && /^https?:\/\//i.test(resourceUrl) ? resourceUrl : undefined;
  switch (type) {
    case 'text':
      if (text !== undefined) return { type: 'text', text };
      break;
    case 'image':
    case 'user_local_image':
    case 'emoji':
      if (httpUrl) return { type: 'image', media: [{ ref: httpUrl }] };
      return { type: 'unsupported', text: `[抖音${type === 'emoji' ? '表情' : '图片'} / Douyin ${type === 'emoji' ? 'sticker' : 'image'}: ${NO_MEDIA_URL}]`, raw: c };
    case 'video':
    case 'user_local_video': {
      if (type === 'user_local_video' && httpUrl) return { type: 'video', media: [{ ref: httpUrl }] };
      const itemId = str(c.item_id);
      if (itemId) return { type: 'card', text: `[抖音视频 / Douyin video: ${NO_MEDIA_URL}]`, card: { title: '抖音视频 / Douyin video', description: `item_id ${itemId}` } };
      break;
    }
    case 'retain_consult_card': {
      const rows = Array.isArray(c.card_data) ? c.card_data.filter(isObject).map((r) => `${str(r.label) ?? ''}: ${str(r.value) ?? ''}`) : [];
      return { type: 'card', card: { title: '留资卡片 / Contact card', ...(rows.length ? { description: rows.join('\n') } : {}) } };
    }
  }
  return { type: 'unsupported', text: `[抖音消息 / Douyin ${type} message]`, raw: { ...c, type } };
}

/**
 * `msgId` is the Msg-Id header: the documented dedupe key. Without it (not expected), the
 * server_message_id keeps replays recognizable.
 */
export function parseDouyinWebhook(rawBody: Buffer, msgId: string | undefined, accountOpenId: string, logger: ChannelLogger): DouyinWebhook {
  const env = parseEnvelope(rawBody);
  const c = env.content;
  if (env.event === 'verify_webhook') {
    const challenge = c.challenge;
    if (typeof challenge !== 'number' && (typeof challenge !== 'string' || challenge === '')) {
      throw malformed('Douyin verify_webhook has no content.challenge');
    }
    return { kind: 'verify', challenge };
  }

  const at = createdAt(c);
  const base = { kind: 'events' as const, event: env.event, createdAt: at };
  const sentAt = at ?? new Date();

  if (env.event === 'im_receive_msg' || env.event === 'im_send_msg') {
    const conversationShortId = str(c.conversation_short_id);
    const serverMessageId = str(c.server_message_id);
    if (!env.fromUserId || !env.toUserId || !conversationShortId || !serverMessageId) {
      throw malformed(`Douyin ${env.event} webhook lacks from_user_id, to_user_id, content.conversation_short_id or content.server_message_id`);
    }
    const incoming = env.event === 'im_receive_msg';
    const account = incoming ? env.toUserId : env.fromUserId;
    if (account !== accountOpenId) {
      logger.warn({ event: env.event, accountOpenId: account }, 'douyin webhook ignored: it is for another account than this inbox\'s accountOpenId (one Douyin app per inbox)');
      return { ...base, events: [] };
    }
    const customer = incoming ? env.fromUserId : env.toUserId;
    const ref = { msgId: msgId ?? `smid:${serverMessageId}`, conversationShortId, serverMessageId };
    const message: InboundMessageEvent = {
      kind: 'message',
      externalId: encodeReplyRef(ref),
      sender: senderOf(customer, c),
      content: contentOf(c),
      sentAt,
    };
    // The account's own messages (sent through our API or in the Douyin app) are not customer messages.
    if (!incoming) message.echo = true;
    return { ...base, events: [message] };
  }

  // im_enter_direct_msg, im_recall_msg…: activity in the customer's conversation, never customer text.
  const customer = env.toUserId === accountOpenId ? env.fromUserId : env.fromUserId === accountOpenId ? env.toUserId : undefined;
  if (!customer) {
    logger.info({ event: env.event }, 'douyin event ignored: it is not between this inbox\'s accountOpenId and a user');
    return { ...base, events: [] };
  }
  const eventId = msgId ?? str(c.server_message_id) ?? `${env.event}:${customer}:${sentAt.getTime()}`;
  return { ...base, events: [{ kind: 'event', externalId: `dy-event:${eventId}`, event: env.event, sender: senderOf(customer, c), at: sentAt }] };
}
