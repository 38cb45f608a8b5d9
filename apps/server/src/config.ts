import { hostname } from 'node:os';
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
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/[^\s]+$/, 'must be a Redis URL like redis://:password@redis.example.com:6379/0 (rediss:// for TLS)')
    .optional(),
  HUILIU_REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9:_.-]{1,64}$/, 'must be 1–64 letters, digits or : _ . - (e.g. huiliu: or huiliu-staging:)').default('huiliu:'),
  HUILIU_ROLES: z.string().optional(),
  HUILIU_NODE_ID: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1–64 letters, digits or _ . - (e.g. node-a)').optional(),
  HUILIU_STORAGE: z.enum(['disk', 'database'], { message: 'must be disk (files in HUILIU_DATA_DIR/attachments, one node) or database (the blobs table, shared by every node of a cluster)' }).optional(),
});

/** Variables whose value may hold a password: a problem with them never echoes the value. */
const SECRET_VALUES = new Set(['SMTP_URL', 'HUILIU_SECRET_KEY', 'REDIS_URL']);
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
  /** Cluster mode: Redis for realtime fan-out and presence; undefined on a single node. Holds a password: never log it. */
  redisUrl: string | undefined;
  /** Prefix of every Redis key and stream of this installation (several installations may share one Redis). */
  redisPrefix: string;
  /** What this node does (default: everything). */
  roles: ReadonlySet<Role>;
  /** This node's name in logs and Redis (default: hostname-pid). */
  nodeId: string;
  /** Where attachment bytes live: files in the data dir, or the database's blobs table (default in a cluster: every node serves every file). */
  storage: 'disk' | 'database';
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
  const roles = parseRoles(picked.HUILIU_ROLES ?? 'all');
  if (typeof roles === 'string') problems.push(`HUILIU_ROLES: ${roles} (got ${JSON.stringify(picked.HUILIU_ROLES)})`);
  if (picked.REDIS_URL && !picked.DATABASE_URL) {
    problems.push('REDIS_URL: cluster mode needs PostgreSQL too — set DATABASE_URL (the embedded database serves one process only), or remove REDIS_URL');
  }
  if (typeof roles !== 'string' && roles.size < ROLES.length && !picked.DATABASE_URL) {
    problems.push('HUILIU_ROLES: splitting roles across processes needs a shared PostgreSQL — set DATABASE_URL (and REDIS_URL), or run all roles in one process');
  }
  // The database store reads a blob whole and sends it as hex text (database-storage.ts): 200 MB at most.
  const storage = picked.HUILIU_STORAGE ?? (picked.REDIS_URL ? 'database' : 'disk');
  if (storage === 'database' && Number(picked.HUILIU_MAX_UPLOAD_MB) > 200) {
    problems.push(`HUILIU_MAX_UPLOAD_MB: at most 200 with attachments in the database (HUILIU_STORAGE=database${picked.HUILIU_STORAGE ? '' : ', the default with REDIS_URL'}) — lower it, or set HUILIU_STORAGE=disk on a single node`);
  }
  if (!r.success || problems.length || typeof roles === 'string') throw new ConfigError(problems);
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
    redisUrl: e.REDIS_URL,
    redisPrefix: e.HUILIU_REDIS_PREFIX,
    roles,
    nodeId: e.HUILIU_NODE_ID ?? `${hostname()}-${process.pid}`,
    storage: e.HUILIU_STORAGE ?? (e.REDIS_URL ? 'database' : 'disk'),
  };
}

/**
 * What a node does; any subset may run in one process (default: all).
 *   api        REST API, console and widget files, webhooks
 *   realtime   Socket.IO connections of agents and visitors
 *   worker     durable jobs, message-log consumers, channel pollers
 *   scheduler  periodic work (conversation sweep); one node at a time holds it (leader election)
 */
export const ROLES = ['api', 'realtime', 'worker', 'scheduler'] as const;
export type Role = (typeof ROLES)[number];

/** `all` or a comma list of roles; an error message when a name is unknown. */
export function parseRoles(value: string): ReadonlySet<Role> | string {
  const names = value.split(',').map((r) => r.trim().toLowerCase()).filter(Boolean);
  if (names.length === 1 && names[0] === 'all') return new Set(ROLES);
  const unknown = names.filter((n) => !(ROLES as readonly string[]).includes(n));
  if (unknown.length) return `unknown role ${unknown.map((u) => JSON.stringify(u)).join(', ')}; use all or a comma list of ${ROLES.join(', ')}`;
  if (names.length === 0) return `name at least one role: all or a comma list of ${ROLES.join(', ')}`;
  return new Set(names as Role[]);
}
