import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, openAsBlob } from 'node:fs';
import { mkdir, open, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { openPglite } from '@huiliu/core/db/pglite';
import { lockDataDir } from '@huiliu/core/db/data-dir-lock';
import type { Sql } from '@huiliu/core/db/database';
import type { Config } from '../config.ts';
import { VERSION } from '../app.ts';
import { syncDir } from '@huiliu/core/shared/durable-fs';

/**
 * `huiliu backup` / `huiliu restore` for the embedded installation (format: docs/operations.md).
 *
 * A backup is ONE gzip-compressed POSIX tar file (readable with `tar -tzf`) holding, in this order:
 *   pgdata.tar         PGlite's own dump of the PostgreSQL data directory (`dumpDataDir('none')`; the
 *                      outer gzip compresses it once), restored with `new PGlite({ loadDataDir })`
 *   secret.key         the master key (absent when HUILIU_SECRET_KEY is used) — without it the stored
 *                      channel/integration secrets cannot be decrypted
 *   attachments/…      every uploaded file, same relative paths as in the data directory
 *   manifest.json      last, so every entry could be hashed while streaming: format, versions, time,
 *                      row counts per table, applied migrations, size and sha256 of every other entry
 */
export const BACKUP_FORMAT = 'huiliu-backup';
export const BACKUP_FORMAT_VERSION = 1;
const MANIFEST = 'manifest.json';
const PGDATA_TAR = 'pgdata.tar';
const KEY_FILE = 'secret.key';
const ATTACHMENTS = 'attachments';
const LOCK_FILE = 'huiliu.lock';

export interface BackupEntry {
  path: string;
  size: number;
  sha256: string;
}

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  formatVersion: number;
  huiliuVersion: string;
  createdAt: string;
  database: {
    engine: 'pglite';
    serverVersion: string;
    /** schema_migrations versions, in order. */
    migrations: string[];
    /** Exact count(*) of every table of the public schema. */
    tables: Record<string, number>;
  };
  secretKey: boolean;
  entries: BackupEntry[];
}

// ---------------------------------------------------------------------------------------------------
// backup

export async function backup(config: Config, outFile: string): Promise<string> {
  refusePostgres(config, 'back it up with pg_dump (e.g. `pg_dump -Fc "$DATABASE_URL" > huiliu.dump`) and copy HUILIU_DATA_DIR (attachments/, secret.key) alongside');
  const dataDir = config.dataDir;
  const pgdata = join(dataDir, 'pgdata');
  if (!(await exists(join(pgdata, 'PG_VERSION')))) {
    throw new Error(`HUILIU_DATA_DIR: ${dataDir} holds no embedded database (no pgdata/ inside); point HUILIU_DATA_DIR at the data directory to back up`);
  }
  const out = resolve(outFile);
  if (!(await isDirectory(dirname(out)))) throw new Error(`--out: the directory ${dirname(out)} does not exist`);
  if (await isDirectory(out)) throw new Error(`--out: ${out} is a directory; give a file name like huiliu-backup.tar.gz`);

  // The lock fails while a server runs on this directory (DataDirLockedError says to stop it): PGlite
  // cannot be opened by two processes, and a backup must not mix database states with uploads in flight.
  const lock = await lockDataDir(dataDir);
  const temp = join(dirname(out), `.${basename(out)}.tmp-${randomBytes(6).toString('hex')}`);
  const createdAt = new Date().toISOString();
  try {
    const db = await openPglite(pgdata);
    let facts: { migrations: string[]; tables: Record<string, number>; serverVersion: string };
    let dump: Blob;
    try {
      await db.exec('CHECKPOINT');
      facts = { ...(await databaseFacts(db)), serverVersion: String((await db.query(`SHOW server_version`))[0]?.server_version ?? '') };
      dump = await db.pglite.dumpDataDir('none');
    } finally {
      await db.close();
    }

    const files = await listFiles(join(dataDir, ATTACHMENTS), ATTACHMENTS);
    const keyPath = join(dataDir, KEY_FILE);
    const hasKey = await exists(keyPath);
    const entries: BackupEntry[] = [];
    const manifest = (): BackupManifest => ({
      format: BACKUP_FORMAT,
      formatVersion: BACKUP_FORMAT_VERSION,
      huiliuVersion: VERSION,
      createdAt,
      database: { engine: 'pglite', ...facts },
      secretKey: hasKey,
      entries,
    });

    async function* archive(): AsyncGenerator<Buffer> {
      yield* tarEntry(PGDATA_TAR, dump.size, blobChunks(dump), entries);
      if (hasKey) {
        const size = (await stat(keyPath)).size;
        yield* tarEntry(KEY_FILE, size, createReadStream(keyPath), entries);
      }
      for (const f of files) yield* tarEntry(f.path, f.size, createReadStream(f.abs), entries);
      const json = Buffer.from(JSON.stringify(manifest(), null, 2) + '\n');
      yield* tarEntry(MANIFEST, json.length, [json], undefined);
      yield Buffer.alloc(1024); // end of archive: two zero blocks
    }

    await pipeline(archive(), createGzip({ level: 6 }), createWriteStream(temp, { flags: 'wx', mode: 0o600 }));
    await fsyncFile(temp);
    await rename(temp, out);
    await syncDir(dirname(out));

    const rows = Object.values(facts.tables).reduce((a, b) => a + b, 0);
    const attachmentBytes = files.reduce((a, f) => a + f.size, 0);
    const size = (await stat(out)).size;
    return (
      `backup written to ${out} (${mb(size)}): ${Object.keys(facts.tables).length} tables, ${rows} rows, ` +
      `${files.length} attachment files (${mb(attachmentBytes)}), ` +
      (hasKey
        ? 'secret.key included — keep the file as private as the server itself'
        : 'no secret.key (HUILIU_SECRET_KEY is in use) — keep that key too, the backup cannot decrypt stored secrets without it')
    );
  } finally {
    await rm(temp, { force: true }).catch(() => {});
    await lock.release();
  }
}

