import type { FastifyRequest } from 'fastify';
import { AppError } from '@huiliu/core/shared/errors';

/**
 * The "file" field of a multipart upload (imports: contacts CSV, knowledge-base files), capped at `maxBytes`
 * while it streams in. `what` names the expected file in the error ("the CSV", "the file").
 */
export async function readFileUpload(req: FastifyRequest, maxBytes: number, what = 'the file'): Promise<{ fileName: string; data: Buffer }> {
  if (!req.isMultipart()) throw new AppError('unsupported_media_type', `upload ${what} with Content-Type multipart/form-data and a "file" field`);
  const part = await req.file({ limits: { fileSize: maxBytes, files: 1 } });
  if (!part) throw new AppError('validation_failed', 'body.file: no file field in the upload', [{ path: 'body.file', message: 'missing' }]);
  const tooLarge = () => new AppError('payload_too_large', `the file is larger than ${maxBytes / 1024 / 1024} MB; split it into smaller files`);
  const data = await part.toBuffer().catch((err: { code?: string }) => {
    if (err.code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge();
    throw err;
  });
  // toBuffer() misses a limit hit by the very last chunk (it checks `truncated` before busboy sets it),
  // handing back the first maxBytes as if that were the whole file.
  if (part.file.truncated) throw tooLarge();
  return { fileName: part.filename, data };
}
