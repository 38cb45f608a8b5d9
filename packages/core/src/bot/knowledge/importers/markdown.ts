import { marked, type Token, type Tokens } from 'marked';
import { baseTitle, decodeText, fileProblem, requireText, type ImportedEntry, type ParseResult } from './types.ts';

/**
 * Markdown documents → knowledge-base entries (HTML, DOCX and PDF are converted to Markdown first and come
 * through here too). Three shapes, tried in this order:
 *
 * 1. Q/A lines — a FAQ list written as
 *        Q: 怎么退货？            (also 问: / 问题: / **Q:**, full-width colon allowed)
 *        相似问题: 如何退货 | 退货流程   (optional; also "Similar:")
 *        A: 在订单页面点击…       (also 答: / 答案:; the answer runs until the next Q or heading)
 *    Every Q with an answer becomes a FAQ entry; the heading above it, if any, is its category.
 * 2. Question headings — when every heading of one level (## or ###, at least two of them) ends with
 *    "?" or "？", each becomes a FAQ entry whose answer is the text under it; the heading one level up is
 *    its category.
 * 3. Otherwise articles: a document with several H1s gives one article per H1; with one H1 (or none) one
 *    article per H2, the H1 (or the file name) as their category, and the text before the first H2 as an
 *    article titled by the H1. Deeper headings stay inside the article (the chunker uses them). A
 *    document without H1/H2 is one article titled by its H1 or its file name.
 */
export const MARKDOWN_SHAPES_HINT = 'FAQ as "Q: … / A: …" lines or "## question？" headings; anything else becomes articles split at # / ## headings';

const Q_LINE = /^\s*(?:[*_]{2})?(?:Q|问|问题)\s*(?:[*_]{2})?\s*[:：]\s*(?:[*_]{2})?\s*(.*)$/i;
const A_LINE = /^\s*(?:[*_]{2})?(?:A|答|答案|回答)\s*(?:[*_]{2})?\s*[:：]\s*(?:[*_]{2})?\s*(.*)$/i;
const SIMILAR_LINE = /^\s*(?:[*_]{2})?(?:相似问题|相似问法|similar(?: questions)?)\s*(?:[*_]{2})?\s*[:：]\s*(.*)$/i;
const HEADING_LINE = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;

const plainHeading = (s: string) => s.replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[*_`~]+/g, '').trim();
const isQuestion = (s: string) => /[?？]\s*$/.test(s);

export function parseMarkdown(bytes: Buffer, fileName: string): ParseResult {
  requireText(bytes, fileName, 'a Markdown document');
  return parseMarkdownText(decodeText(bytes, fileName), fileName);
}

/** `defaultTitle`: the title of a document without H1 (HTML <title>, PDF metadata), else the file name. */
export function parseMarkdownText(md: string, fileName: string, defaultTitle?: string): ParseResult {
  const text = md.replace(/\r\n?/g, '\n');
  if (!text.trim()) throw fileProblem(fileName, 'the document has no text');
  const tokens = marked.lexer(text);
  const qa = qaLines(text);
  if (qa) return qa;
  const byHeadings = questionHeadings(tokens);
  if (byHeadings) return byHeadings;
  return articles(tokens, defaultTitle?.trim() || baseTitle(fileName), fileName);
}

function qaLines(text: string): ParseResult | null {
  const lines = text.split('\n');
  let fence = false;
  const hasQ = lines.some((l) => Q_LINE.test(l));
  const hasA = lines.some((l) => A_LINE.test(l));
  if (!hasQ || !hasA) return null;
  const entries: ImportedEntry[] = [];
  const errors: ParseResult['errors'] = [];
  let category: string | null = null;
  let cur: { q: string; similar: string[]; answer: string[] | null; line: number } | null = null;
  const flush = () => {
    if (!cur) return;
    const body = (cur.answer ?? []).join('\n').trim();
    if (!body) errors.push({ where: `line ${cur.line}`, message: `the question "${cur.q.slice(0, 50)}" has no answer (an "A:" line)` });
    else entries.push({ kind: 'faq', title: cur.q, similarQuestions: cur.similar, body, category, tags: [], where: `line ${cur.line}` });
    cur = null;
  };
  lines.forEach((line, i) => {
    if (/^\s{0,3}(```|~~~)/.test(line)) fence = !fence;
    if (!fence) {
      const h = HEADING_LINE.exec(line);
      if (h) {
        flush();
        category = plainHeading(h[2]!) || null;
        return;
      }
      const q = Q_LINE.exec(line);
      if (q) {
        flush();
        cur = { q: plainHeading(q[1]!), similar: [], answer: null, line: i + 1 };
        return;
      }
      const s = cur && cur.answer === null ? SIMILAR_LINE.exec(line) : null;
      if (s && cur) {
        cur.similar.push(...s[1]!.split(/[|;；]/).map((x) => x.trim()).filter(Boolean));
        return;
      }
      const a = cur && cur.answer === null ? A_LINE.exec(line) : null;
      if (a && cur) {
        cur.answer = [a[1]!];
        return;
      }
    }
    if (cur?.answer) cur.answer.push(line);
  });
  flush();
  return { entries, errors };
}