// ---------------------------------------------------------------------------------------------------
// restore

export async function restore(config: Config, fromFile: string, opts: { force: boolean }): Promise<string> {
  refusePostgres(config, 'restore PostgreSQL with pg_restore; this command restores the embedded data directory');
  const from = resolve(fromFile);
  if (!(await isFile(from))) throw new Error(`--from: ${from} is not a file`);
  const dataDir = config.dataDir;

  const lock = await lockDataDir(dataDir);
  const previous = (await readdir(dataDir)).filter((n) => n !== LOCK_FILE);
  if (previous.length > 0 && !opts.force) {
    await lock.release();
    throw new Error(
      `--force: the data directory ${dataDir} is not empty (${previous.slice(0, 5).join(', ')}${previous.length > 5 ? ', …' : ''}); ` +
        `restore into an empty HUILIU_DATA_DIR, or add --force to replace its database, attachments and key with the backup`,
    );
  }

  const suffix = randomBytes(6).toString('hex');
  const staging = join(dataDir, `.restore-${suffix}`);
  const aside = join(dataDir, `.replaced-${suffix}`);
  let movedAside: string[] = [];
  let placed: string[] = [];
  try {
    // 1. Unpack into a staging folder and check every checksum before touching the current data.
    const manifest = await extract(from, staging);
    const hasKey = await exists(join(staging, KEY_FILE));

    // 2. Move the current contents aside (put back if anything below fails).
    if (previous.length > 0) {
      await mkdir(aside, { mode: 0o700 });
      for (const name of previous) {
        await rename(join(dataDir, name), join(aside, name));
        movedAside.push(name);
      }
    }

    // 3. The database: PGlite unpacks its own dump into a new data directory.
    placed.push('pgdata');
    const pgdata = join(dataDir, 'pgdata');
    const loaded = await PGlite.create({ dataDir: pgdata, loadDataDir: await openAsBlob(join(staging, PGDATA_TAR)), extensions: { pg_trgm } });
    await loaded.exec('CHECKPOINT');
    await loaded.close();

    // 4. Attachments and key.
    placed.push(ATTACHMENTS);
    if (await exists(join(staging, ATTACHMENTS))) await rename(join(staging, ATTACHMENTS), join(dataDir, ATTACHMENTS));
    else await mkdir(join(dataDir, ATTACHMENTS), { recursive: true, mode: 0o700 });
    if (hasKey) {
      placed.push(KEY_FILE);
      await rename(join(staging, KEY_FILE), join(dataDir, KEY_FILE));
    }

    // 5. Open the restored database and compare it with the manifest.
    const db = await openPglite(pgdata);
    let facts: { migrations: string[]; tables: Record<string, number> };
    try {
      facts = await databaseFacts(db);
    } finally {
      await db.close();
    }
    const problems = compareFacts(manifest.database, facts);
    if (problems.length) throw new Error(`--from: the restored database does not match the backup manifest: ${problems.join('; ')}`);

    await syncDir(dataDir);
    await rm(aside, { recursive: true, force: true });
    movedAside = [];
    placed = [];
    const rows = Object.values(facts.tables).reduce((a, b) => a + b, 0);
    const attachments = manifest.entries.filter((e) => e.path.startsWith(`${ATTACHMENTS}/`)).length;
    return (
      `restored ${from} (made ${manifest.createdAt} by Huiliu ${manifest.huiliuVersion}) into ${dataDir}: ` +
      `${Object.keys(facts.tables).length} tables and ${rows} rows verified against the manifest, ${attachments} attachment files, ` +
      (hasKey ? 'secret.key restored' : 'no secret.key in the backup — start with the same HUILIU_SECRET_KEY as the original installation') +
      (previous.length ? '; the previous contents were replaced' : '')
    );
  } catch (err) {
    // Roll back: remove what was put in place, bring the previous contents back.
    for (const name of placed) await rm(join(dataDir, name), { recursive: true, force: true }).catch(() => {});
    for (const name of movedAside) await rename(join(aside, name), join(dataDir, name)).catch(() => {});
    await rmdir(aside).catch(() => {}); // only when empty: nothing of the previous contents is ever deleted here
    throw err;
  } finally {
    await rm(staging, { recursive: true, force: true }).catch(() => {});
    await lock.release();
  }
}

