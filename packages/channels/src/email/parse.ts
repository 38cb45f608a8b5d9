/**
 * One raw RFC 822 message → the normalized inbound event core stores, or the reason it is skipped.
 *
 * Bad mail never stops the poller. Decision:
 *  - mail we cannot parse (or that is larger than `maxEmailBytes`) but whose sender we can read is
 *    stored as `unsupported` content with its headers and a raw excerpt: the customer did write, an
 *    agent must see that and can still answer (the full mail stays in the mailbox);
 *  - mail without any usable sender address, and machine-written mail (loop guard), is skipped with a
 *    logged reason: there is nobody to answer, and storing it would open conversations nobody can close.
 */
import { simpleParser, type AddressObject, type Attachment, type ParsedMail } from 'mailparser';
import type { InboundMessageEvent, MediaRef, NormalizedContent } from '../adapter.ts';
import type { EmailConfig } from './config.ts';
import { bareAddress, headerBlock, readRawHeaders, type RawHeaders } from './headers.ts';
import { loopGuardReason } from './loop-guard.ts';
import { messageIdList, normalizeMessageId, synthesizedMessageId } from './message-id.ts';
import { verifiedEmailKeys } from './sender-verification.ts';

export type ParseOutcome = { event: InboundMessageEvent } | { skip: string; messageId?: string };

export interface ParseInput {
  raw: Buffer;
  config: Pick<EmailConfig, 'fromAddress' | 'trustedAuthservId'>;
  /** When the server received it (IMAP INTERNALDATE): the fallback for a missing or absurd Date header. */
  receivedAt?: Date;
  now: Date;
}

/** html-to-text on megabytes of HTML blocks the event loop for seconds; above this we strip tags ourselves. */
const MAX_HTML_TO_TEXT = 2 * 1024 * 1024;
const EXCERPT_CHARS = 4000;

/** PostgreSQL text cannot hold NUL; mail from broken senders sometimes carries it. */
const clean = (s: string): string => s.replace(/\u0000/g, '');

function firstAddress(a: AddressObject | AddressObject[] | undefined): { address?: string; name?: string } | undefined {
  const list = Array.isArray(a) ? a.flatMap((x) => x.value) : (a?.value ?? []);
  const flat = list.flatMap((v) => (v.group ? v.group : [v]));
  const hit = flat.find((v) => v.address && v.address.includes('@'));
  return hit ? { address: hit.address!.toLowerCase(), name: hit.name || undefined } : undefined;
}

