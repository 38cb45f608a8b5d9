import { z } from 'zod';
import { DeliveryAttempt, DeliveryAttemptsQuery, FailedDelivery, Message, SendWindowStatus } from '@huiliu/contracts';
import { defineRoute, IdParams } from '../route.ts';
import type { Services } from '../../services.ts';

const RetryParams = z.strictObject({ id: z.uuid({ message: 'must be a UUID' }), messageId: z.uuid({ message: 'must be a UUID' }) });
const FailedDeliveriesQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(500).default(100) });

/** Outbound delivery to external channels: send windows for the composer, retries, dead letters, the delivery log. */
export const deliveryRoutes = (s: Services) => [
  defineRoute({
    method: 'GET', url: '/api/v1/conversations/:id/send-window',
    summary: "What may be sent now on the conversation's channel: send window (WhatsApp 24 h…), quota, templates only, limits", tags: ['channels'], auth: 'user',
    params: IdParams, response: SendWindowStatus, handler: ({ actor, params }) => s.sendPolicy.status(actor, params.id),
  }),
  defineRoute({
    method: 'POST', url: '/api/v1/conversations/:id/messages/:messageId/retry',
    summary: 'Deliver a failed outgoing message again (409 unless its delivery failed)', tags: ['channels'], auth: 'user',
    params: RetryParams, response: Message, handler: ({ actor, params }) => s.outbound.retry(actor, params.id, params.messageId),
  }),
  defineRoute({
    method: 'GET', url: '/api/v1/deliveries/failed',
    summary: "Messages that could not be delivered to their channel (dead letters), newest first, across the workspace's inboxes", tags: ['channels'], auth: 'user',
    query: FailedDeliveriesQuery, response: z.array(FailedDelivery), handler: ({ actor, query }) => s.outbound.listFailed(actor, query),
  }),
  defineRoute({
    method: 'GET', url: '/api/v1/inboxes/:id/deliveries',
    summary: "The inbox's delivery log: every attempt to hand a message to the channel, newest first (page with beforeId)", tags: ['channels'], auth: 'user',
    params: IdParams, query: DeliveryAttemptsQuery, response: z.array(DeliveryAttempt), handler: ({ actor, params, query }) => s.outbound.listAttempts(actor, params.id, query),
  }),
];
