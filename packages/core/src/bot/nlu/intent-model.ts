import {
  CHAR_GROUP,
  DEFAULT_FEATURE_CONFIG,
  FEATURE_GROUPS,
  createTextFeaturizer,
  jiebaSegmenter,
  type FeatureConfig,
  type RawFeatures,
  type TextFeaturizer,
} from './text-features.ts';
import { BACKGROUND_POOL } from './background-pool.ts';
import { TrainingSetError, checkTrainingSet, dedupeExamples } from './training-set.ts';

/**
 * Offline intent classifier: TF-IDF features (text-features.ts) → linear softmax model trained by SGD,
 * calibrated by temperature scaling on out-of-fold predictions, with an out-of-scope threshold chosen from
 * the same out-of-fold predictions (tenants have no out-of-scope examples, so the threshold is set from
 * in-scope data alone: reject at most REJECT_BUDGET of the in-scope messages the model gets right).
 * No pretrained weights, no network; trains in seconds on a CPU. Design and measurements:
 * scratch/docs-intents.md.
 */

export interface IntentExample {
  text: string;
  intent: string;
}

export interface IntentPrediction {
  /** null when out of scope. */
  intent: string | null;
  /** Calibrated probability of the top intent, 0..1. */
  confidence: number;
  outOfScope: boolean;
  /** Top 5, best first. */
  ranking: Array<{ intent: string; confidence: number }>;
}

export interface IntentModel {
  readonly intents: string[];
  /** Out-of-scope threshold on confidence, chosen at training time. */
  readonly threshold: number;
  predict(text: string, options?: { threshold?: number }): IntentPrediction;
  /** Compact (typed arrays as base64), JSON-safe: stored in PostgreSQL jsonb. */
  toJSON(): SerializedIntentModel;
}

export interface SerializedIntentModel {
  version: 1;
  intents: string[];
  threshold: number;
  temperature: number;
  coverageExponent: number;
  features: FeatureConfig;
  groupWeights: number[];
  unseenIdf: number;
  /** Sorted feature hashes (Uint32Array, base64). */
  hashes: string;
  /** Feature group of each hash (Uint8Array, base64). */
  groups: string;
  /** Inverse document frequency of each hash (Float32Array, base64). */
  idf: string;
  /** Weights, feature-major: weights[f * intents.length + c] (Float32Array, base64). */
  weights: string;
  /** Bias per intent (Float32Array, base64). */
  bias: string;
  /**
   * The weights and bias have one more column after the intents: the built-in background (off-topic)
   * class; predicting it means out of scope. Absent in models trained before it existed.
   */
  background?: boolean;
}

/** Hyper-parameters. Defaults were tuned on HWU64-valid and an SMP2017 train split, never on test data. */
export interface IntentHyperParameters {
  features: FeatureConfig;
  /** Relative weight of the WORD and CHAR groups after each group is L2-normalised. */
  groupWeights: number[];
  /** L2 regularisation per example. */
  lambda: number;
  epochs: number;
  learningRate: number;
  /** Folds for out-of-fold calibration and threshold (fewer when intents have fewer examples); 0 = none. */
  calibrationFolds: number;
  /**
   * Share of correctly recognised in-scope messages the OOS threshold may reject. Used when the
   * leave-intents-out simulation is off (oosSimulation 0, or fewer than 4 intents); otherwise oosMaxCost.
   */
  rejectBudget: number;
  /** γ in scores × coverage^γ (see SparseVector.coverage); 0 = ignore unknown words. */
  coverageExponent: number;
  /** Lowest OOS threshold chosen at training time. */
  minThreshold: number;
  /** Train a background (off-topic) class from BACKGROUND_POOL; predicting it = out of scope. */
  background: boolean;
  /** Pool lines whose cosine with any tenant example exceeds this are dropped (the tenant owns that topic). */
  backgroundMaxSimilarity: number;
  /** Total weight of the pool lines relative to the mean number of examples per intent. */
  backgroundWeight: number;
  /**
   * Leave-intents-out simulation: share of the intents whose rows are all left out of each calibration fold's
   * training and scored as out-of-scope messages (no OOS data needed); 0 = off. Each intent is left out of at
   * most one fold. Measured in scratch/docs-intents.md (round 3): it moves the threshold along the same
   * recall/cost curve (fold models with fewer intents are more confident), it does not find a better score.
   */
  oosSimulation: number;
  /**
   * With the simulation: highest in-scope accuracy drop the threshold may cost on the out-of-fold rows.
   * 1.5 points because the cost on new messages came out ~0.3–0.5 points above the out-of-fold cost.
   */
  oosMaxCost: number;
}

