/**
 * Contacts CSV import with progress.
 *
 * Upload (synchronous, so every problem with the file as a whole is a 4xx right away): size, Excel or
 * other binary formats, the text encoding (UTF-8 with or without BOM, or GBK — what Excel in China saves
 * as "CSV"), CSV syntax, the header and the row count are checked by reading the whole file once. The
 * file is then kept, decoded to UTF-8, in blob storage, and an import row plus a durable job are
 * committed together.
 *
 * The job applies the rows in batches of BATCH_ROWS. Each batch is one fenced transaction that writes
 * the contacts AND advances `processed` and the counters, so progress is visible while it runs, a batch
 * is never applied twice (a stalled worker's fence fails), and a restart resumes after `processed` rows.
 * Imports of one workspace run one after the other (ordering key), so two files cannot race to create
 * the same contact twice.
 *
 * Columns by header (case-insensitive; Chinese names accepted too): name, email, phone, tags (split on
 * ";" or "|"); every other column becomes a contact attribute under its header. A row matches an
 * existing contact by email, then by phone (digits only), and updates it: given fields overwrite, tags
 * are added, attributes merged; without `contact.pii` existing emails / phones are only filled when
 * empty, never replaced (the rule of PATCH /contacts/:id). Bad rows are reported by spreadsheet row
 * number (the header is row 1) and skipped; good rows still import.
 */
import { isUtf8 } from 'node:buffer';
import { Readable } from 'node:stream';
import { parse, CsvError } from 'csv-parse';
import { CreateContactBody, type ContactImport, type ContactImportStatus } from '@huiliu/contracts';
import type { Database, Row, Sql } from '../db/database.ts';
import { one } from '../db/database.ts';
import type { Actor, UserActor } from '../auth/actor.ts';
import { can, requirePermission, requireUser } from '../auth/actor.ts';
import { AppError, invalid, notFound } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { TextIndex } from '../shared/text-index.ts';
import type { BlobStorage } from '../storage/blob-storage.ts';
import { newBlobKey } from '../storage/blob-storage.ts';
import { sanitizeFileName } from '../storage/file-name.ts';
import type { Job, JobContext, JobQueue } from '../jobs/job-queue.ts';
import { recordAudit } from '../audit/audit.service.ts';

export const CONTACT_IMPORT_QUEUE = 'contacts.import';
export const IMPORT_MAX_BYTES = 10 * 1024 * 1024;
export const IMPORT_MAX_ROWS = 50_000;
const IMPORT_MAX_COLUMNS = 200;
const BATCH_ROWS = 500;
const MAX_REPORTED_ERRORS = 100;
const MAX_ATTEMPTS = 5;
const ATTRIBUTES_MAX_BYTES = 16 * 1024;
const MAX_TAGS = 50;

// ---------------------------------------------------------------------------------------------------
// The file: encoding, records, header

export type ImportEncoding = 'utf-8' | 'gbk';

const fileProblem = (message: string) => invalid('body.file', message);

/**
 * The file's text. UTF-8 (a BOM is dropped) is tried first: valid UTF-8 is almost never valid-looking
 * GBK by accident, while the reverse is common. Then GBK (decoded as GB18030, its superset): a strict
 * decode either succeeds or fails on the first impossible byte, which is the cheap detection.
 */
export function decodeCsv(data: Buffer): { text: string; encoding: ImportEncoding } {
  if (data.length >= 2 && ((data[0] === 0xff && data[1] === 0xfe) || (data[0] === 0xfe && data[1] === 0xff))) {
    throw fileProblem('the file is UTF-16 text ("Unicode text" in Excel); save it as "CSV UTF-8 (comma delimited)" and upload it again');
  }
  if (isUtf8(data)) {
    const text = data.toString('utf8');
    return { text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, encoding: 'utf-8' };
  }
  try {
    return { text: new TextDecoder('gb18030', { fatal: true }).decode(data), encoding: 'gbk' };
  } catch {
    throw fileProblem('the file is neither UTF-8 nor GBK text; save it as "CSV UTF-8 (comma delimited)" and upload it again');
  }
}

