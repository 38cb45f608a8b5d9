import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict.js';

/**
 * Splits text into search tokens for PostgreSQL's `simple` text-search configuration. Segmentation
 * happens here, in the application, because the only Chinese parser for PostgreSQL (zhparser) is an
 * extension that neither PGlite nor managed PostgreSQL offer.
 *
 * - Han runs go through jieba. Documents use search mode (订单号 → 订单, 单号, 订单号) plus every single
 *   character of multi-character words; queries use accurate mode (订单号 → 订单号). So a query word
 *   matches when the document holds the same word, and a query that jieba cuts into single characters
 *   (单号 → 单, 号; unknown names such as 小明 → 小, 明) still matches, because documents hold each character.
 *   Consequence, on purpose: a one-character query such as 发 finds every document containing 发 (发货,
 *   发票, 头发), like Ctrl-F; two or more characters that form a dictionary word match by word.
 * - Everything else is split into runs of letters, marks and digits, after NFKC (full-width ＡＢＣ１２３ →
 *   abc123) and lowercasing. Punctuation, symbols, emoji and whitespace separate tokens and are dropped,
 *   so a token never contains a character that is special to tsquery or that PostgreSQL's parser would
 *   split again: the vector and the query see exactly the tokens produced here.
 * - Compounds joined by - . _ / (order numbers, phone numbers, e-mail parts) yield their parts; documents
 *   also get the joined form when it contains a digit, so A12345-678 is found by a12345, 678 or a12345678
 *   and 138-0013-8000 by 13800138000.
 */
export interface TextSegmenter {
  /**
   * Tokens of `text`. Mode 'index' (default) is for documents: search-mode cut, deduplicated, at most
   * MAX_DOCUMENT_TOKENS. Mode 'query' is for search input: accurate-mode cut, deduplicated, at most
   * MAX_QUERY_TOKENS.
   */
  tokens(text: string, mode?: SegmentMode): string[];
}

export type SegmentMode = 'index' | 'query';

/** Distinct tokens per document: enough for any real message, and keeps a 64 KB message cheap to index. */
export const MAX_DOCUMENT_TOKENS = 2_000;
/** Terms per query; more only makes the AND slower without narrowing anything a person would type. */
export const MAX_QUERY_TOKENS = 32;
/** Longer tokens (base64, hashes) are cut; PostgreSQL would refuse words over 2 KB outright. */
export const MAX_TOKEN_CHARS = 64;
/** Search input beyond this is ignored; nobody types more into a search box. */
const MAX_QUERY_CHARS = 1_000;

// A run of Han characters, or a run of other letters/marks/digits optionally joined by - . _ / into a
// compound. Written with lookaheads instead of the `v` flag's set subtraction so it compiles for ES2022.
const OTHER = String.raw`(?:(?!\p{Script=Han})[\p{L}\p{M}\p{N}])+`;
const RUN = new RegExp(String.raw`(\p{Script=Han}+)|(${OTHER}(?:[-._/]${OTHER})*)`, 'gu');
const JOINER = /[-._/]/;
const DIGIT = /\p{N}/u;

let shared: Jieba | undefined;

/** One jieba instance per process: building it parses the whole dictionary, which is worth doing once. */
function jieba(): Jieba {
  shared ??= Jieba.withDict(dict);
  return shared;
}

export function createTextSegmenter(): TextSegmenter {
  const cutter = jieba();
  return {
    tokens(text, mode = 'index') {
      const limit = mode === 'index' ? MAX_DOCUMENT_TOKENS : MAX_QUERY_TOKENS;
      const input = mode === 'query' ? text.slice(0, MAX_QUERY_CHARS) : text;
      const out = new Set<string>();
      const add = (token: string): boolean => {
        if (token) out.add(token.length > MAX_TOKEN_CHARS ? [...token].slice(0, MAX_TOKEN_CHARS).join('') : token);
        return out.size < limit;
      };
      for (const match of input.normalize('NFKC').toLowerCase().matchAll(RUN)) {
        const [, han, other] = match;
        const pieces = han ? hanTokens(cutter, han, mode) : otherTokens(other ?? '', mode);
        for (const piece of pieces) if (!add(piece)) return [...out];
      }
      return [...out];
    },
  };
}

function hanTokens(cutter: Jieba, run: string, mode: SegmentMode): string[] {
  // HMM off: its guesses at unknown words depend on the surrounding text, so the same name could be cut
  // one way in a document and another way in a query. Without it unknown words fall apart into single
  // characters, which documents index anyway.
  if (mode === 'query') return cutter.cut(run, false);
  const words = cutter.cutForSearch(run, false);
  const chars = words.flatMap((w) => (w.length > 1 ? [...w] : []));
  return [...words, ...chars];
}

function otherTokens(compound: string, mode: SegmentMode): string[] {
  const parts = compound.split(JOINER).filter(Boolean);
  if (mode === 'index' && parts.length > 1 && DIGIT.test(compound)) parts.push(parts.join(''));
  return parts;
}
