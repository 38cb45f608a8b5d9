import { performance } from 'node:perf_hooks';
import { mulberry32, stratifiedFolds, trainIntentModel, type IntentExample, type IntentModel, type TrainOptions } from './intent-model.ts';
import { dedupeExamples } from './training-set.ts';

/**
 * Scores an intent model on labelled messages: the `npm run eval -- intents` figures, and the in-product
 * "accuracy per intent / confusions / misrecognised messages" view (crossValidate on a workspace's own
 * examples, so an admin sees where the model fails and which examples to add).
 */

/** Label of an out-of-scope row in test data. */
export const OOS_LABEL = 'oos';

export interface IntentTestRow {
  text: string;
  /** 'oos' = out of scope. */
  intent: string;
}

export interface IntentReport {
  /** In-scope rows recognised as their intent (a rejected in-scope row counts as wrong). */
  inScopeAccuracy: number;
  /** The same without rejection (the top intent is always taken): the cost of rejection is the difference. */
  inScopeAccuracyNoReject: number;
  /** Share of out-of-scope rows rejected; null when the test has none. */
  oosRecall: number | null;
  /** Macro F1 over in-scope intents (the predicted label 'oos' counts as a miss). */
  macroF1: number;
  perIntent: Array<{ intent: string; precision: number; recall: number; f1: number; support: number }>;
  /** Most frequent (expected, predicted) pairs that differ, predicted 'oos' for rejections; top 20. */
  confusions: Array<{ expected: string; predicted: string; count: number }>;
  /** First 50 misrecognised rows. */
  misses: Array<{ text: string; expected: string; predicted: string; confidence: number }>;
  latency: { p50Ms: number; p99Ms: number };
  rows: number;
}

export interface EvaluateOptions {
  /** Override the model's OOS threshold (0 = never reject). */
  threshold?: number;
}

export function evaluateIntents(model: IntentModel, testRows: IntentTestRow[], options: EvaluateOptions = {}): IntentReport {
  const predictions: Array<{ expected: string; predicted: string; top: string; confidence: number; text: string }> = [];
  const times: number[] = [];
  const known = new Set(model.intents);
  for (const row of testRows) {
    const t0 = performance.now();
    const p = model.predict(row.text, options.threshold === undefined ? undefined : { threshold: options.threshold });
    times.push(performance.now() - t0);
    // A test intent the model was never trained on is out of scope for it (the --holdout-intents protocol).
    const expected = known.has(row.intent) ? row.intent : OOS_LABEL;
    predictions.push({ expected, predicted: p.intent ?? OOS_LABEL, top: p.ranking[0]?.intent ?? OOS_LABEL, confidence: p.confidence, text: row.text });
  }
  return report(predictions, times);
}

function report(
  predictions: Array<{ expected: string; predicted: string; top: string; confidence: number; text: string }>,
  times: number[],
): IntentReport {
  let inScope = 0;
  let inScopeRight = 0;
  let inScopeRightNoReject = 0;
  let oos = 0;
  let oosRejected = 0;
  const tp = new Map<string, number>();
  const fp = new Map<string, number>();
  const support = new Map<string, number>();
  const confusions = new Map<string, number>();
  const misses: IntentReport['misses'] = [];
  const inc = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);
  for (const p of predictions) {
    if (p.expected === OOS_LABEL) {
      oos++;
      if (p.predicted === OOS_LABEL) oosRejected++;
    } else {
      inScope++;
      inc(support, p.expected);
      if (p.predicted === p.expected) inScopeRight++;
      if (p.top === p.expected) inScopeRightNoReject++;
    }
    if (p.predicted === p.expected) {
      if (p.expected !== OOS_LABEL) inc(tp, p.expected);
    } else {
      if (p.predicted !== OOS_LABEL) inc(fp, p.predicted);
      inc(confusions, `${p.expected}\0${p.predicted}`);
      if (misses.length < 50) misses.push({ text: p.text, expected: p.expected, predicted: p.predicted, confidence: p.confidence });
    }
  }
  const intents = [...new Set([...support.keys(), ...fp.keys()])].sort();
  const perIntent = intents.map((intent) => {
    const t = tp.get(intent) ?? 0;
    const s = support.get(intent) ?? 0;
    const predicted = t + (fp.get(intent) ?? 0);
    const precision = predicted > 0 ? t / predicted : 0;
    const recall = s > 0 ? t / s : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    return { intent, precision, recall, f1, support: s };
  });
  const scored = perIntent.filter((i) => i.support > 0);
  const sorted = [...times].sort((a, b) => a - b);
  const pct = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : 0);
  return {
    inScopeAccuracy: inScope ? inScopeRight / inScope : 0,
    inScopeAccuracyNoReject: inScope ? inScopeRightNoReject / inScope : 0,
    oosRecall: oos ? oosRejected / oos : null,
    macroF1: scored.length ? scored.reduce((a, i) => a + i.f1, 0) / scored.length : 0,
    perIntent,
    confusions: [...confusions]
      .map(([k, count]) => {
        const [expected, predicted] = k.split('\0') as [string, string];
        return { expected, predicted, count };
      })
      .sort((a, b) => b.count - a.count || a.expected.localeCompare(b.expected))
      .slice(0, 20),
    misses,
    latency: { p50Ms: pct(0.5), p99Ms: pct(0.99) },
    rows: predictions.length,
  };
}

/**
 * k-fold stratified cross-validation on one labelled set: each example is predicted by a model that never
 * saw it, and the pooled predictions are scored as one report. `folds` is lowered to the size of the
 * largest intent; an intent with a single example is never tested (it cannot be both learned and tested).
 */
export function crossValidate(
  examples: IntentExample[],
  folds: number,
  seed: number,
  options: TrainOptions = {},
): IntentReport & { folds: Array<{ accuracy: number; accuracyNoReject: number; trainMs: number }> } {
  const data = dedupeExamples(examples);
  const intents = [...new Set(data.map((e) => e.intent))].sort();
  const classOf = new Map(intents.map((name, i) => [name, i]));
  const foldOf = stratifiedFolds(
    data.map((e) => classOf.get(e.intent)!),
    intents.length,
    folds,
    mulberry32(seed),
  );
  const predictions: Parameters<typeof report>[0] = [];
  const times: number[] = [];
  const perFold: Array<{ accuracy: number; accuracyNoReject: number; trainMs: number }> = [];
  for (let f = 0; f < folds; f++) {
    const train = data.filter((_, n) => foldOf[n] !== f);
    const test = data.filter((_, n) => foldOf[n] === f);
    if (test.length === 0) continue;
    const t0 = performance.now();
    const model = trainIntentModel(train, { ...options, seed: seed + f });
    const trainMs = performance.now() - t0;
    let right = 0;
    let rightNoReject = 0;
    for (const row of test) {
      const t0 = performance.now();
      const p = model.predict(row.text);
      times.push(performance.now() - t0);
      if (p.intent === row.intent) right++;
      if (p.ranking[0]?.intent === row.intent) rightNoReject++;
      predictions.push({ expected: row.intent, predicted: p.intent ?? OOS_LABEL, top: p.ranking[0]?.intent ?? OOS_LABEL, confidence: p.confidence, text: row.text });
    }
    perFold.push({ accuracy: right / test.length, accuracyNoReject: rightNoReject / test.length, trainMs });
    options.log?.(`fold ${f + 1}/${folds}: accuracy ${(right / test.length).toFixed(4)}, without rejection ${(rightNoReject / test.length).toFixed(4)}`);
  }
  return { ...report(predictions, times), folds: perFold };
}