export const DEFAULT_HYPER_PARAMETERS: IntentHyperParameters = {
  features: DEFAULT_FEATURE_CONFIG,
  groupWeights: [1, 1],
  lambda: 1e-5,
  epochs: 10,
  learningRate: 0.5,
  calibrationFolds: 3,
  rejectBudget: 0.015,
  coverageExponent: 1,
  minThreshold: 0.25,
  background: true,
  backgroundMaxSimilarity: 0.2,
  backgroundWeight: 2,
  oosSimulation: 0.1,
  oosMaxCost: 0.015,
};

export interface TrainOptions {
  seed?: number;
  /** For evaluation and tuning; products use the defaults. */
  hyper?: Partial<IntentHyperParameters>;
  /** Progress lines (evaluation CLI). */
  log?: (line: string) => void;
}

const RANKING_SIZE = 5;
const GRADIENT_FLOOR = 1e-3;
/** Below this the simulation would leave a fold with one or two intents, whose confidences say nothing. */
const MIN_INTENTS_FOR_SIMULATION = 4;

// ---------------------------------------------------------------------------------------------------------
// Vectoriser: raw counts → sublinear TF × IDF, L2-normalised per group, times the group weight.

interface SparseVector {
  idx: Int32Array;
  val: Float32Array;
  /**
   * Share of the message's TF-IDF mass (features never seen in training weighted with the IDF of a feature
   * in no example) that the model knows, 0..1. The vector itself is normalised over known features, which
   * decides the intent best; the coverage then shrinks the scores (coverage^γ, a per-message temperature
   * that keeps the ranking), so a message made mostly of unknown words gets a low confidence instead of
   * having its one known word inflated to full length.
   */
  coverage: number;
}

interface Vocabulary {
  hashes: Uint32Array;
  groups: Uint8Array;
  idf: Float32Array;
  index: Map<number, number>;
  groupWeights: number[];
  /** IDF of a feature absent from training (document frequency 0). */
  unseenIdf: number;
}

function buildVocabulary(raws: RawFeatures[], groupWeights: number[]): Vocabulary {
  const df = new Map<number, number>();
  const groupOf = new Map<number, number>();
  for (const raw of raws) {
    raw.forEach((map, g) => {
      for (const h of map.keys()) {
        df.set(h, (df.get(h) ?? 0) + 1);
        groupOf.set(h, g);
      }
    });
  }
  const hashes = Uint32Array.from(df.keys()).sort();
  const groups = new Uint8Array(hashes.length);
  const idf = new Float32Array(hashes.length);
  const n = raws.length;
  hashes.forEach((h, i) => {
    groups[i] = groupOf.get(h) ?? 0;
    idf[i] = Math.log((1 + n) / (1 + (df.get(h) ?? 0))) + 1;
  });
  return { hashes, groups, idf, index: indexOf(hashes), groupWeights, unseenIdf: Math.log(1 + n) + 1 };
}

function indexOf(hashes: Uint32Array): Map<number, number> {
  const index = new Map<number, number>();
  hashes.forEach((h, i) => index.set(h, i));
  return index;
}

