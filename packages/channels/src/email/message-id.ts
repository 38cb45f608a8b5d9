/**
 * Message-IDs: the ones we generate for our replies, the ones we synthesize for mail that has none, and
 * one spelling (`<local@domain>`) for every id we hand to core, so threading matches whichever header an
 * id came from.
 */
import { createHash } from 'node:crypto';

/** Our own ids start with this, so a copy of our reply coming back (BCC, forwarding) is recognized. */
const OWN_PREFIX = 'huiliu.';

/** `abc@x`, `<abc@x>`, ` <abc@x> ` → `<abc@x>`; empty → undefined. */
export function normalizeMessageId(id: string | undefined | null): string | undefined {
  const v = id?.trim().replace(/^<+/, '').replace(/>+$/, '').trim();
  return v ? `<${v}>` : undefined;
}

/** Every `<id>` in a References / In-Reply-To value (mailparser gives a string or an array). */
export function messageIdList(value: string | string[] | undefined): string[] {
  const raw = Array.isArray(value) ? value.join(' ') : (value ?? '');
  const found = raw.match(/<[^<>\s]+>/g) ?? raw.split(/\s+/).filter((s) => s.includes('@'));
  return [...new Set(found.map((s) => normalizeMessageId(s)!).filter(Boolean))];
}

export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

/**
 * The Message-ID of one outbound message, derived from its idempotency key: a retried send after an
 * interrupted SMTP session carries the same id, and mail clients (Gmail, Outlook) show a duplicate id once.
 */
export function ownMessageId(idempotencyKey: string, fromAddress: string): string {
  const key = /^[A-Za-z0-9._-]{1,100}$/.test(idempotencyKey)
    ? idempotencyKey
    : createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32);
  return `<${OWN_PREFIX}${key}@${domainOf(fromAddress)}>`;
}

/** True for an id `ownMessageId` made for this sending address's domain. */
export function isOwnMessageId(id: string | undefined, fromAddress: string): boolean {
  const v = normalizeMessageId(id);
  if (!v) return false;
  const at = v.lastIndexOf('@');
  return v.slice(1, at).startsWith(OWN_PREFIX) && v.slice(at + 1, -1).toLowerCase() === domainOf(fromAddress);
}

/**
 * A stable id for mail without a Message-ID (RFC 5322 only says SHOULD): the hash of the raw message, so
 * the same mail fetched again (restart, UIDVALIDITY resync) gets the same id and is stored once.
 * `.invalid` is reserved (RFC 2606), so it never collides with a real id.
 */
export function synthesizedMessageId(raw: Buffer): string {
  return `<${createHash('sha256').update(raw).digest('hex').slice(0, 40)}@missing-message-id.invalid>`;
}
