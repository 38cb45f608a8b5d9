import type { z } from 'zod';
import type { KbImport, KbSearchHit } from '@huiliu/contracts';

// Types only: zod stays out of the bundle.
export type { KbEntry, KbImport } from '@huiliu/contracts';
export type KbHit = z.infer<typeof KbSearchHit>;
export type KbPage = { items: import('@huiliu/contracts').KbEntry[]; total: number };

export const importFinished = (i: KbImport) => i.status === 'done' || i.status === 'failed';

/** What the import accepts (the server's KbImportFormat); checked here only to answer at once. */
export const KB_IMPORT_ACCEPT = '.csv,.xlsx,.md,.markdown,.html,.htm,.pdf,.docx';
export const kbImportable = (name: string) => /\.(csv|xlsx|md|markdown|html?|pdf|docx)$/i.test(name);

/** The locales offered in the editor and the retrieval test (any xx or xx-YY is accepted by the API). */
export const KB_LOCALES = ['zh-CN', 'zh-TW', 'en'];
