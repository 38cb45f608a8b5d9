import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { invalid } from '../shared/errors.ts';

/**
 * Where attachment bytes live. The database keeps the metadata (attachments row: name, type, size,
 * sha256, storage_key); a store only maps an opaque key to bytes, so the same code runs on local disk
 * for single-node installs and on object storage for clusters.
 *
 * An S3-compatible store (AWS S3, MinIO, Aliyun OSS, Tencent COS) would implement it as:
 * - put: PutObject for a Buffer, a multipart upload (e.g. @aws-sdk/lib-storage `Upload`) for a stream.
 *   An object becomes visible only when the upload completes, which gives the same no-half-file
 *   guarantee the disk store gets from rename. `size` is the byte count streamed.
 * - get: GetObject and return its Body stream; NoSuchKey (404) → AppError not_found.
 * - delete: DeleteObject, which already succeeds for a missing key.
 * - exists: HeadObject; 404 → false.
 * Keys map 1:1 to object keys under a configurable prefix; validateBlobKey still applies, so both
 * stores accept the same keys.
 */
export interface BlobStorage {
  /** Stores `data` under `key`, replacing any previous blob; readers never see a partial blob. */
  put(key: string, data: Buffer | Readable): Promise<{ size: number }>;
  /** The blob's bytes; AppError 'not_found' when there is none. */
  get(key: string): Promise<Readable>;
  /** Removes the blob; a missing key is not an error (deletes are retried by jobs). */
  delete(key: string): Promise<void>;
  exists(key: string): Promise<boolean>;
}

const MAX_KEY_LENGTH = 512;
// Segments of letters, digits, '-', '_' and '.', not starting with '.': no '..', no hidden or temp
// files (the disk store writes temps as '.tmp-…'), no backslashes or drive letters for Windows.
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/**
 * Refuses keys that could name something outside the store: absolute paths, '..', empty segments,
 * separators other than '/'. Keys come from our own code (newBlobKey), so a bad key is a bug or an
 * attack, never something to repair.
 */
export function validateBlobKey(key: string): string {
  const segments = key.split('/');
  if (key.length === 0 || key.length > MAX_KEY_LENGTH || !segments.every((s) => SEGMENT.test(s))) {
    throw invalid('key', 'a storage key is segments of letters, digits, "-", "_" and "." separated by "/"');
  }
  return key;
}

/** A fresh key `<workspaceId>/<yyyy>/<mm>/<uuid>`: per-tenant prefix, month folders keep directories small. */
export function newBlobKey(workspaceId: string, at: Date = new Date()): string {
  const yyyy = String(at.getUTCFullYear());
  const mm = String(at.getUTCMonth() + 1).padStart(2, '0');
  return validateBlobKey(`${workspaceId}/${yyyy}/${mm}/${randomUUID()}`);
}