/** Reads a backup's manifest (after checking the whole archive) without restoring it. */
export async function readBackupManifest(file: string): Promise<BackupManifest> {
  const staging = join(dirname(resolve(file)), `.inspect-${randomBytes(6).toString('hex')}`);
  try {
    return await extract(resolve(file), staging);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Unpacks `from` into `dir` (created), verifying sizes and sha256 against the manifest. */
async function extract(from: string, dir: string): Promise<BackupManifest> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const seen = new Map<string, { size: number; sha256: string }>();
  let manifestText: string | undefined;
  try {
    for await (const entry of readTar(createReadStream(from).pipe(createGunzip()))) {
      const name = checkEntryName(entry.name);
      if (seen.has(name) || (name === MANIFEST && manifestText !== undefined)) throw new Error(`--from: the backup holds ${name} twice`);
      if (name === MANIFEST) {
        const parts: Buffer[] = [];
        for await (const chunk of entry.body) parts.push(chunk);
        manifestText = Buffer.concat(parts).toString('utf8');
        continue;
      }
      const path = join(dir, ...name.split('/'));
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      const hash = createHash('sha256');
      const fh = await open(path, 'wx', 0o600);
      let size = 0;
      try {
        for await (const chunk of entry.body) {
          hash.update(chunk);
          size += chunk.length;
          await fh.write(chunk);
        }
        await fh.sync();
      } finally {
        await fh.close();
      }
      seen.set(name, { size, sha256: hash.digest('hex') });
    }
  } catch (err) {
    if (err instanceof Error && /^--from:/.test(err.message)) throw err;
    throw new Error(`--from: ${from} is not a readable Huiliu backup (${(err as Error).message ?? err}); is the file complete?`);
  }
  if (manifestText === undefined) throw new Error(`--from: ${from} has no ${MANIFEST}; it is not a Huiliu backup or it was cut short`);
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(manifestText) as BackupManifest;
  } catch {
    throw new Error(`--from: the ${MANIFEST} of ${from} is not valid JSON`);
  }
  if (manifest.format !== BACKUP_FORMAT) throw new Error(`--from: ${from} is not a Huiliu backup (format ${JSON.stringify(manifest.format)})`);
  if (manifest.formatVersion !== BACKUP_FORMAT_VERSION) {
    throw new Error(`--from: backup format version ${manifest.formatVersion} is not supported by Huiliu ${VERSION} (expects ${BACKUP_FORMAT_VERSION}); use the Huiliu version that wrote it`);
  }
  for (const e of manifest.entries) {
    const got = seen.get(e.path);
    if (!got) throw new Error(`--from: ${e.path} is listed in the manifest but missing from the backup`);
    if (got.size !== e.size || got.sha256 !== e.sha256) throw new Error(`--from: checksum mismatch for ${e.path}: the backup file is damaged`);
    seen.delete(e.path);
  }
  const extra = [...seen.keys()];
  if (extra.length) throw new Error(`--from: ${extra[0]} is in the backup but not in its manifest: the backup file was altered`);
  if (!manifest.entries.some((e) => e.path === PGDATA_TAR)) throw new Error(`--from: the backup holds no database (${PGDATA_TAR})`);
  return manifest;
}

