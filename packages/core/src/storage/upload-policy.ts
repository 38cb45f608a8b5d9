import { isUtf8 } from 'node:buffer';
import { fileTypeFromBuffer } from 'file-type';
import { AppError } from '../shared/errors.ts';
import { sanitizeFileName, splitExtension, withExtension } from './file-name.ts';

/**
 * What an upload may be. The type comes from the bytes (magic numbers via file-type), never from the
 * declared Content-Type or the file name, which the uploader controls: a PNG declared as text/html and
 * named evil.html is stored and served as image/png named evil.png. Anything that could run in a
 * browser or on an agent's machine (HTML, SVG, XML, executables) is refused; plain text is served as
 * text, with a text extension.
 */

export type UploadKind = 'image' | 'audio' | 'video' | 'file';
export const UPLOAD_KINDS: readonly UploadKind[] = ['image', 'audio', 'video', 'file'];
export const DEFAULT_MAX_UPLOAD_BYTES = 20 * 1024 * 1024;

export interface UploadInput {
  fileName: string | null | undefined;
  /** The Content-Type the client claimed; only a hint for text files (csv/json), which have no magic bytes. */
  declaredType?: string | null | undefined;
  data: Buffer;
  /** Default DEFAULT_MAX_UPLOAD_BYTES. */
  maxBytes?: number | undefined;
  /** Default all kinds; e.g. ['image'] for an avatar. */
  allowedKinds?: readonly UploadKind[] | undefined;
}

export interface InspectedUpload {
  contentType: string;
  kind: UploadKind;
  fileName: string;
}

interface AllowedType {
  contentType: string;
  kind: UploadKind;
  /** Extensions a name may keep for this type; the first replaces one that does not fit. */
  exts: readonly string[];
}

const t = (contentType: string, kind: UploadKind, ...exts: string[]): AllowedType => ({ contentType, kind, exts });

