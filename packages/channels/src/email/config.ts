/**
 * Settings of an email inbox (non-secret; the two passwords live in the vault as `imapPassword` and
 * `smtpPassword`). Strict objects: a misspelt field is refused with its name instead of being ignored.
 */
import { z } from 'zod';

const Host = z
  .string()
  .trim()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9.\-:[\]]+$/, 'must be a host name or IP address, e.g. imap.example.com');
const Port = z.number().int().min(1).max(65535);
const LoginUser = z.string().trim().min(1).max(320).describe('Login name, usually the full email address');

export const EmailImapSettings = z.strictObject({
  host: Host.describe('IMAP server, e.g. imap.exmail.qq.com or imap.gmail.com'),
  port: Port.default(993).describe('993 with TLS, 143 without'),
  secure: z.boolean().default(true).describe('TLS from the first byte (port 993); when false STARTTLS is used if offered'),
  user: LoginUser,
  mailbox: z.string().trim().min(1).max(200).default('INBOX').describe('Folder to read customer mail from'),
});

export const EmailSmtpSettings = z.strictObject({
  host: Host.describe('SMTP server, e.g. smtp.exmail.qq.com or smtp.gmail.com'),
  port: Port.default(465).describe('465 with TLS, 587 with STARTTLS'),
  secure: z.boolean().default(true).describe('TLS from the first byte (port 465); when false STARTTLS is used if offered'),
  user: LoginUser,
});

/** 40 MB: a 20 MB attachment grows by a third in base64, plus the rest of the mail. */
export const DEFAULT_MAX_EMAIL_BYTES = 40 * 1024 * 1024;

export const EmailConfig = z.strictObject({
  imap: EmailImapSettings,
  smtp: EmailSmtpSettings,
  fromAddress: z.email('must be an email address, e.g. support@example.com').max(320).describe('Address replies are sent from'),
  fromName: z.string().trim().min(1).max(100).optional().describe('Display name of the sender, e.g. "Acme Support"'),
  agentNameInFrom: z
    .boolean()
    .default(true)
    .describe('Show the replying agent as "Agent via <fromName>" when fromName is set'),
  signature: z.string().max(2000).optional().describe('Plain text appended to every reply of this inbox'),
  defaultSubject: z.string().trim().min(1).max(200).optional().describe('Subject of a reply that has no customer email to answer'),
  pollIntervalSeconds: z
    .number()
    .int()
    .min(10)
    .max(86_400)
    .default(60)
    .describe('How often the mailbox is checked when the server lacks IMAP IDLE (with IDLE new mail arrives at once)'),
  initialSyncDays: z
    .number()
    .int()
    .min(0)
    .max(365)
    .default(3)
    .describe('When the inbox is first connected, import mail received in the last N days (0: only new mail)'),
  trustedAuthservId: z
    .string()
    .trim()
    .min(1)
    .max(253)
    .optional()
    .describe(
      'authserv-id of your mail provider\'s receiving server (e.g. mx.google.com). When set, a sender whose mail that server ' +
        'stamped "dmarc=pass" counts as a verified email address (contacts sharing it are merged automatically)',
    ),
  maxEmailBytes: z
    .number()
    .int()
    .min(1024)
    .max(200 * 1024 * 1024)
    .default(DEFAULT_MAX_EMAIL_BYTES)
    .describe('Larger emails are not downloaded; the conversation gets a notice with their headers instead'),
});
export type EmailConfig = z.infer<typeof EmailConfig>;

export const EMAIL_SECRETS = [
  { name: 'imapPassword', label: 'IMAP password (or app password)', required: true },
  { name: 'smtpPassword', label: 'SMTP password (or app password)', required: true },
] as const;
