import { z } from 'zod';
import { AttachmentRef } from '@huiliu/contracts';
import { AppError } from '@huiliu/core/shared/errors';
import type { FastifyRequest } from 'fastify';
import { defineRoute } from '../route.ts';
import type { Services } from '../../services.ts';

async function readFile(req: FastifyRequest, maxBytes: number): Promise<{ fileName: string; declaredType: string; data: Buffer }> {
  if (!req.isMultipart()) throw new AppError('unsupported_media_type', 'upload with Content-Type multipart/form-data and a "file" field');
  const part = await req.file({ limits: { fileSize: maxBytes, files: 1 } });
  if (!part) throw new AppError('validation_failed', 'body.file: no file field in the upload', [{ path: 'body.file', message: 'missing' }]);
  const data = await part.toBuffer().catch((err: { code?: string }) => {
    if (err.code === 'FST_REQ_FILE_TOO_LARGE') throw new AppError('payload_too_large', `the file is larger than ${Math.round(maxBytes / 1024 / 1024)} MB`);
    throw err;
  });
  // toBuffer() can miss a limit hit in the last chunk and hand back a file cut at the limit: never store that.
  if (part.file.truncated) throw new AppError('payload_too_large', `the file is larger than ${Math.round(maxBytes / 1024 / 1024)} MB`);
  return { fileName: part.filename, declaredType: part.mimetype, data };
}

const FileParams = z.strictObject({ id: z.uuid() });
const FileQuery = z.strictObject({ exp: z.coerce.number().int(), sig: z.string().max(100) });

export const attachmentRoutes = (s: Services) => [
  defineRoute({
    method: 'POST', url: '/api/v1/attachments', summary: 'Upload a file (multipart "file"); send a message with its id to attach it', tags: ['attachments'],
    auth: 'user', multipart: true, response: AttachmentRef, status: 201, rateLimit: 60,
    handler: async ({ actor, req }) => s.attachments.upload(actor, await readFile(req, s.attachments.maxUploadBytes)),
  }),
  defineRoute({
    method: 'POST', url: '/api/widget/v1/attachments', summary: 'Upload a file as the visitor', tags: ['widget'],
    auth: 'visitor', multipart: true, response: AttachmentRef, status: 201, rateLimit: 30,
    handler: async ({ actor, req }) => s.attachments.upload(actor, await readFile(req, s.attachments.maxUploadBytes)),
  }),
  defineRoute({
    method: 'GET', url: '/files/:id', summary: 'Download a file through a signed, expiring link (the `url` of an attachment)', tags: ['attachments'],
    auth: 'public', params: FileParams, query: FileQuery, response: z.string(), binary: true,
    handler: async ({ params, query, reply }) => {
      if (!s.files.verify(params.id, query.exp, query.sig)) throw new AppError('forbidden', 'this file link is invalid or has expired; reload the conversation for a fresh link');
      const file = await s.attachments.open(params.id);
      return reply
        .header('content-type', file.contentType)
        .header('content-length', String(file.size))
        .header('content-disposition', file.disposition)
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', "default-src 'none'; sandbox")
        .header('cache-control', 'private, max-age=3600')
        .send(file.stream);
    },
  }),
];
