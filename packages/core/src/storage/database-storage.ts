import { Readable } from 'node:stream';
import type { Database } from '../db/database.ts';
import { AppError, notFound } from '../shared/errors.ts';
import { validateBlobKey, type BlobStorage } from './blob-storage.ts';

/**
 * The largest blob the database store takes. Bytes travel as hex text (see below), twice their size, and
 * a JS string holds at most ~512 M characters; PostgreSQL's 1 GB field limit is further. Well above the
 * upload limit in practice (HUILIU_MAX_UPLOAD_MB, default 20); the config refuses a higher upload limit
 * with this store.
 */
export const MAX_DATABASE_BLOB_BYTES = 200 * 1024 * 1024;

/**
 * Blobs as rows of the `blobs` table (key → bytea), in the same database as everything else.
 *
 * Why the database: in a cluster every node has its own data directory, so a file uploaded through one
 * node could not be downloaded through another; PostgreSQL is already shared by every node. It is also
 * transactional (one INSERT … ON CONFLICT replaces a blob, so a reader sees the old bytes or the new
 * ones, never half) and its backups (pg_dump, base backups, `huiliu backup` on the embedded database)
 * carry the files with the messages that refer to them — no second system to run, secure and restore.
 * That suits attachment-sized files (up to the upload limit, 20 MB by default): a blob is read whole into
 * memory for a download, and every byte passes through the database's WAL, backups and replicas.
 *
 * Prefer object storage (S3, MinIO, OSS, COS; see BlobStorage) when files are large or many — say a
 * higher upload limit, video, or tens of GB in total — or when the database's size, backup time and
 * replication traffic matter more than having one system: it streams, scales past one server's disk and
 * is cheaper per GB.
 *
 * Bytes cross the driver as hex text (`decode($2, 'hex')` in, `encode(data, 'hex')` out) rather than as
 * bytea values: node-postgres would hand back a Buffer, but PGlite converts bytea to and from JS one byte
 * at a time (Array.from / parseInt per byte): a 20 MB file took 15 s to write and 3.5 s to read (PGlite
 * 0.5.14), against 1.2 s and 0.2 s as hex. Hex is done natively on both sides (PostgreSQL's encode/decode,
 * Buffer's 'hex'), so both drivers behave the same.
 */
export function createDatabaseStorage(db: Database, opts: { /** Where blobs lived before (read-through move). */ previous?: BlobStorage } = {}): BlobStorage {
  const { previous } = opts;
  /**
   * A blob missing here but present in the previous store (a node's disk, from before it joined a
   * cluster) is copied in on first read, so switching stores never hides an older attachment; the
   * disk copy stays until an operator removes it.
   */
  async function moveIn(key: string): Promise<Buffer | undefined> {
    if (!previous || !(await previous.exists(key))) return undefined;
    const bytes = await readAll(await previous.get(key));
    await db.query(`INSERT INTO blobs (key, data, size) VALUES ($1, decode($2, 'hex'), $3) ON CONFLICT (key) DO NOTHING`, [key, bytes.toString('hex'), bytes.length]);
    return bytes;
  }
  return {
    async put(key, data) {
      validateBlobKey(key);
      // Read a stream fully before writing: the one INSERT below is what makes the blob visible at once.
      const bytes = Buffer.isBuffer(data) ? data : await readAll(data);
      if (bytes.length > MAX_DATABASE_BLOB_BYTES) throw tooLarge();
      await db.query(
        `INSERT INTO blobs (key, data, size) VALUES ($1, decode($2, 'hex'), $3)
         ON CONFLICT (key) DO UPDATE SET data = excluded.data, size = excluded.size, created_at = now()`,
        [key, bytes.toString('hex'), bytes.length],
      );
      return { size: bytes.length };
    },

    async get(key) {
      validateBlobKey(key);
      const rows = await db.query<{ hex: string }>(`SELECT encode(data, 'hex') AS hex FROM blobs WHERE key = $1`, [key]);
      const row = rows[0];
      const bytes = row ? Buffer.from(row.hex, 'hex') : await moveIn(key);
      if (!bytes) throw notFound('attachment');
      // In an array: Readable.from(buffer) would emit the buffer byte by byte.
      return Readable.from([bytes]);
    },

    async delete(key) {
      validateBlobKey(key);
      await db.query('DELETE FROM blobs WHERE key = $1', [key]);
      await previous?.delete(key);
    },

    async exists(key) {
      validateBlobKey(key);
      return (await db.query('SELECT 1 FROM blobs WHERE key = $1', [key])).length > 0 || ((await previous?.exists(key)) ?? false);
    },
  };
}

/** Every chunk of a stream as one Buffer; stops reading (and destroys the stream) past the size limit. */
async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const bytes: Buffer = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    size += bytes.length;
    // Leaving the loop early destroys the stream, so an over-long upload is not read to its end.
    if (size > MAX_DATABASE_BLOB_BYTES) throw tooLarge();
    chunks.push(bytes);
  }
  return Buffer.concat(chunks, size);
}

function tooLarge(): AppError {
  return new AppError('payload_too_large', `the file is over the ${MAX_DATABASE_BLOB_BYTES / 1024 / 1024} MB the database store takes; use a lower HUILIU_MAX_UPLOAD_MB or disk/object storage`);
}
