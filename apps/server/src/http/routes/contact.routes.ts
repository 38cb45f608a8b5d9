import { z } from 'zod';
import type { FastifyRequest } from 'fastify';
import { Contact, ContactIdentity, ContactImport, ContactListQuery, ContactPage, CreateContactBody, UpdateContactBody } from '@huiliu/contracts';
import { AppError } from '@huiliu/core/shared/errors';
import { IMPORT_MAX_BYTES } from '@huiliu/core/contacts/contact-import';
import { defineRoute, IdParams } from '../route.ts';
import type { Services } from '../../services.ts';

/** The "file" field of a multipart upload, capped at `maxBytes` while it streams in. */
async function readCsvUpload(req: FastifyRequest, maxBytes: number): Promise<{ fileName: string; data: Buffer }> {
  if (!req.isMultipart()) throw new AppError('unsupported_media_type', 'upload the CSV with Content-Type multipart/form-data and a "file" field');
  const part = await req.file({ limits: { fileSize: maxBytes, files: 1 } });
  if (!part) throw new AppError('validation_failed', 'body.file: no file field in the upload', [{ path: 'body.file', message: 'missing' }]);
  const tooLarge = () => new AppError('payload_too_large', `the file is larger than ${maxBytes / 1024 / 1024} MB; split it into smaller files`);
  const data = await part.toBuffer().catch((err: { code?: string }) => {
    if (err.code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge();
    throw err;
  });
  // toBuffer() misses a limit hit by the very last chunk (it checks `truncated` before busboy sets it),
  // handing back the first maxBytes as if that were the whole file.
  if (part.file.truncated) throw tooLarge();
  return { fileName: part.filename, data };
}

export const contactRoutes = (s: Services) => [
  defineRoute({ method: 'GET', url: '/api/v1/contacts', summary: 'Contacts, newest first; `q` searches name, email, phone (Chinese and English)', tags: ['contacts'], auth: 'user', query: ContactListQuery, response: ContactPage, handler: ({ actor, query }) => s.contacts.list(actor, query) }),
  defineRoute({ method: 'POST', url: '/api/v1/contacts', summary: 'Create a contact', tags: ['contacts'], auth: 'user', body: CreateContactBody, response: Contact, status: 201, handler: ({ actor, body }) => s.contacts.create(actor, body) }),
  defineRoute({
    method: 'POST', url: '/api/v1/contacts/imports', tags: ['contacts'], auth: 'user', multipart: true, response: ContactImport, status: 202, rateLimit: 10,
    summary: 'Import contacts from a CSV file (multipart "file", ≤ 10 MB, ≤ 50,000 rows, UTF-8 or GBK). Columns by header: name, email, phone, tags (";" or "|"), any other column becomes an attribute. Contacts matching by email, then phone, are updated. Runs in the background: poll GET /contacts/imports/:id',
    handler: async ({ actor, req }) => s.contactImports.upload(actor, await readCsvUpload(req, IMPORT_MAX_BYTES)),
  }),
  defineRoute({ method: 'GET', url: '/api/v1/contacts/imports/:id', summary: 'Progress and outcome of a contacts import (row errors: the first 100)', tags: ['contacts'], auth: 'user', params: IdParams, response: ContactImport, handler: ({ actor, params }) => s.contactImports.get(actor, params.id) }),
  defineRoute({ method: 'GET', url: '/api/v1/contacts/:id', summary: 'A contact (email / phone masked without contact.pii)', tags: ['contacts'], auth: 'user', params: IdParams, response: Contact, handler: ({ actor, params }) => s.contacts.get(actor, params.id) }),
  defineRoute({ method: 'PATCH', url: '/api/v1/contacts/:id', summary: 'Change a contact; attributes are merged', tags: ['contacts'], auth: 'user', params: IdParams, body: UpdateContactBody, response: Contact, handler: ({ actor, params, body }) => s.contacts.update(actor, params.id, body) }),
  defineRoute({ method: 'GET', url: '/api/v1/contacts/:id/identities', summary: 'The channel identities of a contact', tags: ['contacts'], auth: 'user', params: IdParams, response: z.array(ContactIdentity), handler: ({ actor, params }) => s.contacts.identities(actor, params.id) }),
];
