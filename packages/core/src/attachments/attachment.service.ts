import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { AttachmentRef } from '@huiliu/contracts';
import type { Database } from '../db/database.ts';
import { one } from '../db/database.ts';
import type { Actor } from '../auth/actor.ts';
import { requirePermission } from '../auth/actor.ts';
import type { FileUrlSigner } from '../auth/tokens.ts';
import { notFound } from '../shared/errors.ts';
import type { BlobStorage } from '../storage/blob-storage.ts';
import { newBlobKey } from '../storage/blob-storage.ts';
import { inspectUpload } from '../storage/upload-policy.ts';
import { contentDisposition } from '../storage/file-name.ts';

/**
 * Uploads are stored first (not yet attached to a message); sending a message with their ids attaches
 * them (see the pipeline). Downloads go through signed, expiring URLs so `<img src>` works in browsers.
 */
export function createAttachmentService(deps: { db: Database; storage: BlobStorage; files: FileUrlSigner; maxUploadBytes: number }) {
  const { db, storage, files, maxUploadBytes } = deps;
  return {
    maxUploadBytes,
    async upload(actor: Actor, file: { fileName: string; declaredType: string; data: Buffer }): Promise<AttachmentRef> {
      if (actor.kind === 'user') requirePermission(actor, 'conversation.reply');
      const checked = await inspectUpload({ fileName: file.fileName, declaredType: file.declaredType, data: file.data, maxBytes: maxUploadBytes });
      const key = newBlobKey(actor.workspaceId);
      await storage.put(key, file.data);
      const r = await one(
        db,
        `INSERT INTO attachments (workspace_id, uploader_type, uploader_id, file_name, content_type, size, sha256, storage_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
        [
          actor.workspaceId,
          actor.kind === 'visitor' ? 'contact' : actor.kind === 'user' ? 'user' : 'system',
          actor.kind === 'visitor' ? actor.contactId : actor.kind === 'user' ? actor.userId : null,
          checked.fileName,
          checked.contentType,
          file.data.length,
          createHash('sha256').update(file.data).digest('hex'),
          key,
        ],
      );
      const id = r!.id as string;
      return { id, fileName: checked.fileName, contentType: checked.contentType, size: file.data.length, url: files.url(id) };
    },

    /** Opens a download after the URL signature was verified by the caller. */
    async open(id: string): Promise<{ stream: Readable; contentType: string; size: number; disposition: string }> {
      const r = await one(db, `SELECT * FROM attachments WHERE id = $1`, [id]);
      if (!r) throw notFound('file');
      const contentType = r.content_type as string;
      const inline = /^(image|audio|video)\//.test(contentType);
      return { stream: await storage.get(r.storage_key as string), contentType, size: Number(r.size), disposition: contentDisposition(r.file_name as string, inline) };
    },
  };
}
export type AttachmentService = ReturnType<typeof createAttachmentService>;
