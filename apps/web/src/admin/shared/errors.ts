import type { FormInstance } from 'antd';
import { ApiError } from '../../lib/api.ts';

type NamePath = (string | number)[];

/** `body.allowedOrigins.0` → ['allowedOrigins', 0]: the server's issue path as an antd form name path. */
export function issueNamePath(path: string): NamePath {
  return path
    .split('.')
    .filter((part, i) => !(i === 0 && (part === 'body' || part === 'query' || part === 'params')))
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

export interface ApplyOptions {
  /** Server field name → form field name, when the form calls it differently (e.g. userIds → memberIds). */
  rename?: Record<string, string>;
  /**
   * The field a `conflict` is about (a shortcut or an email already taken). Conflicts carry no field
   * issues, but the person should see the message next to what they need to change.
   */
  conflictField?: string;
}

/**
 * Puts the server's field issues under the matching form fields and returns the text of what could not be
 * placed (or of a non-validation error) so the caller can show it once. The server is the authority on
 * validity; the form's own rules only save a round trip for the common mistakes.
 */
export function applyApiError(form: FormInstance | undefined, err: unknown, opts: ApplyOptions = {}): string | null {
  if (!(err instanceof ApiError)) return err instanceof Error ? err.message : String(err);
  if (form && err.code === 'conflict' && opts.conflictField) {
    form.setFields([{ name: opts.conflictField, errors: [err.message] }]);
    return null;
  }
  if (!form || err.issues.length === 0) return err.message;
  // Every registered field (also those inside Form.List), so we only set errors where a field shows them.
  const known = new Set(form.getFieldsError().map((f) => JSON.stringify(f.name)));
  const placed: { name: NamePath; errors: string[] }[] = [];
  const unplaced: string[] = [];
  for (const issue of err.issues) {
    const name = issueNamePath(issue.path);
    const first = name[0];
    if (typeof first === 'string' && opts.rename?.[first]) name[0] = opts.rename[first];
    // An issue on a list item whose field is missing falls back to the list itself (e.g. `tags.3`).
    let target: NamePath | undefined = name;
    while (target.length > 0 && !known.has(JSON.stringify(target))) target = target.slice(0, -1);
    if (target.length > 0) {
      const existing = placed.find((p) => JSON.stringify(p.name) === JSON.stringify(target));
      if (existing) existing.errors.push(issue.message);
      else placed.push({ name: target, errors: [issue.message] });
    } else unplaced.push(`${issue.path}: ${issue.message}`);
  }
  if (placed.length) form.setFields(placed);
  if (unplaced.length) return unplaced.join('; ');
  return placed.length ? null : err.message;
}

/** The human text of any error thrown by api()/upload(). */
export const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));
