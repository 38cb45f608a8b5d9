import { createTextAnalyzer, KIND_COUNT, type AnalyzedText, type TextAnalyzer } from './text-analysis.ts';

/**
 * In-memory lexical retrieval index for the knowledge base (FAQ pairs and article chunks), Chinese and
 * English. Measurements behind every choice: scratch/docs-retrieval.md (`npm run eval -- retrieval`).
 *
 * Scoring, per query:
 * 1. BM25F over several feature kinds (jieba words, character 1/2/3-grams, word bigrams; English: stemmed
 *    words and character trigrams), each kind with its own weight, k1 and b. Fields of an entry (question,
 *    similar questions, title, body) are merged with per-field weights (BM25F: weighted term counts).
 * 2. The best `rerankDepth` candidates are re-scored with a character-level similarity (longest common
 *    subsequence ratio) between the normalised query and the entry's closest question variant.
 * 3. `confidence` ∈ [0, 1]: a logistic function of the normalised lexical score (BM25 divided by the
 *    best score the query's own terms could reach) and the character similarity. See `calibration` below.
 *
 * Incremental: entries are analysed once; upsert/remove update postings and document-frequency counts in
 * place. Removed entries leave dead postings that are skipped and compacted once they exceed a quarter.
 */

export interface RetrievalEntry {
  id: string;
  /** FAQ: question + similar questions; article chunk: title + text. */
  fields: { question?: string; similar?: string[]; title?: string; body?: string };
  locale?: string;
  tags?: string[];
}

export interface RetrievalHit {
  id: string;
  score: number;
  /** 0..1 normalised confidence-like score for thresholding. */
  confidence: number;
}

export interface RetrievalIndex {
  readonly size: number;
  upsert(entries: RetrievalEntry[]): void;
  remove(ids: string[]): void;
  search(query: string, options?: { limit?: number; locale?: string; tags?: string[] }): RetrievalHit[];
}

export interface RetrievalTuning {
  /** Weight of each feature kind: word, char1, char2, char3, wbigram, enword, engram (FEATURE_KINDS order). */
  kindWeights: number[];
  k1: number[];
  b: number[];
  /** Field weights (BM25F). */
  fieldWeights: { question: number; similar: number; title: number; body: number };
  /** Candidates re-scored with character similarity. */
  rerankDepth: number;
  /** Weight of the character similarity in the final score (the lexical part is normalised to 0..1). */
  charSimWeight: number;
  /** Pseudo-relevance feedback: terms of the top `prfDocs` entries added to the query with this weight (0 = off). */
  prfWeight: number;
  prfDocs: number;
  prfTerms: number;
  /** Logistic calibration of confidence: sigmoid(a·lexical + c·charSim + d). */
  calibration: { a: number; c: number; d: number };
}

export const DEFAULT_TUNING: RetrievalTuning = {
  kindWeights: [0.3, 1, 0, 0, 0, 1, 0.3],
  k1: [1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1.2],
  b: [1, 1, 1, 1, 1, 0.75, 0.75],
  fieldWeights: { question: 1, similar: 1, title: 1, body: 0.3 },
  rerankDepth: 50,
  charSimWeight: 0.6,
  prfWeight: 0,
  prfDocs: 3,
  prfTerms: 10,
  calibration: { a: 0, c: 9.7, d: -5 },
};

export interface RetrievalIndexOptions {
  tuning?: Partial<RetrievalTuning>;
  /** Share one analyser between indexes (building one loads the jieba dictionary). */
  analyzer?: TextAnalyzer;
}

interface Posting {
  docs: Int32Array;
  tfs: Float32Array;
  count: number;
  /** Live documents containing the term. */
  df: number;
  kind: number;
}

interface DocSlot {
  id: string;
  alive: boolean;
  locale: string | undefined;
  tags: Set<string> | undefined;
  /** Term ids and weighted counts, kept for removal, compaction and feedback. */
  termIds: Int32Array;
  tfs: Float32Array;
  /** Normalised question variants as similarity units (Han characters, other words) for the re-ranking. */
  variants: string[][];
}

