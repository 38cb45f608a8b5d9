/**
 * Turns one `messages` webhook of the WhatsApp Cloud API into normalized events
 * (https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages).
 *
 * A payload holds entry[].changes[].value with `messages` (from customers, with `contacts` naming them)
 * and/or `statuses` (delivery reports of our messages). One POST can carry several entries and changes:
 * all of them are read. Changes of other fields (template status, account updates…) and changes for
 * another phone number than this inbox's are skipped with a logged reason.
 */
import type { ChannelLogger, DeliveryStatusEvent, InboundMessageEvent, MediaRef, NormalizedContent } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

interface WaMedia { id?: string; mime_type?: string; sha256?: string; caption?: string; filename?: string; voice?: boolean; animated?: boolean }
interface WaMessage {
  from: string;
  id: string;
  timestamp: string;
  type: string;
  text?: { body?: string };
  image?: WaMedia; video?: WaMedia; audio?: WaMedia; document?: WaMedia; sticker?: WaMedia;
  location?: { latitude?: number; longitude?: number; name?: string; address?: string };
  interactive?: { type?: string; button_reply?: { id?: string; title?: string }; list_reply?: { id?: string; title?: string; description?: string } };
  button?: { payload?: string; text?: string };
  errors?: Array<{ code?: number; title?: string; message?: string }>;
  [key: string]: unknown;
}

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp', 'video/mp4': 'mp4', 'video/3gpp': '3gp',
  'audio/ogg': 'ogg', 'audio/mpeg': 'mp3', 'audio/mp4': 'm4a', 'audio/aac': 'aac', 'audio/amr': 'amr', 'application/pdf': 'pdf',
};

export function extensionFor(mime: string | undefined): string {
  const base = mime?.split(';')[0]?.trim().toLowerCase() ?? '';
  return EXTENSIONS[base] ?? 'bin';
}

export function parseWebhook(raw: Buffer, phoneNumberId: string, logger: ChannelLogger): Array<InboundMessageEvent | DeliveryStatusEvent> {
  let payload: unknown;
  try {
    payload = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new ChannelError('malformed', 'WhatsApp webhook body is not JSON: expected {"object":"whatsapp_business_account","entry":[…]}', { retryable: false });
  }
  if (!isObject(payload) || payload.object !== 'whatsapp_business_account' || !Array.isArray(payload.entry)) {
    throw new ChannelError('malformed', 'WhatsApp webhook body is not a WhatsApp Business Account notification: "object" must be "whatsapp_business_account" and "entry" an array', { retryable: false });
  }
  const events: Array<InboundMessageEvent | DeliveryStatusEvent> = [];
  for (const entry of payload.entry) {
    if (!isObject(entry) || !Array.isArray(entry.changes)) {
      throw new ChannelError('malformed', 'WhatsApp webhook entry has no "changes" array', { retryable: false });
    }
    for (const change of entry.changes) {
      if (!isObject(change) || !isObject(change.value)) {
        throw new ChannelError('malformed', 'WhatsApp webhook change has no "value" object', { retryable: false });
      }
      if (change.field !== 'messages') {
        logger.info({ field: change.field, entryId: entry.id }, 'whatsapp webhook change ignored: only the "messages" field is handled');
        continue;
      }
      const value = change.value;
      const target = isObject(value.metadata) ? str(value.metadata.phone_number_id) : undefined;
      if (target && target !== phoneNumberId) {
        logger.warn({ phoneNumberId: target, inboxPhoneNumberId: phoneNumberId }, 'whatsapp webhook change ignored: it is for another phone number than this inbox\'s (one Meta app webhook per inbox)');
        continue;
      }
      if (Array.isArray(value.errors) && value.errors.length > 0) {
        logger.warn({ errors: value.errors }, 'whatsapp webhook reports errors');
      }
      const names = contactNames(value.contacts);
      for (const m of Array.isArray(value.messages) ? value.messages : []) events.push(toMessageEvent(m, names));
      for (const s of Array.isArray(value.statuses) ? value.statuses : []) {
        const status = toStatusEvent(s);
        if (status) events.push(status);
        else logger.info({ status: isObject(s) ? s.status : undefined }, 'whatsapp status ignored: not sent/delivered/read/failed');
      }
    }
  }
  return events;
}

