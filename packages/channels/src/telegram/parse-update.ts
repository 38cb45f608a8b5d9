/**
 * Turns one Telegram Update (https://core.telegram.org/bots/api#update) into normalized events.
 *
 * - `message` is a customer message; `edited_message` becomes a new message too (marked "(edited)"), so
 *   the agent sees the correction and the original stays as it was received.
 * - `my_chat_member` in a private chat is the user starting (member) or blocking (kicked) the bot.
 * - Channel posts and every other update kind (inline queries, callback queries, polls…) are not
 *   customer conversation: they are skipped with a logged reason.
 *
 * Dedupe: Telegram re-delivers an update until we answer 2xx, with the same update_id and message; the
 * externalId `${chat.id}:${message_id}` (plus the edit date for edits) stores it once.
 */
import type { ChannelEvent, ChannelLogger, InboundMessageEvent, MediaRef, NormalizedContent, NormalizedSender } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';

interface TgUser { id: number; is_bot?: boolean; first_name?: string; last_name?: string; username?: string }
interface TgChat { id: number; type?: string; title?: string; username?: string; first_name?: string; last_name?: string }
interface TgFile { file_id: string; file_unique_id?: string; file_size?: number; file_name?: string; mime_type?: string }
interface TgPhotoSize extends TgFile { width?: number; height?: number }

export interface TgMessage {
  message_id: number;
  date: number;
  edit_date?: number;
  chat: TgChat;
  from?: TgUser;
  text?: string;
  caption?: string;
  photo?: TgPhotoSize[];
  document?: TgFile;
  animation?: TgFile;
  audio?: TgFile & { title?: string; performer?: string };
  voice?: TgFile;
  video?: TgFile;
  video_note?: TgFile;
  location?: { latitude: number; longitude: number };
  venue?: { location: { latitude: number; longitude: number }; title?: string; address?: string };
  contact?: { phone_number: string; first_name?: string; last_name?: string; user_id?: number };
  [key: string]: unknown;
}

type Parsed = { events: Array<InboundMessageEvent | ChannelEvent> };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Kinds of content Telegram can put in a Message that we do not carry (kept as unsupported with raw). */
const KNOWN_UNSUPPORTED = ['sticker', 'dice', 'poll', 'game', 'invoice', 'story', 'paid_media', 'checklist', 'giveaway', 'successful_payment'];

export function parseUpdate(raw: Buffer, logger: ChannelLogger): Parsed {
  let update: unknown;
  try {
    update = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new ChannelError('malformed', 'Telegram webhook body is not JSON: expected a JSON-serialized Update object', { retryable: false });
  }
  if (!isObject(update) || typeof update.update_id !== 'number') {
    throw new ChannelError('malformed', 'Telegram webhook body is not an Update: the integer field "update_id" is missing', { retryable: false });
  }
  const updateId = update.update_id;

  if (update.message !== undefined) return { events: [toMessageEvent(checkMessage(update.message, 'message'), false)] };
  if (update.edited_message !== undefined) return { events: [toMessageEvent(checkMessage(update.edited_message, 'edited_message'), true)] };
  if (isObject(update.my_chat_member)) {
    const event = toMembershipEvent(update.my_chat_member, updateId);
    if (event) return { events: [event] };
  }
  const kind = Object.keys(update).find((k) => k !== 'update_id') ?? 'empty';
  logger.info({ updateId, kind }, kind === 'channel_post' || kind === 'edited_channel_post'
    ? 'telegram update ignored: channel posts are not customer conversations'
    : 'telegram update ignored: not a customer message');
  return { events: [] };
}

function checkMessage(v: unknown, field: string): TgMessage {
  if (!isObject(v) || typeof v.message_id !== 'number' || typeof v.date !== 'number' || !isObject(v.chat) || typeof v.chat.id !== 'number') {
    throw new ChannelError('malformed', `Telegram update field "${field}" is not a Message: message_id, date and chat.id are required`, { retryable: false });
  }
  return v as TgMessage;
}

function senderOf(m: TgMessage): NormalizedSender {
  const chat = m.chat;
  // Replies go to chat.id; in a private chat it equals the user's id (from.id).
  const person = chat.type === 'private' || chat.type === undefined ? (m.from ?? chat) : undefined;
  const name = person
    ? [person.first_name, person.last_name].filter(Boolean).join(' ') || (person.username ? `@${person.username}` : null)
    : chat.title ?? null;
  const sender: NormalizedSender = { sourceId: String(chat.id), name };
  // A contact whose user_id is the sender's own id is their Telegram account's number, which Telegram
  // verified by SMS (the request_contact keyboard button sends exactly this).
  if (m.contact && m.from && m.contact.user_id === m.from.id) {
    const phone = normalizePhone(m.contact.phone_number);
    if (phone) {
      sender.phone = phone;
      sender.verifiedKeys = [{ kind: 'phone', value: phone }];
    }
  }
  return sender;
}

function normalizePhone(p: string): string | null {
  const digits = p.replace(/[^\d]/g, '');
  return digits.length >= 6 && digits.length <= 15 ? `+${digits}` : null;
}