function vectorize(vocab: Vocabulary, raw: RawFeatures): SparseVector {
  const idx: number[] = [];
  const val: number[] = [];
  let known = 0;
  let total = 0;
  for (let g = 0; g < FEATURE_GROUPS; g++) {
    const start = idx.length;
    let norm = 0;
    let unseen = 0;
    for (const [h, count] of raw[g]!) {
      const i = vocab.index.get(h);
      if (i === undefined) {
        unseen += ((1 + Math.log(count)) * vocab.unseenIdf) ** 2;
        continue;
      }
      const v = (1 + Math.log(count)) * vocab.idf[i]!;
      idx.push(i);
      val.push(v);
      norm += v * v;
    }
    const weight = vocab.groupWeights[g] ?? 1;
    if (norm > 0) {
      const scale = weight / Math.sqrt(norm);
      for (let k = start; k < val.length; k++) val[k]! *= scale;
    }
    if (norm + unseen > 0) {
      known += weight * weight * (norm / (norm + unseen));
      total += weight * weight;
    }
  }
  return { idx: Int32Array.from(idx), val: Float32Array.from(val), coverage: total > 0 ? known / total : 0 };
}

// ---------------------------------------------------------------------------------------------------------
// Softmax regression by SGD. L2 decay is applied lazily through a global scale (true W = scale × w), so each
// step touches only the rows of the example's features: O(nnz × intents) per example.

interface LinearModel {
  weights: Float32Array;
  bias: Float32Array;
  classes: number;
}

function trainSoftmax(
  xs: SparseVector[],
  ys: Int32Array,
  features: number,
  classes: number,
  hyper: IntentHyperParameters,
  random: () => number,
  /** Per-example weight (the background pool is down-weighted); 1 when absent. */
  sampleWeights?: Float32Array,
): LinearModel {
  const w = new Float32Array(features * classes);
  const bias = new Float32Array(classes);
  const scores = new Float64Array(classes);
  const order = Int32Array.from(xs.keys());
  const activeClasses = new Int32Array(classes);
  const { lambda, learningRate: eta0, epochs } = hyper;
  let scale = 1;
  let t = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    shuffle(order, random);
    for (const n of order) {
      const x = xs[n]!;
      const y = ys[n]!;
      const baseEta = eta0 / (1 + eta0 * lambda * t++);
      const eta = baseEta * (sampleWeights?.[n] ?? 1);
      linearScores(w, bias, scale, classes, x, scores);
      softmaxInPlace(scores);
      scores[y]! -= 1; // gradient of the cross-entropy wrt the scores
      // Only classes with a non-negligible gradient are updated: after the first epoch most probabilities
      // are ~0, and skipping them halves training time with no measurable change in accuracy.
      let active = 0;
      for (let c = 0; c < classes; c++) if (Math.abs(scores[c]!) > GRADIENT_FLOOR) activeClasses[active++] = c;
      const step = eta / scale;
      for (let k = 0; k < x.idx.length; k++) {
        const row = x.idx[k]! * classes;
        const v = x.val[k]! * step;
        for (let a = 0; a < active; a++) {
          const c = activeClasses[a]!;
          w[row + c]! -= v * scores[c]!;
        }
      }
      for (let c = 0; c < classes; c++) bias[c]! -= eta * 0.1 * scores[c]!;
      scale *= 1 - baseEta * lambda;
      if (scale < 1e-4) {
        for (let i = 0; i < w.length; i++) w[i]! *= scale;
        scale = 1;
      }
    }
  }
  if (scale !== 1) for (let i = 0; i < w.length; i++) w[i]! *= scale;
  return { weights: w, bias, classes };
}

function linearScores(w: Float32Array, bias: Float32Array, scale: number, classes: number, x: SparseVector, out: Float64Array): void {
  for (let c = 0; c < classes; c++) out[c] = 0;
  for (let k = 0; k < x.idx.length; k++) {
    const row = x.idx[k]! * classes;
    const v = x.val[k]!;
    for (let c = 0; c < classes; c++) out[c]! += v * w[row + c]!;
  }
  for (let c = 0; c < classes; c++) out[c] = out[c]! * scale + bias[c]!;
}