function contactNames(contacts: unknown): Map<string, string> {
  const names = new Map<string, string>();
  if (!Array.isArray(contacts)) return names;
  for (const c of contacts) {
    if (isObject(c) && typeof c.wa_id === 'string' && isObject(c.profile) && typeof c.profile.name === 'string') names.set(c.wa_id, c.profile.name);
  }
  return names;
}

function checkMessage(m: unknown): WaMessage {
  if (!isObject(m) || !str(m.from) || !str(m.id) || !str(m.type) || (typeof m.timestamp !== 'string' && typeof m.timestamp !== 'number')) {
    throw new ChannelError('malformed', 'WhatsApp webhook message lacks from, id, timestamp or type', { retryable: false });
  }
  return m as WaMessage;
}

/** Webhook timestamps are Unix seconds as strings; a missing one means "now" rather than 1970. */
const toDate = (ts: unknown): Date => (Number.isFinite(Number(ts)) && ts !== '' && ts !== undefined ? new Date(Number(ts) * 1000) : new Date());

function toMessageEvent(raw: unknown, names: Map<string, string>): InboundMessageEvent {
  const m = checkMessage(raw);
  const digits = m.from.replace(/\D/g, '');
  // wa_id is the customer's phone number in international format without "+"; WhatsApp vouches for it.
  const phone = digits ? `+${digits}` : null;
  return {
    kind: 'message',
    externalId: m.id,
    sender: {
      sourceId: m.from,
      name: names.get(m.from) ?? null,
      phone,
      ...(phone ? { verifiedKeys: [{ kind: 'phone' as const, value: phone }] } : {}),
    },
    content: contentOf(m),
    sentAt: toDate(m.timestamp),
  };
}

function mediaRef(m: WaMessage, media: WaMedia): MediaRef {
  return {
    ref: media.id!,
    ...(media.mime_type ? { contentType: media.mime_type.split(';')[0]!.trim() } : {}),
    fileName: media.filename ?? `whatsapp-${m.type}-${media.id}.${extensionFor(media.mime_type)}`,
  };
}

export function contentOf(m: WaMessage): NormalizedContent {
  switch (m.type) {
    case 'text':
      if (typeof m.text?.body === 'string') return { type: 'text', text: m.text.body };
      break;
    case 'image': case 'sticker': case 'video': case 'audio': case 'document': {
      const media = m[m.type] as WaMedia | undefined;
      if (!media?.id) break;
      const type: 'image' | 'file' | 'video' | 'audio' = m.type === 'sticker' || m.type === 'image' ? 'image' : m.type === 'document' ? 'file' : m.type === 'video' ? 'video' : 'audio';
      return { type, ...(media.caption ? { text: media.caption } : {}), media: [mediaRef(m, media)] };
    }
    case 'location':
      if (typeof m.location?.latitude === 'number' && typeof m.location.longitude === 'number') {
        const { latitude, longitude, name, address } = m.location;
        return { type: 'location', location: { latitude, longitude, ...(name ? { name } : {}), ...(address ? { address } : {}) } };
      }
      break;
    case 'interactive': {
      const reply = m.interactive?.button_reply ?? m.interactive?.list_reply;
      if (reply?.title) return { type: 'text', text: reply.title };
      break;
    }
    case 'button':
      if (m.button?.text) return { type: 'text', text: m.button.text };
      break;
  }
  const reason = m.errors?.[0]?.title ?? m.errors?.[0]?.message;
  return { type: 'unsupported', text: `[WhatsApp ${m.type}${reason ? `: ${reason}` : ''}]`, raw: m };
}

const STATUSES = new Set(['sent', 'delivered', 'read', 'failed']);

function toStatusEvent(s: unknown): DeliveryStatusEvent | null {
  if (!isObject(s) || !str(s.id) || typeof s.status !== 'string') {
    throw new ChannelError('malformed', 'WhatsApp webhook status lacks id or status', { retryable: false });
  }
  if (!STATUSES.has(s.status)) return null;
  const errors = Array.isArray(s.errors) ? s.errors.filter(isObject) : [];
  const error = errors
    .map((e) => [e.code, e.title ?? e.message, isObject(e.error_data) ? e.error_data.details : undefined].filter((x) => x !== undefined && x !== '').join(' — '))
    .join('; ');
  return {
    kind: 'status',
    externalId: s.id as string,
    status: s.status as DeliveryStatusEvent['status'],
    ...(error ? { error } : {}),
    at: toDate(s.timestamp),
  };
}
