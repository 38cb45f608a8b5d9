import { z } from 'zod';
import {
  Message, MessagesPage, MessagesQuery, ReadBody, SendMessageResponse, VisitorContact, VisitorConversation, WidgetAgentList, WidgetConfig,
  WidgetContactBody, WidgetCreateConversationBody, WidgetSendMessageBody, WidgetSessionBody, WidgetSessionResponse,
} from '@huiliu/contracts';
import { defineRoute, IdParams } from '../route.ts';
import type { Services } from '../../services.ts';

const origin = (req: { headers: Record<string, unknown> }) => (req.headers.origin as string | undefined) ?? undefined;
const PublicIdParams = z.strictObject({ publicId: z.string().min(1).max(64) });

export const widgetRoutes = (s: Services) => [
  defineRoute({
    method: 'GET', url: '/api/widget/v1/inboxes/:publicId/config', summary: 'Widget appearance and settings of an inbox', tags: ['widget'], auth: 'public',
    params: PublicIdParams, response: WidgetConfig, handler: ({ params, req }) => s.widget.config(params.publicId, origin(req)),
  }),
  defineRoute({
    method: 'POST', url: '/api/widget/v1/sessions', summary: 'Start or resume a visitor session; returns the signed visitor token', tags: ['widget'], auth: 'public',
    body: WidgetSessionBody, response: WidgetSessionResponse, rateLimit: 30, handler: ({ body, req }) => s.widget.startSession(body, origin(req)),
  }),
  defineRoute({
    method: 'PATCH', url: '/api/widget/v1/contact', summary: "The visitor's own name / email (e.g. so a reply reaches them by email while they are away); never used to identify them", tags: ['widget'], auth: 'visitor',
    body: WidgetContactBody, response: VisitorContact, rateLimit: 10, handler: ({ actor, body }) => s.widget.updateContact(actor, body),
  }),
  defineRoute({
    method: 'GET', url: '/api/widget/v1/conversations', summary: "The visitor's conversations", tags: ['widget'], auth: 'visitor',
    response: z.array(VisitorConversation), handler: ({ actor }) => s.widget.listConversations(actor),
  }),
  defineRoute({
    method: 'POST', url: '/api/widget/v1/conversations', summary: 'Open a new conversation, optionally with a first message', tags: ['widget'], auth: 'visitor',
    body: WidgetCreateConversationBody, response: z.object({ conversation: VisitorConversation, message: Message.nullable() }), status: 201, rateLimit: 20,
    handler: ({ actor, body }) => s.widget.createConversation(actor, body),
  }),
  defineRoute({
    method: 'GET', url: '/api/widget/v1/conversations/:id/messages', summary: 'Messages of one of the visitor\'s conversations (never private notes)', tags: ['widget'], auth: 'visitor',
    params: IdParams, query: MessagesQuery, response: MessagesPage, handler: ({ actor, params, query }) => s.conversations.messages(actor, params.id, query),
  }),
  defineRoute({
    method: 'POST', url: '/api/widget/v1/conversations/:id/messages', summary: 'Send a message as the visitor; idempotent by clientId', tags: ['widget'], auth: 'visitor',
    params: IdParams, body: WidgetSendMessageBody, response: SendMessageResponse, status: 201, rateLimit: 120,
    handler: async ({ actor, params, body, reply }) => {
      const r = await s.messages.send(actor, params.id, { ...body, private: false });
      if (r.duplicate) reply.code(200);
      return { message: r.message, duplicate: r.duplicate };
    },
  }),
  defineRoute({
    method: 'GET', url: '/api/widget/v1/conversations/:id/agents', summary: 'Agents of one of the visitor\'s conversations (assignee and authors of public messages): name and avatar only', tags: ['widget'], auth: 'visitor',
    params: IdParams, response: WidgetAgentList, handler: ({ actor, params }) => s.widget.conversationAgents(actor, params.id),
  }),
  defineRoute({
    method: 'POST', url: '/api/widget/v1/conversations/:id/read', summary: 'Mark messages up to seq as read by the visitor', tags: ['widget'], auth: 'visitor',
    params: IdParams, body: ReadBody, response: z.object({ seq: z.number().int() }), handler: ({ actor, params, body }) => s.realtimeRead(actor, params.id, body.seq),
  }),
];
