import type { TextIndex } from '../shared/text-index.ts';
import { createTextSegmenter, MAX_DOCUMENT_TOKENS, type TextSegmenter } from './segmenter.ts';

/**
 * Glue between the segmenter and SQL. Both strings are bound as parameters:
 *
 *   UPDATE messages SET search = to_tsvector('simple', $1) …            -- $1 = searchDocument(…)
 *   … WHERE search @@ to_tsquery('simple', $2)                           -- $2 = searchQuery(…)
 *
 * `simple` only lowercases, so the lexemes in the vector are exactly our tokens.
 */

/** Space-joined tokens of all parts (e.g. a contact's name, email and phone), for `to_tsvector('simple', $n)`. */
export function searchDocument(segmenter: TextSegmenter, ...parts: (string | null | undefined)[]): string {
  const tokens = new Set<string>();
  for (const part of parts) {
    if (!part) continue;
    for (const token of segmenter.tokens(part, 'index')) {
      if (tokens.size >= MAX_DOCUMENT_TOKENS) return [...tokens].join(' ');
      tokens.add(token);
    }
  }
  return [...tokens].join(' ');
}

/**
 * A tsquery for `to_tsquery('simple', $n)` that ANDs every token of `q`, or null when `q` has nothing
 * searchable (only punctuation, emoji, whitespace). Each token is single-quoted with quotes and
 * backslashes escaped, so nothing a user types can change the query's structure — tokens cannot hold
 * those characters anyway; the escaping is a second line of defence should the segmenter change.
 * The last non-Chinese token is a prefix match (`:*`) so "refu" finds "Refund" while typing; Chinese
 * words are matched whole (an IME commits whole words, and the document holds every character anyway).
 */
export function searchQuery(segmenter: TextSegmenter, q: string): string | null {
  const tokens = segmenter.tokens(q, 'query');
  if (tokens.length === 0) return null;
  const prefixAt = tokens.findLastIndex((t) => !HAN.test(t));
  return tokens.map((t, i) => quote(t) + (i === prefixAt ? ':*' : '')).join(' & ');
}

/** The `TextIndex` services take (see shared/text-index.ts), backed by one jieba segmenter. */
export function createTextIndex(segmenter: TextSegmenter = createTextSegmenter()): TextIndex {
  return {
    document: (...parts) => searchDocument(segmenter, ...parts),
    query: (q) => searchQuery(segmenter, q),
  };
}

const HAN = /\p{Script=Han}/u;

function quote(token: string): string {
  return `'${token.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}
