/**
 * Splits an article (Markdown or plain text) into retrieval chunks.
 *
 * Why chunks: a whole help-center article matches almost every query a little and none well; BM25 and
 * embeddings both work best on passages of a few hundred characters that talk about one thing. So:
 * 1. The text is cut at headings (ATX `#`…`######`, and Setext `===`/`---` underlines); each section
 *    remembers its heading path ("退换货政策 › 退货条件"), which is indexed with the chunk as its title,
 *    because a paragraph often does not repeat the words of its heading.
 * 2. A section is packed paragraph by paragraph into chunks of at most `maxChars` (default 800); a
 *    paragraph longer than that is cut at sentence ends — Chinese 。！？；and English . ! ? followed by a space
 *    — and only as a last resort at `maxChars`.
 * 3. A chunk shorter than `minChars` (default 300) is merged into the previous chunk of the same section
 *    when that stays within `maxChars`, so a heading followed by one short line is not a chunk of its own.
 * Fenced code blocks are kept whole (up to maxChars) and never split at headings-looking lines inside them.
 */

export interface Chunk {
  /** Heading path of the section, joined with " › "; null before the first heading. */
  heading: string | null;
  text: string;
}

export interface ChunkOptions {
  minChars?: number;
  maxChars?: number;
}

const HEADING_SEP = ' › ';

interface Section {
  path: string[];
  lines: string[];
}

/** Sections of a Markdown text, split at headings; the lines keep their Markdown. */
function sections(text: string): Section[] {
  const out: Section[] = [];
  const path: string[] = [];
  const levels: number[] = [];
  let current: Section = { path: [], lines: [] };
  let fence: string | null = null;
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const open = (level: number, title: string) => {
    out.push(current);
    while (levels.length && levels[levels.length - 1]! >= level) {
      levels.pop();
      path.pop();
    }
    levels.push(level);
    path.push(title);
    current = { path: [...path], lines: [] };
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const f = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (f) {
      if (fence === null) fence = f[1]![0]!;
      else if (f[1]![0] === fence) fence = null;
      current.lines.push(line);
      continue;
    }
    if (fence !== null) {
      current.lines.push(line);
      continue;
    }
    const atx = /^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (atx && atx[2]) {
      open(atx[1]!.length, stripInline(atx[2]));
      continue;
    }
    const next = lines[i + 1];
    // Setext: a text line underlined by === (h1) or --- (h2); a "---" after a blank line is a rule.
    if (next !== undefined && line.trim() && !/^\s*[-*+>]|^\s*\d+[.)]\s/.test(line) && /^\s{0,3}(=+|-+)\s*$/.test(next)) {
      open(next.trim()[0] === '=' ? 1 : 2, stripInline(line.trim()));
      i++;
      continue;
    }
    current.lines.push(line);
  }
  out.push(current);
  return out.filter((s) => s.lines.some((l) => l.trim()) || s.path.length > 0);
}

/** Heading text without Markdown emphasis, links and code marks. */
function stripInline(s: string): string {
  return s
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/[*_`~]+/g, '')
    .trim();
}

/** Paragraphs (blank-line separated blocks; a fenced code block is one paragraph). */
function paragraphs(lines: string[]): string[] {
  const out: string[] = [];
  let cur: string[] = [];
  let fence: string | null = null;
  const flush = () => {
    const p = cur.join('\n').trim();
    if (p) out.push(p);
    cur = [];
  };
  for (const line of lines) {
    const f = /^\s{0,3}(`{3,}|~{3,})/.exec(line);
    if (f) {
      if (fence === null) {
        flush();
        fence = f[1]![0]!;
      } else if (f[1]![0] === fence) {
        cur.push(line);
        fence = null;
        flush();
        continue;
      }
    }
    if (fence === null && line.trim() === '') flush();
    else cur.push(line);
  }
  flush();
  return out;
}

/**
 * Sentences of a paragraph: ends at 。！？；… (Chinese, optionally followed by a closing quote or bracket),
 * at . ! ? followed by whitespace (English), and at line breaks inside the paragraph (list items).
 */
