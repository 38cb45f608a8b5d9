import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from "fastify";
import multipart from '@fastify/multipart';
import rateLimit from '@fastify/rate-limit';
import { z } from 'zod';
import { Health, type ErrorBody } from '@huiliu/contracts';
import { AppError, httpStatus } from '@huiliu/core/shared/errors';
import type { Actor } from '@huiliu/core/auth/actor';
import type { Services } from '../services.ts';
import { defineRoute, parseOrThrow, type AnyRoute, type AuthKind } from './route.ts';
import { buildOpenApi } from './openapi.ts';
import { registerBrowserApps, registerWidgetCors } from './static.ts';
import { authRoutes } from './routes/auth.routes.ts';
import { workspaceRoutes } from './routes/workspace.routes.ts';
import { inboxRoutes } from './routes/inbox.routes.ts';
import { contactRoutes } from './routes/contact.routes.ts';
import { conversationRoutes } from './routes/conversation.routes.ts';
import { cannedRoutes } from './routes/canned.routes.ts';
import { searchRoutes } from './routes/search.routes.ts';
import { widgetRoutes } from './routes/widget.routes.ts';
import { attachmentRoutes } from './routes/attachment.routes.ts';
import { routingRoutes } from './routes/routing.routes.ts';
import { routingRulesRoutes } from './routes/routing-rules.routes.ts';
import { transferRoutes } from './routes/transfer.routes.ts';
import { deliveryRoutes } from './routes/delivery.routes.ts';
import { identityRoutes } from './routes/identity.routes.ts';
import { channelRoutes, registerChannelWebhooks } from './routes/channel.routes.ts';
import { apiChannelRoutes } from './routes/api-channel.routes.ts';
import { llmRoutes } from './routes/llm.routes.ts';
import { kbRoutes } from './routes/kb.routes.ts';
import { botFlowRoutes } from './routes/bot-flows.routes.ts';
import { botRoutes } from './routes/bot.routes.ts';

export interface HttpOptions {
  version: string;
  publicUrl: string;
  /** Whether the app accepts traffic (migrations done, not shutting down). */
  isReady: () => boolean;
  /** Multiplies every per-route rate limit (benchmarks and tests may raise it; reported by the benchmark). */
  rateLimitFactor?: number;
  /**
   * Serve the REST API, webhooks, console and widget (the `api` role; default true). Without it the node
   * answers only /healthz (a realtime or worker node behind the same load balancer).
   */
  api?: boolean;
}

/** JSON bodies up to 256 KB: a 64 KB message in 4-byte UTF-8 plus envelope; text itself is checked by schema. */
const BODY_LIMIT = 256 * 1024;

function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  return h?.startsWith('Bearer ') ? h.slice(7).trim() : undefined;
}

function errorBody(code: ErrorBody['error']['code'], message: string, issues?: ErrorBody['error']['issues']): ErrorBody {
  return { error: { code, message, ...(issues ? { issues } : {}) } };
}

