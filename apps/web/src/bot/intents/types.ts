import type { z } from 'zod';
import type { MisrecognizedMessage, TrainingIssue } from '@huiliu/contracts';

// Types only: zod stays out of the bundle.
export type { BotIntent, BotTrainingReport, EntityDefinitionInput as EntityDefinition } from '@huiliu/contracts';
export type Misrecognized = z.infer<typeof MisrecognizedMessage>;
export type Issue = z.infer<typeof TrainingIssue>;

/** The contract's IntentName rule, checked in the form to save a round trip (the server decides). */
export const INTENT_NAME_RE = /^[\p{L}\p{N}_.:-]{1,64}$/u;

/** Per-intent quality under this is shown red: the intents that need more (or clearer) examples. */
export const WEAK_F1 = 0.8;

/** Example lines as the API wants them: trimmed, no blanks; duplicates are reported, not silently dropped. */
export function exampleLines(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
}

export function duplicates(lines: string[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const l of lines) {
    const k = l.toLowerCase();
    if (seen.has(k)) dup.add(l);
    seen.add(k);
  }
  return [...dup];
}

export const pct = (x: number | null | undefined, digits = 1): string => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(digits)}%`);

/** Errors and warnings of a training run in one list, each knowing which it is (shown next to its intent). */
export type TaggedIssue = Issue & { severity: 'error' | 'warning' };
export function taggedIssues(report: { errors: Issue[]; warnings: Issue[] } | undefined | null): TaggedIssue[] {
  if (!report) return [];
  return [...report.errors.map((i) => ({ ...i, severity: 'error' as const })), ...report.warnings.map((i) => ({ ...i, severity: 'warning' as const }))];
}
