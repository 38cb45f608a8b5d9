/**
 * Outgoing email behind one small interface, so services never see nodemailer and tests can count
 * what was sent. The SMTP implementation takes the operator's `SMTP_URL` (smtp://user:pass@host:587,
 * smtps:// for TLS from the first byte); the URL carries the password, so it is never logged: use
 * `smtpEndpoint()` to say where mail goes.
 */
import nodemailer from 'nodemailer';

export interface MailAddress {
  name: string;
  address: string;
}

export interface OutgoingMail {
  from: MailAddress;
  to: string;
  subject: string;
  text: string;
  /** Our own Message-ID (without <>), stable across retries of one notification. */
  messageId: string;
  headers?: Record<string, string>;
}

export interface Mailer {
  /** host:port, for logs (no credentials). */
  readonly endpoint: string;
  send(mail: OutgoingMail): Promise<{ messageId: string; response: string }>;
  /** Connects and authenticates once (start-up check); throws what the server said. */
  verify(): Promise<void>;
  close(): void;
}

/** An SMTP reply code ≥ 500 is permanent (bad recipient, refused content): retrying cannot help. */
export function isPermanentMailError(err: unknown): boolean {
  const code = (err as { responseCode?: unknown })?.responseCode;
  return typeof code === 'number' && code >= 500 && code < 600;
}

/** `smtp://user:pass@host:587` → `host:587` (default ports filled in). Never includes credentials. */
export function smtpEndpoint(url: string): string {
  const u = new URL(url);
  const port = u.port || (u.protocol === 'smtps:' ? '465' : '587');
  return `${u.hostname}:${port}`;
}

/**
 * The sender from `HUILIU_MAIL_FROM`: `support@example.com` or `Support <support@example.com>`.
 * Undefined when it is neither (config validation reports it).
 */
export function parseMailFrom(value: string): { name: string | null; address: string } | undefined {
  const v = value.trim();
  const angled = /^(.*?)\s*<([^<>\s]+@[^<>\s]+)>$/.exec(v);
  if (angled) {
    const name = angled[1]!.trim().replace(/^"(.*)"$/, '$1').trim();
    return { name: name || null, address: angled[2]! };
  }
  return /^[^<>\s@]+@[^<>\s@]+\.[^<>\s@]+$/.test(v) ? { name: null, address: v } : undefined;
}

export function createSmtpMailer(url: string): Mailer {
  const transport = nodemailer.createTransport({
    url,
    // nodemailer waits up to 2 min to connect and 10 min on an idle socket by default; a job holding a
    // lease should fail fast and retry with backoff instead.
    connectionTimeout: 15_000,
    greetingTimeout: 15_000,
    socketTimeout: 60_000,
  });
  return {
    endpoint: smtpEndpoint(url),
    async send(mail) {
      const info = await transport.sendMail({
        from: mail.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        messageId: `<${mail.messageId}>`,
        ...(mail.headers ? { headers: mail.headers } : {}),
      });
      return { messageId: String(info.messageId ?? ''), response: String(info.response ?? '') };
    },
    async verify() {
      await transport.verify();
    },
    close() {
      transport.close();
    },
  };
}