function checkEntryName(raw: string): string {
  const name = raw.replace(/^\.\//, '');
  const ok =
    name === MANIFEST ||
    name === PGDATA_TAR ||
    name === KEY_FILE ||
    (name.startsWith(`${ATTACHMENTS}/`) && name.split('/').every((s) => s !== '' && s !== '.' && s !== '..' && !s.includes('\\')));
  if (!ok) throw new Error(`--from: unexpected entry ${JSON.stringify(raw)} in the backup`);
  return name;
}

// ---------------------------------------------------------------------------------------------------
// shared

function refusePostgres(config: Config, advice: string): void {
  if (config.databaseUrl) throw new Error(`DATABASE_URL: is set, so the database is PostgreSQL — ${advice}`);
}

/** Applied migrations and the exact row count of every table of the public schema. */
export async function databaseFacts(db: Sql): Promise<{ migrations: string[]; tables: Record<string, number> }> {
  const names = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname`,
  );
  const tables: Record<string, number> = {};
  for (const { name } of names) {
    const r = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM public.${ident(name)}`);
    tables[name] = Number(r[0]?.n ?? 0);
  }
  const migrations = names.some((t) => t.name === 'schema_migrations')
    ? (await db.query<{ version: string }>(`SELECT version FROM schema_migrations ORDER BY version`)).map((r) => r.version)
    : [];
  return { migrations, tables };
}

function compareFacts(expected: { migrations: string[]; tables: Record<string, number> }, got: { migrations: string[]; tables: Record<string, number> }): string[] {
  const problems: string[] = [];
  if (expected.migrations.join(',') !== got.migrations.join(',')) problems.push(`migrations ${got.migrations.join(',')} instead of ${expected.migrations.join(',')}`);
  for (const name of new Set([...Object.keys(expected.tables), ...Object.keys(got.tables)])) {
    const e = expected.tables[name];
    const g = got.tables[name];
    if (e !== g) problems.push(`table ${name}: ${g ?? 'missing'} rows instead of ${e ?? 'none'}`);
  }
  return problems;
}

export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

async function listFiles(root: string, prefix: string): Promise<{ path: string; abs: string; size: number }[]> {
  const out: { path: string; abs: string; size: number }[] = [];
  const walk = async (dir: string, rel: string) => {
    let items;
    try {
      items = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const item of items.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (item.name.startsWith('.tmp-')) continue; // an upload interrupted by a crash (see disk-storage.ts)
      const abs = join(dir, item.name);
      if (item.isDirectory()) await walk(abs, `${rel}/${item.name}`);
      else if (item.isFile()) out.push({ path: `${rel}/${item.name}`, abs, size: (await stat(abs)).size });
    }
  };
  await walk(root, prefix);
  return out;
}

async function* blobChunks(blob: Blob): AsyncGenerator<Buffer> {
  const reader = blob.stream().getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    yield Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}
async function isFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}
async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

// ---------------------------------------------------------------------------------------------------
// A minimal POSIX tar (ustar + pax 'path' records for long names), enough for our own archives and
// readable by GNU/BSD tar. Regular files only; directories are implied by the paths.

const BLOCK = 512;

/** Yields one regular-file entry (header, data, padding); records its size and sha256 in `entries`. */
async function* tarEntry(name: string, size: number, body: AsyncIterable<Buffer | string> | Iterable<Buffer>, entries: BackupEntry[] | undefined): AsyncGenerator<Buffer> {
  if (Buffer.byteLength(name) > 100) {
    const record = paxRecord('path', name);
    yield tarHeader('././@PaxHeader', record.length, 'x');
    yield record;
    yield padding(record.length);
  }
  yield tarHeader(Buffer.byteLength(name) > 100 ? name.slice(-100) : name, size, '0');
  const hash = createHash('sha256');
  let written = 0;
  for await (const raw of body) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
    written += chunk.length;
    if (written > size) throw new Error(`${name} grew while it was being backed up`);
    hash.update(chunk);
    yield chunk;
  }
  if (written !== size) throw new Error(`${name} shrank while it was being backed up (${written} of ${size} bytes)`);
  yield padding(size);
  entries?.push({ path: name, size, sha256: hash.digest('hex') });
}

function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return Buffer.from(`${len}${body}`);
}

