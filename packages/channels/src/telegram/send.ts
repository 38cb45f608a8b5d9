/**
 * Outbound Telegram messages: sendMessage for text, sendPhoto / sendDocument with a multipart upload for
 * attachments (https://core.telegram.org/bots/api#sending-files). Uploading the bytes rather than passing
 * our signed URL works for servers Telegram cannot reach (self-hosted behind a firewall).
 *
 * The Bot API has no idempotency key: a retry after a timeout whose request did arrive sends twice. The
 * delivery job only retries on transport errors, 429 and 5xx, where Telegram mostly did not send.
 */
import type { ChannelContext, OutboundAttachment, OutboundMessage, SendResult } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';
import { callBotApi } from './bot-api.ts';
import { MAX_CAPTION, MAX_PHOTO_BYTES, MAX_TEXT, MAX_UPLOAD_BYTES, type TelegramConfig } from './config.ts';

interface SentMessage { message_id: number; chat: { id: number } }

/** Formats Telegram accepts as a photo; anything else goes as a document (original bytes, no recompression). */
const PHOTO_TYPES = new Set(['image/jpeg', 'image/png', 'image/webp']);

export async function sendTelegram(msg: OutboundMessage, ctx: ChannelContext<TelegramConfig>): Promise<SendResult> {
  const chatId = msg.recipient.sourceId;
  if (!/^-?\d+$/.test(chatId)) {
    throw new ChannelError('recipient_invalid', `Telegram chat id "${chatId}" is not numeric: replies go to the chat id of the customer's messages`, { retryable: false });
  }
  const text = msg.text.trim() === '' ? '' : msg.text;
  if (text.length > MAX_TEXT) {
    throw new ChannelError('content_unsupported', `Telegram messages hold at most ${MAX_TEXT} characters; this one has ${text.length}: split it`, { retryable: false });
  }
  for (const a of msg.attachments) {
    if (a.size > MAX_UPLOAD_BYTES) {
      throw new ChannelError('media_too_large', `${a.fileName} is ${a.size} bytes; Telegram bots upload at most ${MAX_UPLOAD_BYTES} bytes per file`, { retryable: false });
    }
  }
  if (!text && msg.attachments.length === 0) {
    throw new ChannelError('content_unsupported', 'Nothing to send to Telegram: the message has neither text nor attachments', { retryable: false });
  }

  const ids: string[] = [];
  // A caption carries the text when it fits; otherwise the text goes first as its own message.
  const captionFits = msg.attachments.length > 0 && text.length <= MAX_CAPTION;
  if (text && !captionFits) ids.push(await sendText(ctx, chatId, text));
  for (const [i, a] of msg.attachments.entries()) {
    ids.push(await sendFile(ctx, chatId, a, i === 0 && captionFits ? text : ''));
  }
  return { externalId: ids[0]! };
}

async function sendText(ctx: ChannelContext<TelegramConfig>, chatId: string, text: string): Promise<string> {
  const m = await callBotApi<SentMessage>(ctx, 'sendMessage', { json: { chat_id: chatId, text } });
  return `${m.chat.id}:${m.message_id}`;
}

async function sendFile(ctx: ChannelContext<TelegramConfig>, chatId: string, a: OutboundAttachment, caption: string): Promise<string> {
  const asPhoto = PHOTO_TYPES.has(a.contentType.toLowerCase()) && a.size <= MAX_PHOTO_BYTES;
  const method = asPhoto ? 'sendPhoto' : 'sendDocument';
  const field = asPhoto ? 'photo' : 'document';
  const form = new FormData();
  form.append('chat_id', chatId);
  if (caption) form.append('caption', caption);
  const bytes = await a.read();
  form.append(field, new Blob([new Uint8Array(bytes)], { type: a.contentType }), a.fileName);
  const multipart = await encodeMultipart(form);
  const m = await callBotApi<SentMessage>(ctx, method, { multipart }, 120_000);
  return `${m.chat.id}:${m.message_id}`;
}

/** multipart/form-data bytes and content type (with boundary), encoded by the platform's own FormData. */
export async function encodeMultipart(form: FormData): Promise<{ bytes: Buffer; contentType: string }> {
  const encoded = new Response(form);
  const contentType = encoded.headers.get('content-type');
  if (!contentType) throw new Error('FormData encoding produced no content type');
  return { bytes: Buffer.from(await encoded.arrayBuffer()), contentType };
}
