/**
 * The email channel: customer mail read from an IMAP mailbox (IDLE, polling fallback), replies sent
 * over SMTP with proper threading. No webhooks: core runs `poll` on one node per inbox (a lease) and
 * hands it the inbox's saved position.
 */
import type { ChannelAdapter, ChannelCapabilities, ChannelContext, InboundMessageEvent } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';
import { EMAIL_SECRETS, EmailConfig } from './config.ts';
import { composeEmail } from './compose.ts';
import { imapClient, startImapPoller, type FetchedEmail } from './imap-poller.ts';
import { parseEmail, unreadableEmail, type ParseOutcome } from './parse.ts';
import { headerBlock } from './headers.ts';
import { sendSmtp, verifySmtp } from './smtp-send.ts';

const MAX_MEDIA_BYTES = 20 * 1024 * 1024;

const CAPABILITIES: ChannelCapabilities = {
  contentTypes: ['text', 'image', 'file'],
  // Emails are long: quoted history, logs pasted by customers. The whole body is one message.
  maxTextLength: 100_000,
  maxMediaBytes: MAX_MEDIA_BYTES,
  typing: false,
  readReceipts: false,
  deliveryReports: false,
  templates: false,
  sendWindow: null,
};

function secret(ctx: ChannelContext<EmailConfig>, name: 'imapPassword' | 'smtpPassword'): string {
  const v = ctx.secrets[name];
  if (!v) throw new ChannelError('not_configured', `the ${name} secret of this email inbox is not set`, { retryable: false });
  return v;
}

async function toEvent(mail: FetchedEmail, ctx: ChannelContext<EmailConfig>): Promise<ParseOutcome> {
  const common = { config: ctx.config, now: ctx.now(), ...(mail.receivedAt ? { receivedAt: mail.receivedAt } : {}) };
  if (mail.tooLarge) {
    const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
    return unreadableEmail({
      ...common,
      raw: mail.raw,
      size: mail.size,
      reason: 'too_large',
      detail: `This email is ${mb(mail.size)} MB, larger than this inbox's limit of ${mb(ctx.config.maxEmailBytes)} MB`,
    });
  }
  try {
    return await parseEmail({ ...common, raw: mail.raw });
  } catch (err) {
    // parseEmail already turns mailparser failures into unsupported content; this is the last guard.
    return unreadableEmail({ ...common, raw: mail.raw, reason: 'unparseable', detail: `the email could not be read: ${(err as Error)?.message ?? String(err)}` });
  }
}

function storeFailedEvent(mail: FetchedEmail, original: InboundMessageEvent, error: string, mailbox: string): InboundMessageEvent {
  return {
    ...original,
    content: {
      type: 'unsupported',
      text: `This email could not be stored (${error}). It is still in the mailbox "${mailbox}" (UID ${mail.uid}).`,
      raw: { format: 'email', reason: 'store_failed', error, size: mail.size, headers: headerBlock(mail.raw).replace(/\u0000/g, '') },
    },
    html: undefined,
  };
}

export const emailAdapter: ChannelAdapter<EmailConfig> = {
  kind: 'email',
  displayName: 'Email',
  configSchema: EmailConfig,
  secrets: EMAIL_SECRETS,
  capabilities: () => CAPABILITIES,

  async send(msg, ctx) {
    const password = secret(ctx, 'smtpPassword');
    const mail = await composeEmail(msg, ctx.config, MAX_MEDIA_BYTES);
    await sendSmtp(mail, { settings: ctx.config.smtp, password });
    return {
      externalId: mail.messageId,
      thread: { messageId: mail.messageId, subject: mail.subject, ...(mail.inReplyTo ? { inReplyTo: mail.inReplyTo } : {}), ...(mail.references ? { references: mail.references } : {}) },
    };
  },

  poll(ctx, sink) {
    return startImapPoller({
      config: ctx.config,
      password: secret(ctx, 'imapPassword'),
      logger: ctx.logger,
      now: ctx.now,
      sink,
      toEvent: (mail) => toEvent(mail, ctx),
      storeFailedEvent: (mail, original, error) => storeFailedEvent(mail, original, error, ctx.config.imap.mailbox),
    });
  },

  async check(ctx) {
    const problems: string[] = [];
    const imapPassword = ctx.secrets.imapPassword;
    const smtpPassword = ctx.secrets.smtpPassword;
    if (!imapPassword) problems.push('IMAP: the imapPassword secret is not set');
    else {
      const c = imapClient(ctx.config.imap, imapPassword);
      c.on('error', () => undefined);
      try {
        await c.connect();
        const status = await c.status(ctx.config.imap.mailbox, { messages: true });
        if (!status) problems.push(`IMAP: folder "${ctx.config.imap.mailbox}" not found`);
      } catch (err) {
        const e = err as { authenticationFailed?: boolean; responseText?: string; message?: string };
        problems.push(
          e.authenticationFailed
            ? 'IMAP: login refused, check the IMAP user and password (many providers need an app password)'
            : `IMAP: ${e.responseText || e.message || String(err)}`,
        );
      } finally {
        await c.logout().catch(() => undefined);
        c.close();
      }
    }
    if (!smtpPassword) problems.push('SMTP: the smtpPassword secret is not set');
    else {
      try {
        await verifySmtp({ settings: ctx.config.smtp, password: smtpPassword });
      } catch (err) {
        const e = err as { code?: string; responseCode?: number; message?: string };
        problems.push(
          e.code === 'EAUTH'
            ? 'SMTP: login refused, check the SMTP user and password (many providers need an app password)'
            : `SMTP: ${e.message ?? String(err)}`,
        );
      }
    }
    return problems.length ? { ok: false, message: problems.join('; ') } : { ok: true };
  },
};
