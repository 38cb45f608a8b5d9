/**
 * sync_msg's msg_list → normalized events (https://developer.work.weixin.qq.com/document/path/94670,
 * 读取消息 → 消息类型 / 事件消息).
 *
 * - origin 3: the WeChat customer's messages → messages from the customer.
 * - origin 5: messages a 接待人员 typed in the WeCom app → echoes (the customer saw them from the business;
 *   sync_msg never returns what send_msg sent).
 * - origin 4: system events → session events (ChannelEvent), a failed send → delivery status.
 *
 * The customer's sourceId is "<open_kfid>:<external_userid>" (config.ts). Message types we do not know
 * are kept as unsupported content with the raw item; items we cannot attribute are skipped with a reason.
 */
import type { ChannelEvent, ChannelLogger, DeliveryStatusEvent, InboundMessageEvent, NormalizedContent, NormalizedInbound, NormalizedSender } from '../adapter.ts';
import { customerSourceId } from './config.ts';

export type KfItem = Record<string, unknown>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined);
const dateOf = (seconds: unknown): Date => {
  const n = num(seconds);
  return n !== undefined && n > 0 ? new Date(n * 1000) : new Date();
};

/** What we know about a customer from kf/customer/batchget (nickname, UnionID). */
export interface CustomerProfile {
  nickname?: string;
  unionid?: string;
}

export const ORIGIN_CUSTOMER = 3;
export const ORIGIN_SYSTEM = 4;
export const ORIGIN_SERVICER = 5;

/** https://developer.work.weixin.qq.com/document/path/94670 — msg_send_fail.fail_type. */
const FAIL_TYPES: Readonly<Record<number, string>> = {
  0: 'unknown reason',
  1: 'the kf account was deleted',
  2: 'the app was disabled',
  4: 'the session expired (more than 48 hours since the customer\'s last message)',
  5: 'the session was closed',
  6: 'more than 5 messages per customer message',
  8: 'the organization is not verified',
  10: 'the customer refuses messages',
  11: 'no member of the organization has logged in to the WeCom app',
  12: 'WeCom does not allow this message type here',
};

/** session_status_change.change_type → our event name; 3 (结束会话) ends the conversation. */
const SESSION_CHANGES: Readonly<Record<number, string>> = {
  1: 'session_taken_in_wecom',
  2: 'session_transferred_in_wecom',
  3: 'session_ended_in_wecom',
  4: 'session_reopened_in_wecom',
};

/** The customer of an item: the item's own fields, or the event's (event items carry them inside). */
function customerOf(item: KfItem): { openKfId: string; externalUserId: string } | null {
  const event = isObject(item.event) ? item.event : {};
  const openKfId = str(item.open_kfid) || str(event.open_kfid);
  const externalUserId = str(item.external_userid) || str(event.external_userid);
  return openKfId && externalUserId ? { openKfId, externalUserId } : null;
}

function senderOf(c: { openKfId: string; externalUserId: string }, profiles: ReadonlyMap<string, CustomerProfile>): NormalizedSender {
  const p = profiles.get(c.externalUserId);
  return {
    sourceId: customerSourceId(c.openKfId, c.externalUserId),
    ...(p?.nickname ? { name: p.nickname } : {}),
    // The UnionID comes from WeCom itself: it merges this customer with the same WeChat user elsewhere.
    ...(p?.unionid ? { verifiedKeys: [{ kind: 'unionid' as const, value: p.unionid }] } : {}),
  };
}

export function normalizeItems(items: unknown[], profiles: ReadonlyMap<string, CustomerProfile>, logger: ChannelLogger): NormalizedInbound[] {
  const events: NormalizedInbound[] = [];
  for (const raw of items) {
    if (!isObject(raw) || !str(raw.msgid)) {
      logger.warn({ item: isObject(raw) ? Object.keys(raw) : typeof raw }, 'wecom sync_msg item without msgid skipped');
      continue;
    }
    const e = raw.msgtype === 'event' ? toEvent(raw, profiles, logger) : toMessage(raw, profiles, logger);
    if (e) events.push(e);
  }
  return events;
}

