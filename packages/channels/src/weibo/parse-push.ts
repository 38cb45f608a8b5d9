/**
 * One Weibo fans-service push (JSON) → normalized events.
 *
 *   { "type": "text" | "position" | "voice" | "image" | "event" | "mention",
 *     "receiver_id": <the account>, "sender_id": <the user>, "created_at": "Mon Jul 16 18:09:20 +0800 2012",
 *     "text": "…", "data": { … } }
 *
 * Pushes carry no message id, and Weibo retries a push it got no answer for (3 times, 5 s apart). The
 * wiki recommends "sender_id plus created_at" for dedupe; created_at has one-second resolution, so a text
 * and a picture sent within the same second would collide. The external id is therefore
 *
 *     wb:<sender_id>:<created_at as Unix seconds>:<type>:<first 16 hex of sha256(canonical JSON of {text, data})>
 *
 * — identical for a retry (same push), different for different content in the same second. Only the
 * same user sending the same content twice within one second is stored once.
 *
 * Numbers: uids and file ids are int64 in Weibo's JSON; they are read as strings from the raw text so an id
 * beyond 2^53 is not rounded into another user's id or another file.
 */
import { createHash } from 'node:crypto';
import type { ChannelEvent, ChannelLogger, InboundMessageEvent, NormalizedContent } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const idString = (v: unknown): string | undefined => (typeof v === 'string' && /^\d{1,20}$/.test(v.trim()) ? v.trim() : typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? String(v) : undefined);

function malformed(message: string): ChannelError {
  return new ChannelError('malformed', message, { retryable: false });
}

/** Quotes the integer values of id fields before JSON.parse, so int64 ids keep every digit. */
export function parseWeiboJson(raw: string): unknown {
  return JSON.parse(raw.replace(/"(sender_id|receiver_id|vfid|tovfid)"(\s*):(\s*)(-?\d+)(?=\s*[,}\]])/g, '"$1"$2:$3"$4"'));
}

const MONTHS: Record<string, number> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };

/** "Mon Jul 16 18:09:20 +0800 2012" (Weibo's created_at) → Date; null when it is not that format. */
export function parseCreatedAt(s: string): Date | null {
  const m = /^[A-Z][a-z]{2} ([A-Z][a-z]{2}) (\d{1,2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2}) (\d{4})$/.exec(s.trim());
  if (!m) return null;
  const [, mon, day, hh, mm, ss, sign, oh, om, year] = m as unknown as string[];
  const month = MONTHS[mon!];
  if (month === undefined) return null;
  const offsetMinutes = (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om));
  const utc = Date.UTC(Number(year), month, Number(day), Number(hh), Number(mm), Number(ss)) - offsetMinutes * 60_000;
  const d = new Date(utc);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** JSON with object keys sorted, so equal content hashes equally whatever order Weibo serializes it in. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isObject(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

export function weiboExternalId(p: { senderId: string; createdAt: string; at: Date | null; type: string; text: unknown; data: unknown }): string {
  const when = p.at ? String(Math.floor(p.at.getTime() / 1000)) : `raw-${createHash('sha256').update(p.createdAt).digest('hex').slice(0, 12)}`;
  const digest = createHash('sha256').update(canonical({ text: p.text ?? null, data: p.data ?? null })).digest('hex').slice(0, 16);
  return `wb:${p.senderId}:${when}:${p.type}:${digest}`;
}

/** Default texts Weibo puts on media messages; they say nothing the media does not. */
const MEDIA_PLACEHOLDERS = new Set(['发了一个语音消息', '发了一张图片', '发送了一张图片']);

function contentOf(type: string, text: string | undefined, data: Record<string, unknown>, push: Record<string, unknown>): NormalizedContent {
  switch (type) {
    case 'text':
      if (text !== undefined) return { type: 'text', text };
      break;
    case 'position': {
      const latitude = Number(data.latitude);
      const longitude = Number(data.longitude);
      if (data.latitude !== undefined && data.longitude !== undefined && Number.isFinite(latitude) && Number.isFinite(longitude) && Math.abs(latitude) <= 90 && Math.abs(longitude) <= 180) {
        return { type: 'location', ...(text ? { text } : {}), location: { latitude, longitude } };
      }
      break;
    }
    case 'voice':
    case 'image': {
      // The recipient's copy (tovfid) is what the documented download takes.
      const fid = idString(data.tovfid) ?? idString(data.vfid);
      if (!fid) break;
      const caption = text && !MEDIA_PLACEHOLDERS.has(text.trim()) ? { text } : {};
      return { type: type === 'voice' ? 'audio' : 'image', ...caption, media: [{ ref: fid }] };
    }
    case 'mention':
      return { type: 'unsupported', text: `[微博 @提及 / Weibo mention] ${text ?? ''}`.trim(), raw: push };
  }
  return { type: 'unsupported', text: `[微博消息 / Weibo ${type} message]${text ? ` ${text}` : ''}`, raw: push };
}

export function parseWeiboPush(rawBody: Buffer, accountUid: string, logger: ChannelLogger): Array<InboundMessageEvent | ChannelEvent> {
  let push: unknown;
  try {
    push = parseWeiboJson(rawBody.toString('utf8'));
  } catch {
    throw malformed('Weibo push body is not JSON: expected {"type": …, "sender_id": …, "created_at": …}');
  }
  if (!isObject(push)) throw malformed('Weibo push body is not a JSON object');
  const type = typeof push.type === 'string' && push.type ? push.type : undefined;
  const senderId = idString(push.sender_id);
  const receiverId = idString(push.receiver_id);
  const createdAt = typeof push.created_at === 'string' && push.created_at.trim() ? push.created_at : undefined;
  if (!type || !senderId || !receiverId || !createdAt) {
    throw malformed('Weibo push lacks type, sender_id, receiver_id or created_at');
  }
  if (push.data !== undefined && push.data !== null && push.data !== '' && !isObject(push.data)) {
    throw malformed(`Weibo ${type} push: "data" must be an object`);
  }
  if (receiverId !== accountUid) {
    logger.warn({ type, receiverId }, 'weibo push ignored: it is for another account than this inbox\'s accountUid');
    return [];
  }
  const data = isObject(push.data) ? push.data : {};
  const text = typeof push.text === 'string' ? push.text : undefined;
  const at = parseCreatedAt(createdAt);
  const externalId = weiboExternalId({ senderId, createdAt, at, type, text: push.text, data: push.data });
  const sentAt = at ?? new Date();
  const sender = { sourceId: senderId };

  if (type === 'event') {
    const subtype = typeof data.subtype === 'string' && data.subtype ? data.subtype.toLowerCase() : 'event';
    const key = typeof data.key === 'string' && data.key ? `:${data.key}` : '';
    return [{ kind: 'event', externalId, event: `${subtype}${subtype === 'click' ? key : ''}`, sender, at: sentAt }];
  }
  return [{ kind: 'message', externalId, sender, content: contentOf(type, text, data, push), sentAt }];
}
