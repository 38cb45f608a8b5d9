import type { ErrorCode, FieldIssue } from '@huiliu/contracts';

/**
 * The one error type the domain throws. Transport layers map `code` to an HTTP status or a socket ack
 * with `httpStatus()`; the message is safe to show (never contains secrets or another tenant's data).
 */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly issues?: FieldIssue[],
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export function httpStatus(code: ErrorCode): number {
  switch (code) {
    case 'validation_failed':
    case 'malformed_json':
    case 'invalid_token':
      return 400;
    case 'unauthenticated':
    case 'session_expired':
    case 'invalid_credentials':
      return 401;
    case 'forbidden':
    case 'origin_not_allowed':
    case 'account_deactivated':
    case 'ssrf_blocked':
      return 403;
    case 'not_found':
      return 404;
    case 'conflict':
    case 'send_window_closed':
      return 409;
    case 'content_unsupported_by_channel':
      return 422;
    case 'payload_too_large':
      return 413;
    case 'unsupported_media_type':
      return 415;
    case 'rate_limited':
      return 429;
    case 'internal':
      return 500;
  }
}

export const notFound = (what: string) => new AppError('not_found', `${what} not found`);
export const forbidden = (message = 'you do not have permission for this') => new AppError('forbidden', message);
export const conflict = (message: string) => new AppError('conflict', message);
export const invalid = (path: string, message: string) =>
  new AppError('validation_failed', `${path}: ${message}`, [{ path, message }]);

/** PostgreSQL unique_violation, for turning races into `conflict` errors. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: string; constraint?: string; message?: string };
  if (e?.code !== '23505') return false;
  return !constraint || e.constraint === constraint || (e.message ?? '').includes(constraint);
}