/** Allowed types, keyed by file-type's `ext`. Content types are the canonical ones we serve. */
const BY_MAGIC: Readonly<Record<string, AllowedType>> = {
  png: t('image/png', 'image', 'png'),
  jpg: t('image/jpeg', 'image', 'jpg', 'jpeg', 'jpe', 'jfif'),
  gif: t('image/gif', 'image', 'gif'),
  webp: t('image/webp', 'image', 'webp'),
  mp3: t('audio/mpeg', 'audio', 'mp3'),
  ogg: t('audio/ogg', 'audio', 'ogg', 'oga', 'opus'),
  oga: t('audio/ogg', 'audio', 'oga', 'ogg', 'opus'),
  opus: t('audio/ogg', 'audio', 'opus', 'ogg', 'oga'),
  m4a: t('audio/mp4', 'audio', 'm4a'),
  aac: t('audio/aac', 'audio', 'aac'),
  wav: t('audio/wav', 'audio', 'wav'),
  amr: t('audio/amr', 'audio', 'amr'),
  mp4: t('video/mp4', 'video', 'mp4', 'm4v'),
  m4v: t('video/mp4', 'video', 'm4v', 'mp4'),
  webm: t('video/webm', 'video', 'webm'),
  mov: t('video/quicktime', 'video', 'mov', 'qt'),
  pdf: t('application/pdf', 'file', 'pdf'),
  zip: t('application/zip', 'file', 'zip'),
  docx: t('application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'file', 'docx'),
  xlsx: t('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', 'file', 'xlsx'),
  pptx: t('application/vnd.openxmlformats-officedocument.presentationml.presentation', 'file', 'pptx'),
};

// Text has no magic bytes: the extension (or else the declared type) picks among these.
const PLAIN = t('text/plain; charset=utf-8', 'file', 'txt', 'text', 'log', 'md');
const CSV = t('text/csv; charset=utf-8', 'file', 'csv');
const JSON_TYPE = t('application/json', 'file', 'json');

/**
 * The content types `inspectUpload` accepts, without parameters, for UIs that check a file before
 * uploading it (the server still decides from the bytes). Derived from the tables above so the two
 * cannot drift apart.
 */
export const ACCEPTED_CONTENT_TYPES: readonly string[] = [
  ...new Set([...Object.values(BY_MAGIC), PLAIN, CSV, JSON_TYPE].map((a) => a.contentType.split(';')[0]!.trim())),
];

const ALLOWED_BY_KIND: Record<UploadKind, string> = {
  image: 'images (png, jpeg, gif, webp)',
  audio: 'audio (mp3, ogg, m4a/aac, wav, amr)',
  video: 'video (mp4, webm, mov)',
  file: 'documents (pdf, zip, docx, xlsx, pptx, txt, csv, json)',
};

/**
 * Checks an upload and decides how it is stored and served. Throws AppError 'payload_too_large' over
 * the limit and 'unsupported_media_type' for anything outside the allowlist.
 */
export async function inspectUpload(input: UploadInput): Promise<InspectedUpload> {
  const { data } = input;
  const maxBytes = input.maxBytes ?? DEFAULT_MAX_UPLOAD_BYTES;
  const allowedKinds = input.allowedKinds ?? UPLOAD_KINDS;
  if (data.length > maxBytes) {
    throw new AppError('payload_too_large', `the file is ${formatBytes(data.length)}, over the ${formatBytes(maxBytes)} limit`);
  }

  const name = sanitizeFileName(input.fileName);
  const { base, ext } = splitExtension(name);
  const type = await detectType(data, ext, input.declaredType);
  if (!allowedKinds.includes(type.kind)) refuse(type.contentType, allowedKinds);

  // Keep a name whose extension fits the real type; otherwise swap in the right one, so the file opens
  // with the right program on download (and evil.html holding a PNG becomes evil.png).
  const fileName = type.exts.includes(ext) ? name : withExtension(ext ? base : name, type.exts[0] ?? '');
  return { contentType: type.contentType, kind: type.kind, fileName };

  async function detectType(bytes: Buffer, nameExt: string, declared: string | null | undefined): Promise<AllowedType> {
    const detected = await fileTypeFromBuffer(bytes);
    const known = detected && BY_MAGIC[detected.ext];
    if (known) return known;
    // No match, or a match that is really text: some signatures are two printable bytes ("BM" is BMP,
    // "MZ" is an .exe), so a text file can start with one. Real binaries of those types contain NULs.
    if (isPlainText(bytes)) {
      if (looksLikeMarkup(bytes)) refuse('HTML/XML markup (text/html, image/svg+xml, application/xml)', allowedKinds);
      return textType(nameExt, declared);
    }
    return refuse(detected?.mime ?? 'an unrecognised binary format', allowedKinds);
  }
}

/** True for content types we serve inline (images, audio, video from the allowlist); the rest download. */
export function inlineAllowed(contentType: string): boolean {
  return Object.values(BY_MAGIC).some((a) => a.contentType === contentType && a.kind !== 'file');
}

function refuse(what: string, allowedKinds: readonly UploadKind[]): never {
  const allowed = allowedKinds.map((k) => ALLOWED_BY_KIND[k]).join(', ') || 'nothing';
  throw new AppError('unsupported_media_type', `this file is ${what}, which is not accepted; allowed: ${allowed}`);
}

function isPlainText(bytes: Buffer): boolean {
  return !bytes.includes(0) && isUtf8(bytes);
}

/**
 * Browsers sniff a document as HTML/XML when its first non-blank character starts a tag, comment,
 * doctype or processing instruction; we refuse exactly those, whatever the name says.
 */
function looksLikeMarkup(bytes: Buffer): boolean {
  const head = bytes.subarray(0, 1024).toString('utf8').replace(/^\uFEFF/, '').trimStart();
  return /^<[a-z!?/]/i.test(head);
}

function textType(ext: string, declared: string | null | undefined): AllowedType {
  for (const type of [PLAIN, CSV, JSON_TYPE]) if (type.exts.includes(ext)) return type;
  const mime = (declared ?? '').split(';')[0]?.trim().toLowerCase();
  if (mime === 'text/csv') return CSV;
  if (mime === 'application/json') return JSON_TYPE;
  return PLAIN;
}

function formatBytes(n: number): string {
  const MB = 1024 * 1024;
  if (n >= MB) return `${Number.isInteger(n / MB) ? n / MB : (n / MB).toFixed(1)} MB`;
  if (n >= 1024) return `${Number.isInteger(n / 1024) ? n / 1024 : (n / 1024).toFixed(1)} KB`;
  return `${n} bytes`;
}
