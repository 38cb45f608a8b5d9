import { fileProblem, type ImportedEntry, type ParseResult } from './types.ts';

/**
 * FAQ sheets (CSV and XLSX share this): the first non-empty row names the columns, in Chinese or English,
 * case-insensitive:
 *   question (required)  问题 / 标准问题 / question / q / title
 *   answer   (required)  答案 / 回答 / answer / a / reply
 *   similar              相似问题 / 相似问法 / 扩展问题 / similar / similar questions / variants — split on | ; ； or newlines
 *   category             分类 / 类别 / 类目 / category
 *   tags                 标签 / tags / tag — split on | ; ； , ，
 * Other columns are ignored. Rows are reported by spreadsheet row number (the header row is row 1 when
 * it is the first row).
 */
type Column = 'question' | 'answer' | 'similar' | 'category' | 'tags';
const NAMES: Record<Column, readonly string[]> = {
  question: ['问题', '标准问题', '标准问', '问', 'question', 'questions', 'q', 'title', '标题'],
  answer: ['答案', '回答', '答复', '答', 'answer', 'answers', 'a', 'reply', 'response'],
  similar: ['相似问题', '相似问法', '相似问', '扩展问题', '扩展问', '同义问题', 'similar', 'similar questions', 'similar question', 'variants', 'alternatives', 'paraphrases'],
  category: ['分类', '类别', '类目', '目录', 'category', 'categories'],
  tags: ['标签', 'tags', 'tag', 'labels'],
};
const BY_NAME = new Map<string, Column>(Object.entries(NAMES).flatMap(([col, names]) => names.map((n) => [n, col as Column] as const)));
export const FAQ_COLUMNS_HINT = '问题 (question), 答案 (answer), and optionally 相似问题 (similar), 分类 (category), 标签 (tags)';

export const MAX_SHEET_ROWS = 20_000;
const MAX_COLUMN_NAME = 100;

const normalizeHeader = (h: string) => h.replace(/^\uFEFF/, '').replace(/[\s_]+/g, ' ').trim().toLowerCase();
const cellText = (v: unknown): string => (v == null ? '' : v instanceof Date ? v.toISOString().slice(0, 10) : String(v)).trim();

export function splitSimilar(s: string): string[] {
  return [...new Set(s.split(/[|;；\n\r]+/).map((x) => x.trim()).filter(Boolean))];
}
export function splitTags(s: string): string[] {
  return [...new Set(s.split(/[|;；,，、]+/).map((x) => x.trim()).filter(Boolean))];
}

/** Rows (arrays of cells) of a FAQ sheet → entries; `fileName` names the file in whole-file errors. */
export function faqFromRows(rows: unknown[][], fileName: string): ParseResult {
  const headerAt = rows.findIndex((r) => r.some((c) => cellText(c) !== ''));
  if (headerAt < 0) throw fileProblem(fileName, `the sheet is empty; the first row must name the columns: ${FAQ_COLUMNS_HINT}`);
  const header = rows[headerAt]!.map(cellText);
  const map: Partial<Record<Column, number>> = {};
  header.forEach((h, i) => {
    const col = BY_NAME.get(normalizeHeader(h));
    if (col && map[col] === undefined) map[col] = i;
  });
  const missing = (['question', 'answer'] as const).filter((c) => map[c] === undefined);
  if (missing.length) {
    const found = header.filter(Boolean).slice(0, 12).map((h) => `"${h.slice(0, MAX_COLUMN_NAME)}"`).join(', ') || 'none';
    const names = missing.map((c) => (c === 'question' ? '问题 (question)' : '答案 (answer)')).join(' and ');
    throw fileProblem(fileName, `the header row has no ${names} column. Columns found: ${found}. Expected: ${FAQ_COLUMNS_HINT}`);
  }
  const entries: ImportedEntry[] = [];
  const errors: ParseResult['errors'] = [];
  let dataRows = 0;
  for (let i = headerAt + 1; i < rows.length; i++) {
    const r = rows[i]!;
    const cell = (c: Column) => (map[c] === undefined ? '' : cellText(r[map[c]!]));
    if (r.every((c) => cellText(c) === '')) continue;
    if (++dataRows > MAX_SHEET_ROWS) throw fileProblem(fileName, `the sheet has more than ${MAX_SHEET_ROWS.toLocaleString('en')} rows; split it into smaller files`);
    const where = `row ${i + 1}`;
    const question = cell('question').replace(/\s+/g, ' ');
    const answer = cell('answer');
    if (!question) {
      errors.push({ where, message: 'the question is empty' });
      continue;
    }
    if (!answer) {
      errors.push({ where, message: `the answer to "${question.slice(0, 50)}" is empty` });
      continue;
    }
    entries.push({
      kind: 'faq',
      title: question,
      similarQuestions: splitSimilar(cell('similar')).filter((q) => q !== question),
      body: answer,
      category: cell('category') || null,
      tags: splitTags(cell('tags')),
      where,
    });
  }
  if (entries.length === 0 && errors.length === 0) throw fileProblem(fileName, 'the sheet has a header row but no FAQ rows');
  return { entries, errors };
}
