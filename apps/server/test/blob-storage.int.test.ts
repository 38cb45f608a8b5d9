/**
 * The PostgreSQL blob store (attachments in the `blobs` table, the default in a cluster): the BlobStorage
 * contract on PGlite and PostgreSQL, then a real server with HUILIU_STORAGE=database — a file uploaded
 * through one node downloads byte-identical through a second node with a data directory of its own.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@huiliu/testing';
import type { Database } from '@huiliu/core/db/database';
import { openPostgres } from '@huiliu/core/db/postgres';
import { createLogger } from '@huiliu/core/shared/logger';
import { AppError } from '@huiliu/core/shared/errors';
import type { BlobStorage } from '@huiliu/core/storage/blob-storage';
import { newBlobKey } from '@huiliu/core/storage/blob-storage';
import { createDatabaseStorage, MAX_DATABASE_BLOB_BYTES } from '@huiliu/core/storage/database-storage';
import { createDiskStorage } from '@huiliu/core/storage/disk-storage';
import { loadConfig } from '../src/config.ts';
import { startHuiliu, type Huiliu } from '../src/app.ts';
import { startTestServer, type TestServer } from './helpers/test-server.ts';

const WS = '00000000-0000-4000-8000-000000000001';

async function bytesOf(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(parts);
}

async function errorOf(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    return err as AppError;
  }
  throw new Error('expected a rejection');
}

/** Every byte value, 0x00 first, several times over. */
const ALL_BYTES = Buffer.from(Array.from({ length: 1024 }, (_, i) => i % 256));

