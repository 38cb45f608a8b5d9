import { z } from 'zod';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ChannelKindInfo, InboxChannel, UpdateInboxChannelBody, type ErrorBody } from '@huiliu/contracts';
import { ChannelError, type InboundHttpRequest } from '@huiliu/channels';
import { AppError, httpStatus } from '@huiliu/core/shared/errors';
import { IngestError } from '@huiliu/core/channels/channel-ingest.service';
import { defineRoute, IdParams } from '../route.ts';
import type { Services } from '../../services.ts';

/** The console's "test connection" answer. */
const ChannelCheckResult = z.object({
  ok: z.boolean(),
  message: z.string().nullable().describe('Why the check failed (or a remark when it passed); null when there is nothing to say'),
});

/** Admin side: the channel kinds, and the channel settings of an inbox. */
export const channelRoutes = (s: Services) => [
  defineRoute({
    method: 'GET', url: '/api/v1/channels', summary: 'Channel kinds this server can run, with the settings and secrets each needs', tags: ['channels'],
    auth: 'user', response: z.array(ChannelKindInfo), handler: async ({ actor }) => s.channelConfig.catalogue(actor),
  }),
  defineRoute({
    method: 'GET', url: '/api/v1/inboxes/:id/channel', summary: 'The channel settings of an inbox (secrets: only whether set, and a hint)', tags: ['channels'],
    auth: 'user', params: IdParams, response: InboxChannel, handler: ({ actor, params }) => s.channelConfig.get(actor, params.id),
  }),
  defineRoute({
    method: 'PUT', url: '/api/v1/inboxes/:id/channel', summary: 'Change the channel settings (config replaces; a secret value sets it, null deletes it, absent keeps it)', tags: ['channels'],
    auth: 'user', params: IdParams, body: UpdateInboxChannelBody, response: InboxChannel, handler: ({ actor, params, body }) => s.channelConfig.update(actor, params.id, body),
  }),
  defineRoute({
    method: 'POST', url: '/api/v1/inboxes/:id/channel/check', summary: "Test the channel's credentials against its platform", tags: ['channels'],
    auth: 'user', params: IdParams, response: ChannelCheckResult, rateLimit: 20, handler: ({ actor, params }) => s.channelConfig.check(actor, params.id),
  }),
];

// ---------------------------------------------------------------------------------------------------
// Public webhooks of the platforms: /api/channels/v1/:publicId/webhook

/** Platforms post small JSON / form / XML documents; media come by reference. */
export const WEBHOOK_BODY_LIMIT = 1024 * 1024;
/** Per client IP and minute: a platform's delivery servers share few IPs. */
const WEBHOOK_RATE_LIMIT = 600;

const errorBody = (code: ErrorBody['error']['code'], message: string): ErrorBody => ({ error: { code, message } });

/** What a refused webhook answers: the platform retries 5xx, and gives up (or alerts) on 4xx. */
export function channelErrorStatus(err: ChannelError): { status: number; code: ErrorBody['error']['code'] } {
  switch (err.code) {
    case 'signature_invalid':
    case 'unauthorized':
      return { status: 401, code: 'unauthenticated' };
    case 'replayed':
    case 'not_configured':
      return { status: 409, code: 'conflict' };
    case 'malformed':
      return { status: 400, code: 'validation_failed' };
    case 'rate_limited':
      return { status: 429, code: 'rate_limited' };
    case 'provider_error':
    case 'network':
      return { status: 502, code: 'internal' };
    default:
      return { status: 400, code: 'validation_failed' };
  }
}

function flatten(record: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(record)) {
    if (typeof v === 'string') out[k] = v;
    else if (Array.isArray(v) && typeof v[0] === 'string') out[k] = v[0];
  }
  return out;
}

function inboundRequest(req: FastifyRequest): InboundHttpRequest {
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return {
    method: req.method,
    url: req.url,
    query: flatten((req.query ?? {}) as Record<string, unknown>),
    headers,
    rawBody: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
  };
}