function softmaxInPlace(s: Float64Array, temperature = 1): void {
  let max = -Infinity;
  for (let c = 0; c < s.length; c++) if (s[c]! > max) max = s[c]!;
  let sum = 0;
  for (let c = 0; c < s.length; c++) {
    const e = Math.exp((s[c]! - max) / temperature);
    s[c] = e;
    sum += e;
  }
  for (let c = 0; c < s.length; c++) s[c]! /= sum;
}

// ---------------------------------------------------------------------------------------------------------
// Calibration: temperature minimising the negative log-likelihood of out-of-fold scores (golden-section
// search on log T), and the OOS threshold as a low percentile of the out-of-fold confidences of correct
// predictions.

function fitTemperature(scores: Float64Array[], ys: Int32Array): number {
  const nll = (logT: number): number => {
    const t = Math.exp(logT);
    let total = 0;
    for (let n = 0; n < scores.length; n++) {
      const s = scores[n]!;
      let max = -Infinity;
      for (const v of s) if (v > max) max = v;
      let sum = 0;
      for (const v of s) sum += Math.exp((v - max) / t);
      total -= (s[ys[n]!]! - max) / t - Math.log(sum);
    }
    return total;
  };
  let lo = Math.log(0.05);
  let hi = Math.log(20);
  const phi = (Math.sqrt(5) - 1) / 2;
  for (let i = 0; i < 40; i++) {
    const a = hi - phi * (hi - lo);
    const b = lo + phi * (hi - lo);
    if (nll(a) < nll(b)) hi = b;
    else lo = a;
  }
  return Math.exp((lo + hi) / 2);
}

function chooseThreshold(confidences: number[], rejectBudget: number): number {
  if (confidences.length === 0) return 0;
  const sorted = [...confidences].sort((a, b) => a - b);
  const k = Math.floor(rejectBudget * sorted.length);
  // Below the k-th lowest correct confidence: at most k of them (rejectBudget) fall under the threshold.
  return k === 0 ? Math.max(0, sorted[0]! - 1e-6) : sorted[k - 1]!;
}

// ---------------------------------------------------------------------------------------------------------