function toMessageEvent(m: TgMessage, edited: boolean): InboundMessageEvent {
  const content = contentOf(m);
  const base = `${m.chat.id}:${m.message_id}`;
  return {
    kind: 'message',
    externalId: edited ? `${base}:edit:${m.edit_date ?? m.date}` : base,
    sender: senderOf(m),
    content: edited ? markEdited(content) : content,
    sentAt: new Date((edited && m.edit_date ? m.edit_date : m.date) * 1000),
  };
}

function markEdited(c: NormalizedContent): NormalizedContent {
  if (c.type === 'text' || c.type === 'unsupported') return { ...c, text: `(edited) ${c.text}` };
  return { ...c, text: c.text ? `(edited) ${c.text}` : '(edited)' };
}

function media(file: TgFile, fallbackType: string, fallbackName: string): MediaRef {
  return {
    ref: file.file_id,
    fileName: file.file_name ?? fallbackName,
    contentType: file.mime_type ?? fallbackType,
    ...(typeof file.file_size === 'number' ? { size: file.file_size } : {}),
  };
}

const withCaption = (m: TgMessage) => (m.caption ? { text: m.caption } : {});

export function contentOf(m: TgMessage): NormalizedContent {
  if (typeof m.text === 'string') return { type: 'text', text: m.text };
  if (Array.isArray(m.photo) && m.photo.length > 0) {
    // Telegram lists the sizes of one photo; the largest is the original.
    const largest = m.photo.reduce((a, b) => ((b.width ?? 0) * (b.height ?? 0) >= (a.width ?? 0) * (a.height ?? 0) ? b : a));
    return { type: 'image', ...withCaption(m), media: [media(largest, 'image/jpeg', `photo-${m.message_id}.jpg`)] };
  }
  // animation comes with a duplicate `document` for old clients, so it is checked first.
  if (m.animation) return { type: 'video', ...withCaption(m), media: [media(m.animation, 'video/mp4', `animation-${m.message_id}.mp4`)] };
  if (m.video) return { type: 'video', ...withCaption(m), media: [media(m.video, 'video/mp4', `video-${m.message_id}.mp4`)] };
  if (m.video_note) return { type: 'video', media: [media(m.video_note, 'video/mp4', `video-note-${m.message_id}.mp4`)] };
  if (m.voice) return { type: 'audio', ...withCaption(m), media: [media(m.voice, 'audio/ogg', `voice-${m.message_id}.ogg`)] };
  if (m.audio) {
    const name = m.audio.file_name ?? `${m.audio.title ?? `audio-${m.message_id}`}.mp3`;
    return { type: 'audio', ...withCaption(m), media: [media({ ...m.audio, file_name: name }, 'audio/mpeg', name)] };
  }
  if (m.document) {
    const isImage = m.document.mime_type?.startsWith('image/') ?? false;
    return { type: isImage ? 'image' : 'file', ...withCaption(m), media: [media(m.document, 'application/octet-stream', `file-${m.message_id}`)] };
  }
  // Checked like `location` below: a malformed venue becomes unsupported content, not a crash (500, retried forever).
  if (m.venue && isObject(m.venue.location) && typeof m.venue.location.latitude === 'number' && typeof m.venue.location.longitude === 'number') {
    return {
      type: 'location',
      location: { latitude: m.venue.location.latitude, longitude: m.venue.location.longitude, ...(m.venue.title ? { name: m.venue.title } : {}), ...(m.venue.address ? { address: m.venue.address } : {}) },
    };
  }
  if (m.location && typeof m.location.latitude === 'number' && typeof m.location.longitude === 'number') {
    return { type: 'location', location: { latitude: m.location.latitude, longitude: m.location.longitude } };
  }
  if (m.contact) {
    const title = [m.contact.first_name, m.contact.last_name].filter(Boolean).join(' ') || m.contact.phone_number;
    return { type: 'card', text: `${title} ${m.contact.phone_number}`, card: { title, description: m.contact.phone_number } };
  }
  const kind = KNOWN_UNSUPPORTED.find((k) => m[k] !== undefined)
    ?? Object.keys(m).find((k) => !['message_id', 'date', 'chat', 'from', 'message_thread_id', 'sender_chat', 'edit_date', 'entities', 'caption_entities', 'reply_to_message', 'forward_origin', 'forward_from', 'forward_date'].includes(k))
    ?? 'unknown';
  const emoji = kind === 'sticker' && isObject(m.sticker) && typeof m.sticker.emoji === 'string' ? ` ${m.sticker.emoji}` : '';
  return { type: 'unsupported', text: `[Telegram ${kind}${emoji}]`, raw: m };
}

/** my_chat_member in a private chat: the user started (member) or blocked (kicked) the bot. */
function toMembershipEvent(u: Record<string, unknown>, updateId: number): ChannelEvent | null {
  const chat = u.chat as TgChat | undefined;
  const from = u.from as TgUser | undefined;
  const status = isObject(u.new_chat_member) ? u.new_chat_member.status : undefined;
  if (!chat || typeof chat.id !== 'number' || chat.type !== 'private' || typeof status !== 'string') return null;
  const event = status === 'kicked' ? 'unsubscribe' : status === 'member' ? 'subscribe' : null;
  if (!event) return null;
  const name = from ? [from.first_name, from.last_name].filter(Boolean).join(' ') || null : null;
  return {
    kind: 'event',
    externalId: `update:${updateId}`,
    event,
    sender: { sourceId: String(chat.id), name },
    at: new Date((typeof u.date === 'number' ? u.date : 0) * 1000),
  };
}