function toMessage(item: KfItem, profiles: ReadonlyMap<string, CustomerProfile>, logger: ChannelLogger): InboundMessageEvent | null {
  const origin = num(item.origin);
  const who = customerOf(item);
  if ((origin !== ORIGIN_CUSTOMER && origin !== ORIGIN_SERVICER) || !who) {
    logger.info({ msgid: item.msgid, origin, msgtype: item.msgtype }, 'wecom sync_msg item skipped: not a customer or servicer message with open_kfid and external_userid');
    return null;
  }
  return {
    kind: 'message',
    externalId: str(item.msgid),
    sender: senderOf(who, profiles),
    content: contentOf(item),
    sentAt: dateOf(item.send_time),
    ...(origin === ORIGIN_SERVICER ? { echo: true } : {}),
  };
}

function shortId(mediaId: string): string {
  return mediaId.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 16) || 'media';
}

export function contentOf(item: KfItem): NormalizedContent {
  const type = str(item.msgtype);
  const body = isObject(item[type]) ? (item[type] as Record<string, unknown>) : {};
  const mediaId = str(body.media_id);
  switch (type) {
    case 'text':
      if (typeof body.content === 'string') return { type: 'text', text: body.content };
      break;
    case 'image':
      if (mediaId) return { type: 'image', media: [{ ref: mediaId, fileName: `wecom-image-${shortId(mediaId)}.jpg` }] };
      break;
    case 'voice':
      // voice_format 0 in sync_msg: AMR.
      if (mediaId) return { type: 'audio', media: [{ ref: mediaId, contentType: 'audio/amr', fileName: `wecom-voice-${shortId(mediaId)}.amr` }] };
      break;
    case 'video':
      if (mediaId) return { type: 'video', media: [{ ref: mediaId, contentType: 'video/mp4', fileName: `wecom-video-${shortId(mediaId)}.mp4` }] };
      break;
    case 'file':
      // The real name comes with the download (Content-Disposition).
      if (mediaId) return { type: 'file', media: [{ ref: mediaId }] };
      break;
    case 'location': {
      const latitude = num(body.latitude);
      const longitude = num(body.longitude);
      if (latitude !== undefined && longitude !== undefined) {
        return { type: 'location', location: { latitude, longitude, ...(str(body.name) ? { name: str(body.name) } : {}), ...(str(body.address) ? { address: str(body.address) } : {}) } };
      }
      break;
    }
    case 'link':
      if (str(body.title) || str(body.url)) {
        return { type: 'card', card: { title: str(body.title) || str(body.url), ...(str(body.desc) ? { description: str(body.desc) } : {}), ...(str(body.url) ? { url: str(body.url) } : {}), ...(str(body.pic_url) ? { imageUrl: str(body.pic_url) } : {}) } };
      }
      break;
    case 'business_card':
      if (str(body.userid)) return { type: 'card', text: `[WeCom business card: ${str(body.userid)}]`, card: { title: 'WeCom business card', description: `WeCom member ${str(body.userid)}` } };
      break;
    case 'miniprogram':
      if (str(body.appid)) {
        return { type: 'card', card: { title: str(body.title) || 'Mini-program', description: `WeChat mini-program ${str(body.appid)}${str(body.pagepath) ? ` · ${str(body.pagepath)}` : ''}` } };
      }
      break;
    case 'msgmenu': {
      const lines = [str(body.head_content), ...menuItems(body.list), str(body.tail_content)].filter((l) => l.trim() !== '');
      if (lines.length > 0) return { type: 'text', text: lines.join('\n') };
      break;
    }
    case 'channels_shop_product':
      if (str(body.title)) {
        const details = [str(body.sales_price) && `price ${str(body.sales_price)}`, str(body.shop_nickname)].filter(Boolean).join(' · ');
        return { type: 'card', card: { title: str(body.title), ...(details ? { description: `WeChat Channels product${details ? ` · ${details}` : ''}` } : {}), ...(str(body.head_image) ? { imageUrl: str(body.head_image) } : {}) } };
      }
      break;
    case 'channels_shop_order':
      if (str(body.order_id)) {
        const details = [str(body.product_titles), str(body.price_wording), str(body.state), str(body.shop_nickname)].filter(Boolean).join(' · ');
        return { type: 'card', card: { title: `WeChat Channels order ${str(body.order_id)}`, ...(details ? { description: details } : {}), ...(str(body.image_url) ? { imageUrl: str(body.image_url) } : {}) } };
      }
      break;
    case 'channels': {
      const kinds: Record<number, string> = { 1: 'post', 2: 'live stream', 3: 'profile' };
      if (str(body.title) || str(body.nickname)) {
        return { type: 'card', card: { title: str(body.title) || str(body.nickname), description: `WeChat Channels ${kinds[num(body.sub_type) ?? 0] ?? 'content'}${str(body.nickname) ? ` · ${str(body.nickname)}` : ''}` } };
      }
      break;
    }
  }
  return { type: 'unsupported', text: `[WeCom ${type || 'message'}]`, raw: item };
}

