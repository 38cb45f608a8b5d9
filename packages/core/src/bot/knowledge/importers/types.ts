import { AppError, invalid } from '../../../shared/errors.ts';

/**
 * What every importer returns: entries ready to be validated and written, and the problems of single
 * rows / sections (the rest of the file still imports). A problem with the file as a whole (corrupt,
 * wrong format, missing columns) is thrown as an AppError naming the file and what was expected.
 */
export interface ImportedEntry {
  kind: 'faq' | 'article';
  title: string;
  similarQuestions: string[];
  /** Markdown. */
  body: string;
  category: string | null;
  tags: string[];
  /** Where in the file it came from ("row 5", "section 退货条件", "page 3"), for error reports. */
  where: string;
}

export interface ImportProblem {
  where: string;
  message: string;
}

export interface ParseResult {
  entries: ImportedEntry[];
  errors: ImportProblem[];
}

export type Importer = (bytes: Buffer, fileName: string) => ParseResult | Promise<ParseResult>;

/** A problem with the file as a whole: 400 on `body.file`, the message naming the file. */
export const fileProblem = (fileName: string, message: string) => invalid('body.file', `${fileName}: ${message}`);
/** The bytes are not the format the file claims to be: 415. */
export const wrongFormat = (fileName: string, message: string) => new AppError('unsupported_media_type', `${fileName}: ${message}`);

/** The file name without directories and extension: the title of a document without headings. */
export function baseTitle(fileName: string): string {
  const base = fileName.split(/[\\/]/).pop() ?? fileName;
  return base.replace(/\.[A-Za-z0-9]{1,5}$/, '').trim() || base;
}

const ZIP = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
export const isZip = (b: Buffer) => b.subarray(0, 4).equals(ZIP);
export const isPdf = (b: Buffer) => b.subarray(0, 1024).includes('%PDF-');
export const isOle = (b: Buffer) => b.subarray(0, 8).equals(Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]));

/** Refuses binary data where text (CSV, Markdown, HTML) is expected, naming what it looks like. */
export function requireText(bytes: Buffer, fileName: string, expected: string): void {
  if (isZip(bytes)) throw wrongFormat(fileName, `this is a zip file (an .xlsx or .docx?), not ${expected}; upload it with its own extension`);
  if (isPdf(bytes)) throw wrongFormat(fileName, `this is a PDF, not ${expected}; upload it with the .pdf extension`);
  if (isOle(bytes)) throw wrongFormat(fileName, `this is an old Office file (.xls / .doc), not ${expected}; save it as .xlsx / .docx first`);
  const head = bytes.subarray(0, 4096);
  const utf16 = head.length >= 2 && ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff));
  if (head.includes(0) && !utf16) throw wrongFormat(fileName, `this is a binary file, not ${expected}`);
}

/** UTF-8 (BOM dropped) or GBK/GB18030 text; UTF-16 is refused with the way out. */
export function decodeText(bytes: Buffer, fileName: string): string {
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) {
    throw fileProblem(fileName, 'the file is UTF-16 text ("Unicode text"); save it as UTF-8 and upload it again');
  }
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  } catch {
    // Valid UTF-8 is almost never valid-looking GBK by accident, the reverse is common: UTF-8 first.
  }
  try {
    return new TextDecoder('gb18030', { fatal: true }).decode(bytes);
  } catch {
    throw fileProblem(fileName, 'the file is neither UTF-8 nor GBK text; save it as UTF-8 and upload it again');
  }
}

/** Locale guess for an imported entry: Chinese when the text has any Han character (mixed zh/en FAQ text is Chinese), else English. */
export function guessLocale(text: string): 'zh-CN' | 'en' {
  return /\p{Script=Han}/u.test(text) ? 'zh-CN' : 'en';
}
