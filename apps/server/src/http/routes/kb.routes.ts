import { z } from 'zod';
import { CreateKbEntryBody, KbEntry, KbImport, KbSearchBody, KbSearchHit, ListKbQuery, UpdateKbEntryBody } from '@huiliu/contracts';
import { IMPORT_MAX_UPLOAD_BYTES, SUPPORTED_EXTENSIONS } from '@huiliu/core/bot/knowledge/importers/index';
import { defineRoute, IdParams } from '../route.ts';
import { readFileUpload } from '../upload.ts';
import type { Services } from '../../services.ts';


const PageOfEntries = z.object({ items: z.array(KbEntry), total: z.number().int() });

export const kbRoutes = (s: Services) => [
  defineRoute({ method: 'GET', url: '/api/v1/kb/entries', summary: 'Knowledge-base entries, last changed first; `q` matches title, similar questions and body', tags: ['knowledge'], auth: 'user', query: ListKbQuery, response: PageOfEntries, handler: ({ actor, query }) => s.knowledge.list(actor, query) }),
  defineRoute({ method: 'POST', url: '/api/v1/kb/entries', summary: 'Create a FAQ pair or an article (needs bot.manage)', tags: ['knowledge'], auth: 'user', body: CreateKbEntryBody, response: KbEntry, status: 201, handler: ({ actor, body }) => s.knowledge.create(actor, body) }),
  defineRoute({ method: 'GET', url: '/api/v1/kb/entries/:id', summary: 'A knowledge-base entry', tags: ['knowledge'], auth: 'user', params: IdParams, response: KbEntry, handler: ({ actor, params }) => s.knowledge.get(actor, params.id) }),
  defineRoute({ method: 'PATCH', url: '/api/v1/kb/entries/:id', summary: 'Change a knowledge-base entry (needs bot.manage)', tags: ['knowledge'], auth: 'user', params: IdParams, body: UpdateKbEntryBody, response: KbEntry, handler: ({ actor, params, body }) => s.knowledge.update(actor, params.id, body) }),
  defineRoute({ method: 'DELETE', url: '/api/v1/kb/entries/:id', summary: 'Delete a knowledge-base entry (needs bot.manage)', tags: ['knowledge'], auth: 'user', params: IdParams, response: null, handler: ({ actor, params }) => s.knowledge.remove(actor, params.id) }),
  defineRoute({
    method: 'POST', url: '/api/v1/kb/imports', tags: ['knowledge'], auth: 'user', multipart: true, response: KbImport, status: 202, rateLimit: 10,
    summary: `Import a file into the knowledge base (multipart "file"; ${SUPPORTED_EXTENSIONS}). FAQ sheets: columns 问题/question, 答案/answer, 相似问题/similar, 分类/category, 标签/tags. Entries with the same title are updated. Runs in the background: poll GET /kb/imports/:id (needs bot.manage)`,
    handler: async ({ actor, req }) => s.knowledge.upload(actor, await readFileUpload(req, IMPORT_MAX_UPLOAD_BYTES)),
  }),
  defineRoute({ method: 'GET', url: '/api/v1/kb/imports', summary: 'The last 50 knowledge-base imports (needs bot.manage)', tags: ['knowledge'], auth: 'user', response: z.array(KbImport), handler: ({ actor }) => s.knowledge.imports(actor) }),
  defineRoute({ method: 'GET', url: '/api/v1/kb/imports/:id', summary: 'Progress and outcome of a knowledge-base import (problems: the first 100)', tags: ['knowledge'], auth: 'user', params: IdParams, response: KbImport, handler: ({ actor, params }) => s.knowledge.getImport(actor, params.id) }),
  defineRoute({ method: 'POST', url: '/api/v1/kb/search', summary: 'Search the knowledge base as the bot does (admin tester, agent assist): best entries with confidence 0–1', tags: ['knowledge'], auth: 'user', body: KbSearchBody, response: z.array(KbSearchHit), handler: ({ actor, body }) => s.knowledge.search(actor, body) }),
  defineRoute({ method: 'GET', url: '/api/v1/kb/categories', summary: 'The categories in use', tags: ['knowledge'], auth: 'user', response: z.array(z.string()), handler: ({ actor }) => s.knowledge.categories(actor) }),
];
