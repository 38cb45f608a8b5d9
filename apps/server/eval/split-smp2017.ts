import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { mulberry32 } from '@huiliu/core/bot/nlu/intent-model';

/**
 * Deterministic stratified split of an intent TSV (`text<TAB>label`) into a development train and test
 * part, for tuning on the Chinese set without touching its final 5-fold figure:
 *
 *   node --import tsx apps/server/eval/split-smp2017.ts --in ../shared/data/intents-zh-smp2017-train.tsv \
 *     --out /tmp/smp2017-split [--test-share 0.2] [--seed 7]
 *
 * writes <out>/<name>-dev-train.tsv and <out>/<name>-dev-test.tsv. Each label's lines are shuffled with the
 * seed and the first round(share × n) go to test (at least one when a label has two or more lines). The
 * output directory must be outside the repository: the data set is not ours to commit.
 */
const { values } = parseArgs({
  options: {
    in: { type: 'string' },
    out: { type: 'string' },
    'test-share': { type: 'string', default: '0.2' },
    seed: { type: 'string', default: '7' },
  },
  strict: true,
});
const usage = 'usage: split-smp2017.ts --in FILE --out DIR [--test-share 0.2] [--seed 7]';
if (!values.in || !values.out) fail(usage);
if (!existsSync(values.in!)) fail(`${values.in}: no such file`);
const share = Number(values['test-share']);
if (!(share > 0 && share < 1)) fail(`--test-share must be between 0 and 1, got ${values['test-share']}`);
const seed = Number(values.seed);
if (!Number.isInteger(seed)) fail(`--seed must be an integer, got ${values.seed}`);
const out = resolve(values.out!);
const repo = resolve(import.meta.dirname, '../../..');
if (out === repo || out.startsWith(repo + '/')) fail(`--out ${out} is inside the repository; write the split elsewhere (e.g. /tmp)`);

const byLabel = new Map<string, string[]>();
readFileSync(values.in!, 'utf8')
  .split(/\r?\n/)
  .forEach((line, i) => {
    if (!line.trim()) return;
    const tab = line.lastIndexOf('\t');
    if (tab <= 0) fail(`${values.in}:${i + 1}: expected "text<TAB>label"`);
    const label = line.slice(tab + 1).trim();
    byLabel.set(label, [...(byLabel.get(label) ?? []), line]);
  });

const random = mulberry32(seed);
const train: string[] = [];
const test: string[] = [];
for (const label of [...byLabel.keys()].sort()) {
  const lines = [...byLabel.get(label)!];
  for (let i = lines.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [lines[i], lines[j]] = [lines[j]!, lines[i]!];
  }
  const k = lines.length >= 2 ? Math.max(1, Math.round(share * lines.length)) : 0;
  test.push(...lines.slice(0, k));
  train.push(...lines.slice(k));
}
mkdirSync(out, { recursive: true });
const name = basename(values.in!).replace(/\.tsv$/, '');
const trainFile = join(out, `${name}-dev-train.tsv`);
const testFile = join(out, `${name}-dev-test.tsv`);
writeFileSync(trainFile, `${train.join('\n')}\n`);
writeFileSync(testFile, `${test.join('\n')}\n`);
process.stderr.write(`${byLabel.size} labels: ${train.length} lines → ${trainFile}, ${test.length} lines → ${testFile}\n`);

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}