function tarHeader(name: string, size: number, type: '0' | 'x'): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  writeOctal(h, 100, 8, 0o600);
  writeOctal(h, 108, 8, 0);
  writeOctal(h, 116, 8, 0);
  writeSize(h, size);
  writeOctal(h, 136, 12, Math.floor(Date.now() / 1000));
  h.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  h.write(type, 156, 1, 'latin1');
  h.write('ustar\u000000', 257, 8, 'latin1');
  h.write('huiliu', 265, 32, 'utf8');
  h.write('huiliu', 297, 32, 'utf8');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'latin1');
  return h;
}

function writeOctal(h: Buffer, offset: number, length: number, value: number): void {
  h.write(`${value.toString(8).padStart(length - 1, '0')}\u0000`, offset, length, 'latin1');
}

function writeSize(h: Buffer, size: number): void {
  if (size < 0o77777777777) return writeOctal(h, 124, 12, size);
  // GNU base-256 for files of 8 GiB and more.
  h[124] = 0x80;
  let v = BigInt(size);
  for (let i = 135; i > 124; i--) {
    h[i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

function readNumber(h: Buffer, offset: number, length: number): number {
  if ((h[offset]! & 0x80) !== 0) {
    let v = 0n;
    for (let i = offset + 1; i < offset + length; i++) v = (v << 8n) | BigInt(h[i]!);
    return Number(v);
  }
  const text = h.toString('latin1', offset, offset + length).replace(/[\0 ]+$/g, '').replace(/^[\0 ]+/g, '');
  return text ? parseInt(text, 8) : 0;
}

function cString(h: Buffer, offset: number, length: number): string {
  const end = h.indexOf(0, offset);
  return h.toString('utf8', offset, end === -1 || end > offset + length ? offset + length : end);
}

/** Streams the entries of a tar archive; each entry's body must be consumed before the next one. */
export async function* readTar(source: AsyncIterable<Buffer | string>): AsyncGenerator<{ name: string; size: number; body: AsyncGenerator<Buffer> }> {
  const input = new ByteReader(source);
  let longName: string | undefined;
  for (;;) {
    const header = await input.read(BLOCK);
    if (header.every((b) => b === 0)) return; // end-of-archive marker
    const stored = readNumber(header, 148, 8);
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
    if (sum !== stored) throw new Error('tar header checksum mismatch');
    const type = String.fromCharCode(header[156]!);
    const size = readNumber(header, 124, 12);
    const prefix = header.toString('latin1', 257, 262) === 'ustar' ? cString(header, 345, 155) : '';
    const name = longName ?? (prefix ? `${prefix}/${cString(header, 0, 100)}` : cString(header, 0, 100));
    if (type === 'x' || type === 'L') {
      const data = await input.read(size);
      await input.skip(padding(size).length);
      if (type === 'L') longName = cString(data, 0, data.length);
      else longName = parsePax(data).path ?? longName;
      continue;
    }
    longName = undefined;
    if (type === '0' || type === '\0' || type === '7') {
      const body = input.chunks(size);
      yield { name, size, body };
      for await (const _ of body) {
        // drain what the consumer left
      }
      await input.skip(padding(size).length);
    } else {
      await input.skip(size + padding(size).length); // directories, global pax headers, links: not ours
    }
  }
}

function parsePax(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space === -1) break;
    const len = parseInt(data.toString('latin1', pos, space), 10);
    if (!(len > 0)) break;
    const record = data.toString('utf8', space + 1, pos + len - 1);
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += len;
  }
  return out;
}

class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private readonly it: AsyncIterator<Buffer | string>;
  private ended = false;
  constructor(source: AsyncIterable<Buffer | string>) {
    this.it = source[Symbol.asyncIterator]();
  }
  private async more(): Promise<boolean> {
    if (this.ended) return false;
    const r = await this.it.next();
    if (r.done) {
      this.ended = true;
      return false;
    }
    const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    return true;
  }
  async read(n: number): Promise<Buffer> {
    while (this.buf.length < n) if (!(await this.more())) throw new Error('unexpected end of archive');
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }
  async skip(n: number): Promise<void> {
    for await (const _ of this.chunks(n)) {
      // discard
    }
  }
  async *chunks(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0 && !(await this.more())) throw new Error('unexpected end of archive');
      const take = Math.min(left, this.buf.length);
      const out = this.buf.subarray(0, take);
      this.buf = this.buf.subarray(take);
      left -= take;
      yield out;
    }
  }
}