interface Section {
  title: string;
  depth: number;
  parent: string | null;
  raw: string[];
}

/** Splits tokens at headings of depth ≤ `depth`; text before the first such heading is section 0 (title null). */
function split(tokens: Token[], depth: number): { intro: string; sections: Section[] } {
  let intro = '';
  const sections: Section[] = [];
  const path: string[] = [];
  for (const t of tokens) {
    if (t.type === 'heading') {
      const h = t as Tokens.Heading;
      path.length = h.depth - 1;
      path[h.depth - 1] = plainHeading(h.text);
      if (h.depth <= depth) {
        const parent = [...path.slice(0, h.depth - 1)].reverse().find(Boolean) ?? null;
        sections.push({ title: plainHeading(h.text), depth: h.depth, parent, raw: [] });
        continue;
      }
    }
    if (sections.length) sections[sections.length - 1]!.raw.push(t.raw);
    else intro += t.raw;
  }
  return { intro: intro.trim(), sections };
}

function questionHeadings(tokens: Token[]): ParseResult | null {
  const headings = tokens.filter((t): t is Tokens.Heading => t.type === 'heading');
  for (const depth of [2, 3]) {
    const at = headings.filter((h) => h.depth === depth);
    if (at.length < 2 || !at.every((h) => isQuestion(plainHeading(h.text)))) continue;
    const { sections } = split(tokens, depth);
    const entries: ImportedEntry[] = [];
    const errors: ParseResult['errors'] = [];
    for (const s of sections) {
      if (s.depth < depth) continue; // a category heading: its own text (if any) is not an answer
      const body = s.raw.join('').trim();
      if (!body) errors.push({ where: `section "${s.title.slice(0, 50)}"`, message: 'the question has no answer under it' });
      else entries.push({ kind: 'faq', title: s.title, similarQuestions: [], body, category: s.parent, tags: [], where: `section "${s.title.slice(0, 50)}"` });
    }
    return { entries, errors };
  }
  return null;
}

function articles(tokens: Token[], fallbackTitle: string, fileName: string): ParseResult {
  const h1s = tokens.filter((t): t is Tokens.Heading => t.type === 'heading' && t.depth === 1);
  const entries: ImportedEntry[] = [];
  if (h1s.length >= 2) {
    const { intro, sections } = split(tokens, 1);
    if (intro) entries.push({ kind: 'article', title: fallbackTitle, similarQuestions: [], body: intro, category: null, tags: [], where: 'the text before the first heading' });
    for (const s of sections) {
      const body = s.raw.join('').trim();
      if (body) entries.push({ kind: 'article', title: s.title, similarQuestions: [], body, category: null, tags: [], where: `section "${s.title.slice(0, 50)}"` });
    }
  } else {
    const docTitle = h1s[0] ? plainHeading(h1s[0].text) : fallbackTitle;
    const { intro, sections } = split(tokens, 2);
    const h2s = sections.filter((s) => s.depth === 2);
    if (h2s.length === 0) {
      // No H2: one article; its H1 (if any) is the title, not part of the body.
      const body = [intro, ...sections.map((s) => s.raw.join('').trim())].filter(Boolean).join('\n\n');
      if (body) entries.push({ kind: 'article', title: docTitle, similarQuestions: [], body, category: null, tags: [], where: 'the document' });
    } else {
      const before = [intro, ...sections.filter((s) => s.depth === 1).map((s) => s.raw.join('').trim())].filter(Boolean).join('\n\n');
      if (before) entries.push({ kind: 'article', title: docTitle, similarQuestions: [], body: before, category: docTitle, tags: [], where: 'the text before the first ## heading' });
      for (const s of h2s) {
        const body = s.raw.join('').trim();
        if (body) entries.push({ kind: 'article', title: s.title, similarQuestions: [], body, category: docTitle, tags: [], where: `section "${s.title.slice(0, 50)}"` });
      }
    }
  }
  if (entries.length === 0) throw fileProblem(fileName, 'the document has headings but no text under them');
  return { entries, errors: [] };
}
