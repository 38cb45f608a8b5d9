import { resolve } from 'node:path';
import { z } from 'zod';
import { parseMailFrom } from '@huiliu/core/mail/mailer';

/** An smtp:// or smtps:// URL with a host; user and password optional (percent-encoded in the URL). */
function isSmtpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'smtp:' || u.protocol === 'smtps:') && u.hostname !== '';
  } catch {
    return false;
  }
}

/**
 * Every setting comes from the environment, validated at start; all problems are reported at once.
 */
const Env = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  HUILIU_DATA_DIR: z.string().min(1).default('./data'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a PostgreSQL URL like postgres://user:pass@host:5432/huiliu')
    .optional(),
  HUILIU_PUBLIC_URL: z.url({ message: 'must be the URL people open, like https://support.example.com' }).optional(),
  HUILIU_SECRET_KEY: z.string().optional(),
  HUILIU_MAX_UPLOAD_MB: z.coerce.number().positive().max(1024).default(20),
  HUILIU_DB_POOL: z.coerce.number().int().min(1).max(200).default(10),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HUILIU_SEED_DEMO: z.enum(['auto', 'off']).default('auto'),
  SMTP_URL: z
    .string()
    .refine(isSmtpUrl, 'must be an SMTP URL like smtp://user:password@smtp.example.com:587 (smtps:// for TLS from the start, usually port 465; percent-encode @ : / in the password)')
    .optional(),
  HUILIU_MAIL_FROM: z
    .string()
    .refine((v) => parseMailFrom(v) !== undefined, 'must be the sender address, like support@example.com or "Example Support <support@example.com>"')
    .optional(),
  HUILIU_OFFLINE_EMAIL_DELAY_SECONDS: z.coerce.number().min(0).max(3600).default(60),
});

/** Variables whose value may hold a password: a problem with them never echoes the value. */
const SECRET_VALUES = new Set(['SMTP_URL', 'HUILIU_SECRET_KEY']);
/** postgres://user:secret@host → postgres://user:***@host */
const maskUrlPassword = (v: unknown) => (typeof v === 'string' ? v.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/:@]*:)[^@/]*@/i, '$1***@') : v);

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  publicUrl: string;
  secretKeyEnv: string | undefined;
  maxUploadBytes: number;
  dbPool: number;
  logLevel: string;
  seedDemo: boolean;
  /** Outgoing email (offline replies to visitors); undefined when SMTP_URL is not set. */
  mail: MailConfig | undefined;
}

export interface MailConfig {
  /** Holds the SMTP password: never log it (the logger redacts `smtpUrl` keys). */
  smtpUrl: string;
  from: string;
  /** Replies within this window after the first one go out as one email. */
  offlineDelayMs: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const picked = Object.fromEntries(Object.keys(Env.shape).filter((k) => env[k] !== undefined && env[k] !== '').map((k) => [k, env[k]]));
  const r = Env.safeParse(picked);
  const problems = r.success
    ? []
    : r.error.issues.map((i) => {
        const name = String(i.path[0]);
        const got = SECRET_VALUES.has(name) ? 'value not shown: it may hold a password' : `got ${JSON.stringify(maskUrlPassword(picked[name]))}`;
        return `${i.path.join('.')}: ${i.message} (${got})`;
      });
  if (picked.SMTP_URL && !picked.HUILIU_MAIL_FROM) problems.push('HUILIU_MAIL_FROM: required when SMTP_URL is set — the sender of emails to visitors, like support@example.com');
  if (!r.success || problems.length) throw new ConfigError(problems);
  const e = r.data;
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: resolve(e.HUILIU_DATA_DIR),
    databaseUrl: e.DATABASE_URL,
    publicUrl: (e.HUILIU_PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/$/, ''),
    secretKeyEnv: e.HUILIU_SECRET_KEY,
    maxUploadBytes: Math.round(e.HUILIU_MAX_UPLOAD_MB * 1024 * 1024),
    dbPool: e.HUILIU_DB_POOL,
    logLevel: e.LOG_LEVEL,
    seedDemo: e.HUILIU_SEED_DEMO === 'auto',
    mail: e.SMTP_URL && e.HUILIU_MAIL_FROM
      ? { smtpUrl: e.SMTP_URL, from: e.HUILIU_MAIL_FROM, offlineDelayMs: Math.round(e.HUILIU_OFFLINE_EMAIL_DELAY_SECONDS * 1000) }
      : undefined,
  };
}
