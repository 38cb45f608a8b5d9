import { z } from 'zod';
import { Conversation } from '@huiliu/contracts';
import {
  AgentPresence, QueueItem, QueueStatus, RoutingDecision, SetPresenceBody, TeamRouting, TeamRoutingBody, TeamRoutingSettings, UserRoutingBody,
} from '@huiliu/core/routing/routing.schemas';
import { defineRoute, IdParams } from '../route.ts';
import type { Services } from '../../services.ts';

/** Routing engine (issue 4): presence, capacity and skills, team strategies, the queue, claims, decisions. */
export const routingRoutes = (s: Services) => [
  defineRoute({
    method: 'PUT', url: '/api/v1/presence', summary: 'Set your own presence (only online agents receive conversations automatically)', tags: ['routing'], auth: 'user',
    body: SetPresenceBody, response: AgentPresence, rateLimit: 120, handler: ({ actor, body }) => s.routing.setPresence(actor, body.status),
  }),
  defineRoute({
    method: 'GET', url: '/api/v1/presence/me', summary: 'Your own presence, capacity, skills and load', tags: ['routing'], auth: 'user',
    response: AgentPresence, handler: ({ actor }) => s.routing.myPresence(actor),
  }),
  defineRoute({
    method: 'GET', url: '/api/v1/presence', summary: "Agents' presence, capacity, skills and current load (needs routing.manage)", tags: ['routing'], auth: 'user',
    response: z.array(AgentPresence), handler: ({ actor }) => s.routing.listPresence(actor),
  }),
  defineRoute({
    method: 'PUT', url: '/api/v1/users/:id/routing', summary: "Set an agent's capacity, per-channel capacities and skills (needs routing.manage)", tags: ['routing'], auth: 'user',
    params: IdParams, body: UserRoutingBody, response: AgentPresence, handler: ({ actor, params, body }) => s.routing.updateUserRouting(actor, params.id, body),
  }),
  defineRoute({
    method: 'GET', url: '/api/v1/routing/teams', summary: "Every team's routing strategy, queue timeout, overflow action and business-hours schedule (needs routing.manage)", tags: ['routing'], auth: 'user',
    response: z.array(TeamRoutingSettings), handler: ({ actor }) => s.routing.listTeamRouting(actor),
  }),
  defineRoute({
    method: 'PUT', url: '/api/v1/teams/:id/routing', summary: "Set a team's routing strategy, queue timeout and overflow action (needs routing.manage)", tags: ['routing'], auth: 'user',
    params: IdParams, body: TeamRoutingBody, response: TeamRouting, handler: ({ actor, params, body }) => s.routing.updateTeamRouting(actor, params.id, body),
  }),
  defineRoute({
    method: 'GET', url: '/api/v1/routing/queue', summary: 'Conversations waiting for an agent, in the order they will be served (needs routing.manage)', tags: ['routing'], auth: 'user',
    response: z.array(QueueItem), handler: ({ actor }) => s.routing.listQueue(actor),
  }),
  defineRoute({
    method: 'GET', url: '/api/v1/conversations/:id/routing-decisions', summary: 'Every routing decision about a conversation, with its reason (needs routing.manage)', tags: ['routing'], auth: 'user',
    params: IdParams, response: z.array(RoutingDecision), handler: ({ actor, params }) => s.routing.decisions(actor, params.id),
  }),
  defineRoute({
    method: 'POST', url: '/api/v1/conversations/:id/claim', summary: 'Pick an unassigned conversation up from the queue (409 if someone was faster or you are at capacity)', tags: ['routing'], auth: 'user',
    params: IdParams, response: Conversation, rateLimit: 300, handler: ({ actor, params }) => s.routing.claim(actor, params.id),
  }),
  defineRoute({
    method: 'GET', url: '/api/v1/routing/offers', summary: 'Conversations offered to you now (offer-to-all teams); accept one with POST /conversations/:id/claim', tags: ['routing'], auth: 'user',
    response: z.array(z.uuid()), handler: ({ actor }) => s.routing.offers(actor),
  }),
  defineRoute({
    method: 'GET', url: '/api/widget/v1/conversations/:id/queue', summary: "The visitor's place in the queue and the estimated wait", tags: ['widget'], auth: 'visitor',
    params: IdParams, response: QueueStatus, handler: ({ actor, params }) => s.routing.queueStatus(actor, params.id),
  }),
];
