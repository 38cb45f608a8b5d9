import { randomUUID } from 'node:crypto';
import { mkdir, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { invalid, notFound } from '../shared/errors.ts';
import { validateBlobKey, type BlobStorage } from './blob-storage.ts';
import { syncDir } from '../shared/durable-fs.ts';

/** The attachments folder inside the server's data directory. */
export function attachmentsDir(dataDir: string): string {
  return join(dataDir, 'attachments');
}

/**
 * Blobs as files under `rootDir` (normally attachmentsDir(dataDir)), one file per key. A write goes to
 * a temp file in the target folder, is fsynced, then renamed over the key: rename is atomic within a
 * file system, so a crash leaves either the old blob, the new one, or a stray '.tmp-…' file — never a
 * truncated file under the real key.
 */
export function createDiskStorage(rootDir: string): BlobStorage {
  const root = resolve(rootDir);

  const pathOf = (key: string): string => {
    const path = resolve(root, validateBlobKey(key));
    // Second line of defence after key validation: the resolved path must stay inside the root.
    const rel = relative(root, path);
    if (!rel || rel.startsWith('..') || isAbsolute(rel)) throw invalid('key', 'a storage key must stay inside the store');
    return path;
  };

  return {
    async put(key, data) {
      const path = pathOf(key);
      const dir = dirname(path);
      await mkdir(dir, { recursive: true });
      const temp = join(dir, `.tmp-${randomUUID()}`);
      const fh = await open(temp, 'wx', 0o600);
      let size = 0;
      try {
        if (Buffer.isBuffer(data)) {
          await fh.writeFile(data);
          size = data.length;
        } else {
          // Awaiting each write applies backpressure: a slow disk pauses the upload stream.
          for await (const chunk of data) {
            const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
            await fh.write(bytes);
            size += bytes.byteLength;
          }
        }
        await fh.sync();
        await fh.close();
        await rename(temp, path);
      } catch (err) {
        await fh.close().catch(() => {});
        await unlink(temp).catch(() => {});
        throw err;
      }
      await syncDir(dir);
      return { size };
    },

    async get(key) {
      let fh: FileHandle;
      try {
        fh = await open(pathOf(key), 'r');
      } catch (err) {
        if (isMissing(err)) throw notFound('attachment');
        throw err;
      }
      // Opening first (instead of stat then createReadStream) leaves no window for a concurrent delete.
      if (!(await fh.stat()).isFile()) {
        await fh.close();
        throw notFound('attachment');
      }
      return fh.createReadStream();
    },

    async delete(key) {
      try {
        await unlink(pathOf(key));
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
    },

    async exists(key) {
      try {
        return (await stat(pathOf(key))).isFile();
      } catch (err) {
        if (isMissing(err)) return false;
        throw err;
      }
    },
  };
}

function isMissing(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
