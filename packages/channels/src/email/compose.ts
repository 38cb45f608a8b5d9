/**
 * An agent's reply → the fields of one email: threading headers that make it land in the customer's
 * existing thread (RFC 5322 §3.6.4), a plain and an HTML alternative built from the same plain text
 * (agent input is never sent as raw HTML), the inbox's signature, and the attachments.
 */
import type { OutboundMessage, ThreadRef } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';
import type { EmailConfig } from './config.ts';
import { normalizeMessageId, ownMessageId } from './message-id.ts';

export interface ComposedEmail {
  from: { name: string; address: string } | string;
  to: { name: string; address: string } | string;
  subject: string;
  messageId: string;
  inReplyTo?: string;
  references?: string[];
  text: string;
  html: string;
  attachments: Array<{ filename: string; content: Buffer; contentType: string }>;
}

/** Mail clients and servers cope badly with very long References; keep the root and the latest ids (RFC 5322 §3.6.4 allows trimming). */
const MAX_REFERENCES = 20;
const ADDRESS = /^[^\s@<>()",;:\\[\]]+@[^\s@<>()",;:\\[\]]+\.[^\s@<>()",;:\\[\]]+$/;
const REPLY_PREFIX = /^\s*(re|aw|sv|antw|回复|答复|回覆)\s*[:：]/i;

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Blank lines → paragraphs, single newlines → <br>. */
export function textToHtml(text: string): string {
  return text
    .replace(/\r\n/g, '\n')
    .split(/\n[ \t]*\n+/)
    .map((p) => p.trim())
    .filter(Boolean)
    .map((p) => `<p>${escapeHtml(p).replace(/\n/g, '<br>\n')}</p>`)
    .join('\n');
}

export function replySubject(thread: ThreadRef | undefined, msg: OutboundMessage, config: EmailConfig): string {
  const subject = thread?.subject?.trim();
  if (subject) return REPLY_PREFIX.test(subject) ? subject : `Re: ${subject}`;
  if (config.defaultSubject) return config.defaultSubject;
  // No customer email to answer (the agent writes first): the first line of the message, like a mail client would suggest.
  const firstLine = msg.text.trim().split('\n')[0]?.trim() ?? '';
  if (firstLine) return firstLine.length > 78 ? `${firstLine.slice(0, 75)}…` : firstLine;
  return config.fromName ?? 'Message';
}

export function threadHeaders(thread: ThreadRef | undefined): { inReplyTo?: string; references?: string[] } {
  if (!thread) return {};
  const refs = (thread.references ?? []).map((r) => normalizeMessageId(r)).filter((r): r is string => !!r);
  const parent = normalizeMessageId(thread.inReplyTo) ?? normalizeMessageId(thread.messageId) ?? refs.at(-1);
  if (!parent) return {};
  const chain = [...new Set([...refs.filter((r) => r !== parent), parent])];
  const references = chain.length > MAX_REFERENCES ? [chain[0]!, ...chain.slice(-(MAX_REFERENCES - 1))] : chain;
  return { inReplyTo: parent, references };
}

function fromHeader(config: EmailConfig, senderName: string | null | undefined): ComposedEmail['from'] {
  const agent = senderName?.trim();
  const name = config.fromName && agent && config.agentNameInFrom ? `${agent} via ${config.fromName}` : (config.fromName ?? agent);
  return name ? { name, address: config.fromAddress } : config.fromAddress;
}

export function withSignature(text: string, signature: string | undefined): { text: string; html: string } {
  const body = text.replace(/\r\n/g, '\n').trimEnd();
  const sig = signature?.replace(/\r\n/g, '\n').trim();
  // "-- " (dash dash space) is the signature separator mail clients recognize and fold away in quotes.
  const plain = sig ? `${body}\n\n-- \n${sig}\n` : `${body}\n`;
  const html =
    '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>\n' +
    `<div>${textToHtml(body)}</div>\n` +
    (sig ? `<div class="signature" style="color:#666">-- <br>\n${escapeHtml(sig).replace(/\n/g, '<br>\n')}</div>\n` : '') +
    '</body></html>\n';
  return { text: plain, html };
}

export async function composeEmail(msg: OutboundMessage, config: EmailConfig, maxMediaBytes: number): Promise<ComposedEmail> {
  const to = msg.recipient.sourceId.trim();
  if (!ADDRESS.test(to)) throw new ChannelError('recipient_invalid', `"${to}" is not an email address; the contact's email identity must be a valid address`);
  const total = msg.attachments.reduce((n, a) => n + a.size, 0);
  if (total > maxMediaBytes) {
    throw new ChannelError('media_too_large', `attachments total ${total} bytes; email allows at most ${maxMediaBytes} bytes per message`, { retryable: false });
  }
  const attachments = await Promise.all(
    msg.attachments.map(async (a) => ({ filename: a.fileName, content: await a.read(), contentType: a.contentType })),
  );
  const recipientName = msg.recipient.name?.trim();
  return {
    from: fromHeader(config, msg.senderName),
    to: recipientName ? { name: recipientName, address: to } : to,
    subject: replySubject(msg.thread, msg, config),
    messageId: ownMessageId(msg.idempotencyKey, config.fromAddress),
    ...threadHeaders(msg.thread),
    ...withSignature(msg.text, config.signature),
    attachments,
  };
}