export function splitSentences(text: string): string[] {
  const out: string[] = [];
  const chars = [...text];
  let cur = '';
  const push = () => {
    const s = cur.trim();
    if (s) out.push(s);
    cur = '';
  };
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '\n') {
      push();
      continue;
    }
    cur += c;
    const zh = '。！？；'.includes(c);
    // English ends need whitespace after them: "3.5" and "e.g.x" stay inside the sentence.
    const en = '.!?'.includes(c) && (i + 1 === chars.length || /\s/.test(chars[i + 1]!) || '.!?"\')”’'.includes(chars[i + 1]!));
    if (!zh && !en) continue;
    while (i + 1 < chars.length && '。！？；.!?”’」』）)"\''.includes(chars[i + 1]!)) cur += chars[++i];
    if (zh || i + 1 === chars.length || /\s/.test(chars[i + 1]!)) push();
  }
  push();
  return out;
}

const isLatin = (c: string | undefined) => c !== undefined && /[A-Za-z0-9]/.test(c);
/** Joins sentences with a space between Latin-script ends, none between Chinese ones. */
function joinSentences(parts: string[]): string {
  let out = '';
  for (const p of parts) {
    if (out && (isLatin(out[out.length - 1]) || /[.!?,;:'")\]]/.test(out[out.length - 1]!) || isLatin(p[0]))) out += ' ';
    out += p;
  }
  return out;
}

/** Cuts a paragraph longer than max at sentence ends (and, inside an over-long sentence, at max). */
function splitLong(paragraph: string, max: number): string[] {
  if (paragraph.length <= max) return [paragraph];
  const pieces: string[] = [];
  let cur: string[] = [];
  let len = 0;
  for (let s of splitSentences(paragraph)) {
    while (s.length > max) {
      if (cur.length) {
        pieces.push(joinSentences(cur));
        cur = [];
        len = 0;
      }
      pieces.push(s.slice(0, max));
      s = s.slice(max);
    }
    if (len + s.length + 1 > max && cur.length) {
      pieces.push(joinSentences(cur));
      cur = [];
      len = 0;
    }
    cur.push(s);
    len += s.length + 1;
  }
  if (cur.length) pieces.push(joinSentences(cur));
  return pieces;
}

/** The chunks of an article body; `title` (the article's title) heads every heading path. */
export function chunkArticle(title: string, body: string, options: ChunkOptions = {}): Chunk[] {
  const min = options.minChars ?? 300;
  const max = options.maxChars ?? 800;
  const out: Chunk[] = [];
  for (const section of sections(body)) {
    // The article title is the root of the path unless the document's own H1 repeats it.
    const path = section.path[0] === title ? section.path : [title, ...section.path].filter(Boolean);
    const heading = path.length ? path.join(HEADING_SEP) : null;
    const pieces = paragraphs(section.lines).flatMap((p) => splitLong(p, max));
    const chunks: string[] = [];
    let cur = '';
    for (const p of pieces) {
      if (cur && cur.length + 2 + p.length > max) {
        chunks.push(cur);
        cur = p;
      } else cur = cur ? `${cur}\n\n${p}` : p;
    }
    if (cur) chunks.push(cur);
    // A short tail joins the chunk before it when both fit.
    for (let i = chunks.length - 1; i > 0; i--) {
      if (chunks[i]!.length < min && chunks[i - 1]!.length + 2 + chunks[i]!.length <= max) {
        chunks[i - 1] = `${chunks[i - 1]}\n\n${chunks[i]}`;
        chunks.splice(i, 1);
      }
    }
    for (const text of chunks) out.push({ heading, text });
  }
  // An article with no text at all still needs one chunk so it can be found by its title.
  if (out.length === 0) out.push({ heading: title || null, text: title });
  return out;
}

/** Markdown → plain text for snippets and embeddings (links keep their text, images their alt text). */
export function markdownToPlain(md: string): string {
  return md
    .replace(/```[^\n]*\n([\s\S]*?)```/g, '$1')
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/^[ \t]{0,3}#{1,6}[ \t]+/gm, '')
    .replace(/^[ \t]{0,3}>[ \t]?/gm, '')
    .replace(/^[ \t]*(?:[-*+]|\d+[.)])[ \t]+/gm, '')
    .replace(/(\*\*|__|`|~~)/g, '')
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** The first `max` characters of a text, cut at a sentence end when one is near. */
export function snippetOf(text: string, max = 200): string {
  const plain = markdownToPlain(text).replace(/\s+/g, ' ');
  if (plain.length <= max) return plain;
  const cut = plain.slice(0, max);
  const end = Math.max(...['。', '！', '？', '. ', '! ', '? '].map((m) => cut.lastIndexOf(m)));
  return end > max * 0.5 ? cut.slice(0, end + 1).trim() : `${cut.trim()}…`;
}
