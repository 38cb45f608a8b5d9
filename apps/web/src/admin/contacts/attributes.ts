/** One row of the attributes editor. `json` marks a value that was not a string (number, boolean, object). */
export interface AttributeRow {
  key: string;
  value: string;
  json?: boolean;
}

/**
 * Attributes as editable rows. The server merges a PATCH into the stored attributes, so a removed key is
 * sent as null; null values are therefore "removed" and not shown.
 */
export function toRows(attributes: Record<string, unknown>): AttributeRow[] {
  return Object.entries(attributes)
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([key, v]) => (typeof v === 'string' ? { key, value: v } : { key, value: JSON.stringify(v), json: true }));
}

/** Rows back to the PATCH body: changed and new keys with their values, removed keys as null. */
export function toPatch(rows: AttributeRow[], before: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const r of rows) {
    const key = r.key.trim();
    if (!key) continue;
    let value: unknown = r.value ?? '';
    if (r.json) {
      try {
        value = JSON.parse(r.value);
      } catch {
        /* edited into something that is not JSON: keep the text the person typed */
      }
    }
    out[key] = value;
  }
  for (const key of Object.keys(before)) if (!(key in out) && before[key] !== null) out[key] = null;
  return out;
}

export const visibleAttributes = (a: Record<string, unknown>) => Object.entries(a).filter(([, v]) => v !== null && v !== undefined);
export const attributeText = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