export function trainIntentModel(examples: IntentExample[], options: TrainOptions = {}): IntentModel {
  const check = checkTrainingSet(examples);
  if (check.errors.length > 0) throw new TrainingSetError(check.errors);
  const hyper: IntentHyperParameters = { ...DEFAULT_HYPER_PARAMETERS, ...options.hyper };
  const log = options.log ?? (() => {});
  const random = mulberry32(options.seed ?? 1);
  const data = dedupeExamples(examples);
  const intents = [...new Set(data.map((e) => e.intent))].sort();
  const classOf = new Map(intents.map((name, i) => [name, i]));
  const ys = Int32Array.from(data, (e) => classOf.get(e.intent)!);

  const featurizer = createTextFeaturizer(jiebaSegmenter(), hyper.features);
  const raws = data.map((e) => featurizer.features(e.text));
  // Background class (index intents.length): off-topic pool lines unlike every tenant example.
  const pool = hyper.background ? backgroundRaws(featurizer, raws, hyper) : [];
  const background = pool.length > 0;
  const classes = intents.length + (background ? 1 : 0);
  const poolWeight = background ? (hyper.backgroundWeight * (data.length / intents.length)) / pool.length : 0;
  const allRaws = [...raws, ...pool];
  const allYs = Int32Array.from([...ys, ...pool.map(() => intents.length)]);
  const allWeights = Float32Array.from(allRaws, (_, n) => (n < raws.length ? 1 : Math.min(1, poolWeight)));
  const vocab = buildVocabulary(allRaws, hyper.groupWeights);
  const xs = allRaws.map((r) => vectorize(vocab, r));
  log(`${data.length} examples, ${intents.length} intents, ${pool.length} background lines, ${vocab.hashes.length} features`);

  // Out-of-fold scores for calibration: stratified folds; an intent with a single example stays in training.
  // calibrationFolds 0 skips calibration (temperature 1, no rejection): for tuning accuracy faster.
  // The background lines are in every fold's training set and never scored.
  const folds = hyper.calibrationFolds === 0 ? 0 : Math.max(2, Math.min(hyper.calibrationFolds, maxExamplesPerIntent(ys, intents.length)));
  const foldOf = stratifiedFolds(ys, intents.length, folds, random);
  const oofScores: Float64Array[] = [];
  const oofYs: number[] = [];
  const simScores: Float64Array[] = [];
  // Leave-intents-out: intent → the fold that does not learn it (-1 = none); its rows there are scored as
  // out-of-scope messages. A separate random stream, so the folds are those of the simulation-free model.
  const heldIn = new Int32Array(intents.length).fill(-1);
  if (hyper.oosSimulation > 0 && folds > 0 && intents.length >= MIN_INTENTS_FOR_SIMULATION) {
    const order = Int32Array.from(intents.keys());
    shuffle(order, mulberry32((options.seed ?? 1) + 7919));
    const perFold = Math.max(1, Math.round(hyper.oosSimulation * intents.length));
    order.forEach((c, i) => (heldIn[c] = i < perFold * folds ? Math.floor(i / perFold) : -1));
  }
  for (let f = 0; f < folds; f++) {
    const trainIdx: number[] = [];
    const testIdx: number[] = [];
    const simIdx: number[] = [];
    foldOf.forEach((fold, n) => {
      if (heldIn[ys[n]!] === f) simIdx.push(n);
      else (fold === f ? testIdx : trainIdx).push(n);
    });
    if (testIdx.length === 0) continue;
    for (let n = raws.length; n < allRaws.length; n++) trainIdx.push(n);
    // The fold gets its own vocabulary, so its held-out examples have unknown words as new messages do and
    // their coverage (hence confidence) is realistic.
    const foldVocab = buildVocabulary(trainIdx.map((n) => allRaws[n]!), hyper.groupWeights);
    const model = trainSoftmax(
      trainIdx.map((n) => vectorize(foldVocab, allRaws[n]!)),
      Int32Array.from(trainIdx, (n) => allYs[n]!),
      foldVocab.hashes.length,
      classes,
      hyper,
      random,
      Float32Array.from(trainIdx, (n) => allWeights[n]!),
    );
    for (const n of testIdx) {
      const s = new Float64Array(classes);
      const x = vectorize(foldVocab, raws[n]!);
      linearScores(model.weights, model.bias, 1, classes, x, s);
      shrink(s, x.coverage, hyper.coverageExponent);
      for (let c = 0; c < intents.length; c++) if (heldIn[c] === f) s[c] = -Infinity; // not learned here
      oofScores.push(s);
      oofYs.push(ys[n]!);
    }
    for (const n of simIdx) {
      const s = new Float64Array(classes);
      const x = vectorize(foldVocab, raws[n]!);
      linearScores(model.weights, model.bias, 1, classes, x, s);
      shrink(s, x.coverage, hyper.coverageExponent);
      for (let c = 0; c < intents.length; c++) if (heldIn[c] === f) s[c] = -Infinity; // not learned here
      if (x.idx.length === 0) s.fill(0); // no known feature: rejected by predict() whatever the threshold
      simScores.push(s);
    }
    log(`calibration fold ${f + 1}/${folds} done`);
  }
  const temperature = oofScores.length > 0 ? fitTemperature(oofScores, Int32Array.from(oofYs)) : 1;
  const correct: number[] = [];
  oofScores.forEach((s, i) => {
    const p = Float64Array.from(s);
    softmaxInPlace(p, temperature);
    const top = argmax(p);
    if (top === oofYs[i]) correct.push(p[top]!);
  });
  // Floor: with a few examples per intent the out-of-fold percentile is the single lowest correct confidence,
  // often near 1/intents, which would accept anything; measured in scratch/docs-intents.md.
  const threshold = Math.max(
    hyper.minThreshold,
    simScores.length > 0
      ? simulatedThreshold(oofScores, oofYs, simScores, temperature, background, hyper.oosMaxCost, log)
      : chooseThreshold(correct, hyper.rejectBudget),
  );
  log(`temperature ${temperature.toFixed(3)}, OOS threshold ${threshold.toFixed(4)} (${correct.length}/${oofScores.length} out-of-fold correct)`);

  const final = trainSoftmax(xs, allYs, vocab.hashes.length, classes, hyper, random, allWeights);
  return createModel({ intents, threshold, temperature, coverageExponent: hyper.coverageExponent, vocab, featurizer, linear: final, background });
}