/** Office files and other binaries: a clear word instead of a garbled-header error. */
function refuseBinary(data: Buffer): void {
  const head = data.subarray(0, 8);
  const excel = 'in Excel use File → Save As → "CSV UTF-8 (comma delimited)" and upload that file';
  if (head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) {
    throw new AppError('unsupported_media_type', `this is an Excel workbook (.xlsx) or another zip file, not CSV; ${excel}`);
  }
  if (head.equals(Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]))) {
    throw new AppError('unsupported_media_type', `this is an old Excel workbook (.xls), not CSV; ${excel}`);
  }
  if (data.subarray(0, 4096).includes(0) && !(data[0] === 0xff || data[0] === 0xfe)) {
    throw new AppError('unsupported_media_type', 'this is a binary file, not CSV text; export the contacts as CSV (UTF-8) and upload that file');
  }
}

/**
 * Records of a CSV text, the header first. Parsed from 64 KB chunks, handing the event loop back every
 * few thousand records, so a 10 MB file does not stall chat traffic while it is read.
 */
async function* csvRecords(utf8: Buffer): AsyncGenerator<string[]> {
  function* chunks() {
    for (let i = 0; i < utf8.length; i += 64 * 1024) yield utf8.subarray(i, i + 64 * 1024);
  }
  const parser = Readable.from(chunks()).pipe(parse({ relax_column_count: true, skip_empty_lines: false, max_record_size: 1024 * 1024 }));
  let n = 0;
  try {
    for await (const record of parser) {
      yield record as string[];
      if (++n % 2000 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  } catch (err) {
    if (err instanceof CsvError) throw fileProblem(`the file is not valid CSV: ${err.message}`);
    throw err;
  } finally {
    parser.destroy();
  }
}

const isBlank = (record: string[]) => record.every((v) => v.trim() === '');

type Field = 'name' | 'email' | 'phone' | 'tags';
const FIELD_NAMES: Record<Field, readonly string[]> = {
  name: ['name', 'full name', 'fullname', 'contact name', '姓名', '名字', '名称', '客户名称', '联系人'],
  email: ['email', 'e-mail', 'email address', 'mail', '邮箱', '电子邮箱', '电子邮件', '邮件'],
  phone: ['phone', 'phone number', 'mobile', 'tel', 'telephone', '电话', '手机', '手机号', '手机号码', '电话号码', '联系电话'],
  tags: ['tags', 'tag', 'labels', '标签'],
};
const FIELD_BY_NAME = new Map<string, Field>(Object.entries(FIELD_NAMES).flatMap(([field, names]) => names.map((n) => [n, field as Field] as const)));

export interface ColumnMap {
  fields: Partial<Record<Field, number>>;
  /** Other columns: attribute key (the header as written) and its index. */
  attributes: { key: string; index: number }[];
  /** Columns without a header name: they must stay empty (checked per row at upload). */
  unnamed: number[];
}

/** Maps the header row to fields; every problem with it is a 400 naming the header. */
export function mapHeader(header: string[]): ColumnMap {
  const shown = header.slice(0, 12).map((h) => `"${h.trim()}"`).join(', ') + (header.length > 12 ? ', …' : '');
  if (header.length > IMPORT_MAX_COLUMNS) throw fileProblem(`the header row has ${header.length} columns; at most ${IMPORT_MAX_COLUMNS} are imported`);
  const map: ColumnMap = { fields: {}, attributes: [], unnamed: [] };
  const seen = new Map<string, number>();
  header.forEach((raw, index) => {
    const name = raw.trim();
    if (!name) {
      map.unnamed.push(index);
      return;
    }
    const field = FIELD_BY_NAME.get(name.toLowerCase());
    const key = field ?? name;
    const before = seen.get(key.toLowerCase());
    if (before !== undefined) throw fileProblem(`the header row names ${field ? `the ${field} column` : `"${name}"`} twice (columns ${before + 1} and ${index + 1}); keep one`);
    seen.set(key.toLowerCase(), index);
    if (field) map.fields[field] = index;
    else if (name.length > 100) throw fileProblem(`column ${index + 1} of the header row is longer than 100 characters; shorten it (it becomes an attribute name)`);
    else map.attributes.push({ key: name, index });
  });
  if (map.fields.name === undefined && map.fields.email === undefined && map.fields.phone === undefined) {
    throw fileProblem(`the header row (${shown}) has no name, email or phone column; the first row must name the columns, e.g. name,email,phone,tags`);
  }
  return map;
}

export interface ImportedContact {
  name: string | null;
  email: string | null;
  phone: string | null;
  tags: string[];
  attributes: Record<string, string>;
}

/** One data row → a contact, or the reason it cannot be imported (never echoing email / phone values). */
export function readRow(map: ColumnMap, record: string[], columns: number): { ok: true; contact: ImportedContact } | { ok: false; message: string } {
  if (record.length > columns) return { ok: false, message: `the row has ${record.length} fields but the header has ${columns} columns (a comma inside a value needs "quotes")` };
  const cell = (i: number | undefined) => (i === undefined ? '' : (record[i] ?? '').trim());
  const attributes: Record<string, string> = {};
  for (const a of map.attributes) {
    const v = cell(a.index);
    if (v) attributes[a.key] = v;
  }
  const candidate = {
    name: cell(map.fields.name) || null,
    email: cell(map.fields.email).toLowerCase() || null,
    phone: cell(map.fields.phone) || null,
    tags: [...new Set(cell(map.fields.tags).split(/[;|]/).map((t) => t.trim()).filter(Boolean))],
    attributes,
  };
  if (!candidate.name && !candidate.email && !candidate.phone) return { ok: false, message: 'the row has no name, email or phone' };
  // The same rules as POST /contacts, with the same words.
  const checked = CreateContactBody.safeParse(candidate);
  if (!checked.success) {
    const issue = checked.error.issues[0]!;
    const field = String(issue.path[0] ?? 'row');
    return { ok: false, message: `${field}: ${field === 'tags' && issue.code === 'too_big' ? `more than ${MAX_TAGS} tags` : issue.message}` };
  }
  if (JSON.stringify(attributes).length > ATTRIBUTES_MAX_BYTES) return { ok: false, message: 'the other columns hold more than 16 KB of attributes' };
  return { ok: true, contact: candidate };
}

/** Spreadsheet row numbers: the header is row 1, so the n-th record after it (blank ones too) is row n + 1. */
interface NumberedRecord {
  row: number;
  record: string[];
}

// ---------------------------------------------------------------------------------------------------
// Presenting

const iso = (v: unknown): string => new Date(v as string).toISOString();

function presentImport(r: Row): ContactImport {
  return {
    id: r.id as string,
    status: r.status as ContactImportStatus,
    fileName: r.file_name as string,
    total: Number(r.total),
    processed: Number(r.processed),
    created: Number(r.created),
    updated: Number(r.updated),
    failed: Number(r.failed),
    errors: (r.errors as { row: number; message: string }[]) ?? [],
    createdAt: iso(r.created_at),
    finishedAt: r.finished_at == null ? null : iso(r.finished_at),
  };
}

// Never `SELECT *` into a response path by accident: the listed columns are what the API shows.
const IMPORT_COLUMNS = 'id, workspace_id, status, file_name, total, processed, created, updated, failed, errors, created_at, finished_at';

// ---------------------------------------------------------------------------------------------------
// Applying one batch

interface Target {
  /** Existing contact id, or null for a contact this batch creates. */
  id: string | null;
  name: string | null;
  email: string | null;
  phone: string | null;
  tags: string[];
  attributes: Record<string, unknown>;
  /** Email / phone it had in the database (the PII rule compares against these). */
  storedEmail: string | null;
  storedPhone: string | null;
}

const digits = (phone: string | null) => (phone ?? '').replace(/[^0-9]/g, '');
const PHONE_DIGITS_SQL = `regexp_replace(COALESCE(phone, ''), '[^0-9]', '', 'g')`;

interface BatchOutcome {
  created: number;
  updated: number;
  errors: { row: number; message: string }[];
}

async function applyBatch(
  tx: Sql,
  input: { workspaceId: string; mayChangePii: boolean; map: ColumnMap; columns: number; batch: NumberedRecord[]; textIndex: TextIndex },
): Promise<BatchOutcome> {
  const { workspaceId, mayChangePii, map, columns, batch, textIndex } = input;
  const out: BatchOutcome = { created: 0, updated: 0, errors: [] };
  const rows: { row: number; contact: ImportedContact }[] = [];
  for (const r of batch) {
    const read = readRow(map, r.record, columns);
    if (read.ok) rows.push({ row: r.row, contact: read.contact });
    else out.errors.push({ row: r.row, message: read.message });
  }

  // Existing contacts this batch may touch, locked so an agent's concurrent edit is not overwritten by a
  // stale read. By email first (indexed), then by phone digits for the rest (expression index).
  const toTarget = (c: Row): Target => ({
    id: c.id as string,
    name: c.name as string | null,
    email: c.email as string | null,
    phone: c.phone as string | null,
    tags: (c.tags as string[]) ?? [],
    attributes: (c.attributes as Record<string, unknown>) ?? {},
    storedEmail: c.email as string | null,
    storedPhone: c.phone as string | null,
  });
  const byEmail = new Map<string, Target>();
  const byPhone = new Map<string, Target>();
  const remember = (t: Target) => {
    if (t.email && !byEmail.has(t.email)) byEmail.set(t.email, t);
    const d = digits(t.phone);
    if (d && !byPhone.has(d)) byPhone.set(d, t);
  };
  const emails = [...new Set(rows.map((r) => r.contact.email).filter((e): e is string => Boolean(e)))];
  if (emails.length) {
    const found = await tx.query(
      `SELECT id, name, email, phone, tags, attributes FROM contacts WHERE workspace_id = $1 AND merged_into_id IS NULL AND email = ANY($2::text[]) ORDER BY created_at, id FOR UPDATE`,
      [workspaceId, emails],
    );
    found.map(toTarget).forEach(remember);
  }
  const phones = [...new Set(rows.filter((r) => !(r.contact.email && byEmail.has(r.contact.email))).map((r) => digits(r.contact.phone)).filter(Boolean))];
  if (phones.length) {
    const found = await tx.query(
      `SELECT id, name, email, phone, tags, attributes FROM contacts WHERE workspace_id = $1 AND merged_into_id IS NULL AND ${PHONE_DIGITS_SQL} = ANY($2::text[]) ORDER BY created_at, id FOR UPDATE`,
      [workspaceId, phones],
    );
    found.map(toTarget).forEach(remember);
  }

  const touched = new Set<Target>();
  for (const { row, contact } of rows) {
    const match = (contact.email ? byEmail.get(contact.email) : undefined) ?? (digits(contact.phone) ? byPhone.get(digits(contact.phone)) : undefined);
    if (!match) {
      const t: Target = { id: null, ...contact, storedEmail: null, storedPhone: null };
      remember(t);
      touched.add(t);
      out.created++;
      continue;
    }
    const next = { ...match };
    if (contact.name) next.name = contact.name;
    // Existing PII is replaced only with contact.pii; otherwise only an empty field is filled.
    if (contact.email && (mayChangePii || !match.storedEmail)) next.email = contact.email;
    if (contact.phone && (mayChangePii || !match.storedPhone)) next.phone = contact.phone;
    next.tags = [...new Set([...match.tags, ...contact.tags])];
    next.attributes = { ...match.attributes, ...contact.attributes };
    if (next.tags.length > MAX_TAGS) {
      out.errors.push({ row, message: `tags: the contact would have more than ${MAX_TAGS} tags` });
      continue;
    }
    if (JSON.stringify(next.attributes).length > ATTRIBUTES_MAX_BYTES) {
      out.errors.push({ row, message: 'the contact\'s attributes would be larger than 16 KB' });
      continue;
    }
    Object.assign(match, next);
    remember(match);
    touched.add(match);
    out.updated++;
  }

  const record = (t: Target) => ({
    id: t.id,
    name: t.name,
    email: t.email,
    phone: t.phone,
    tags: t.tags,
    attributes: t.attributes,
    search: textIndex.document(t.name, t.email, t.phone, ...t.tags),
  });
  const creates = [...touched].filter((t) => t.id === null).map(record);
  const updates = [...touched].filter((t) => t.id !== null).map(record);
  if (creates.length) {
    await tx.query(
      `INSERT INTO contacts (workspace_id, name, email, phone, attributes, tags, search)
       SELECT $1, x.name, x.email, x.phone, x.attributes, x.tags, to_tsvector('simple', x.search)
       FROM jsonb_to_recordset($2::text::jsonb) AS x(name text, email text, phone text, attributes jsonb, tags text[], search text)`,
      [workspaceId, JSON.stringify(creates)],
    );
  }
  if (updates.length) {
    await tx.query(
      `UPDATE contacts c SET name = x.name, email = x.email, phone = x.phone, attributes = x.attributes, tags = x.tags,
         search = to_tsvector('simple', x.search), updated_at = now()
       FROM jsonb_to_recordset($2::text::jsonb) AS x(id uuid, name text, email text, phone text, attributes jsonb, tags text[], search text)
       WHERE c.id = x.id AND c.workspace_id = $1`,
      [workspaceId, JSON.stringify(updates)],
    );
  }
  out.errors.sort((a, b) => a.row - b.row);
  return out;
}

// ---------------------------------------------------------------------------------------------------
// The service

interface ImportJob {
  workspaceId: string;
  importId: string;
}

export function createContactImportService(deps: { db: Database; storage: BlobStorage; textIndex: TextIndex; logger: Logger }) {
  const { db, storage, textIndex } = deps;
  const log = deps.logger.child({ component: 'contact-import' });
  let jobs: JobQueue | undefined;

  function queue(): JobQueue {
    if (!jobs) throw new Error('the contact import service is not started');
    return jobs;
  }

  /** Reads the whole file once: header, row count, and values in unnamed columns. */
  async function scan(utf8: Buffer): Promise<{ map: ColumnMap; columns: number; total: number }> {
    let map: ColumnMap | undefined;
    let columns = 0;
    let total = 0;
    let row = 1;
    for await (const record of csvRecords(utf8)) {
      if (!map) {
        if (isBlank(record)) throw fileProblem('the first row of the file is empty; it must name the columns, e.g. name,email,phone,tags');
        map = mapHeader(record);
        columns = record.length;
        continue;
      }
      row++;
      if (isBlank(record)) continue;
      total++;
      if (total > IMPORT_MAX_ROWS) throw fileProblem(`the file has more than ${IMPORT_MAX_ROWS.toLocaleString('en')} contact rows; split it into files of at most ${IMPORT_MAX_ROWS.toLocaleString('en')} rows`);
      const stray = map.unnamed.find((i) => (record[i] ?? '').trim() !== '');
      if (stray !== undefined) throw fileProblem(`column ${stray + 1} has values (row ${row}) but no name in the header row; name the column or delete it`);
    }
    if (!map) throw fileProblem('the file is empty; the first row must name the columns, e.g. name,email,phone,tags');
    if (total === 0) throw fileProblem('the file has a header row but no contact rows');
    return { map, columns, total };
  }

  async function loadFile(key: string): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const chunk of await storage.get(key)) parts.push(chunk as Buffer);
    return Buffer.concat(parts);
  }

  async function finish(ctx: JobContext, job: Job<ImportJob>, status: 'done' | 'failed', fatal: string | null): Promise<void> {
    const { workspaceId, importId } = job.payload;
    await ctx.fence(async (tx) => {
      const r = await one(
        tx,
        `UPDATE contact_imports SET status = $3, finished_at = now(), storage_key = NULL,
           errors = CASE WHEN $4::text IS NULL THEN errors
                         ELSE jsonb_build_array(jsonb_build_object('row', 0, 'message', $4::text)) || jsonb_path_query_array(errors, '$[0 to 98]') END
         WHERE id = $1 AND workspace_id = $2 RETURNING processed, created, updated, failed`,
        [importId, workspaceId, status, fatal],
      );
      await recordAudit(tx, { kind: 'system', workspaceId, via: 'system' }, `contact.import_${status === 'done' ? 'finished' : 'failed'}`, { type: 'contact_import', id: importId }, {
        processed: r?.processed ?? 0, created: r?.created ?? 0, updated: r?.updated ?? 0, failed: r?.failed ?? 0,
      });
    }, { complete: true });
  }

  async function run(job: Job<ImportJob>, ctx: JobContext): Promise<void> {
    const { workspaceId, importId } = job.payload;
    const imp = await one(db, `SELECT * FROM contact_imports WHERE id = $1 AND workspace_id = $2`, [importId, workspaceId]);
    if (!imp || imp.status === 'done' || imp.status === 'failed') return;
    const key = imp.storage_key as string | null;
    try {
      if (!key) throw new AppError('not_found', 'the uploaded file is gone');
      const utf8 = await loadFile(key);
      await ctx.fence((tx) => tx.query(`UPDATE contact_imports SET status = 'running', started_at = COALESCE(started_at, now()) WHERE id = $1 AND workspace_id = $2`, [importId, workspaceId]));
      let skip = Number(imp.processed);
      let reported = ((imp.errors as unknown[]) ?? []).length;
      let map: ColumnMap | undefined;
      let columns = 0;
      let row = 1;
      let batch: NumberedRecord[] = [];
      const flush = async () => {
        if (batch.length === 0) return;
        if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('aborted');
        const current = batch;
        batch = [];
        await ctx.fence(async (tx) => {
          const r = await applyBatch(tx, { workspaceId, mayChangePii: Boolean(imp.may_change_pii), map: map!, columns, batch: current, textIndex });
          const errors = r.errors.slice(0, Math.max(0, MAX_REPORTED_ERRORS - reported));
          await tx.query(
            `UPDATE contact_imports SET processed = processed + $3, created = created + $4, updated = updated + $5, failed = failed + $6,
               errors = errors || $7::text::jsonb
             WHERE id = $1 AND workspace_id = $2`,
            [importId, workspaceId, current.length, r.created, r.updated, r.errors.length, JSON.stringify(errors)],
          );
          reported += errors.length;
        });
      };
      for await (const record of csvRecords(utf8)) {
        if (!map) {
          map = mapHeader(record);
          columns = record.length;
          continue;
        }
        row++;
        if (isBlank(record)) continue;
        // Resuming: these rows were applied (and counted) by an earlier run.
        if (skip > 0) {
          skip--;
          continue;
        }
        batch.push({ row, record });
        if (batch.length >= BATCH_ROWS) await flush();
      }
      await flush();
      await finish(ctx, job, 'done', null);
      log.info({ workspaceId, importId }, 'contact import done');
    } catch (err) {
      // A problem with the file itself (or the last attempt) ends the import; anything else is retried.
      const final = err instanceof AppError || job.attempts >= MAX_ATTEMPTS;
      if (!final || ctx.signal.aborted) throw err;
      const message = err instanceof AppError ? err.message : 'the import stopped because of an internal error; the error was logged';
      if (!(err instanceof AppError)) log.error({ err, workspaceId, importId }, 'contact import failed');
      await finish(ctx, job, 'failed', message);
    }
    // The file is not needed any more (the row no longer points at it); a failed delete leaves a file.
    if (key) await storage.delete(key).catch((err: unknown) => log.warn({ err, importId }, 'contact import: deleting the uploaded file failed'));
  }

  return {
    /** Registers the job handler (app.ts, with the node's job queue). */
    start(input: { jobs: JobQueue }): void {
      jobs = input.jobs;
      jobs.register<ImportJob>(CONTACT_IMPORT_QUEUE, run);
    },

    async upload(actor: Actor, file: { fileName: string; data: Buffer }): Promise<ContactImport> {
      const user: UserActor = requireUser(actor);
      requirePermission(user, 'contact.manage');
      if (file.data.length > IMPORT_MAX_BYTES) throw new AppError('payload_too_large', `the file is larger than ${IMPORT_MAX_BYTES / 1024 / 1024} MB; split it into smaller files`);
      refuseBinary(file.data);
      const { text, encoding } = decodeCsv(file.data);
      const utf8 = Buffer.from(text, 'utf8');
      const { total } = await scan(utf8);
      const key = newBlobKey(user.workspaceId);
      await storage.put(key, utf8);
      try {
        const r = await db.transaction(async (tx) => {
          const row = await one(
            tx,
            `INSERT INTO contact_imports (workspace_id, created_by, file_name, encoding, storage_key, may_change_pii, total)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${IMPORT_COLUMNS}`,
            [user.workspaceId, user.userId, sanitizeFileName(file.fileName), encoding, key, can(user, 'contact.pii'), total],
          );
          await queue().enqueue<ImportJob>(tx, {
            queue: CONTACT_IMPORT_QUEUE,
            payload: { workspaceId: user.workspaceId, importId: row!.id as string },
            workspaceId: user.workspaceId,
            orderingKey: `contact-import:${user.workspaceId}`,
            maxAttempts: MAX_ATTEMPTS,
          });
          await recordAudit(tx, user, 'contact.import_started', { type: 'contact_import', id: row!.id as string }, { fileName: row!.file_name, rows: total, encoding });
          return row!;
        });
        queue().notify();
        return presentImport(r);
      } catch (err) {
        await storage.delete(key).catch(() => {});
        throw err;
      }
    },

    async get(actor: Actor, id: string): Promise<ContactImport> {
      requirePermission(actor, 'contact.manage');
      const r = await one(db, `SELECT ${IMPORT_COLUMNS} FROM contact_imports WHERE id = $1 AND workspace_id = $2`, [id, actor.workspaceId]);
      if (!r) throw notFound('contact import');
      return presentImport(r);
    },
  };
}
export type ContactImportService = ReturnType<typeof createContactImportService>;