function roughTextFromHtml(html: string): string {
  return html
    .slice(0, 200_000)
    .replace(/<(script|style)[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<br\s*\/?>|<\/(p|div|li|tr|h\d)>/gi, '\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/[ \t]+/g, ' ')
    .replace(/\n\s*\n\s*\n+/g, '\n\n')
    .trim();
}

async function parseMime(raw: Buffer): Promise<ParsedMail> {
  const base = { skipTextToHtml: true, skipImageLinks: true, skipTextLinks: true } as const;
  try {
    return await simpleParser(raw, { ...base, maxHtmlLengthToParse: MAX_HTML_TO_TEXT });
  } catch (err) {
    if (!/HTML too long/i.test(String((err as Error)?.message))) throw err;
    const mail = await simpleParser(raw, { ...base, skipHtmlToText: true });
    if (!mail.text?.trim() && typeof mail.html === 'string') mail.text = roughTextFromHtml(mail.html);
    return mail;
  }
}

function sane(d: Date | undefined, now: Date): d is Date {
  // A Date header far in the future (or before email existed) is a broken clock, not a timestamp.
  return !!d && !Number.isNaN(d.getTime()) && d.getTime() < now.getTime() + 24 * 3600_000 && d.getUTCFullYear() > 1990;
}

function mediaOf(attachments: Attachment[]): MediaRef[] {
  // Inline images (cid:) are kept too: customers paste screenshots into the body, and the sanitized HTML
  // cannot show cid: links, so the attachment list is the only place the agent sees them.
  return attachments
    .filter((a) => Buffer.isBuffer(a.content))
    .map((a, i) => ({
      inline: a.content,
      fileName: clean(a.filename ?? `attachment-${i + 1}${a.contentType?.startsWith('image/') ? `.${a.contentType.slice(6).split(/[;+]/)[0]}` : ''}`),
      contentType: a.contentType || 'application/octet-stream',
      size: a.content.length,
    }));
}

/** The address replies go to: Reply-To (contact forms send From a no-reply address on the customer's behalf), else From. */
function replyAddress(mail: ParsedMail): { address?: string; name?: string } | undefined {
  const from = firstAddress(mail.from);
  const replyTo = firstAddress(mail.replyTo);
  if (!replyTo) return from;
  return { address: replyTo.address, name: replyTo.name ?? (from?.address === replyTo.address ? from?.name : undefined) };
}

export async function parseEmail(input: ParseInput): Promise<ParseOutcome> {
  const { raw, config, now } = input;
  const headers = readRawHeaders(raw);
  let mail: ParsedMail;
  try {
    mail = await parseMime(raw);
  } catch (err) {
    return unreadableEmail({ ...input, headers, reason: 'unparseable', detail: `the email could not be parsed: ${(err as Error)?.message ?? String(err)}` });
  }

  const messageId = normalizeMessageId(mail.messageId) ?? synthesizedMessageId(raw);
  const from = firstAddress(mail.from) ?? (bareAddress(headers.get('from')?.[0]) ? { address: bareAddress(headers.get('from')?.[0]) } : undefined);
  const sender = replyAddress(mail) ?? from;
  const guard = loopGuardReason({ headers, fromAddress: from?.address, replyAddress: sender?.address, messageId, ownAddress: config.fromAddress });
  if (guard) return { skip: guard, messageId };
  if (!sender?.address) return { skip: 'no sender address (From / Reply-To missing or unreadable)', messageId };

  const subject = mail.subject !== undefined ? clean(mail.subject) : undefined;
  const text = clean((mail.text ?? '').replace(/\r\n/g, '\n').replace(/[ \t]+$/gm, '').trim());
  const media = mediaOf(mail.attachments ?? []);
  const body = text || subject || '(empty email)';
  const content: NormalizedContent = media.length
    ? { type: media.every((m) => m.contentType?.startsWith('image/')) ? 'image' : 'file', text, media }
    : { type: 'text', text: body };

  const inReplyTo = messageIdList(mail.inReplyTo)[0];
  const references = messageIdList(mail.references);
  // DMARC covers the From domain only: a Reply-To elsewhere is never verified.
  const verifiedKeys = from?.address === sender.address ? verifiedEmailKeys(headers, sender.address, config.trustedAuthservId) : [];
  const event: InboundMessageEvent = {
    kind: 'message',
    externalId: messageId,
    sender: {
      sourceId: sender.address,
      email: sender.address,
      name: sender.name ? clean(sender.name) : null,
      ...(verifiedKeys.length ? { verifiedKeys } : {}),
    },
    content,
    sentAt: sane(mail.date, now) ? mail.date : (input.receivedAt ?? now),
    thread: {
      messageId,
      ...(inReplyTo ? { inReplyTo } : {}),
      ...(references.length ? { references } : {}),
      ...(subject !== undefined ? { subject } : {}),
    },
    ...(typeof mail.html === 'string' && mail.html.trim() ? { html: clean(mail.html) } : {}),
  };
  return { event };
}

/**
 * A mail we cannot turn into normal content (unparseable, too large to download): kept as
 * `unsupported` with its headers and an excerpt, so the agent sees who wrote and can answer.
 */
export async function unreadableEmail(input: {
  headers?: RawHeaders;
  raw: Buffer;
  reason: 'unparseable' | 'too_large';
  detail: string;
  config: Pick<EmailConfig, 'fromAddress'>;
  receivedAt?: Date;
  now: Date;
  size?: number;
}): Promise<ParseOutcome> {
  const headers = input.headers ?? readRawHeaders(input.raw);
  const messageId = normalizeMessageId(headers.get('message-id')?.[0]) ?? synthesizedMessageId(input.raw);
  const from = bareAddress(headers.get('reply-to')?.[0]) ?? bareAddress(headers.get('from')?.[0]);
  const guard = loopGuardReason({ headers, fromAddress: bareAddress(headers.get('from')?.[0]), replyAddress: from, messageId, ownAddress: input.config.fromAddress });
  if (guard) return { skip: guard, messageId };
  if (!from) return { skip: `${input.detail}; and no sender address to attach it to`, messageId };
  // The header block alone always parses; it decodes encoded-word subjects and names.
  const head = await simpleParser(Buffer.from(`${headerBlock(input.raw)}\r\n\r\n`, 'latin1')).catch(() => undefined);
  const subject = head?.subject !== undefined ? clean(head.subject) : undefined;
  const date = head?.date;
  const name = firstAddress(head?.replyTo)?.name ?? firstAddress(head?.from)?.name;
  const excerpt = clean(input.raw.subarray(0, EXCERPT_CHARS).toString('utf8'));
  return {
    event: {
      kind: 'message',
      externalId: messageId,
      sender: { sourceId: from, email: from, name: name ? clean(name) : null },
      content: {
        type: 'unsupported',
        text: clean(`${input.detail}. Open it in the mailbox to read it${subject ? ` (subject: ${subject})` : ''}.`),
        raw: { format: 'email', reason: input.reason, size: input.size ?? input.raw.length, headers: clean(headerBlock(input.raw)), excerpt },
      },
      sentAt: sane(date, input.now) ? date : (input.receivedAt ?? input.now),
      thread: { messageId, ...(subject !== undefined ? { subject } : {}) },
    },
  };
}
