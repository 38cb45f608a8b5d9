import { parse, CsvError } from 'csv-parse/sync';
import { decodeText, fileProblem, requireText, type ParseResult } from './types.ts';
import { faqFromRows } from './faq-sheet.ts';

/**
 * CSV FAQ sheet: UTF-8 with or without BOM, or GBK (what Excel in China saves as "CSV"); comma, or
 * semicolon / tab when the header row has more of those than commas. Columns: see faq-sheet.ts.
 */
export function parseCsv(bytes: Buffer, fileName: string): ParseResult {
  requireText(bytes, fileName, 'a CSV FAQ sheet');
  const text = decodeText(bytes, fileName);
  const firstLine = text.slice(0, text.search(/\r?\n|$/));
  const count = (ch: string) => firstLine.split(ch).length - 1;
  const delimiter = [',', ';', '\t'].reduce((best, d) => (count(d) > count(best) ? d : best), ',');
  let rows: string[][];
  try {
    rows = parse(text, { delimiter, relax_column_count: true, skip_empty_lines: false, max_record_size: 1024 * 1024, relax_quotes: true }) as string[][];
  } catch (err) {
    if (err instanceof CsvError) throw fileProblem(fileName, `the file is not valid CSV: ${err.message}`);
    throw err;
  }
  return faqFromRows(rows, fileName);
}
