import { readSheet } from 'read-excel-file/node';
import { fileProblem, isOle, isZip, wrongFormat, type ParseResult } from './types.ts';
import { faqFromRows } from './faq-sheet.ts';

/** XLSX FAQ sheet: the first sheet, the same columns as CSV (faq-sheet.ts). */
export async function parseXlsx(bytes: Buffer, fileName: string): Promise<ParseResult> {
  if (isOle(bytes)) throw wrongFormat(fileName, 'this is an old Excel workbook (.xls); open it in Excel and save it as .xlsx');
  if (!isZip(bytes)) throw wrongFormat(fileName, 'this is not an Excel workbook (.xlsx files are zip archives); upload an .xlsx or a CSV FAQ sheet');
  let rows: unknown[][];
  try {
    rows = (await readSheet(bytes)) as unknown[][];
  } catch (err) {
    throw fileProblem(fileName, `the workbook cannot be read (${(err as Error).message}); save it again as .xlsx in Excel or WPS`);
  }
  return faqFromRows(rows, fileName);
}
