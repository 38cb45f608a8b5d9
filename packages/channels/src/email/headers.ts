/**
 * The header block of a raw message as lower-cased name → unfolded values, read straight from the
 * bytes. The loop guard and sender verification work on this rather than on mailparser's structured
 * headers: they need repeated headers in order (Authentication-Results) and must still work on mail
 * mailparser could not read.
 */
export type RawHeaders = ReadonlyMap<string, string[]>;

export function headerBlock(raw: Buffer): string {
  // Headers are ASCII (RFC 5322) or UTF-8 (RFC 6532); latin1 never throws on whatever else arrives.
  const head = raw.subarray(0, Math.min(raw.length, 256 * 1024)).toString('latin1');
  const end = head.search(/\r?\n\r?\n/);
  return end === -1 ? head : head.slice(0, end);
}

export function readRawHeaders(raw: Buffer): RawHeaders {
  const map = new Map<string, string[]>();
  const unfolded = headerBlock(raw).replace(/\r?\n[ \t]+/g, ' ');
  for (const line of unfolded.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) continue;
    const list = map.get(name) ?? [];
    list.push(line.slice(colon + 1).trim());
    map.set(name, list);
  }
  return map;
}

/** The bare address of a From/Sender value (`"Name" <a@b>` → `a@b`), lower-cased; undefined if none. */
export function bareAddress(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const angled = /<([^<>\s]+@[^<>\s]+)>/.exec(value)?.[1];
  const plain = angled ?? /([^\s<>"(),;:]+@[^\s<>"(),;:]+)/.exec(value)?.[1];
  return plain?.toLowerCase();
}
