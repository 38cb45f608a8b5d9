import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict.js';
import { stemmer } from 'stemmer';

/**
 * Text → sparse features for the offline intent classifier (intent-model.ts).
 *
 * Two feature groups, each normalised separately by the model so that neither drowns the other:
 * - WORD: Chinese words from jieba (accurate mode) and Porter-stemmed English words, plus bigrams of
 *   neighbouring words (with start/end markers, so "cancel ..." and "... cancel" differ).
 * - CHAR: character n-grams. For Han runs 1–3-grams across jieba's boundaries (segmentation errors and
 *   unknown names such as 周杰伦 then still share most features with the training examples); for other
 *   words 2–5-grams of the word wrapped in spaces (like scikit-learn's `char_wb`), which catches
 *   misspellings, inflections the stemmer misses and compounds ("alarms", "alarm's", "wakeup").
 * Measured on HWU64-valid and a split of SMP2017 (scratch/docs-intents.md): each group alone is 1–4 points
 * below the two together.
 *
 * Features are 32-bit FNV-1a hashes of a group-prefixed string, not the strings themselves: the model only
 * stores the hashes it saw in training (a sorted Uint32Array), which keeps the serialised model free of
 * customer text and compact. At 32 bits, collisions among ~100k distinct features are rare (~1 pair) and
 * harmless for a linear model.
 */

export const FEATURE_GROUPS = 2;
export const WORD_GROUP = 0;
export const CHAR_GROUP = 1;

export interface FeatureConfig {
  /** Han character n-gram sizes, inclusive. */
  hanNgrams: [number, number];
  /** Character n-gram sizes for non-Han words (wrapped in spaces), inclusive. */
  wordNgrams: [number, number];
  /** Add word bigrams to the WORD group. */
  wordBigrams: boolean;
}

export const DEFAULT_FEATURE_CONFIG: FeatureConfig = { hanNgrams: [1, 3], wordNgrams: [2, 5], wordBigrams: true };

/** Raw term counts per group: hash → count. */
export type RawFeatures = [Map<number, number>, Map<number, number>];

export interface TextFeaturizer {
  readonly config: FeatureConfig;
  /** Normalised text, split into word tokens (Chinese words and stemmed English words). */
  tokens(text: string): string[];
  features(text: string): RawFeatures;
}

export type Segmenter = (hanRun: string) => string[];

let sharedJieba: Jieba | undefined;

/**
 * jieba accurate mode with HMM off, on one jieba instance per process (building it parses the whole
 * dictionary, ~0.5 s). HMM off for the same reason as in search/segmenter.ts: its guesses at unknown words
 * depend on the neighbouring text; the Han character n-grams cover unknown words instead.
 */
export function jiebaSegmenter(): Segmenter {
  sharedJieba ??= Jieba.withDict(dict);
  const cutter = sharedJieba;
  return (run) => cutter.cut(run, false);
}

/** NFKC (full-width ＡＢＣ１２３ → abc123, compatibility forms), lowercase, collapsed whitespace. */
export function normalizeText(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/\s+/gu, ' ').trim();
}

// A run of Han characters, or a run of other letters/marks/digits (apostrophes inside English words kept:
// "what's", "don't"). Lookaheads instead of the `v` flag so this compiles for ES2022.
const OTHER = String.raw`(?:(?!\p{Script=Han})[\p{L}\p{M}\p{N}])+`;
const RUN = new RegExp(String.raw`(\p{Script=Han}+)|(${OTHER}(?:'${OTHER})*)`, 'gu');
const DIGITS = /^\p{N}+$/u;
/** Above this many characters the rest of a message is ignored: intents are decided by the first sentences. */
const MAX_CHARS = 1_000;

export function createTextFeaturizer(segment: Segmenter, config: FeatureConfig = DEFAULT_FEATURE_CONFIG): TextFeaturizer {
  const tokenize = (text: string): { words: string[]; han: string[]; other: string[] } => {
    const words: string[] = [];
    const han: string[] = [];
    const other: string[] = [];
    for (const match of normalizeText(text.slice(0, MAX_CHARS)).matchAll(RUN)) {
      const [, hanRun, otherRun] = match;
      if (hanRun) {
        han.push(hanRun);
        for (const w of segment(hanRun)) words.push(w);
      } else if (otherRun) {
        const word = otherRun.replace(/'/g, '');
        other.push(word);
        // Numbers become one token: "set an alarm for 7" and "... for 8" are the same request.
        words.push(DIGITS.test(word) ? '<num>' : stemmer(word));
      }
    }
    return { words, han, other };
  };

  return {
    config,
    tokens: (text) => tokenize(text).words,
    features(text) {
      const { words, han, other } = tokenize(text);
      const word = new Map<number, number>();
      const char = new Map<number, number>();
      const add = (map: Map<number, number>, key: string) => {
        const h = fnv1a(key);
        map.set(h, (map.get(h) ?? 0) + 1);
      };
      for (const w of words) add(word, `w ${w}`);
      if (config.wordBigrams && words.length > 0) {
        add(word, `b ^ ${words[0]}`);
        for (let i = 1; i < words.length; i++) add(word, `b ${words[i - 1]} ${words[i]}`);
        add(word, `b ${words[words.length - 1]} $`);
      }
      for (const run of han) ngrams(run, config.hanNgrams, (g) => add(char, `h ${g}`));
      for (const w of other) {
        if (DIGITS.test(w)) continue;
        ngrams(` ${w} `, config.wordNgrams, (g) => add(char, `c ${g}`));
      }
      return [word, char];
    },
  };
}

function ngrams(s: string, [min, max]: [number, number], emit: (gram: string) => void): void {
  const chars = [...s];
  for (let n = min; n <= max; n++) {
    for (let i = 0; i + n <= chars.length; i++) emit(chars.slice(i, i + n).join(''));
  }
}

/** 32-bit FNV-1a over UTF-16 code units: fast, stable across processes and versions (stored in models). */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
