import { existsSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { OOS_LABEL, crossValidate, evaluateIntents, type IntentReport } from '@huiliu/core/bot/nlu/intent-eval';
import { mulberry32, trainIntentModel, type IntentExample, type IntentHyperParameters } from '@huiliu/core/bot/nlu/intent-model';
import { exampleKey } from '@huiliu/core/bot/nlu/training-set';

/**
 * `npm run eval -- intents` — trains the offline intent classifier on a TSV (`text<TAB>label`, label `oos`
 * = out of scope) and scores it. Protocols:
 *   --train A --test B              train on A, score on B
 *   --train A --test B --holdout-intents 0.25 --seed N
 *                                   a quarter of A's intents (seeded) are left out of training; their rows
 *                                   in B count as out of scope (for sets without OOS rows)
 *   --train A --folds 5 --seed N    stratified k-fold on A alone, mean ± sd (the Chinese protocol)
 *   --no-reject                     figures without the OOS threshold
 *   --hyper '{"lambda":1e-5}'       hyper-parameter override, for tuning on validation data only
 * Progress goes to stderr; the last stdout line is one JSON object of figures.
 */

const USAGE =
  'usage: npm run eval -- intents --train FILE (--test FILE [--holdout-intents 0.25] | --folds 5) [--seed N] [--no-reject] [--json]';

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      train: { type: 'string' },
      test: { type: 'string' },
      json: { type: 'boolean', default: false },
      'holdout-intents': { type: 'string' },
      folds: { type: 'string' },
      seed: { type: 'string', default: '1' },
      'no-reject': { type: 'boolean', default: false },
      hyper: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const log = (line: string) => process.stderr.write(`${line}\n`);
  if (!values.train) throw new Error(`--train is required\n${USAGE}`);
  const seed = integer('--seed', values.seed ?? '1', 0);
  const folds = values.folds === undefined ? undefined : integer('--folds', values.folds, 2, 20);
  const holdout = values['holdout-intents'] === undefined ? undefined : fraction('--holdout-intents', values['holdout-intents']);
  if (folds !== undefined && values.test) throw new Error(`--folds uses --train alone; drop --test\n${USAGE}`);
  if (folds !== undefined && holdout !== undefined) throw new Error('--holdout-intents cannot be combined with --folds');
  if (folds === undefined && !values.test) throw new Error(`give --test FILE or --folds K\n${USAGE}`);
  const hyper = values.hyper === undefined ? undefined : (JSON.parse(values.hyper) as Partial<IntentHyperParameters>);
  const noReject = values['no-reject'];

  let train = withoutConflicts(readTsv(values.train), log).filter((r) => r.intent !== OOS_LABEL);
  const out: Record<string, unknown> = { train_file: values.train, seed };

  if (folds !== undefined) {
    log(`${folds}-fold cross-validation on ${train.length} rows`);
    const cv = crossValidate(train, folds, seed, { hyper, log });
    const acc = cv.folds.map((f) => (noReject ? f.accuracyNoReject : f.accuracy));
    const accNoReject = cv.folds.map((f) => f.accuracyNoReject);
    Object.assign(out, {
      protocol: `${folds}-fold`,
      in_scope_acc: round(mean(acc)),
      in_scope_acc_sd: round(sd(acc)),
      in_scope_acc_no_reject: round(mean(accNoReject)),
      in_scope_acc_no_reject_sd: round(sd(accNoReject)),
      oos_recall: null,
      macro_f1: round(noReject ? Number.NaN : cv.macroF1),
      train_s: round(mean(cv.folds.map((f) => f.trainMs)) / 1000, 2),
      p50_ms: round(cv.latency.p50Ms, 3),
      p99_ms: round(cv.latency.p99Ms, 3),
      rows: train.length,
    });
    if (!values.json) printReport(cv);
    process.stdout.write(`${JSON.stringify(out)}\n`);
    return;
  }

  let test = readTsv(values.test!);
  if (holdout !== undefined) {
    const intents = [...new Set(train.map((r) => r.intent))].sort();
    const random = mulberry32(seed);
    const shuffled = [...intents];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const held = new Set(shuffled.slice(0, Math.round(holdout * intents.length)));
    train = train.filter((r) => !held.has(r.intent));
    test = test.map((r) => (held.has(r.intent) ? { text: r.text, intent: OOS_LABEL } : r));
    log(`held out ${held.size} of ${intents.length} intents: ${[...held].join(', ')}`);
    out.held_out_intents = held.size;
  }
  const trainIntents = new Set(train.map((r) => r.intent));
  const unknown = new Set(test.filter((r) => r.intent !== OOS_LABEL && !trainIntents.has(r.intent)).map((r) => r.intent));
  if (unknown.size > 0) log(`warning: test intents absent from training count as out of scope: ${[...unknown].slice(0, 10).join(', ')}`);

  log(`training on ${train.length} rows, ${trainIntents.size} intents`);
  const t0 = performance.now();
  const model = trainIntentModel(train, { seed, hyper, log });
  const trainS = (performance.now() - t0) / 1000;
  log(`trained in ${trainS.toFixed(2)} s; scoring ${test.length} rows`);
  const withReject = evaluateIntents(model, test, noReject ? { threshold: 0 } : {});
  const withoutReject = noReject ? withReject : evaluateIntents(model, test, { threshold: 0 });
  const modelMb = Buffer.byteLength(JSON.stringify(model.toJSON())) / 1e6;
  Object.assign(out, {
    test_file: values.test,
    protocol: holdout !== undefined ? `holdout-intents ${holdout}` : 'train/test',
    in_scope_acc: round(withReject.inScopeAccuracy),
    in_scope_acc_no_reject: round(withoutReject.inScopeAccuracyNoReject),
    oos_recall: withReject.oosRecall === null ? null : round(withReject.oosRecall),
    macro_f1: round(withReject.macroF1),
    train_s: round(trainS, 2),
    p50_ms: round(withReject.latency.p50Ms, 3),
    p99_ms: round(withReject.latency.p99Ms, 3),
    model_mb: round(modelMb, 2),
    threshold: round(model.threshold),
    train_rows: train.length,
    test_rows: test.length,
    reject: !noReject,
  });
  if (!values.json) printReport(withReject);
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

function readTsv(file: string): IntentExample[] {
  if (!existsSync(file)) throw new Error(`${file}: no such file`);
  const rows: IntentExample[] = [];
  readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .forEach((line, i) => {
      if (!line.trim()) return;
      const tab = line.lastIndexOf('\t');
      if (tab <= 0 || tab === line.length - 1) throw new Error(`${file}:${i + 1}: expected "text<TAB>label"`);
      rows.push({ text: line.slice(0, tab).trim(), intent: line.slice(tab + 1).trim() });
    });
  if (rows.length === 0) throw new Error(`${file}: no rows`);
  return rows;
}

/** Public sets contain a few texts labelled with two intents; the product refuses those, the evaluation drops them. */
function withoutConflicts(rows: IntentExample[], log: (l: string) => void): IntentExample[] {
  const labels = new Map<string, Set<string>>();
  for (const r of rows) {
    const k = exampleKey(r.text);
    labels.set(k, (labels.get(k) ?? new Set()).add(r.intent));
  }
  const kept = rows.filter((r) => (labels.get(exampleKey(r.text))?.size ?? 0) === 1 && exampleKey(r.text) !== '');
  if (kept.length < rows.length) log(`dropped ${rows.length - kept.length} training rows whose text has two labels or no words`);
  return kept;
}

function printReport(r: IntentReport): void {
  const lines = [
    `in-scope accuracy ${r.inScopeAccuracy.toFixed(4)} (without rejection ${r.inScopeAccuracyNoReject.toFixed(4)}), OOS recall ${r.oosRecall?.toFixed(4) ?? '-'}, macro F1 ${r.macroF1.toFixed(4)}`,
    'weakest intents:',
    ...[...r.perIntent]
      .filter((i) => i.support > 0)
      .sort((a, b) => a.f1 - b.f1)
      .slice(0, 10)
      .map((i) => `  ${i.intent.padEnd(28)} f1 ${i.f1.toFixed(3)}  p ${i.precision.toFixed(3)}  r ${i.recall.toFixed(3)}  n ${i.support}`),
    'top confusions:',
    ...r.confusions.slice(0, 10).map((c) => `  ${c.expected} → ${c.predicted}: ${c.count}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function integer(flag: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${flag} must be an integer from ${min} to ${max}, got "${value}"`);
  return n;
}

function fraction(flag: string, value: string): number {
  const n = Number(value);
  if (!(n > 0 && n < 1)) throw new Error(`${flag} must be a fraction between 0 and 1, got "${value}"`);
  return n;
}

const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / Math.max(1, a.length);
const sd = (a: number[]) => Math.sqrt(mean(a.map((x) => (x - mean(a)) ** 2)));
const round = (x: number, digits = 4) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : null);
