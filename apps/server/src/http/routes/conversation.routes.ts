import { z } from 'zod';
import {
  AssignBody, Conversation, ConversationListQuery, ConversationPage, MessagesPage, MessagesQuery, ReadBody,
  SendMessageBody, SendMessageResponse, UpdateConversationBody,
} from '@huiliu/contracts';
import { defineRoute, IdParams } from '../route.ts';
import type { Services } from '../../services.ts';

export const conversationRoutes = (s: Services) => [
  defineRoute({
    method: 'GET', url: '/api/v1/conversations', summary: 'Conversations, most recent activity first, with filters', tags: ['conversations'], auth: 'user',
    query: ConversationListQuery, response: ConversationPage, handler: ({ actor, query }) => s.conversations.list(actor, query),
  }),
  defineRoute({ method: 'GET', url: '/api/v1/conversations/:id', summary: 'A conversation', tags: ['conversations'], auth: 'user', params: IdParams, response: Conversation, handler: ({ actor, params }) => s.conversations.get(actor, params.id) }),
  defineRoute({
    method: 'PATCH', url: '/api/v1/conversations/:id', summary: 'Change status (resolve, reopen, snooze), priority, tags or team', tags: ['conversations'], auth: 'user',
    params: IdParams, body: UpdateConversationBody, response: Conversation, handler: ({ actor, params, body }) => s.conversations.update(actor, params.id, body),
  }),
  defineRoute({
    method: 'POST', url: '/api/v1/conversations/:id/assign', summary: 'Assign to an agent, or unassign with null', tags: ['conversations'], auth: 'user',
    params: IdParams, body: AssignBody, response: Conversation, handler: ({ actor, params, body }) => s.conversations.assign(actor, params.id, body.assigneeId),
  }),
  defineRoute({
    method: 'GET', url: '/api/v1/conversations/:id/messages', summary: 'Messages by seq: `afterSeq` pages forward, `beforeSeq` backward', tags: ['conversations'], auth: 'user',
    params: IdParams, query: MessagesQuery, response: MessagesPage, handler: ({ actor, params, query }) => s.conversations.messages(actor, params.id, query),
  }),
  defineRoute({
    method: 'POST', url: '/api/v1/conversations/:id/messages', summary: 'Reply or write a private note; idempotent by clientId', tags: ['conversations'], auth: 'user',
    params: IdParams, body: SendMessageBody, response: SendMessageResponse, status: 201, rateLimit: 300,
    handler: async ({ actor, params, body, reply }) => {
      const r = await s.messages.send(actor, params.id, body);
      if (r.duplicate) reply.code(200);
      return { message: r.message, duplicate: r.duplicate };
    },
  }),
  defineRoute({
    method: 'POST', url: '/api/v1/conversations/:id/read', summary: 'Mark messages up to seq as read by agents', tags: ['conversations'], auth: 'user',
    params: IdParams, body: ReadBody, response: z.object({ seq: z.number().int() }), handler: ({ actor, params, body }) => s.realtimeRead(actor, params.id, body.seq),
  }),
];