/**
 * The highest confidence threshold whose out-of-fold in-scope accuracy drop stays within maxCost, and what it
 * rejects of the simulated out-of-scope rows (intents left out of the fold).
 */
function simulatedThreshold(
  oof: Float64Array[],
  oofYs: number[],
  sim: Float64Array[],
  temperature: number,
  background: boolean,
  maxCost: number,
  log: (line: string) => void,
): number {
  const top = (s: Float64Array): { conf: number; arg: number; bg: boolean } => {
    const p = Float64Array.from(s);
    softmaxInPlace(p, temperature);
    const k = background ? p.length - 1 : p.length;
    let arg = 0;
    for (let c = 1; c < k; c++) if (p[c]! > p[arg]!) arg = c;
    return { conf: Number.isNaN(p[arg]!) ? 0 : p[arg]!, arg, bg: background && p[k]! > p[arg]! };
  };
  const inScope = oof.map((s, i) => {
    const r = top(s);
    return { ...r, right: r.arg === oofYs[i] };
  });
  const outScope = sim.map(top);
  // Background wins are rejections at any positive threshold; the rest are rejected below the threshold.
  // Rejecting the k lowest correct confidences costs (always-rejected + k) / in-scope rows.
  const right = inScope.filter((r) => r.right);
  const alwaysRejected = right.filter((r) => r.bg).length;
  const confidences = right.filter((r) => !r.bg).map((r) => r.conf).sort((a, b) => a - b);
  const k = Math.floor(maxCost * inScope.length) - alwaysRejected;
  // Just above the k-th lowest: those k are rejected, the (k+1)-th (possibly tied) is not.
  const best = k <= 0 || confidences.length === 0 ? 0 : Math.min(confidences[Math.min(k, confidences.length) - 1]! + 1e-9, confidences[k] ?? 1);
  const cost = right.filter((r) => r.bg || r.conf < best).length / Math.max(1, inScope.length);
  const recall = outScope.filter((r) => r.bg || r.conf < best).length / Math.max(1, outScope.length);
  log(`OOS simulation: ${outScope.length} rows of left-out intents; threshold ${best.toFixed(4)} costs ${(100 * cost).toFixed(2)} points, rejects ${(100 * recall).toFixed(1)}% of them`);
  return best;
}

/**
 * Features of the background pool lines that do not resemble any tenant example: cosine similarity (in a
 * TF-IDF space over both) above backgroundMaxSimilarity means the tenant owns that topic (a weather intent,
 * a joke intent), and the line would teach the model to reject the tenant's own messages.
 */
function backgroundRaws(featurizer: TextFeaturizer, tenant: RawFeatures[], hyper: IntentHyperParameters): RawFeatures[] {
  const pool = BACKGROUND_POOL.map((t) => featurizer.features(t));
  const vocab = buildVocabulary([...tenant, ...pool], hyper.groupWeights);
  const norm = hyper.groupWeights.reduce((a, w) => a + w * w, 0);
  // Inverted index feature → (tenant example, value), so each pool line costs its postings, not N dot products.
  const postings = new Map<number, Array<[number, number]>>();
  tenant.forEach((raw, n) => {
    const x = vectorize(vocab, raw);
    x.idx.forEach((i, k) => {
      let list = postings.get(i);
      if (!list) postings.set(i, (list = []));
      list.push([n, x.val[k]!]);
    });
  });
  return pool.filter((raw) => {
    const x = vectorize(vocab, raw);
    const dots = new Map<number, number>();
    x.idx.forEach((i, k) => {
      for (const [n, v] of postings.get(i) ?? []) dots.set(n, (dots.get(n) ?? 0) + v * x.val[k]!);
    });
    let best = 0;
    for (const d of dots.values()) if (d > best) best = d;
    return best / norm <= hyper.backgroundMaxSimilarity;
  });
}

