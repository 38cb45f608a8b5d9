/**
 * File names from uploads are untrusted: they end up in Content-Disposition headers, in the agent UI and
 * on people's disks when downloaded. These helpers make them harmless while keeping them readable,
 * including Chinese names.
 */

export const MAX_FILE_NAME_BYTES = 200;
const FALLBACK_NAME = 'file';

// Control and format characters (incl. U+202E right-to-left override, used to disguise "gpj.exe" as
// "exe.jpg"), line/paragraph separators, and characters Windows reserves in names.
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}<>:"/\\|?*]/gu;
// Device names Windows refuses as file names, whatever the extension ("con.txt" included).
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])$/i;
// What counts as an extension: short, alphanumeric, at least one letter ("v1.2" has none; "mp3" does).
const EXTENSION = /^(?=.*[a-z])[a-z0-9]{1,8}$/i;

/**
 * A safe file name: last path component only, without control/format characters and `<>:"/\|?*`, no
 * leading dots (hidden files, "..") or trailing dots and spaces (Windows drops them), whitespace
 * collapsed, at most MAX_FILE_NAME_BYTES of UTF-8 keeping the extension; 'file' when nothing is left.
 */
export function sanitizeFileName(name: string | null | undefined): string {
  const lastComponent = (name ?? '').normalize('NFC').split(/[/\\]/).pop() ?? '';
  let clean = lastComponent
    .replace(UNSAFE, '')
    .replace(/\s+/gu, ' ')
    .replace(/^[\s.]+/u, '')
    .replace(/[\s.]+$/u, '');
  if (WINDOWS_DEVICE.test(clean.split('.')[0] ?? '')) clean = `_${clean}`;
  clean = fitBytes(clean);
  return clean || FALLBACK_NAME;
}

/** `base` and lowercase `ext` (without the dot); ext is '' when the name has no plausible extension. */
export function splitExtension(name: string): { base: string; ext: string } {
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return { base: name, ext: '' };
  const ext = name.slice(dot + 1);
  return EXTENSION.test(ext) ? { base: name.slice(0, dot), ext: ext.toLowerCase() } : { base: name, ext: '' };
}

/** `base.ext` trimmed to MAX_FILE_NAME_BYTES by shortening the base, never the extension. */
export function withExtension(base: string, ext: string): string {
  return fitBytes(ext ? `${base || FALLBACK_NAME}.${ext}` : base || FALLBACK_NAME);
}

function fitBytes(name: string): string {
  if (Buffer.byteLength(name) <= MAX_FILE_NAME_BYTES) return name;
  const { base, ext } = splitExtension(name);
  const suffix = ext ? `.${ext}` : '';
  let budget = MAX_FILE_NAME_BYTES - Buffer.byteLength(suffix);
  let kept = '';
  // By code point, so a Chinese character (3 bytes) or an emoji (4) is never cut in half.
  for (const ch of base) {
    budget -= Buffer.byteLength(ch);
    if (budget < 0) break;
    kept += ch;
  }
  return `${kept.trimEnd() || FALLBACK_NAME}${suffix}`;
}

/**
 * A Content-Disposition value (RFC 6266): `filename="…"` with an ASCII fallback for old clients and
 * `filename*=UTF-8''…` (RFC 8187) with the real name. `inline` lets the browser display the file; pass
 * true only for images, audio and video (see inlineAllowed) — anything else must download, so an
 * uploaded document can never run in our origin.
 */
export function contentDisposition(fileName: string, inline: boolean): string {
  const name = sanitizeFileName(fileName);
  return `${inline ? 'inline' : 'attachment'}; filename="${asciiFallback(name)}"; filename*=UTF-8''${encodeRfc8187(name)}`;
}

function asciiFallback(name: string): string {
  // Non-ASCII runs become '_'; '"' and '\' would end or escape the quoted string.
  const ascii = name.replace(/[^\x20-\x7e]+/g, '_').replace(/["\\]/g, '_');
  const { base, ext } = splitExtension(ascii);
  return /[A-Za-z0-9]/.test(base) ? ascii : withExtension(FALLBACK_NAME, ext);
}

function encodeRfc8187(name: string): string {
  // encodeURIComponent leaves ' ( ) * unescaped, which RFC 8187's attr-char does not allow.
  return encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}