/**
 * GET (verification handshakes, e.g. WhatsApp's hub.challenge) and POST of a platform's webhook. In its
 * own scope: the body stays raw bytes whatever the content type (signatures are computed over exactly
 * those bytes; JSON, Twilio's form encoding, WeChat's XML), up to 1 MB. Thin: the service looks the
 * inbox up, lets its adapter verify and parse, stores the events, and returns the adapter's answer —
 * which goes out only after the events are stored (500 otherwise, so the platform retries).
 */
/**
 * Hands one inbound request to the channel's adapter and answers the platform: the adapter's response
 * once the events are stored, 500 when storing failed (so the platform retries), the mapped status for
 * refusals. Shared by the generic webhook and the API channel's documented JSON route.
 */
export async function answerWebhook(s: Services, log: Services['logger'], publicId: string, inbound: InboundHttpRequest, reply: FastifyReply, defaultContentType = 'text/plain; charset=utf-8') {
  try {
    const { response } = await s.channelIngest.receiveWebhook(publicId, inbound);
    return reply.code(response.status).type(response.contentType ?? defaultContentType).send(response.body);
  } catch (err) {
    // Refusals (ChannelError) are logged by the service with the inbox and the reason.
    if (err instanceof ChannelError) {
      const { status, code } = channelErrorStatus(err);
      // As below: which secret is missing is for the admin's log (the service logged it), not the caller.
      const message = err.code === 'not_configured' ? 'the channel of this inbox is not ready; an admin must finish its settings' : err.message;
      return reply.code(status).send(errorBody(code, message));
    }
    if (err instanceof IngestError) {
      return reply.code(500).send(errorBody('internal', 'the events could not be stored; retry later'));
    }
    if (err instanceof AppError) {
      // The caller is anonymous: which secret is missing is for the admin's log, not for them.
      if (err.code === 'conflict') {
        log.warn({ publicId, code: err.code, reason: err.message }, 'webhook for a channel that is not ready');
        return reply.code(409).send(errorBody('conflict', 'the channel of this inbox is not ready; an admin must finish its settings'));
      }
      return reply.code(httpStatus(err.code)).send(errorBody(err.code, err.code === 'not_found' ? 'no channel webhook at this address' : err.message));
    }
    throw err;
  }
}

export async function registerChannelWebhooks(app: FastifyInstance, s: Services, opts: { rateLimitFactor?: number } = {}): Promise<void> {
  const log = s.logger.child({ component: 'channels.webhook' });
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: WEBHOOK_BODY_LIMIT }, (_req, body, done) => done(null, body));
    scope.setErrorHandler((err: FastifyError, req, reply) => {
      if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return reply.code(413).send(errorBody('payload_too_large', `the webhook body is larger than ${WEBHOOK_BODY_LIMIT / 1024 / 1024} MB; send media by URL or file id instead of inline`));
      }
      if (err.statusCode === 429) return reply.code(429).send(err);
      if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return reply.code(err.statusCode).send(errorBody('validation_failed', err.message));
      log.error({ err, url: req.url.split('?')[0] }, 'webhook request failed');
      return reply.code(500).send(errorBody('internal', 'something went wrong on our side; the error was logged'));
    });

    const handler = async (req: FastifyRequest, reply: FastifyReply) => {
      const { publicId } = req.params as { publicId: string };
      return answerWebhook(s, log, publicId, inboundRequest(req), reply);
    };
    const rateLimit = { max: WEBHOOK_RATE_LIMIT * (opts.rateLimitFactor ?? 1), timeWindow: 60_000, keyGenerator: (req: FastifyRequest) => req.ip };
    for (const method of ['GET', 'POST'] as const) {
      scope.route({ method, url: '/api/channels/v1/:publicId/webhook', config: { rateLimit }, handler });
    }
  });
}
