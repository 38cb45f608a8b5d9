import { z } from 'zod';
import { CannedResponse, CreateCannedBody, RenderCannedBody, UpdateCannedBody } from '@huiliu/contracts';
import { renderTemplate } from '@huiliu/core/canned/canned.service';
import { defineRoute, IdParams } from '../route.ts';
import type { Services } from '../../services.ts';

const ListCanned = z.strictObject({ q: z.string().max(100).optional() });

export const cannedRoutes = (s: Services) => [
  defineRoute({ method: 'GET', url: '/api/v1/canned-responses', summary: 'Canned responses; `q` filters by shortcut prefix or content', tags: ['canned'], auth: 'user', query: ListCanned, response: z.array(CannedResponse), handler: ({ actor, query }) => s.canned.list(actor, query.q) }),
  defineRoute({ method: 'POST', url: '/api/v1/canned-responses', summary: 'Create a canned response', tags: ['canned'], auth: 'user', body: CreateCannedBody, response: CannedResponse, status: 201, handler: ({ actor, body }) => s.canned.create(actor, body) }),
  defineRoute({ method: 'PATCH', url: '/api/v1/canned-responses/:id', summary: 'Change a canned response', tags: ['canned'], auth: 'user', params: IdParams, body: UpdateCannedBody, response: CannedResponse, handler: ({ actor, params, body }) => s.canned.update(actor, params.id, body) }),
  defineRoute({ method: 'DELETE', url: '/api/v1/canned-responses/:id', summary: 'Delete a canned response', tags: ['canned'], auth: 'user', params: IdParams, response: null, handler: ({ actor, params }) => s.canned.remove(actor, params.id) }),
  defineRoute({
    method: 'POST', url: '/api/v1/canned-responses/:id/render', summary: 'Fill in {{contact.name}}, {{agent.name}}, {{conversation.displayId}} for a conversation', tags: ['canned'], auth: 'user',
    params: IdParams, body: RenderCannedBody, response: z.object({ text: z.string() }),
    handler: async ({ actor, params, body }) => {
      const canned = await s.canned.get(actor, params.id);
      const conversation = await s.conversations.get(actor, body.conversationId);
      const contact = await s.contacts.get(actor, conversation.contactId);
      return {
        text: renderTemplate(canned.content, {
          'contact.name': contact.name,
          'contact.email': contact.email,
          'agent.name': actor.name,
          'conversation.displayId': conversation.displayId,
        }),
      };
    },
  }),
];