function menuItems(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return list.filter(isObject).map((m) => {
    const t = str(m.type);
    const part = isObject(m[t]) ? (m[t] as Record<string, unknown>) : {};
    const label = str(part.content);
    return t === 'view' && str(part.url) ? `- ${label} (${str(part.url)})` : `- ${label}`;
  }).filter((l) => l !== '- ');
}

function toEvent(item: KfItem, profiles: ReadonlyMap<string, CustomerProfile>, logger: ChannelLogger): ChannelEvent | DeliveryStatusEvent | null {
  const ev = isObject(item.event) ? item.event : {};
  const type = str(ev.event_type);
  const at = dateOf(item.send_time);
  const msgid = str(item.msgid);

  if (type === 'msg_send_fail') {
    // fail_msgid is the msgid our send_msg used: the delivery report of that message.
    const failed = str(ev.fail_msgid);
    if (!failed) {
      logger.warn({ msgid }, 'wecom msg_send_fail event without fail_msgid skipped');
      return null;
    }
    const failType = num(ev.fail_type) ?? 0;
    return { kind: 'status', externalId: failed, status: 'failed', error: `WeCom could not deliver the message (fail_type ${failType}: ${FAIL_TYPES[failType] ?? 'unknown reason'})`, at };
  }

  const who = customerOf(item);
  if (!who) {
    // servicer_status_change and the like concern WeCom staff, not a customer's conversation.
    logger.info({ msgid, eventType: type }, 'wecom event without a customer logged only');
    return null;
  }
  const base = { kind: 'event' as const, externalId: msgid, sender: senderOf(who, profiles), at };
  if (type === 'session_status_change') {
    const change = num(ev.change_type) ?? 0;
    const event = SESSION_CHANGES[change] ?? `session_status_change_${change}`;
    return { ...base, event, ...(change === 3 ? { endsConversation: true } : {}) };
  }
  if (type === 'enter_session') {
    const scene = str(ev.scene);
    return { ...base, event: scene ? `enter_session (scene ${scene.slice(0, 32)})` : 'enter_session' };
  }
  if (type === 'user_recall_msg') return { ...base, event: 'recalled a message' };
  if (type === 'servicer_recall_msg') return { ...base, event: 'a WeCom member recalled a message' };
  if (type === 'reject_customer_msg_switch_change') {
    return { ...base, event: num(ev.reject_switch) === 1 ? 'a WeCom member stopped receiving this customer\'s messages' : 'a WeCom member receives this customer\'s messages again' };
  }
  return { ...base, event: type || 'event' };
}
