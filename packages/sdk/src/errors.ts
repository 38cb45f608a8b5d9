import type { ErrorCode, FieldIssue } from '@huiliu/contracts';

/**
 * Everything the SDK rejects with or reports through `on('error')`:
 * - a server error code (`unauthenticated` for a wrong identifierHash, `not_found`, `payload_too_large`, …),
 * - `network`: no answer from the server (offline, DNS, the mini-program domain list),
 * - `transport`: the realtime connection failed,
 * - `cancelled`: work abandoned locally (`destroy`, `reset`),
 * - `invalid_input`: the SDK was called wrongly (e.g. a mini-program upload without a file path).
 */
export type HuiliuErrorCode = ErrorCode | 'network' | 'transport' | 'cancelled' | 'invalid_input';

export class HuiliuError extends Error {
  readonly code: HuiliuErrorCode;
  /** HTTP status when the error came from a REST call, else 0. */
  readonly status: number;
  readonly issues: readonly FieldIssue[] | undefined;

  constructor(code: HuiliuErrorCode, message: string, status = 0, issues?: readonly FieldIssue[]) {
    super(message);
    this.name = 'HuiliuError';
    this.code = code;
    this.status = status;
    this.issues = issues;
  }
}

/** Structural check: `instanceof` fails when two copies of the SDK end up in one bundle. */
export function isHuiliuError(error: unknown): error is HuiliuError {
  return error instanceof Error && error.name === 'HuiliuError' && 'code' in error;
}
