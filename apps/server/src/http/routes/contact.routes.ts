import { z } from 'zod';
import { Contact, ContactIdentity, ContactListQuery, ContactPage, CreateContactBody, UpdateContactBody } from '@huiliu/contracts';
import { defineRoute, IdParams } from '../route.ts';
import type { Services } from '../../services.ts';

export const contactRoutes = (s: Services) => [
  defineRoute({ method: 'GET', url: '/api/v1/contacts', summary: 'Contacts, newest first; `q` searches name, email, phone (Chinese and English)', tags: ['contacts'], auth: 'user', query: ContactListQuery, response: ContactPage, handler: ({ actor, query }) => s.contacts.list(actor, query) }),
  defineRoute({ method: 'POST', url: '/api/v1/contacts', summary: 'Create a contact', tags: ['contacts'], auth: 'user', body: CreateContactBody, response: Contact, status: 201, handler: ({ actor, body }) => s.contacts.create(actor, body) }),
  defineRoute({ method: 'GET', url: '/api/v1/contacts/:id', summary: 'A contact (email / phone masked without contact.pii)', tags: ['contacts'], auth: 'user', params: IdParams, response: Contact, handler: ({ actor, params }) => s.contacts.get(actor, params.id) }),
  defineRoute({ method: 'PATCH', url: '/api/v1/contacts/:id', summary: 'Change a contact; attributes are merged', tags: ['contacts'], auth: 'user', params: IdParams, body: UpdateContactBody, response: Contact, handler: ({ actor, params, body }) => s.contacts.update(actor, params.id, body) }),
  defineRoute({ method: 'GET', url: '/api/v1/contacts/:id/identities', summary: 'The channel identities of a contact', tags: ['contacts'], auth: 'user', params: IdParams, response: z.array(ContactIdentity), handler: ({ actor, params }) => s.contacts.identities(actor, params.id) }),
];
