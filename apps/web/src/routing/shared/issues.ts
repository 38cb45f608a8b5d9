import type { ReactNode } from 'react';
import { createElement } from 'react';
import { ApiError } from '../../lib/api.ts';
import type { Translate } from '../../lib/i18n.tsx';

/**
 * Field issues, from the server (`ApiError.issues`, paths like `body.rules.2.actions.0.teamId`) or from the
 * contract's zod schemas run in the browser (same messages, no round trip). Editors keep them as paths
 * relative to the object they edit (`actions.0.teamId`) and show each one under the input it is about.
 */
export interface Issue {
  path: string;
  message: string;
}

type ZodLikeError = { issues: readonly { path: readonly PropertyKey[]; message: string }[] };

export function fromZod(error: ZodLikeError): Issue[] {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}

/**
 * Splits an error into the issues under `prefix` (made relative to it) and a text for everything else
 * (other fields, or an error that is not a validation error at all).
 */
export function splitApiError(err: unknown, prefix = 'body'): { issues: Issue[]; rest: string | null } {
  if (!(err instanceof ApiError)) return { issues: [], rest: err instanceof Error ? err.message : String(err) };
  if (err.issues.length === 0) return { issues: [], rest: err.message };
  const issues: Issue[] = [];
  const rest: string[] = [];
  for (const i of err.issues) {
    if (i.path === prefix) issues.push({ path: '', message: i.message });
    else if (i.path.startsWith(`${prefix}.`)) issues.push({ path: i.path.slice(prefix.length + 1), message: i.message });
    else rest.push(`${i.path}: ${i.message}`);
  }
  return { issues, rest: rest.length ? rest.join('; ') : null };
}

/** Messages exactly at `path`. */
export const issuesAt = (issues: readonly Issue[], path: string): string[] => issues.filter((i) => i.path === path).map((i) => i.message);

/** Messages at `path` or below it (`in` also collects `in.3`: a list shows the errors of its items). */
export const issuesUnder = (issues: readonly Issue[], path: string): string[] =>
  issues.filter((i) => i.path === path || (path === '' ? true : i.path.startsWith(`${path}.`))).map((i) => i.message);

/** Props for an antd Form.Item that shows the messages of one field. */
export function fieldStatus(issues: readonly Issue[], path: string, deep = false): { validateStatus?: 'error'; help?: ReactNode } {
  const messages = deep ? issuesUnder(issues, path) : issuesAt(issues, path);
  if (messages.length === 0) return {};
  return { validateStatus: 'error', help: messages.length === 1 ? messages[0] : createElement('div', null, ...messages.map((m, i) => createElement('div', { key: i }, m))) };
}

function valueAt(root: unknown, path: string): unknown {
  let v: unknown = root;
  for (const part of path ? path.split('.') : []) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

/**
 * zod's generic texts ("Invalid UUID", "Too small: expected array to have >=1 items") for a field the admin
 * simply left empty read like a bug; say "required" instead. Messages written in the contract are kept.
 */
export function localizeEmpty(issues: Issue[], draft: unknown, t: Translate): Issue[] {
  return issues.map((i) => {
    const v = valueAt(draft, i.path);
    const empty = v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);
    return empty && /^(Invalid|Too small|Expected|Required)/i.test(i.message) ? { ...i, message: t('routing.required') } : i;
  });
}

/** Issues whose path starts with `prefix.` made relative to it (the issues of one rule of a list, etc.). */
export function relativeTo(issues: readonly Issue[], prefix: string): Issue[] {
  return issues.filter((i) => i.path === prefix || i.path.startsWith(`${prefix}.`)).map((i) => ({ ...i, path: i.path === prefix ? '' : i.path.slice(prefix.length + 1) }));
}
