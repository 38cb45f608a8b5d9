import type { FieldIssue } from '@huiliu/contracts';
import type { z } from 'zod';
import { AppError } from '../../shared/errors.ts';

/** Zod issues → FieldIssues with dotted paths under `prefix` (same shape as the HTTP layer's parseOrThrow). */
export function toFieldIssues(error: z.ZodError, prefix: string): FieldIssue[] {
  return error.issues.map((i) => {
    const keys = i.code === 'unrecognized_keys' ? (i as { keys: string[] }).keys : [];
    const path = [prefix, ...i.path.map(String), ...(keys.length === 1 ? keys : [])].filter(Boolean).join('.');
    const message = i.code === 'unrecognized_keys' ? `unknown field(s) ${keys.map((k) => `"${k}"`).join(', ')}; remove them` : i.message;
    return { path, message };
  });
}

/** Parse or throw AppError('validation_failed') listing every issue, paths prefixed with `prefix`. */
export function parseWithPaths<S extends z.ZodType>(schema: S, input: unknown, prefix: string, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw validationError(toFieldIssues(result.error, prefix), what);
}

export function validationError(issues: FieldIssue[], what: string): AppError {
  const first = issues[0];
  const message = first ? `${first.path}: ${first.message}` : what;
  return new AppError('validation_failed', issues.length > 1 ? `${message} (and ${issues.length - 1} more)` : message, issues);
}
