import type { KbImportFormat } from '@huiliu/contracts';
import type { z } from 'zod';
import { wrongFormat, type Importer } from './types.ts';
import { parseCsv } from './csv.ts';
import { parseXlsx } from './xlsx.ts';
import { parseMarkdown } from './markdown.ts';
import { parseHtml } from './html.ts';
import { parsePdf } from './pdf.ts';
import { parseDocx } from './docx.ts';

export type { ImportedEntry, ImportProblem, ParseResult } from './types.ts';

type Format = z.infer<typeof KbImportFormat>;

export const IMPORTERS: Record<Format, Importer> = { csv: parseCsv, xlsx: parseXlsx, md: parseMarkdown, html: parseHtml, pdf: parsePdf, docx: parseDocx };

/** Size limit per format: sheets and text are dense, PDFs and Word files carry layout and fonts. */
export const IMPORT_MAX_BYTES: Record<Format, number> = {
  csv: 10 * 1024 * 1024,
  xlsx: 10 * 1024 * 1024,
  md: 5 * 1024 * 1024,
  html: 10 * 1024 * 1024,
  pdf: 30 * 1024 * 1024,
  docx: 20 * 1024 * 1024,
};
export const IMPORT_MAX_UPLOAD_BYTES = Math.max(...Object.values(IMPORT_MAX_BYTES));

const EXTENSIONS: Record<string, Format> = { csv: 'csv', txt: 'md', xlsx: 'xlsx', md: 'md', markdown: 'md', html: 'html', htm: 'html', pdf: 'pdf', docx: 'docx' };
export const SUPPORTED_EXTENSIONS = '.csv or .xlsx (FAQ sheets), .md, .html, .pdf or .docx (articles or FAQ)';

/** The format of an uploaded file, from its extension. */
export function formatOf(fileName: string): Format {
  const ext = /\.([A-Za-z0-9]+)$/.exec(fileName)?.[1]?.toLowerCase();
  const format = ext ? EXTENSIONS[ext] : undefined;
  if (!format) {
    const hint = ext === 'xls' ? ' (old Excel: save it as .xlsx)' : ext === 'doc' ? ' (old Word: save it as .docx)' : '';
    throw wrongFormat(fileName, `files ${ext ? `of type .${ext}` : 'without an extension'} cannot be imported${hint}; upload ${SUPPORTED_EXTENSIONS}`);
  }
  return format;
}