export function createRetrievalIndex(options: RetrievalIndexOptions = {}): RetrievalIndex {
  const tuning: RetrievalTuning = { ...DEFAULT_TUNING, ...options.tuning };
  const analyzer = options.analyzer ?? createTextAnalyzer();

  const termIds = new Map<string, number>();
  const postings: Posting[] = [];
  const slots: DocSlot[] = [];
  const slotOf = new Map<string, number>();
  // Per kind: document length of each slot, and the sum over live documents.
  const lengths: Float32Array[] = [];
  for (let k = 0; k < KIND_COUNT; k++) lengths.push(new Float32Array(1024));
  const totalLength = new Float64Array(KIND_COUNT);
  let live = 0;
  let deadPostings = 0;
  let totalPostings = 0;
  let scores = new Float64Array(1024);
  let seen = new Uint8Array(1024);
  // Slots touched by the current query, reused between queries: a fresh array per query would put tens of
  // thousands of numbers on the young heap at 50,000 entries and show up as GC pauses in the p99.
  let touched = new Int32Array(1024);
  let touchedCount = 0;

  function ensureSlotCapacity(n: number): void {
    if (n <= scores.length) return;
    const cap = Math.max(n, scores.length * 2);
    for (let k = 0; k < KIND_COUNT; k++) {
      const next = new Float32Array(cap);
      next.set(lengths[k]!);
      lengths[k] = next;
    }
    scores = new Float64Array(cap);
    seen = new Uint8Array(cap);
    touched = new Int32Array(cap);
  }

  function termId(key: string): number {
    let id = termIds.get(key);
    if (id === undefined) {
      id = postings.length;
      termIds.set(key, id);
      postings.push({ docs: new Int32Array(4), tfs: new Float32Array(4), count: 0, df: 0, kind: Number(key[0]) });
    }
    return id;
  }

  function pushPosting(p: Posting, slot: number, tf: number): void {
    if (p.count === p.docs.length) {
      const docs = new Int32Array(p.count * 2);
      docs.set(p.docs);
      const tfs = new Float32Array(p.count * 2);
      tfs.set(p.tfs);
      p.docs = docs;
      p.tfs = tfs;
    }
    p.docs[p.count] = slot;
    p.tfs[p.count] = tf;
    p.count++;
  }

  function analyzeEntry(entry: RetrievalEntry): { analyzed: AnalyzedText; variants: string[][] } {
    const w = tuning.fieldWeights;
    const terms = new Map<string, number>();
    const lens = new Float64Array(KIND_COUNT);
    const variants: string[][] = [];
    const merge = (text: string | undefined, weight: number, variant: boolean): void => {
      if (!text || weight <= 0) return;
      const a = analyzer.analyze(text);
      // Kinds weighted 0 are not stored at all: they would only cost memory and indexing time.
      for (const [key, tf] of a.terms) if (tuning.kindWeights[Number(key[0])]! > 0) terms.set(key, (terms.get(key) ?? 0) + tf * weight);
      for (let k = 0; k < KIND_COUNT; k++) lens[k]! += a.lengths[k]! * weight;
      if (variant) variants.push(similarityUnits(analyzer.normalize(text)));
    };
    merge(entry.fields.question, w.question, true);
    for (const s of entry.fields.similar ?? []) merge(s, w.similar, true);
    merge(entry.fields.title, w.title, true);
    merge(entry.fields.body, w.body, false);
    return { analyzed: { terms, lengths: lens }, variants };
  }

  function removeSlot(slot: number): void {
    const doc = slots[slot]!;
    if (!doc.alive) return;
    doc.alive = false;
    live--;
    slotOf.delete(doc.id);
    for (let k = 0; k < KIND_COUNT; k++) totalLength[k]! -= lengths[k]![slot]!;
    for (const t of doc.termIds) postings[t]!.df--;
    deadPostings += doc.termIds.length;
    // The slot itself stays (postings still point at it until compaction); its payload can go now.
    doc.termIds = new Int32Array(0);
    doc.tfs = new Float32Array(0);
    doc.variants = [];
  }

  /** Drops dead postings; slots are kept (ids stay valid), so only the posting arrays shrink. */
  function compact(): void {
    for (const p of postings) {
      let j = 0;
      for (let i = 0; i < p.count; i++) {
        const slot = p.docs[i]!;
        if (!slots[slot]!.alive) continue;
        p.docs[j] = slot;
        p.tfs[j] = p.tfs[i]!;
        j++;
      }
      p.count = j;
    }
    totalPostings -= deadPostings;
    deadPostings = 0;
  }

  function upsert(entries: RetrievalEntry[]): void {
    for (const entry of entries) {
      const existing = slotOf.get(entry.id);
      if (existing !== undefined) removeSlot(existing);
      const { analyzed, variants } = analyzeEntry(entry);
      const slot = slots.length;
      ensureSlotCapacity(slot + 1);
      const ids = new Int32Array(analyzed.terms.size);
      const tfs = new Float32Array(analyzed.terms.size);
      let i = 0;
      for (const [key, tf] of analyzed.terms) {
        const t = termId(key);
        ids[i] = t;
        tfs[i] = tf;
        i++;
        const p = postings[t]!;
        pushPosting(p, slot, tf);
        p.df++;
      }
      totalPostings += ids.length;
      for (let k = 0; k < KIND_COUNT; k++) {
        lengths[k]![slot] = analyzed.lengths[k]!;
        totalLength[k]! += analyzed.lengths[k]!;
      }
      slots.push({
        id: entry.id,
        alive: true,
        locale: entry.locale,
        tags: entry.tags?.length ? new Set(entry.tags) : undefined,
        termIds: ids,
        tfs,
        variants,
      });
      slotOf.set(entry.id, slot);
      live++;
    }
  }

  function remove(ids: string[]): void {
    for (const id of ids) {
      const slot = slotOf.get(id);
      if (slot !== undefined) removeSlot(slot);
    }
    if (deadPostings > 1024 && deadPostings * 4 > totalPostings) compact();
  }

  function idf(df: number): number {
    return Math.log(1 + (live - df + 0.5) / (df + 0.5));
  }

  /**
   * Accumulates BM25F scores of `query` terms (term id → query weight) into `scores` and lists the slots
   * it touched in `touched`; returns the upper bound of the score (every term matched, saturated counts).
   */
  function accumulate(query: Map<number, number>): number {
    let bound = 0;
    const avg = totalLength.map((t) => (live > 0 ? t / live : 1) || 1);
    for (const [t, qw] of query) {
      const p = postings[t]!;
      if (p.df === 0) continue;
      const k = p.kind;
      const k1 = tuning.k1[k]!;
      const b = tuning.b[k]!;
      const w = tuning.kindWeights[k]! * qw * idf(p.df);
      if (w <= 0) continue;
      bound += w * (k1 + 1);
      const lens = lengths[k]!;
      const norm1 = k1 * (1 - b);
      const norm2 = (k1 * b) / avg[k]!;
      const docs = p.docs;
      const tfs = p.tfs;
      for (let i = 0; i < p.count; i++) {
        const slot = docs[i]!;
        const tf = tfs[i]!;
        const s = (w * tf * (k1 + 1)) / (tf + norm1 + norm2 * lens[slot]!);
        if (seen[slot] === 0) {
          seen[slot] = 1;
          scores[slot] = s;
          touched[touchedCount++] = slot;
        } else scores[slot]! += s;
      }
    }
    return bound;
  }

  /** Best `n` live, allowed slots of `touched` by score (descending). */
  function topSlots(n: number, allowed: (doc: DocSlot) => boolean): number[] {
    const best: number[] = [];
    let floor = -Infinity;
    for (let i0 = 0; i0 < touchedCount; i0++) {
      const slot = touched[i0]!;
      const s = scores[slot]!;
      if (best.length >= n && s <= floor) continue;
      const doc = slots[slot]!;
      if (!doc.alive || !allowed(doc)) continue;
      let i = best.length;
      if (best.length < n) best.push(slot);
      else i = n - 1;
      while (i > 0 && scores[best[i - 1]!]! < s) {
        best[i] = best[i - 1]!;
        i--;
      }
      best[i] = slot;
      if (best.length >= n) floor = scores[best[n - 1]!]!;
    }
    return best;
  }

  function clear(): void {
    for (let i = 0; i < touchedCount; i++) {
      const slot = touched[i]!;
      seen[slot] = 0;
      scores[slot] = 0;
    }
    touchedCount = 0;
  }

  function search(text: string, opts: { limit?: number; locale?: string; tags?: string[] } = {}): RetrievalHit[] {
    const limit = Math.max(1, opts.limit ?? 10);
    if (live === 0) return [];
    const analyzed = analyzer.analyze(text);
    const query = new Map<number, number>();
    // Query terms no entry contains still count in the bound of the lexical score (at the highest idf): a
    // query whose only known term is 电 must not look like a perfect match. Hence "coverage of the query".
    let unknownBound = 0;
    for (const [key, tf] of analyzed.terms) {
      const t = termIds.get(key);
      // Repeated query terms count sub-linearly: 钱钱钱 is not three times as much about money.
      const qw = 1 + Math.log(tf);
      const kind = Number(key[0]);
      if (t !== undefined && postings[t]!.df > 0) query.set(t, qw);
      else unknownBound += tuning.kindWeights[kind]! * qw * idf(0) * (tuning.k1[kind]! + 1);
    }
    if (query.size === 0) return [];
    const locale = opts.locale;
    const tags = opts.tags?.length ? opts.tags : undefined;
    const allowed = (doc: DocSlot): boolean =>
      (!locale || !doc.locale || doc.locale === locale || doc.locale.split('-')[0] === locale.split('-')[0]) &&
      (!tags || (doc.tags !== undefined && tags.some((tag) => doc.tags!.has(tag))));

    let bound = accumulate(query) + unknownBound;
    const depth = Math.max(limit, tuning.rerankDepth);

    if (tuning.prfWeight > 0 && tuning.prfDocs > 0) {
      const feedback = topSlots(tuning.prfDocs, allowed);
      const extra = new Map<number, number>();
      for (const slot of feedback) {
        const doc = slots[slot]!;
        for (let i = 0; i < doc.termIds.length; i++) {
          const t = doc.termIds[i]!;
          if (query.has(t)) continue;
          extra.set(t, (extra.get(t) ?? 0) + doc.tfs[i]! * idf(postings[t]!.df));
        }
      }
      const chosen = [...extra].sort((x, y) => y[1] - x[1]).slice(0, tuning.prfTerms);
      const top = chosen[0]?.[1] ?? 1;
      const expansion = new Map<number, number>(chosen.map(([t, v]) => [t, (tuning.prfWeight * v) / top]));
      clear();
      for (const [t, w] of expansion) query.set(t, w);
      bound = accumulate(query);
      // The bound stays that of the original query, so confidence is not inflated by the feedback terms.
      bound = unknownBound;
      for (const [t, w] of query) if (!expansion.has(t)) bound += boundOf(t, w);
    }

    const candidates = topSlots(depth, allowed);
    const qNorm = similarityUnits(analyzer.normalize(text));
    const hits = candidates.map((slot) => {
      const lexical = bound > 0 ? Math.min(1, scores[slot]! / bound) : 0;
      const doc = slots[slot]!;
      let sim = 0;
      for (const v of doc.variants) sim = Math.max(sim, lcsRatio(qNorm, v));
      const score = lexical + tuning.charSimWeight * sim;
      const c = tuning.calibration;
      const confidence = 1 / (1 + Math.exp(-(c.a * lexical + c.c * sim + c.d)));
      return { id: doc.id, score, confidence };
    });
    clear();
    hits.sort((x, y) => y.score - x.score);
    return hits.slice(0, limit);
  }

  function boundOf(t: number, qw: number): number {
    const p = postings[t]!;
    if (p.df === 0) return 0;
    return tuning.kindWeights[p.kind]! * qw * idf(p.df) * (tuning.k1[p.kind]! + 1);
  }

  return {
    get size() {
      return live;
    },
    upsert,
    remove,
    search,
  };
}

