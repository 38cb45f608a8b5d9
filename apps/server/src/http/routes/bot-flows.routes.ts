import { z } from 'zod';
import { BotFlow, BotFlowVersion, CreateBotFlowBody, UpdateBotFlowBody } from '@huiliu/contracts';
import { defineRoute, IdParams } from '../route.ts';
import type { Services } from '../../services.ts';

/** Any JSON: the validator reports shape problems as issues (naming the step) instead of a 400. */
const ValidateFlowBody = z.strictObject({ document: z.unknown() });
const ValidateFlowResponse = z.object({
  issues: z.array(z.object({ path: z.string().describe('Relative to the document, e.g. steps.3.next'), message: z.string(), severity: z.enum(['error', 'warning']) })),
});

export const botFlowRoutes = (s: Services) => [
  defineRoute({ method: 'GET', url: '/api/v1/bot/flows', summary: 'Bot flows (drafts and published versions)', tags: ['bot'], auth: 'user', response: z.array(BotFlow), handler: ({ actor }) => s.flows.list(actor) }),
  defineRoute({ method: 'POST', url: '/api/v1/bot/flows', summary: 'Create a flow (a draft; publish to let the bot run it)', tags: ['bot'], auth: 'user', body: CreateBotFlowBody, response: BotFlow, status: 201, handler: ({ actor, body }) => s.flows.create(actor, body) }),
  defineRoute({
    method: 'POST', url: '/api/v1/bot/flows/validate', summary: 'Check a flow document: errors block publishing, warnings do not', tags: ['bot'], auth: 'user',
    body: ValidateFlowBody, response: ValidateFlowResponse, handler: ({ actor, body }) => s.flows.validate(actor, body.document),
  }),
  defineRoute({ method: 'GET', url: '/api/v1/bot/flows/:id', summary: 'One flow', tags: ['bot'], auth: 'user', params: IdParams, response: BotFlow, handler: ({ actor, params }) => s.flows.get(actor, params.id) }),
  defineRoute({
    method: 'PATCH', url: '/api/v1/bot/flows/:id', summary: 'Rename, enable / disable, or save the draft (any well-formed draft; publishing checks it fully)', tags: ['bot'], auth: 'user',
    params: IdParams, body: UpdateBotFlowBody, response: BotFlow, handler: ({ actor, params, body }) => s.flows.update(actor, params.id, body),
  }),
  defineRoute({ method: 'DELETE', url: '/api/v1/bot/flows/:id', summary: 'Delete a flow and its versions', tags: ['bot'], auth: 'user', params: IdParams, response: null, handler: ({ actor, params }) => s.flows.remove(actor, params.id) }),
  defineRoute({
    method: 'POST', url: '/api/v1/bot/flows/:id/publish', summary: 'Validate the draft and publish it as the next version (validation_failed with issues naming the steps)', tags: ['bot'], auth: 'user',
    params: IdParams, response: BotFlow, handler: ({ actor, params }) => s.flows.publish(actor, params.id),
  }),
  defineRoute({ method: 'GET', url: '/api/v1/bot/flows/:id/versions', summary: 'Published versions, newest first', tags: ['bot'], auth: 'user', params: IdParams, response: z.array(BotFlowVersion), handler: ({ actor, params }) => s.flows.versions(actor, params.id) }),
];
