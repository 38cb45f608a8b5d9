import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import {
  createSentimentAnalyzer,
  fitCalibration,
  parseSentimentSet,
  sentimentEvidence,
  sentimentMetrics,
  type SentimentLabel,
} from '@huiliu/core/bot/nlu/sentiment';
import { mulberry32 } from '@huiliu/core/bot/nlu/intent-model';

/**
 * `npm run eval -- sentiment [--set FILE] [--folds 5] [--seed N] [--json]` — scores the lexicon-and-rules
 * sentiment model on a labelled TSV (`text<TAB>label<TAB>lang`, default: the committed set).
 *
 * The labels come from the lexicon and rules alone (nothing is fitted), so accuracy, macro-F1 and
 * negative recall are plain figures on the set. The confidence is a calibration fitted on data, so its
 * error (ECE) is measured by k-fold cross-validation: the calibration is refitted on k−1 folds and the
 * held-out fold is scored with it. `ece_in_sample` (calibration fitted on all rows) is printed beside it
 * only to show the gap. Progress and the fitted constants go to stderr; the last stdout line is JSON.
 */

const DEFAULT_SET = fileURLToPath(new URL('../../../packages/core/src/bot/nlu/sentiment-set.tsv', import.meta.url));


const r4 = (x: number) => Math.round(x * 10_000) / 10_000;

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      set: { type: 'string', default: DEFAULT_SET },
      folds: { type: 'string', default: '5' },
      seed: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
      errors: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const rows = parseSentimentSet(readFileSync(values.set!, 'utf8'));
  const k = Number(values.folds);
  if (!Number.isInteger(k) || k < 2 || k > rows.length) throw new Error('--folds must be an integer ≥ 2');
  log(`sentiment: ${rows.length} rows from ${values.set}`);

  // Labels and latency: the analyzer as shipped.
  const shipped = createSentimentAnalyzer();
  for (const r of rows) shipped.analyze(r.text); // warm-up: the first calls pay for JIT compilation
  const times: number[] = [];
  const evidence = rows.map((r) => {
    const t0 = performance.now();
    shipped.analyze(r.text);
    times.push(performance.now() - t0);
    return sentimentEvidence(r.text);
  });
  times.sort((a, b) => a - b);
  const p99 = times[Math.min(times.length - 1, Math.ceil(times.length * 0.99) - 1)]!;

  // Cross-validated calibration: seeded shuffle, k folds.
  const rnd = mulberry32(Number(values.seed));
  const order = rows.map((_, i) => i).sort(() => 0).map((i) => ({ i, r: rnd() })).sort((a, b) => a.r - b.r).map((x) => x.i);
  const fold = new Array<number>(rows.length);
  order.forEach((idx, pos) => (fold[idx] = pos % k));
  const samples = rows.map((r, i) => ({ label: evidence[i]!.label, margin: evidence[i]!.margin, correct: evidence[i]!.label === r.label }));
  const cvConfidence = new Array<number>(rows.length);
  for (let f = 0; f < k; f++) {
    const cal = fitCalibration(samples.filter((_, i) => fold[i] !== f));
    const analyzer = createSentimentAnalyzer({ calibration: cal });
    rows.forEach((r, i) => {
      if (fold[i] === f) cvConfidence[i] = analyzer.analyze(r.text).confidence;
    });
  }
  const results = rows.map((r, i) => ({ gold: r.label, label: evidence[i]!.label, confidence: cvConfidence[i]!, lang: r.lang, text: r.text }));
  const all = sentimentMetrics(results);
  const zh = sentimentMetrics(results.filter((r) => r.lang === 'zh'));
  const en = sentimentMetrics(results.filter((r) => r.lang === 'en'));
  const fullFit = fitCalibration(samples);
  const inSample = sentimentMetrics(rows.map((r, i) => ({ gold: r.label, ...createSentimentAnalyzer({ calibration: fullFit }).analyze(r.text) })));
  const shippedEce = sentimentMetrics(rows.map((r) => ({ gold: r.label, ...shipped.analyze(r.text) }))).ece;
  log(`calibration fitted on all rows (candidate for CALIBRATION): ${JSON.stringify(fullFit, (_, v) => (typeof v === 'number' ? r4(v) : v))}`);
  const labels: SentimentLabel[] = ['negative', 'neutral', 'positive'];
  for (const g of labels) log(`  gold ${g.padEnd(8)} → ${labels.map((p) => `${p}: ${results.filter((r) => r.gold === g && r.label === p).length}`).join(', ')}`);
  if (values.errors) for (const r of results) if (r.gold !== r.label) log(`  ✗ [${r.gold} → ${r.label}] ${r.text}`);

  const figures = {
    n: all.n,
    accuracy: r4(all.accuracy),
    accuracy_zh: r4(zh.accuracy),
    accuracy_en: r4(en.accuracy),
    macro_f1: r4(all.macro_f1),
    ece: r4(all.ece),
    negative_recall: r4(all.negative_recall),
    p99_ms: r4(p99),
    p50_ms: r4(times[Math.floor(times.length / 2)]!),
    ece_shipped_in_sample: r4(shippedEce),
    ece_refit_in_sample: r4(inSample.ece),
    folds: k,
  };
  if (!values.json) log(`accuracy ${figures.accuracy} (zh ${figures.accuracy_zh}, en ${figures.accuracy_en}), macro-F1 ${figures.macro_f1}, ECE (cv) ${figures.ece}`);
  console.log(JSON.stringify(figures));
}
