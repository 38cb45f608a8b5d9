import type { ContactImport } from '@huiliu/contracts';

export type { ContactImport };

export const finished = (i: ContactImport) => i.status === 'done' || i.status === 'failed';

/**
 * Mirrors IMPORT_MAX_BYTES of the server's contact import (packages/core/src/contacts/contact-import.ts):
 * checked here only so nobody waits for a 40 MB upload to be refused; the server decides.
 */
export const IMPORT_MAX_MB = 10;

/**
 * A sample people can open in a spreadsheet and fill in. It starts with a UTF-8 byte-order mark so Excel
 * shows the Chinese names correctly (the import drops the mark).
 */
export const SAMPLE_CSV =
  '\uFEFF' +
  [
    'name,email,phone,tags,company,city',
    '张伟,zhangwei@example.com,+8613800138000,VIP;退货,上海某某贸易有限公司,上海',
    'Jane Doe,jane@example.com,+1 415 555 0100,newsletter,Example Inc,San Francisco',
    '李娜,,13900139000,企业客户,,杭州',
  ].join('\r\n') +
  '\r\n';

export function downloadSample(): void {
  const url = URL.createObjectURL(new Blob([SAMPLE_CSV], { type: 'text/csv;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = 'huiliu-contacts-sample.csv';
  a.click();
  // Some browsers start the download asynchronously; revoking at once can cancel it.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