/** Scores × coverage^γ: a per-message temperature, so the ranking is unchanged and only confidence drops. */
function shrink(scores: Float64Array, coverage: number, exponent: number): void {
  const factor = coverage ** exponent;
  for (let c = 0; c < scores.length; c++) scores[c]! *= factor;
}

interface ModelParts {
  intents: string[];
  threshold: number;
  temperature: number;
  coverageExponent: number;
  vocab: Vocabulary;
  featurizer: TextFeaturizer;
  linear: LinearModel;
  /** The last column of the linear model is the background class. */
  background: boolean;
}

function createModel(parts: ModelParts): IntentModel {
  const { intents, threshold, temperature, coverageExponent, vocab, featurizer, linear, background } = parts;
  const classes = linear.classes;
  return {
    intents,
    threshold,
    predict(text, options = {}) {
      const x = vectorize(vocab, featurizer.features(text));
      const p = new Float64Array(classes);
      linearScores(linear.weights, linear.bias, 1, classes, x, p);
      shrink(p, x.coverage, coverageExponent);
      softmaxInPlace(p, temperature);
      // The background class is not an intent: it only takes probability mass from the intents, and
      // winning it means out of scope.
      const order = Array.from(intents.keys())
        .sort((a, b) => p[b]! - p[a]!)
        .slice(0, RANKING_SIZE);
      const ranking = order.map((c) => ({ intent: intents[c]!, confidence: p[c]! }));
      const top = ranking[0]!;
      const limit = options.threshold ?? threshold;
      // A threshold of 0 means "never reject" (the evaluation's figures without rejection), background included.
      const offTopic = background && limit > 0 && p[classes - 1]! > top.confidence;
      // No known feature at all (emoji, a language the model never saw): nothing supports any intent.
      const outOfScope = x.idx.length === 0 || offTopic || top.confidence < limit;
      return { intent: outOfScope ? null : top.intent, confidence: top.confidence, outOfScope, ranking };
    },
    toJSON() {
      return {
        version: 1,
        intents,
        threshold,
        temperature,
        coverageExponent,
        features: featurizer.config,
        groupWeights: vocab.groupWeights,
        unseenIdf: vocab.unseenIdf,
        hashes: toBase64(vocab.hashes),
        groups: toBase64(vocab.groups),
        idf: toBase64(vocab.idf),
        weights: toBase64(linear.weights),
        bias: toBase64(linear.bias),
        ...(background ? { background: true } : {}),
      };
    },
  };
}

