/**
 * What services need from full-text search: a document string for `to_tsvector('simple', $n)` and a
 * safe query string for `to_tsquery('simple', $n)` (null = nothing searchable). Implemented with jieba
 * segmentation in ../search; passed in so services stay independent of the segmenter.
 */
export interface TextIndex {
  document(...parts: (string | null | undefined)[]): string;
  query(q: string): string | null;
}

/** Opaque keyset cursors: base64url of the sort key values. */
export function encodeCursor(...values: (string | number)[]): string {
  return Buffer.from(JSON.stringify(values)).toString('base64url');
}
export function decodeCursor(cursor: string | undefined): (string | number)[] | undefined {
  if (!cursor) return undefined;
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    return Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}
