import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Anything that looks like a credential is redacted wherever it appears in
 * the logged object, so a secret passed by mistake never reaches the log.
 */
export function createLogger(opts: { level?: string; name?: string; /** Default stdout; tests capture lines. */ destination?: DestinationStream } = {}): Logger {
  const options: LoggerOptions = {
    name: opts.name ?? 'huiliu',
    level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: {
      paths: [
        'password', '*.password', 'token', '*.token', 'secret', '*.secret', 'value', '*.value',
        'req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'visitorToken', '*.visitorToken',
        // SMTP_URL carries the SMTP password (config.mail.smtpUrl).
        'smtpUrl', '*.smtpUrl', '*.*.smtpUrl',
        // REDIS_URL may carry the Redis password (config.redisUrl).
        'redisUrl', '*.redisUrl', '*.*.redisUrl',
      ],
      censor: '[redacted]',
    },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
