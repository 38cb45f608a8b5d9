import { normalizeText } from './text-features.ts';

/**
 * Checks a workspace's intent examples before training, with messages an admin can act on. Errors stop
 * training (TrainingSetError); warnings are shown beside the trained model.
 */
export interface TrainingIssue {
  code: string;
  intent?: string;
  text?: string;
  message: string;
}

export interface TrainingSetCheck {
  errors: TrainingIssue[];
  warnings: TrainingIssue[];
}

export const MAX_EXAMPLES = 50_000;
export const MAX_TEXT_CHARS = 500;
/** Below this many examples an intent is recognised poorly (measured: see scratch/docs-intents.md). */
export const RECOMMENDED_EXAMPLES = 5;
export const INTENT_NAME = /^[\p{L}\p{N}_.:-]{1,64}$/u;
/** At most this many issues of one code are listed, so a bad 50,000-line import gives a readable answer. */
const MAX_ISSUES_PER_CODE = 20;

export class TrainingSetError extends Error {
  readonly code = 'validation_failed';
  constructor(readonly issues: TrainingIssue[]) {
    super(`training set rejected: ${issues.map((i) => i.message).slice(0, 3).join('; ')}${issues.length > 3 ? `; and ${issues.length - 3} more` : ''}`);
    this.name = 'TrainingSetError';
  }
}

/**
 * The key two examples share when the classifier cannot tell them apart: the features ignore case, width,
 * punctuation and spacing, so "退货。" and "退货" are the same example.
 */
export function exampleKey(text: string): string {
  return normalizeText(text).replace(/[^\p{L}\p{M}\p{N}]+/gu, ' ').trim();
}

export function checkTrainingSet(examples: ReadonlyArray<{ text: string; intent: string }>): TrainingSetCheck {
  const errors: TrainingIssue[] = [];
  const warnings: TrainingIssue[] = [];
  const counted = new Map<string, number>();
  const push = (list: TrainingIssue[], issue: TrainingIssue) => {
    const n = (counted.get(issue.code) ?? 0) + 1;
    counted.set(issue.code, n);
    if (n <= MAX_ISSUES_PER_CODE) list.push(issue);
  };

  if (examples.length === 0) {
    errors.push({ code: 'empty', message: 'the training set is empty: add example sentences to at least two intents' });
    return { errors, warnings };
  }
  if (examples.length > MAX_EXAMPLES) {
    errors.push({
      code: 'too_many_examples',
      message: `the training set has ${examples.length} examples, more than the limit of ${MAX_EXAMPLES}: remove duplicates or near-duplicates`,
    });
  }

  const badNames = new Set<string>();
  const perIntent = new Map<string, number>();
  const byKey = new Map<string, { intent: string; text: string }>();
  const conflicts = new Set<string>();
  for (const { text, intent } of examples) {
    if (!INTENT_NAME.test(intent)) {
      if (!badNames.has(intent)) {
        badNames.add(intent);
        push(errors, {
          code: 'invalid_intent_name',
          intent,
          message: `intent name "${intent}" is not allowed: use 1–64 letters, digits, _ . : or - (no spaces)`,
        });
      }
      continue;
    }
    const key = exampleKey(text);
    if (!key) {
      push(errors, { code: 'empty_text', intent, text, message: `an example of intent "${intent}" has no words: remove it or write a sentence` });
      continue;
    }
    if (text.length > MAX_TEXT_CHARS) {
      push(errors, {
        code: 'text_too_long',
        intent,
        text: `${text.slice(0, 60)}…`,
        message: `an example of intent "${intent}" has ${text.length} characters, more than ${MAX_TEXT_CHARS}: shorten it to the sentence that carries the request`,
      });
      continue;
    }
    const previous = byKey.get(key);
    if (previous && previous.intent !== intent) {
      const pair = [previous.intent, intent].sort().join('\0') + '\0' + key;
      if (!conflicts.has(pair)) {
        conflicts.add(pair);
        push(errors, {
          code: 'conflict',
          intent,
          text,
          message: `"${text}" is an example of both "${previous.intent}" and "${intent}": keep it under one intent only`,
        });
      }
      continue;
    }
    if (previous) {
      push(warnings, { code: 'duplicate', intent, text, message: `"${text}" appears more than once under "${intent}": the copies are ignored` });
      continue;
    }
    byKey.set(key, { intent, text });
    perIntent.set(intent, (perIntent.get(intent) ?? 0) + 1);
  }

  if (perIntent.size < 2 && errors.length === 0) {
    errors.push({
      code: 'too_few_intents',
      message: `the training set has ${perIntent.size} intent${perIntent.size === 1 ? '' : 's'}: add examples for at least two intents (anything unlike them is recognised as out of scope)`,
    });
  }
  for (const [intent, n] of perIntent) {
    if (n < RECOMMENDED_EXAMPLES) {
      push(warnings, {
        code: 'few_examples',
        intent,
        message: `intent "${intent}" has only ${n} example${n === 1 ? '' : 's'}: add at least ${RECOMMENDED_EXAMPLES}, phrased differently, for reliable recognition`,
      });
    }
  }
  return { errors, warnings };
}

/** The examples training uses: valid ones, exact duplicates (same key and intent) dropped, in input order. */
export function dedupeExamples<T extends { text: string; intent: string }>(examples: ReadonlyArray<T>): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const e of examples) {
    const key = `${e.intent}\0${exampleKey(e.text)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(e);
  }
  return out;
}
