import { expect } from 'vitest';
import { AppError } from '../../src/shared/errors.ts';

/** Runs `fn`, expects a `validation_failed` AppError, and returns its field issues. */
export function issuesOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('validation_failed');
    return (err as AppError).issues ?? [];
  }
  throw new Error('expected a validation error');
}
