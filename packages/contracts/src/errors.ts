import { z } from 'zod';

/**
 * Stable error codes shared by the REST API, the realtime protocol and the clients.
 * Clients switch on `code`; `message` is for humans and may change.
 */
export const ErrorCode = z.enum([
  'validation_failed',
  'malformed_json',
  'unauthenticated',
  'session_expired',
  'forbidden',
  'origin_not_allowed',
  'not_found',
  'conflict',
  'rate_limited',
  'payload_too_large',
  'unsupported_media_type',
  'account_deactivated',
  'invalid_credentials',
  'invalid_token',
  'ssrf_blocked',
  /** The channel's reply window is closed (WhatsApp 24 h…) or its message quota is used up: see the message. */
  'send_window_closed',
  /** The conversation's channel cannot carry this content type (or templates). */
  'content_unsupported_by_channel',
  'internal',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const FieldIssue = z.object({
  path: z.string().describe('Dotted path of the offending field, e.g. "body.text" or "query.limit"'),
  message: z.string(),
});
export type FieldIssue = z.infer<typeof FieldIssue>;

export const ErrorBody = z.object({
  error: z.object({
    code: ErrorCode,
    message: z.string(),
    issues: z.array(FieldIssue).optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;
