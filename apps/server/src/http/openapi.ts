import { z } from 'zod';
import { ApiChannelWebhookPayload, ErrorBody } from '@huiliu/contracts';
import type { AnyRoute } from './route.ts';
import { apiChannelWebhookDoc } from './routes/api-channel.routes.ts';

const ERROR_RESPONSES: Record<string, string> = {
  '400': 'Invalid request: `validation_failed` names the field',
  '401': 'Missing, forged, expired or revoked credentials',
  '403': 'Not allowed',
  '404': 'Not found (also for ids of another workspace)',
  '429': 'Rate limited',
};

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const s = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'openapi-3.0' }) as Record<string, unknown>;
  delete s.$schema;
  return s;
}

/** OpenAPI 3 document generated from the same route definitions and zod schemas that validate requests. */
export function buildOpenApi(routes: AnyRoute[], info: { version: string; serverUrl: string }) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.url.replace(/:([A-Za-z]+)/g, '{$1}');
    const parameters: unknown[] = [];
    for (const [where, schema] of [['path', r.params], ['query', r.query]] as const) {
      if (!schema) continue;
      const js = jsonSchema(schema as z.ZodType, 'input') as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, prop] of Object.entries(js.properties ?? {})) {
        parameters.push({ name, in: where, required: where === 'path' || (js.required ?? []).includes(name), schema: prop });
      }
    }
    const status = String(r.status ?? (r.response === null ? 204 : 200));
    const responses: Record<string, unknown> = {
      [status]: r.response === null
        ? { description: 'No content' }
        : r.binary
          ? { description: 'The file', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } }
          : { description: 'OK', content: { 'application/json': { schema: jsonSchema(r.response, 'output') } } },
    };
    for (const [code, description] of Object.entries(ERROR_RESPONSES)) {
      if (code === '401' && r.auth === 'public') continue;
      responses[code] = { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    }
    const op: Record<string, unknown> = {
      summary: r.summary,
      tags: r.tags,
      operationId: `${r.method.toLowerCase()}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      parameters,
      responses,
      security: r.auth === 'user' ? [{ bearerAuth: [] }] : r.auth === 'visitor' ? [{ visitorToken: [] }] : [],
      'x-huiliu-auth': r.auth,
    };
    if (r.body) op.requestBody = { required: true, content: { 'application/json': { schema: jsonSchema(r.body as z.ZodType, 'input') } } };
    if (r.multipart) {
      op.requestBody = {
        required: true,
        content: { 'multipart/form-data': { schema: { type: 'object', required: ['file'], properties: { file: { type: 'string', format: 'binary' } } } } },
      };
    }
    (paths[path] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.0.3',
    info: {
      title: 'Huiliu API',
      version: info.version,
      description: 'REST API of Huiliu (汇流). Realtime events are described in packages/contracts/src/realtime.ts (Socket.IO).',
    },
    servers: [{ url: info.serverUrl }],
    paths,
    // Requests Huiliu sends to integrators: the OpenAPI 3.1 `webhooks` field (the rest of the document is 3.0-shaped).
    webhooks: { apiChannelMessageCreated: apiChannelWebhookDoc(jsonSchema(ApiChannelWebhookPayload, 'output')) },
    components: {
      schemas: { Error: jsonSchema(ErrorBody, 'output') },
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'Session token from POST /api/v1/auth/login' },
        visitorToken: { type: 'http', scheme: 'bearer', description: 'Visitor token from POST /api/widget/v1/sessions' },
      },
    },
  };
}
