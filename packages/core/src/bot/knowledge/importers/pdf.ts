import { fileProblem, isPdf, wrongFormat, type ParseResult } from './types.ts';
import { parseMarkdownText } from './markdown.ts';

/**
 * PDF: the text layer of every page (pdfjs-dist, legacy build for Node), in reading order as pdfjs gives
 * it. Structure is guessed from the layout: a larger vertical gap than usual starts a new paragraph, and a
 * short line set clearly larger than the body text becomes a heading (# for the largest size, ## for the
 * rest), so a PDF manual splits into articles and chunks like a Markdown one. Scanned PDFs (images, no
 * text layer) have nothing to import: that is a clear error, not an empty import (no OCR).
 *
 * Security: fonts are not loaded and no code is evaluated (isEvalSupported: false); the parser runs in this
 * process ("fake worker"), which is fine for documents an admin uploads.
 */
const MAX_PAGES = 2000;

interface Line {
  text: string;
  size: number;
  y: number;
  page: number;
}

export async function parsePdf(bytes: Buffer, fileName: string): Promise<ParseResult> {
  if (!isPdf(bytes)) throw wrongFormat(fileName, 'this is not a PDF (it does not start with %PDF-); upload a PDF file');
  const pdfjs = await import('pdfjs-dist/legacy/build/pdf.mjs');
  let doc;
  try {
    doc = await pdfjs.getDocument({
      data: new Uint8Array(bytes),
      isEvalSupported: false,
      disableFontFace: true,
      useSystemFonts: false,
      stopAtErrors: false,
      verbosity: 0,
    }).promise;
  } catch (err) {
    const e = err as Error;
    const why = e.name === 'PasswordException' ? 'the PDF is password-protected; remove the password and upload it again' : `the PDF cannot be read (${e.message}); it may be damaged`;
    throw fileProblem(fileName, why);
  }
  try {
    if (doc.numPages > MAX_PAGES) throw fileProblem(fileName, `the PDF has ${doc.numPages} pages; at most ${MAX_PAGES} are imported — split it`);
    const lines: Line[] = [];
    for (let p = 1; p <= doc.numPages; p++) {
      const page = await doc.getPage(p);
      const content = await page.getTextContent();
      let cur: Line | null = null;
      for (const item of content.items) {
        if (!('str' in item)) continue;
        // Empty items only mark line ends; their size is the next line's (a following heading's) — ignore it.
        if (item.str) {
          const y = item.transform[5] as number;
          const size = Math.abs(item.height || (item.transform[3] as number) || 0);
          if (!cur) cur = { text: '', size: 0, y, page: p };
          cur.text += item.str;
          cur.size = Math.max(cur.size, size);
        }
        if (item.hasEOL && cur) {
          if (cur.text.trim()) lines.push({ ...cur, text: cur.text.trim() });
          cur = null;
        }
      }
      if (cur?.text.trim()) lines.push({ ...cur, text: cur.text.trim() });
      page.cleanup();
    }
    if (lines.length === 0) throw fileProblem(fileName, 'the PDF has no text layer (a scan?); only PDFs with selectable text can be imported');
    let title: string | undefined;
    try {
      const meta = await doc.getMetadata();
      const t = (meta.info as { Title?: unknown } | undefined)?.Title;
      if (typeof t === 'string' && t.trim()) title = t.trim();
    } catch {
      // no metadata: the first heading or the file name titles the document
    }
    return parseMarkdownText(linesToMarkdown(lines), fileName, title);
  } finally {
    await doc.destroy();
  }
}

/** Lines → Markdown: headings by font size, paragraphs by vertical gaps, pages as paragraph breaks. */
export function linesToMarkdown(lines: Line[]): string {
  // Body size: the size carrying the most characters.
  const bySize = new Map<number, number>();
  for (const l of lines) bySize.set(Math.round(l.size), (bySize.get(Math.round(l.size)) ?? 0) + l.text.length);
  const body = [...bySize].sort((a, b) => b[1] - a[1])[0]![0] || 1;
  const headingSizes = [...new Set(lines.filter((l) => l.size >= body * 1.2 && l.text.length <= 80).map((l) => Math.round(l.size)))].sort((a, b) => b - a);
  const gaps = lines.slice(1).map((l, i) => (l.page === lines[i]!.page ? Math.abs(lines[i]!.y - l.y) : 0)).filter((g) => g > 0).sort((a, b) => a - b);
  const usualGap = gaps.length ? gaps[Math.floor(gaps.length / 2)]! : body * 1.2;
  let out = '';
  let prev: Line | null = null;
  for (const l of lines) {
    const rank = l.text.length <= 80 ? headingSizes.indexOf(Math.round(l.size)) : -1;
    if (rank >= 0) {
      out += `\n\n${rank === 0 && headingSizes.length > 1 ? '#' : '##'} ${l.text}\n\n`;
    } else {
      const newPara = !prev || prev.page !== l.page || Math.abs(prev.y - l.y) > usualGap * 1.4 || out.endsWith('\n\n');
      const cjkJoin = /[\p{Script=Han}，。；：！？、]$/u.test(out) && /^[\p{Script=Han}，。；：！？、]/u.test(l.text);
      out += newPara ? `\n\n${l.text}` : `${cjkJoin ? '' : ' '}${l.text}`;
    }
    prev = l;
  }
  return out.replace(/\n{3,}/g, '\n\n').trim();
}
