import { resolve } from 'node:path';
import { z } from 'zod';

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
});

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
  if (!r.success) throw new ConfigError(r.error.issues.map((i) => `${i.path.join('.')}: ${i.message} (got ${JSON.stringify(picked[String(i.path[0])])})`));
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
  };
}
