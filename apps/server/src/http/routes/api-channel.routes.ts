import { z } from 'zod';
import { ApiChannelAccepted, ApiChannelInbound } from '@huiliu/contracts';
import { defineRoute } from '../route.ts';
import type { Services } from '../../services.ts';
import { answerWebhook } from './channel.routes.ts';

const PublicIdParams = z.strictObject({ publicId: z.string().min(1).max(100).describe("The inbox's public id (shown in the channel settings)") });

/**
 * The API channel's documented door: the same ingest path as the generic platform webhook
 * (/api/channels/v1/:publicId/webhook), but a JSON route, so /openapi.json describes the body an
 * integrator sends. Schema errors answer 400 here before the key is checked; the schema is public, so
 * that order reveals nothing.
 */
export const apiChannelRoutes = (s: Services) => [
  defineRoute({
    method: 'POST', url: '/api/channels/v1/:publicId/messages',
    summary: 'API channel: post customer messages into an inbox (Authorization: Bearer <inbox API key>); one message or { messages: [...] } (at most 100); the same externalId is stored once',
    tags: ['api channel'], auth: 'public', params: PublicIdParams, body: ApiChannelInbound, response: ApiChannelAccepted, status: 202, rateLimit: 600,
    handler: async ({ params, req, reply }) => {
      const headers: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      // Fastify parsed the JSON already; the API channel signs nothing over the raw bytes (bearer key), so
      // re-serializing hands the adapter the same document.
      const inbound = { method: req.method, url: req.url, query: {}, headers, rawBody: Buffer.from(JSON.stringify(req.body)) };
      return answerWebhook(s, s.logger, params.publicId, inbound, reply, 'application/json');
    },
  }),
];

/**
 * The webhook Huiliu sends to the integrator for every agent reply, for the description's `webhooks`
 * section (OpenAPI 3.1 style). `payload` is the JSON Schema of ApiChannelWebhookPayload.
 */
export function apiChannelWebhookDoc(payload: Record<string, unknown>) {
  const header = (name: string, description: string, example: string) => ({ name, in: 'header', required: true, description, schema: { type: 'string' }, example });
  return {
    post: {
      summary: 'API channel: an agent replied (POSTed to the inbox webhookUrl)',
      description: [
        'Verify before trusting: split X-Huiliu-Signature into t and v1, compute hex HMAC-SHA256(webhookSecret, `${t}.${raw request body}`),',
        'compare it with v1 in constant time, and refuse t older than 5 minutes. Deduplicate on X-Huiliu-Delivery (equal on every retry).',
        'Answer 2xx within webhookTimeoutMs (optionally {"id": "<your id>"}); 408, 429, 5xx and timeouts are retried with backoff,',
        'other 4xx fail the delivery at once. Every attempt appears in GET /api/v1/inboxes/{id}/deliveries.',
      ].join(' '),
      tags: ['api channel'],
      parameters: [
        header('X-Huiliu-Signature', 't=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">', 't=1795000000,v1=5f2b…'),
        header('X-Huiliu-Delivery', "Huiliu's message id, the same on every retry: deduplicate on it", '0b6f7d1e-8c3a-4e55-9a2b-1f0e9d8c7b6a'),
        header('X-Huiliu-Event', 'The event type', 'message.created'),
      ],
      requestBody: { required: true, content: { 'application/json': { schema: payload } } },
      responses: {
        '2XX': { description: 'Received. An optional JSON body {"id": "..."} is kept as the message\'s external id' },
        default: { description: 'Not received: 408, 429 and 5xx are retried, other 4xx mark the message not delivered' },
      },
    },
  };
}