const UNIT = /\p{Script=Han}|[^\s\p{Script=Han}]+/gu;

/** Units compared by the re-ranking: each Han character, each other word (so English compares words, not letters). */
export function similarityUnits(text: string): string[] {
  return text.match(UNIT) ?? [];
}

/**
 * 2·LCS / (|a| + |b|) over similarity units (strings are split with `similarityUnits`): 1 for equal texts,
 * 0 for texts with no unit in common. Order-aware, unlike the bag-of-features BM25 it complements.
 */
export function lcsRatio(a: string | string[], b: string | string[]): number {
  const x = typeof a === 'string' ? similarityUnits(a) : a;
  const y = typeof b === 'string' ? similarityUnits(b) : b;
  if (x.length === 0 || y.length === 0) return 0;
  let prev = new Uint16Array(y.length + 1);
  let cur = new Uint16Array(y.length + 1);
  for (let i = 1; i <= x.length; i++) {
    for (let j = 1; j <= y.length; j++) {
      cur[j] = x[i - 1] === y[j - 1] ? prev[j - 1]! + 1 : Math.max(prev[j]!, cur[j - 1]!);
    }
    [prev, cur] = [cur, prev];
  }
  return (2 * prev[y.length]!) / (x.length + y.length);
}

/**
 * Reciprocal-rank fusion of the lexical hits with vector hits (pgvector cosine) when an embedding
 * provider is configured: score = Σ 1/(k + rank). RRF needs no score calibration between the two lists,
 * which is why it is used; `confidence` is the larger of the lexical confidence and the cosine similarity
 * (clamped to 0..1), so an entry found by only one side can still pass a threshold.
 */
export function fuseHits(
  lexical: RetrievalHit[],
  vector: Array<{ id: string; similarity: number }>,
  options: { k?: number; limit?: number } = {},
): RetrievalHit[] {
  const k = options.k ?? 60;
  const fused = new Map<string, { score: number; confidence: number }>();
  lexical.forEach((hit, rank) => {
    const f = fused.get(hit.id) ?? { score: 0, confidence: 0 };
    f.score += 1 / (k + rank + 1);
    f.confidence = Math.max(f.confidence, hit.confidence);
    fused.set(hit.id, f);
  });
  [...vector]
    .sort((a, b) => b.similarity - a.similarity)
    .forEach((hit, rank) => {
      const f = fused.get(hit.id) ?? { score: 0, confidence: 0 };
      f.score += 1 / (k + rank + 1);
      f.confidence = Math.max(f.confidence, Math.min(1, Math.max(0, hit.similarity)));
      fused.set(hit.id, f);
    });
  return [...fused]
    .map(([id, f]) => ({ id, score: f.score, confidence: f.confidence }))
    .sort((a, b) => b.score - a.score || b.confidence - a.confidence)
    .slice(0, options.limit ?? 10);
}