describe('database blob store', () => {
  let testDb: TestDatabase;
  let store: BlobStorage;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    store = createDatabaseStorage(testDb.db);
  });
  afterAll(async () => {
    await testDb?.drop();
  });

  it('stores a Buffer and reads back every byte value exactly, 0x00 included', async () => {
    const key = newBlobKey(WS);
    expect(await store.exists(key)).toBe(false);
    expect(await store.put(key, ALL_BYTES)).toEqual({ size: 1024 });
    expect(await store.exists(key)).toBe(true);
    expect((await bytesOf(await store.get(key))).equals(ALL_BYTES)).toBe(true);
    const [row] = await testDb.db.query<{ size: number; length: number }>('SELECT size, length(data) AS length FROM blobs WHERE key = $1', [key]);
    expect(row).toEqual({ size: 1024, length: 1024 });
  });

  it('stores an empty blob', async () => {
    const key = newBlobKey(WS);
    expect(await store.put(key, Buffer.alloc(0))).toEqual({ size: 0 });
    expect(await store.exists(key)).toBe(true);
    expect((await bytesOf(await store.get(key))).length).toBe(0);
  });

  it('reads a stream fully and counts its size, string chunks included', async () => {
    const key = newBlobKey(WS);
    const chunks = [ALL_BYTES.subarray(0, 100), 'héllo', new Uint8Array([0, 0, 255]), ALL_BYTES.subarray(100)];
    const expected = Buffer.concat([ALL_BYTES.subarray(0, 100), Buffer.from('héllo'), Buffer.from([0, 0, 255]), ALL_BYTES.subarray(100)]);
    expect(await store.put(key, Readable.from(chunks))).toEqual({ size: expected.length });
    expect((await bytesOf(await store.get(key))).equals(expected)).toBe(true);
  });

  it('a 5 MB random file round-trips byte-identical, from a Buffer and from a stream', async () => {
    const big = randomBytes(5 * 1024 * 1024);
    const sha = createHash('sha256').update(big).digest('hex');
    const a = newBlobKey(WS);
    expect(await store.put(a, big)).toEqual({ size: big.length });
    expect(createHash('sha256').update(await bytesOf(await store.get(a))).digest('hex')).toBe(sha);
    const b = newBlobKey(WS);
    // 64 KB chunks, like a file or upload stream.
    const chunks = Array.from({ length: big.length / 65536 }, (_, i) => big.subarray(i * 65536, (i + 1) * 65536));
    expect(await store.put(b, Readable.from(chunks))).toEqual({ size: big.length });
    expect((await bytesOf(await store.get(b))).equals(big)).toBe(true);
  });

  it('put replaces the previous blob under the same key', async () => {
    const key = newBlobKey(WS);
    await store.put(key, Buffer.from('first version, longer than the second'));
    expect(await store.put(key, Buffer.from('second'))).toEqual({ size: 6 });
    expect((await bytesOf(await store.get(key))).toString()).toBe('second');
    const rows = await testDb.db.query('SELECT size FROM blobs WHERE key = $1', [key]);
    expect(rows).toEqual([{ size: 6 }]);
  });

  it('a stream that fails half-way stores nothing and leaves the old blob in place', async () => {
    const key = newBlobKey(WS);
    await store.put(key, Buffer.from('old'));
    const failing = Readable.from((async function* () {
      yield Buffer.from('new and partial');
      throw new Error('connection reset');
    })());
    await expect(store.put(key, failing)).rejects.toThrow('connection reset');
    expect((await bytesOf(await store.get(key))).toString()).toBe('old');
    const fresh = newBlobKey(WS);
    const failingToo = Readable.from((async function* () {
      yield Buffer.from('partial');
      throw new Error('connection reset');
    })());
    await expect(store.put(fresh, failingToo)).rejects.toThrow('connection reset');
    expect(await store.exists(fresh)).toBe(false);
  });

  it('a stream over the size limit is refused as payload_too_large without being read to its end', async () => {
    const key = newBlobKey(WS);
    const chunk = Buffer.alloc(16 * 1024 * 1024, 1);
    let pulled = 0;
    const endless = new Readable({
      read() {
        pulled++;
        this.push(chunk);
      },
    });
    const err = await errorOf(store.put(key, endless));
    expect(err).toBeInstanceOf(AppError);
    expect(err.code).toBe('payload_too_large');
    expect(pulled * chunk.length).toBeLessThan(MAX_DATABASE_BLOB_BYTES + 4 * chunk.length);
    expect(endless.destroyed).toBe(true);
    expect(await store.exists(key)).toBe(false);
  });

  it('get of a missing key → AppError not_found; delete of a missing key is fine', async () => {
    const key = newBlobKey(WS);
    const err = await errorOf(store.get(key));
    expect(err).toBeInstanceOf(AppError);
    expect(err.code).toBe('not_found');
    expect(err.message).toBe('attachment not found');
    await store.delete(key);
    expect(await store.exists(key)).toBe(false);
  });

  it('delete removes the blob', async () => {
    const key = newBlobKey(WS);
    await store.put(key, Buffer.from('bye'));
    await store.delete(key);
    expect(await store.exists(key)).toBe(false);
    expect((await errorOf(store.get(key))).code).toBe('not_found');
    await store.delete(key);
  });

  it('moves a blob of the previous (disk) store in on first read, so switching stores hides no older file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'huiliu-blobs-previous-'));
    try {
      const disk = createDiskStorage(dir);
      const key = newBlobKey(WS);
      await disk.put(key, ALL_BYTES);
      const switched = createDatabaseStorage(testDb.db, { previous: disk });
      expect(await switched.exists(key)).toBe(true);
      expect((await bytesOf(await switched.get(key))).equals(ALL_BYTES)).toBe(true);
      // Now in the database: a store without the disk fallback (another node) serves it too.
      expect((await bytesOf(await store.get(key))).equals(ALL_BYTES)).toBe(true);
      await switched.delete(key);
      expect(await disk.exists(key)).toBe(false);
      expect(await switched.exists(key)).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses keys the disk store refuses, on every operation', async () => {
    for (const bad of ['', '../etc/passwd', '/abs', 'a//b', 'a/../b', '.hidden', 'a\\b', 'C:x', 'a'.repeat(513)]) {
      for (const op of [store.put(bad, Buffer.from('x')), store.get(bad), store.delete(bad), store.exists(bad)]) {
        const err = await errorOf(op);
        expect(err, JSON.stringify(bad)).toBeInstanceOf(AppError);
        expect(err.code).toBe('validation_failed');
      }
    }
    expect(await testDb.db.query(`SELECT key FROM blobs WHERE key NOT LIKE $1`, [`${WS}/%`])).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------
// Through the real server: upload via node A (agent API and widget API), download via node B.

const PNG_HEADER = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

function fileForm(data: Buffer, name: string, type: string): FormData {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(data)], { type }), name);
  return form;
}

