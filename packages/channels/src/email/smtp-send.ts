/**
 * Sends one composed email over SMTP and translates what the server said into a ChannelError the
 * delivery job understands: 4xx replies and connection trouble are temporary (RFC 5321 §4.2.1: "the
 * command may be re-attempted"), 5xx replies are permanent.
 *
 * One transport per send: replies are human-paced, and a fresh session means no pooled connection that
 * silently died, and nothing to clean up when an inbox's settings change.
 */
import nodemailer from 'nodemailer';
import { ChannelError } from '../adapter.ts';
import type { EmailConfig } from './config.ts';
import type { ComposedEmail } from './compose.ts';

export interface SmtpCredentials {
  settings: EmailConfig['smtp'];
  password: string;
}

function transportFor({ settings, password }: SmtpCredentials) {
  return nodemailer.createTransport({
    host: settings.host,
    port: settings.port,
    secure: settings.secure,
    auth: { user: settings.user, pass: password },
    // nodemailer waits minutes by default; a delivery job should fail fast and retry with backoff.
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 60_000,
    logger: false,
    debug: false,
  });
}

const NETWORK_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EPROXY']);

/** The server's reply without the password-free but noisy multi-line prefix, for the delivery log. */
function serverSaid(err: { response?: unknown; message?: unknown }): string {
  const text = typeof err.response === 'string' && err.response ? err.response : String(err.message ?? 'unknown error');
  return text.replace(/\s+/g, ' ').trim().slice(0, 300);
}

export function smtpError(err: unknown): ChannelError {
  if (err instanceof ChannelError) return err;
  const e = (err ?? {}) as { code?: string; responseCode?: number; response?: string; message?: string; command?: string };
  const said = serverSaid(e);
  const status = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  const enhanced = /\b([245])\.(\d{1,3})\.(\d{1,3})\b/.exec(e.response ?? '')?.slice(1).join('.');
  if (status !== undefined && status >= 400 && status < 500) {
    return new ChannelError(status === 421 || status === 450 || status === 452 ? 'rate_limited' : 'provider_error', `SMTP server refused temporarily (${status}): ${said}`, { retryable: true });
  }
  if (status !== undefined && status >= 500 && status < 600) {
    if (status === 535 || status === 530 || status === 534 || e.code === 'EAUTH') {
      return new ChannelError('unauthorized', `SMTP login refused (${status}): check the SMTP user and password (app password) of this inbox`, { retryable: false });
    }
    if (status === 552 || enhanced === '5.3.4') return new ChannelError('media_too_large', `SMTP server refused the size (${status}): ${said}`, { retryable: false });
    if (status === 550 || status === 551 || status === 553 || enhanced?.startsWith('5.1.')) {
      return new ChannelError('recipient_invalid', `SMTP server refused the recipient (${status}): ${said}`, { retryable: false });
    }
    return new ChannelError('provider_error', `SMTP server refused the message (${status}): ${said}`, { retryable: false });
  }
  if (e.code === 'EAUTH' || e.code === 'ENOAUTH') {
    return new ChannelError('unauthorized', `SMTP login failed: ${said}; check the SMTP user and password of this inbox`, { retryable: false });
  }
  if (e.code === 'ETLS') return new ChannelError('provider_error', `SMTP TLS handshake failed: ${said}; check host, port and the "secure" setting`, { retryable: false });
  if (e.code === 'EENVELOPE' || e.code === 'EMESSAGE') return new ChannelError('recipient_invalid', `SMTP envelope refused: ${said}`, { retryable: false });
  if (e.code && NETWORK_CODES.has(e.code)) return new ChannelError('network', `SMTP connection failed (${e.code}): ${said}`, { retryable: true });
  // Unknown failures are retried: the job gives up after its attempts and shows the message as not delivered.
  return new ChannelError('network', `SMTP send failed: ${said}`, { retryable: true });
}

export async function sendSmtp(mail: ComposedEmail, creds: SmtpCredentials): Promise<{ response: string }> {
  const transport = transportFor(creds);
  try {
    const info = await transport.sendMail({
      from: mail.from,
      to: mail.to,
      subject: mail.subject,
      messageId: mail.messageId,
      ...(mail.inReplyTo ? { inReplyTo: mail.inReplyTo } : {}),
      ...(mail.references?.length ? { references: mail.references } : {}),
      text: mail.text,
      html: mail.html,
      attachments: mail.attachments,
    });
    if (info.rejected?.length) throw Object.assign(new Error(`recipient refused: ${info.rejected.join(', ')}`), { code: 'EENVELOPE' });
    return { response: String(info.response ?? '') };
  } catch (err) {
    throw smtpError(err);
  } finally {
    transport.close();
  }
}

export async function verifySmtp(creds: SmtpCredentials): Promise<void> {
  const transport = transportFor(creds);
  try {
    await transport.verify();
  } finally {
    transport.close();
  }
}