export async function buildHttpServer(s: Services, opts: HttpOptions): Promise<{ app: FastifyInstance; routes: AnyRoute[] }> {
  const app = Fastify({
    // Per-request access lines only at debug; errors are logged by the error handler below.
    loggerInstance: s.logger.child({ component: 'http' }, { level: s.logger.level === 'debug' || s.logger.level === 'trace' ? s.logger.level : 'warn' }) as unknown as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    trustProxy: process.env.HUILIU_TRUST_PROXY === '1',
    // Reject prototype-poisoning keys instead of silently stripping them.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  });

  await app.register(multipart, { limits: { fileSize: s.attachments.maxUploadBytes, files: 1, fields: 5 } });
  await app.register(rateLimit, {
    global: false,
    // Per client IP; a signed-in user or visitor is limited on their own bucket as well (see keyGenerator).
    keyGenerator: (req) => `${req.ip}|${(bearer(req) ?? '').slice(-16)}`,
    errorResponseBuilder: (_req, ctx) => ({ statusCode: 429, ...errorBody('rate_limited', `too many requests; retry in ${Math.ceil(ctx.ttl / 1000)} s`) }),
  });

  app.setErrorHandler((err: unknown, req, reply) => {
    if (err instanceof AppError) {
      return reply.code(httpStatus(err.code)).send(errorBody(err.code, err.message, err.issues));
    }
    const e = err as { statusCode?: number; code?: string; message?: string };
    if (e.statusCode === 429) return reply.code(429).send(err);
    if (e.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || e.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || (e.statusCode === 400 && /JSON/i.test(e.message ?? ''))) {
      return reply.code(400).send(errorBody('malformed_json', 'the request body is not valid JSON'));
    }
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send(errorBody('payload_too_large', `the request body is larger than ${BODY_LIMIT / 1024} KB`));
    if (e.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return reply.code(415).send(errorBody('unsupported_media_type', 'send JSON with Content-Type: application/json'));
    if (e.code === 'FST_REQ_FILE_TOO_LARGE') return reply.code(413).send(errorBody('payload_too_large', `the file is larger than ${Math.round(s.attachments.maxUploadBytes / 1048576)} MB`));
    if (e.code === 'FST_ERR_BAD_URL' || (e.statusCode && e.statusCode >= 400 && e.statusCode < 500)) {
      return reply.code(e.statusCode ?? 400).send(errorBody('validation_failed', e.message ?? 'bad request'));
    }
    req.log.error({ err, url: req.url, method: req.method }, 'request failed');
    return reply.code(500).send(errorBody('internal', 'something went wrong on our side; the error was logged'));
  });
  const serveApi = opts.api ?? true;
  registerWidgetCors(app);
  const workbenchFallback = serveApi ? await registerBrowserApps(app, { publicUrl: opts.publicUrl }) : () => false;
  app.setNotFoundHandler((req, reply) => {
    if (workbenchFallback(req, reply)) return;
    return reply.code(404).send(errorBody('not_found', `no route ${req.method} ${req.url.split('?')[0]}`));
  });

  async function authenticate(req: FastifyRequest, kind: AuthKind): Promise<Actor | undefined> {
    if (kind === 'public') return undefined;
    const token = bearer(req);
    if (!token) throw new AppError('unauthenticated', 'send Authorization: Bearer <token>');
    if (kind === 'user') {
      const actor = await s.users.authenticate(token, { ip: req.ip, userAgent: String(req.headers['user-agent'] ?? '') });
      if (!actor) throw new AppError('session_expired', 'your session is invalid or has expired; sign in again');
      return actor;
    }
    return s.widget.authenticate(token, req.headers.origin, req.ip);
  }

  const routes: AnyRoute[] = !serveApi ? [] : [
    ...authRoutes(s),
    ...workspaceRoutes(s),
    ...inboxRoutes(s),
    ...contactRoutes(s),
    ...conversationRoutes(s),
    ...cannedRoutes(s),
    ...searchRoutes(s),
    ...widgetRoutes(s),
    ...attachmentRoutes(s),
    ...routingRoutes(s),
    ...routingRulesRoutes(s),
    ...transferRoutes(s),
    ...deliveryRoutes(s),
    ...identityRoutes(s),
    ...channelRoutes(s),
    ...apiChannelRoutes(s),
    ...llmRoutes(s),
    ...kbRoutes(s),
    ...botFlowRoutes(s),
    ...botRoutes(s),
  ] as AnyRoute[];
  const system: AnyRoute[] = [
    defineRoute({
      method: 'GET', url: '/healthz', summary: 'Liveness and readiness: 200 once migrations ran and the server accepts traffic', tags: ['system'],
      auth: 'public', response: Health,
      handler: async ({ reply }) => {
        if (!opts.isReady()) {
          reply.code(503);
          return { status: 'starting' };
        }
        return { status: 'ok' as const };
      },
    }),
    defineRoute({
      method: 'GET', url: '/openapi.json', summary: 'This API description (OpenAPI 3)', tags: ['system'], auth: 'public', response: z.record(z.string(), z.unknown()),
      handler: async () => openapi,
    }),
  ] as AnyRoute[];
  // Platform webhooks: their own scope (raw bodies of any content type, 1 MB), outside the JSON routes.
  if (serveApi) await registerChannelWebhooks(app, s, { rateLimitFactor: opts.rateLimitFactor ?? 1 });
  const all = [...routes, ...system];
  const openapi = buildOpenApi(all, { version: opts.version, serverUrl: opts.publicUrl });
  const factor = opts.rateLimitFactor ?? 1;

  for (const r of all) {
    app.route({
      method: r.method,
      url: r.url,
      // Public routes (login, widget sessions…) are limited per IP only: a made-up Authorization header
      // must not buy a fresh bucket.
      ...(r.rateLimit
        ? { config: { rateLimit: { max: r.rateLimit * factor, timeWindow: 60_000, ...(r.auth === 'public' ? { keyGenerator: (req: FastifyRequest) => req.ip } : {}) } } }
        : {}),
      handler: async (req, reply) => {
        const actor = await authenticate(req, r.auth);
        const params = r.params ? parseOrThrow(r.params, req.params, 'params') : undefined;
        const query = r.query ? parseOrThrow(r.query, req.query, 'query') : undefined;
        if (!r.body && !r.multipart && req.body !== undefined && req.body !== null && r.method !== 'GET') {
          const empty = typeof req.body === 'object' && Object.keys(req.body as object).length === 0;
          if (!empty) throw new AppError('validation_failed', 'body: this endpoint takes no request body', [{ path: 'body', message: 'remove the body' }]);
        }
        const body = r.body ? parseOrThrow(r.body, req.body, 'body') : undefined;
        if (r.status) reply.code(r.status);
        const result = await r.handler({ actor, params, query, body, req, reply } as never);
        if (reply.sent) return reply;
        if (result === undefined) return reply.code(204).send();
        return result;
      },
    });
  }
  return { app, routes: all };
}