describe('attachments with HUILIU_STORAGE=database', () => {
  let a: TestServer;
  let b: Huiliu;
  let bDb: Database | undefined;
  let bDataDir: string;

  beforeAll(async () => {
    a = await startTestServer({ storage: 'database' });
    expect(a.node.services.attachments).toBeDefined();
    // Node B: its own (empty) data directory, the same database and master key (HUILIU_SECRET_KEY, as
    // every node of a cluster has), its own pool on PostgreSQL.
    bDataDir = await mkdtemp(join(tmpdir(), 'huiliu-test-b-'));
    const secretKey = (await readFile(join(a.dataDir, 'secret.key'), 'utf8')).trim();
    bDb = a.testDb.url ? await openPostgres(a.testDb.url, { max: 4 }) : undefined;
    b = await startHuiliu({
      config: loadConfig({ PORT: '0', HOST: '127.0.0.1', HUILIU_DATA_DIR: bDataDir, LOG_LEVEL: 'silent', HUILIU_SECRET_KEY: secretKey, HUILIU_STORAGE: 'database' }),
      db: bDb ?? a.testDb.db,
      seed: false,
      logger: createLogger({ level: 'silent' }),
    });
  });
  afterAll(async () => {
    await b?.close();
    await bDb?.close();
    await a?.close();
    if (bDataDir) await rm(bDataDir, { recursive: true, force: true });
  });

  it('an agent upload through node A downloads byte-identical through node B; no file on either disk', async () => {
    // A real PNG header (the type comes from the bytes) followed by 3 MB of random bytes, 0x00 included.
    const data = Buffer.concat([PNG_HEADER, ALL_BYTES, randomBytes(3 * 1024 * 1024)]);
    const token = await a.login(a.demo.adminEmail);
    const up = await a.api('POST', '/api/v1/attachments', { token, form: fileForm(data, 'photo.png', 'image/png') });
    expect(up.status).toBe(201);
    expect(up.body).toMatchObject({ contentType: 'image/png', size: data.length });

    for (const base of [a.url, b.url]) {
      const res = await fetch(base + up.body.url);
      expect(res.status, base).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/png');
      expect(res.headers.get('content-length')).toBe(String(data.length));
      expect(Buffer.from(await res.arrayBuffer()).equals(data), base).toBe(true);
    }
    const [row] = await a.testDb.db.query<{ size: number }>(
      'SELECT b.size FROM attachments a JOIN blobs b ON b.key = a.storage_key WHERE a.id = $1', [up.body.id],
    );
    expect(row).toEqual({ size: data.length });
    for (const dir of [a.dataDir, bDataDir]) expect(await readdir(dir), dir).not.toContain('attachments');
  });

  it('a visitor upload through the widget API on node B downloads byte-identical through node A', async () => {
    const session = await fetch(`${b.url}/api/widget/v1/sessions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inboxPublicId: a.demo.widgetInboxPublicId }),
    });
    expect(session.status).toBe(200);
    const { visitorToken } = (await session.json()) as { visitorToken: string };
    const data = Buffer.concat([Buffer.from('%PDF-1.4\n%\xE2\xE3\xCF\xD3\n', 'latin1'), Buffer.alloc(4096), randomBytes(64 * 1024)]);
    const up = await fetch(`${b.url}/api/widget/v1/attachments`, {
      method: 'POST', headers: { authorization: `Bearer ${visitorToken}` }, body: fileForm(data, 'invoice.pdf', 'application/pdf'),
    });
    expect(up.status).toBe(201);
    const ref = (await up.json()) as { url: string; contentType: string; size: number };
    expect(ref).toMatchObject({ contentType: 'application/pdf', size: data.length });
    const res = await fetch(a.url + ref.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="invoice\.pdf"/);
    expect(Buffer.from(await res.arrayBuffer()).equals(data)).toBe(true);
  });
});
