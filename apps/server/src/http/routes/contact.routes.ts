import { z } from 'zod';
import { Contact, ContactIdentity, ContactImport, ContactListQuery, ContactPage, CreateContactBody, UpdateContactBody } from '@huiliu/contracts';
import { IMPORT_MAX_BYTES } from '@huiliu/core/contacts/contact-import';
import { defineRoute, IdParams } from '../route.ts';
import { readFileUpload } from '../upload.ts';
import type { Services } from '../../services.ts';


export const contactRoutes = (s: Services) => [
  defineRoute({ method: 'GET', url: '/api/v1/contacts', summary: 'Contacts, newest first; `q` searches name, email, phone (Chinese and English)', tags: ['contacts'], auth: 'user', query: ContactListQuery, response: ContactPage, handler: ({ actor, query }) => s.contacts.list(actor, query) }),
  defineRoute({ method: 'POST', url: '/api/v1/contacts', summary: 'Create a contact', tags: ['contacts'], auth: 'user', body: CreateContactBody, response: Contact, status: 201, handler: ({ actor, body }) => s.contacts.create(actor, body) }),
  defineRoute({
    method: 'POST', url: '/api/v1/contacts/imports', tags: ['contacts'], auth: 'user', multipart: true, response: ContactImport, status: 202, rateLimit: 10,
    summary: 'Import contacts from a CSV file (multipart "file", ≤ 10 MB, ≤ 50,000 rows, UTF-8 or GBK). Columns by header: name, email, phone, tags (";" or "|"), any other column becomes an attribute. Contacts matching by email, then phone, are updated. Runs in the background: poll GET /contacts/imports/:id',
    handler: async ({ actor, req }) => s.contactImports.upload(actor, await readFileUpload(req, IMPORT_MAX_BYTES, 'the CSV')),
  }),
  defineRoute({ method: 'GET', url: '/api/v1/contacts/imports/:id', summary: 'Progress and outcome of a contacts import (row errors: the first 100)', tags: ['contacts'], auth: 'user', params: IdParams, response: ContactImport, handler: ({ actor, params }) => s.contactImports.get(actor, params.id) }),
  defineRoute({ method: 'GET', url: '/api/v1/contacts/:id', summary: 'A contact (email / phone masked without contact.pii)', tags: ['contacts'], auth: 'user', params: IdParams, response: Contact, handler: ({ actor, params }) => s.contacts.get(actor, params.id) }),
  defineRoute({ method: 'PATCH', url: '/api/v1/contacts/:id', summary: 'Change a contact; attributes are merged', tags: ['contacts'], auth: 'user', params: IdParams, body: UpdateContactBody, response: Contact, handler: ({ actor, params, body }) => s.contacts.update(actor, params.id, body) }),
  defineRoute({ method: 'GET', url: '/api/v1/contacts/:id/identities', summary: 'The channel identities of a contact', tags: ['contacts'], auth: 'user', params: IdParams, response: z.array(ContactIdentity), handler: ({ actor, params }) => s.contacts.identities(actor, params.id) }),
];
