import { z } from 'zod';
import { CreateInboxBody, Inbox, SetMembersBody, UpdateInboxBody } from '@huiliu/contracts';
import { defineRoute, IdParams } from '../route.ts';
import type { Services } from '../../services.ts';

export const inboxRoutes = (s: Services) => [
  defineRoute({ method: 'GET', url: '/api/v1/inboxes', summary: 'Inboxes', tags: ['inboxes'], auth: 'user', response: z.array(Inbox), handler: ({ actor }) => s.inboxes.list(actor) }),
  defineRoute({ method: 'POST', url: '/api/v1/inboxes', summary: 'Create an inbox', tags: ['inboxes'], auth: 'user', body: CreateInboxBody, response: Inbox, status: 201, handler: ({ actor, body }) => s.inboxes.create(actor, body) }),
  defineRoute({ method: 'GET', url: '/api/v1/inboxes/:id', summary: 'An inbox', tags: ['inboxes'], auth: 'user', params: IdParams, response: Inbox, handler: ({ actor, params }) => s.inboxes.get(actor, params.id) }),
  defineRoute({ method: 'PATCH', url: '/api/v1/inboxes/:id', summary: 'Change name, allowed origins or widget settings', tags: ['inboxes'], auth: 'user', params: IdParams, body: UpdateInboxBody, response: Inbox, handler: ({ actor, params, body }) => s.inboxes.update(actor, params.id, body) }),
  defineRoute({ method: 'DELETE', url: '/api/v1/inboxes/:id', summary: 'Delete an inbox (its conversations are kept)', tags: ['inboxes'], auth: 'user', params: IdParams, response: null, handler: ({ actor, params }) => s.inboxes.remove(actor, params.id) }),
  defineRoute({ method: 'PUT', url: '/api/v1/inboxes/:id/members', summary: 'Set the agents of an inbox', tags: ['inboxes'], auth: 'user', params: IdParams, body: SetMembersBody, response: Inbox, handler: ({ actor, params, body }) => s.inboxes.setMembers(actor, params.id, body.userIds) }),
];
