/**
 * One decrypted WeChat Official Account push (flat XML, already parsed) → one normalized event.
 *
 * Messages: https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_standard_messages.html
 * (text, image, voice with optional Recognition, video, shortvideo, location, link; deduplicated by MsgId).
 * Events: https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_event_pushes.html
 * (subscribe with an optional qrscene_ EventKey, unsubscribe, SCAN, LOCATION, CLICK, VIEW; WeChat
 * recommends FromUserName + CreateTime to deduplicate them, the Event name is added so two different
 * events of the same second stay apart).
 */
import type { ChannelEvent, ChannelLogger, InboundMessageEvent, MediaRef, NormalizedContent } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';
import { xmlText, type XmlRecord } from '../wechat/xml.ts';

export type WechatInbound = InboundMessageEvent | ChannelEvent;

function createdAt(doc: XmlRecord): Date {
  const t = xmlText(doc, 'CreateTime');
  // A push without a usable CreateTime is dated when it is stored (seconds after arrival) rather than in 1970.
  return /^\d{1,12}$/.test(t) ? new Date(Number(t) * 1000) : new Date();
}

/** A media id resolved by fetchMedia (cgi-bin/media/get); an image without one falls back to its PicUrl. */
function mediaOf(doc: XmlRecord, idField: string, urlField?: string): MediaRef[] {
  const id = xmlText(doc, idField);
  if (id) return [{ ref: id }];
  const url = urlField ? xmlText(doc, urlField) : '';
  return /^https?:\/\//i.test(url) ? [{ ref: url }] : [];
}

function unsupported(doc: XmlRecord, msgType: string): NormalizedContent {
  return { type: 'unsupported', text: `[WeChat ${msgType || 'unknown'} message]`, raw: { type: msgType || 'unknown', ...doc } };
}

export function contentOf(doc: XmlRecord): NormalizedContent {
  const msgType = xmlText(doc, 'MsgType');
  switch (msgType) {
    case 'text': {
      const text = xmlText(doc, 'Content');
      if (text) return { type: 'text', text };
      break;
    }
    case 'image': {
      const media = mediaOf(doc, 'MediaId', 'PicUrl');
      if (media.length) return { type: 'image', media };
      break;
    }
    case 'voice': {
      const media = mediaOf(doc, 'MediaId');
      // With speech recognition switched on, WeChat adds what it heard: the agent reads it at a glance.
      const recognition = xmlText(doc, 'Recognition');
      if (media.length) return { type: 'audio', ...(recognition ? { text: recognition } : {}), media };
      if (recognition) return { type: 'text', text: recognition };
      break;
    }
    case 'video':
    case 'shortvideo': {
      // The thumbnail (ThumbMediaId) is not stored: the video itself is.
      const media = mediaOf(doc, 'MediaId');
      if (media.length) return { type: 'video', media };
      break;
    }
    case 'location': {
      const latitude = Number(xmlText(doc, 'Location_X'));
      const longitude = Number(xmlText(doc, 'Location_Y'));
      const label = xmlText(doc, 'Label');
      if (xmlText(doc, 'Location_X') && xmlText(doc, 'Location_Y') && Number.isFinite(latitude) && Number.isFinite(longitude)) {
        return { type: 'location', location: { latitude, longitude, ...(label ? { address: label } : {}) } };
      }
      break;
    }
    case 'link': {
      const title = xmlText(doc, 'Title');
      const url = xmlText(doc, 'Url');
      const description = xmlText(doc, 'Description');
      if (title || url) return { type: 'card', card: { title: title || url, ...(description ? { description } : {}), ...(url ? { url } : {}) } };
      break;
    }
  }
  return unsupported(doc, msgType);
}

/** What the activity line says ("The customer: subscribe (QR code scene 123123)"). */
export function describeEvent(doc: XmlRecord): string {
  const event = xmlText(doc, 'Event');
  const key = xmlText(doc, 'EventKey');
  switch (event) {
    case 'subscribe':
      return key.startsWith('qrscene_') ? `subscribe (QR code scene ${key.slice('qrscene_'.length)})` : 'subscribe';
    case 'unsubscribe':
      return 'unsubscribe';
    case 'SCAN':
      return `scan (QR code scene ${key})`;
    case 'CLICK':
      return `menu click: ${key}`;
    case 'VIEW':
      return `menu link: ${key}`;
    case 'LOCATION':
      return `location report: ${xmlText(doc, 'Latitude')}, ${xmlText(doc, 'Longitude')} (precision ${xmlText(doc, 'Precision')})`;
    default:
      return key ? `${event || 'event'}: ${key}` : event || 'event';
  }
}

/** The sender and type every push names; without them it cannot be stored (receive refuses it with 400). */
export function pushBasics(doc: XmlRecord): { openid: string; msgType: string } {
  const openid = xmlText(doc, 'FromUserName');
  const msgType = xmlText(doc, 'MsgType');
  if (!openid || !msgType) throw new ChannelError('malformed', 'the WeChat push has no FromUserName or MsgType', { retryable: false });
  return { openid, msgType };
}

export function toInbound(doc: XmlRecord, logger: ChannelLogger): WechatInbound {
  const { openid, msgType } = pushBasics(doc);
  const at = createdAt(doc);
  if (msgType === 'event') {
    const event = xmlText(doc, 'Event');
    return {
      kind: 'event',
      externalId: `${openid}:${xmlText(doc, 'CreateTime')}:${event}`,
      event: describeEvent(doc),
      sender: { sourceId: openid },
      at,
    };
  }
  let externalId = xmlText(doc, 'MsgId');
  if (!externalId) {
    // Every documented message has a MsgId; without one, the event rule keeps WeChat's retries apart.
    externalId = `${openid}:${xmlText(doc, 'CreateTime')}:${msgType}`;
    logger.warn({ msgType }, 'wechat message without MsgId: deduplicated by FromUserName + CreateTime');
  }
  return { kind: 'message', externalId, sender: { sourceId: openid }, content: contentOf(doc), sentAt: at };
}
