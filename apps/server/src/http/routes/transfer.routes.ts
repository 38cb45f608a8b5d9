import { Conversation, CreateTransferBody, DeclineTransferBody, Transfer, TransferList, TransferListQuery } from '@huiliu/contracts';
import { defineRoute, IdParams } from '../route.ts';
import type { Services } from '../../services.ts';

/**
 * Transfers (issue 4): agent → agent (accept / decline, expires when unanswered), agent → team (into the
 * team's queue), and a supervisor's take-over. Decline comes before accept on purpose: the generated
 * tenant-isolation control runs the routes in this order.
 */
export const transferRoutes = (s: Services) => [
  defineRoute({
    method: 'POST', url: '/api/v1/conversations/:id/transfers',
    summary: "Transfer to an agent (toUserId: they accept or decline) or into a team's queue (toTeamId), with a note; assignee or supervisor only",
    tags: ['transfers'], auth: 'user', params: IdParams, body: CreateTransferBody, response: Transfer, status: 201,
    handler: ({ actor, params, body }) => s.transfers.requestTransfer(actor, params.id, body),
  }),
  defineRoute({
    method: 'GET', url: '/api/v1/transfers', summary: 'My transfers: offered to me (incoming, default) or asked for by me (outgoing); pending by default',
    tags: ['transfers'], auth: 'user', query: TransferListQuery, response: TransferList,
    handler: ({ actor, query }) => s.transfers.list(actor, query),
  }),
  defineRoute({
    method: 'POST', url: '/api/v1/transfers/:id/decline', summary: 'Decline a transfer offered to me; the conversation stays where it was and the requester is told',
    tags: ['transfers'], auth: 'user', params: IdParams, body: DeclineTransferBody, response: Transfer,
    handler: ({ actor, params, body }) => s.transfers.decline(actor, params.id, body.reason),
  }),
  defineRoute({
    method: 'POST', url: '/api/v1/transfers/:id/accept', summary: 'Accept a transfer offered to me: the conversation is assigned to me',
    tags: ['transfers'], auth: 'user', params: IdParams, response: Transfer,
    handler: ({ actor, params }) => s.transfers.accept(actor, params.id),
  }),
  defineRoute({
    method: 'POST', url: '/api/v1/conversations/:id/take-over', summary: 'Supervisors: assign the conversation to yourself at once (cancels a pending transfer)',
    tags: ['transfers'], auth: 'user', params: IdParams, response: Conversation,
    handler: ({ actor, params }) => s.transfers.takeOver(actor, params.id),
  }),
];