export function loadIntentModel(json: unknown): IntentModel {
  const doc = json as Partial<SerializedIntentModel> | null;
  const fail = (why: string): never => {
    throw new Error(`malformed intent model: ${why}`);
  };
  if (!doc || typeof doc !== 'object') fail('not an object');
  if (doc!.version !== 1) fail(`unsupported version ${String(doc!.version)}`);
  const { intents, threshold, temperature, coverageExponent, features, groupWeights, unseenIdf } = doc!;
  if (typeof coverageExponent !== 'number' || !(coverageExponent >= 0)) fail('coverageExponent');
  if (typeof unseenIdf !== 'number' || !(unseenIdf > 0)) fail('unseenIdf');
  if (!Array.isArray(intents) || intents.length < 2 || !intents.every((i) => typeof i === 'string')) fail('intents');
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) fail('threshold');
  if (typeof temperature !== 'number' || !(temperature > 0)) fail('temperature');
  if (!isFeatureConfig(features)) fail('features');
  if (!Array.isArray(groupWeights) || groupWeights.length !== FEATURE_GROUPS || !groupWeights.every(Number.isFinite)) fail('groupWeights');
  const hashes = fromBase64(doc!.hashes, Uint32Array) ?? fail('hashes');
  const groups = fromBase64(doc!.groups, Uint8Array) ?? fail('groups');
  const idf = fromBase64(doc!.idf, Float32Array) ?? fail('idf');
  const weights = fromBase64(doc!.weights, Float32Array) ?? fail('weights');
  const bias = fromBase64(doc!.bias, Float32Array) ?? fail('bias');
  const background = doc!.background === true;
  const classes = intents!.length + (background ? 1 : 0);
  if (groups.length !== hashes.length || idf.length !== hashes.length) fail('vocabulary arrays differ in length');
  if (weights.length !== hashes.length * classes || bias.length !== classes) fail('weights do not match the vocabulary');
  if (groups.some((g) => g > CHAR_GROUP)) fail('groups');
  const vocab: Vocabulary = { hashes, groups, idf, index: indexOf(hashes), groupWeights: groupWeights!, unseenIdf: unseenIdf! };
  return createModel({
    intents: intents!,
    threshold: threshold!,
    temperature: temperature!,
    coverageExponent: coverageExponent!,
    vocab,
    featurizer: createTextFeaturizer(jiebaSegmenter(), features!),
    linear: { weights, bias, classes },
    background,
  });
}

function isFeatureConfig(f: unknown): f is FeatureConfig {
  const c = f as FeatureConfig | undefined;
  const range = (r: unknown) => Array.isArray(r) && r.length === 2 && r.every((n) => Number.isInteger(n) && n >= 1 && n <= 8) && r[0] <= r[1];
  return !!c && typeof c === 'object' && range(c.hanNgrams) && range(c.wordNgrams) && typeof c.wordBigrams === 'boolean';
}

// ---------------------------------------------------------------------------------------------------------
// Small utilities.

type TypedArrayCtor<T> = { new (buffer: ArrayBuffer): T; BYTES_PER_ELEMENT: number };

function toBase64(a: Uint32Array | Uint8Array | Float32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

function fromBase64<T>(s: unknown, Ctor: TypedArrayCtor<T>): T | undefined {
  if (typeof s !== 'string') return undefined;
  const bytes = Buffer.from(s, 'base64');
  if (bytes.byteLength % Ctor.BYTES_PER_ELEMENT !== 0) return undefined;
  // Copy into a fresh, aligned buffer (Buffer.from may return a slice of a shared pool).
  const buffer = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(buffer).set(bytes);
  return new Ctor(buffer);
}

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle(a: Int32Array, random: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = a[i]!;
    a[i] = a[j]!;
    a[j] = tmp;
  }
}

function argmax(a: Float64Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}

function maxExamplesPerIntent(ys: Int32Array, classes: number): number {
  const counts = new Int32Array(classes);
  for (const y of ys) counts[y]!++;
  return Math.max(...counts);
}

/**
 * Fold number of each example, stratified: each intent's examples are shuffled and dealt round-robin,
 * starting at a random fold so small intents do not all land in fold 0. An intent with one example keeps
 * it in training (fold -1): it cannot be both learned and tested.
 */
export function stratifiedFolds(ys: ArrayLike<number>, classes: number, folds: number, random: () => number): Int32Array {
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  for (let n = 0; n < ys.length; n++) byClass[ys[n]!]!.push(n);
  const out = new Int32Array(ys.length).fill(-1);
  for (const members of byClass) {
    if (members.length < 2) continue;
    const order = Int32Array.from(members);
    shuffle(order, random);
    const start = Math.floor(random() * folds);
    order.forEach((n, i) => (out[n] = (start + i) % folds));
  }
  return out;
}
