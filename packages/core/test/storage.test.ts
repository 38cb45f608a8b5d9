import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../src/shared/errors.ts';
import { newBlobKey, validateBlobKey, type BlobStorage } from '../src/storage/blob-storage.ts';
import { attachmentsDir, createDiskStorage } from '../src/storage/disk-storage.ts';
import { contentDisposition, MAX_FILE_NAME_BYTES, sanitizeFileName } from '../src/storage/file-name.ts';
import { inlineAllowed, inspectUpload, type UploadInput } from '../src/storage/upload-policy.ts';

/** Resolves to the AppError code `promise` rejects with (fails the test if it resolves). */
async function errorCode(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => expect.unreachable('expected a rejection'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return (err as AppError).code;
}

/** Files under `dir`, recursively, relative paths. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath ?? e.path, e.name).slice(dir.length + 1));
}

describe('disk storage', () => {
  let dataDir: string;
  let root: string;
  let store: BlobStorage;
  const ws = '3f0c2a52-9a7e-4c43-9d43-5f0f7c1b2a10';

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'huiliu-storage-'));
    root = attachmentsDir(dataDir);
    store = createDiskStorage(root);
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('makes keys <workspaceId>/<yyyy>/<mm>/<uuid>', () => {
    const key = newBlobKey(ws, new Date('2026-03-05T12:00:00Z'));
    expect(key).toMatch(new RegExp(`^${ws}/2026/03/[0-9a-f-]{36}$`));
  });

  it('round-trips a buffer and a stream', async () => {
    const a = newBlobKey(ws);
    expect(await store.put(a, Buffer.from('你好, attachment'))).toEqual({ size: Buffer.byteLength('你好, attachment') });
    expect(await store.exists(a)).toBe(true);
    expect(await text(await store.get(a))).toBe('你好, attachment');

    const b = newBlobKey(ws);
    expect(await store.put(b, Readable.from([Buffer.from('part one, '), 'part two']))).toEqual({ size: 18 });
    expect(await text(await store.get(b))).toBe('part one, part two');

    // put replaces
    await store.put(b, Buffer.from('v2'));
    expect(await text(await store.get(b))).toBe('v2');

    await store.delete(a);
    expect(await store.exists(a)).toBe(false);
    await store.delete(a); // deleting twice is fine
    expect(await errorCode(store.get(a))).toBe('not_found');
    expect(await listFiles(root)).not.toContain(a);
  });

  it('leaves nothing under the key, and no temp file, when the stream fails', async () => {
    const key = newBlobKey(ws);
    async function* failing() {
      yield Buffer.from('half of a file');
      throw new Error('connection reset');
    }
    await expect(store.put(key, Readable.from(failing()))).rejects.toThrow('connection reset');
    expect(await store.exists(key)).toBe(false);
    expect((await listFiles(root)).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('refuses keys that could escape the root', async () => {
    const bad = [
      '',
      '../outside',
      `${ws}/../../outside`,
      '/etc/passwd',
      'a//b',
      'a/',
      'a\\..\\b',
      'C:/Windows/x',
      '.tmp-123',
      `${ws}/.hidden`,
      'a/./b',
      'x'.repeat(600),
    ];
    for (const key of bad) {
      expect(() => validateBlobKey(key), key).toThrow(AppError);
      expect(await errorCode(store.put(key, Buffer.from('x'))), key).toBe('validation_failed');
      expect(await errorCode(store.get(key)), key).toBe('validation_failed');
      expect(await errorCode(store.exists(key)), key).toBe('validation_failed');
      expect(await errorCode(store.delete(key)), key).toBe('validation_failed');
    }
    expect(await readdir(dataDir)).toEqual(['attachments']);
  });

  it('treats a folder as a missing blob', async () => {
    expect(await store.exists(ws)).toBe(false);
    expect(await errorCode(store.get(ws))).toBe('not_found');
  });
});

// --- tiny real file headers -------------------------------------------------------------------------

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

function png(): Buffer {
  const chunk = (type: string, body: Buffer) => {
    const head = Buffer.concat([Buffer.from(type, 'latin1'), body]);
    return Buffer.concat([u32(body.length), head, u32(crc32(head))]);
  };
  const ihdr = Buffer.concat([u32(1), u32(1), Buffer.from([8, 0, 0, 0, 0])]);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IEND', Buffer.alloc(0))]);
}

const pdf = () => Buffer.from('%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n', 'latin1');

/** A stored (uncompressed) zip with the given entries, local headers + central directory. */
function zip(entries: Record<string, string>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(entries)) {
    const nameBuf = Buffer.from(name);
    const data = Buffer.from(content);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBuf.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBuf, data);
    centrals.push(central, nameBuf);
    offset += local.length + nameBuf.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(entries).length, 8);
  end.writeUInt16LE(Object.keys(entries).length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

const docx = () =>
  zip({
    '[Content_Types].xml':
      '<?xml version="1.0"?><Types><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
    'word/document.xml': '<w:document/>',
  });

/** DOS header + PE signature: what every Windows .exe starts with. */
function exe(): Buffer {
  const b = Buffer.alloc(256);
  b.write('MZ', 0, 'latin1');
  b.writeUInt32LE(0x80, 0x3c);
  b.write('PE\0\0', 0x80, 'latin1');
  return b;
}

const upload = (over: Partial<UploadInput> & Pick<UploadInput, 'data'>) =>
  inspectUpload({ fileName: 'upload', declaredType: 'application/octet-stream', ...over });

describe('inspectUpload', () => {
  it('detects real types from magic bytes', async () => {
    expect(await upload({ fileName: 'photo.PNG', data: png() })).toEqual({ contentType: 'image/png', kind: 'image', fileName: 'photo.PNG' });
    expect(await upload({ fileName: '发票.pdf', data: pdf() })).toEqual({ contentType: 'application/pdf', kind: 'file', fileName: '发票.pdf' });
    expect(await upload({ fileName: 'archive', data: zip({ 'a.txt': 'hello' }) })).toEqual({
      contentType: 'application/zip',
      kind: 'file',
      fileName: 'archive.zip',
    });
    expect(await upload({ fileName: '合同.docx', data: docx() })).toEqual({
      contentType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      kind: 'file',
      fileName: '合同.docx',
    });
  });

  it('trusts the magic bytes over the declared type and renames a lying extension', async () => {
    expect(await upload({ fileName: 'evil.html', declaredType: 'text/html', data: png() })).toEqual({
      contentType: 'image/png',
      kind: 'image',
      fileName: 'evil.png',
    });
    expect((await upload({ fileName: 'scan.jpeg', declaredType: 'image/png', data: pdf() })).fileName).toBe('scan.pdf');
  });

  it('refuses executables, naming what was detected and what is allowed', async () => {
    const err = await upload({ fileName: 'invoice.pdf', declaredType: 'application/pdf', data: exe() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('unsupported_media_type');
    expect((err as AppError).message).toContain('application/x-msdownload');
    expect((err as AppError).message).toContain('images (png, jpeg, gif, webp)');
  });

  it('refuses HTML, SVG and XML whatever they are called', async () => {
    const markup = [
      '<!DOCTYPE html><html><body><script>alert(1)</script></body></html>',
      '\uFEFF  \n<html><script>alert(1)</script></html>',
      '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
      '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
      '<!-- comment --><svg/>',
    ];
    for (const body of markup)
      for (const fileName of ['page.html', 'notes.txt', 'image.svg'])
        expect(await errorCode(upload({ fileName, declaredType: 'text/plain', data: Buffer.from(body) })), `${fileName}: ${body}`).toBe(
          'unsupported_media_type',
        );
  });

  it('accepts UTF-8 text as txt/csv/json and gives it a text extension', async () => {
    const csv = Buffer.from('订单号,金额\nA123,12.50\n');
    expect(await upload({ fileName: '订单.csv', declaredType: 'text/csv', data: csv })).toEqual({
      contentType: 'text/csv; charset=utf-8',
      kind: 'file',
      fileName: '订单.csv',
    });
    expect(await upload({ fileName: 'export', declaredType: 'application/json', data: Buffer.from('{"a":1}') })).toMatchObject({
      contentType: 'application/json',
      fileName: 'export.json',
    });
    expect(await upload({ fileName: 'run.bat', data: Buffer.from('del /q *\r\n') })).toMatchObject({
      contentType: 'text/plain; charset=utf-8',
      fileName: 'run.txt',
    });
    // "BM" is BMP's signature, but this is text: no NULs, valid UTF-8.
    expect(await upload({ fileName: 'cars.txt', data: Buffer.from('BMW 订单 list') })).toMatchObject({ contentType: 'text/plain; charset=utf-8' });
  });

  it('refuses unrecognised binaries and text that is not UTF-8', async () => {
    expect(await errorCode(upload({ data: Buffer.from([0x00, 0x01, 0x02, 0x03, 0xff]) }))).toBe('unsupported_media_type');
    expect(await errorCode(upload({ data: Buffer.from([0xc3, 0x28, 0x41]) }))).toBe('unsupported_media_type');
  });

  it('applies the size limit, naming it', async () => {
    const err = await upload({ data: Buffer.alloc(2048, 0x61), maxBytes: 1024 }).catch((e: unknown) => e);
    expect((err as AppError).code).toBe('payload_too_large');
    expect((err as AppError).message).toContain('1 KB');
    const big = await upload({ data: Buffer.alloc(20 * 1024 * 1024 + 1, 0x61) }).catch((e: unknown) => e);
    expect((big as AppError).code).toBe('payload_too_large');
    expect((big as AppError).message).toContain('20 MB');
    expect((await upload({ data: Buffer.alloc(1024, 0x61), maxBytes: 1024 })).kind).toBe('file');
  });

  it('limits kinds when asked', async () => {
    expect(await errorCode(upload({ data: pdf(), allowedKinds: ['image'] }))).toBe('unsupported_media_type');
    expect((await upload({ data: png(), allowedKinds: ['image'] })).kind).toBe('image');
  });

  it('sanitizes the file name', async () => {
    expect((await upload({ fileName: '../../etc/passwd', data: Buffer.from('root:x:0:0') })).fileName).toBe('passwd.txt');
    expect((await upload({ fileName: 'C:\\Users\\me\\发票.pdf', data: pdf() })).fileName).toBe('发票.pdf');
    expect((await upload({ fileName: '..', data: png() })).fileName).toBe('file.png');
  });
});

describe('sanitizeFileName', () => {
  it('strips paths, control and reserved characters, leading dots', () => {
    expect(sanitizeFileName('../../etc/passwd')).toBe('passwd');
    expect(sanitizeFileName('..\\..\\boot.ini')).toBe('boot.ini');
    expect(sanitizeFileName('.htaccess')).toBe('htaccess');
    expect(sanitizeFileName('a<b>:c"d|e?f*.txt')).toBe('abcdef.txt');
    expect(sanitizeFileName('line\r\nbreak\t.txt')).toBe('linebreak.txt');
    expect(sanitizeFileName('invoice\u202Efdp.exe')).toBe('invoicefdp.exe');
    expect(sanitizeFileName('report.pdf. . ')).toBe('report.pdf');
    expect(sanitizeFileName('con.txt')).toBe('_con.txt');
    expect(sanitizeFileName('  客户  资料 .xlsx')).toBe('客户 资料 .xlsx');
    expect(sanitizeFileName('')).toBe('file');
    expect(sanitizeFileName(null)).toBe('file');
    expect(sanitizeFileName('/')).toBe('file');
  });

  it('trims to 200 bytes keeping the extension and whole characters', () => {
    const name = sanitizeFileName(`${'发'.repeat(100)}.pdf`);
    expect(Buffer.byteLength(name)).toBeLessThanOrEqual(MAX_FILE_NAME_BYTES);
    expect(name).toBe(`${'发'.repeat(65)}.pdf`);
  });
});

describe('contentDisposition', () => {
  it('encodes a Chinese name with an ASCII fallback', () => {
    expect(contentDisposition('发票.pdf', false)).toBe(`attachment; filename="file.pdf"; filename*=UTF-8''%E5%8F%91%E7%A5%A8.pdf`);
    expect(contentDisposition('2024年发票.pdf', false)).toBe(
      `attachment; filename="2024_.pdf"; filename*=UTF-8''2024%E5%B9%B4%E5%8F%91%E7%A5%A8.pdf`,
    );
  });

  it('cannot be broken by quotes, backslashes or line breaks', () => {
    expect(contentDisposition('say "hi" it\'s (1).png', true)).toBe(
      `inline; filename="say hi it's (1).png"; filename*=UTF-8''say%20hi%20it%27s%20%281%29.png`,
    );
    expect(contentDisposition('“报价”单.xlsx', false)).toBe(
      `attachment; filename="file.xlsx"; filename*=UTF-8''%E2%80%9C%E6%8A%A5%E4%BB%B7%E2%80%9D%E5%8D%95.xlsx`,
    );
    // A backslash is a path separator (Windows uploads send C:\…\name): only the last component stays.
    expect(contentDisposition('dir\\"x".pdf', false)).toBe(`attachment; filename="x.pdf"; filename*=UTF-8''x.pdf`);
    const header = contentDisposition('a\r\nSet-Cookie: x=1.txt', false);
    expect(header).not.toMatch(/[\r\n]/);
    expect(header).toBe(`attachment; filename="aSet-Cookie x=1.txt"; filename*=UTF-8''aSet-Cookie%20x%3D1.txt`);
  });

  it('allows inline only for images, audio and video', () => {
    expect(inlineAllowed('image/png')).toBe(true);
    expect(inlineAllowed('video/mp4')).toBe(true);
    expect(inlineAllowed('audio/mpeg')).toBe(true);
    expect(inlineAllowed('application/pdf')).toBe(false);
    expect(inlineAllowed('text/plain; charset=utf-8')).toBe(false);
    expect(inlineAllowed('image/svg+xml')).toBe(false);
  });
});
