/**
 * Whether the From address of an inbound mail can be trusted as the customer's verified email.
 *
 * Decision: plain SMTP From is spoofable by anyone, and a verified key merges contacts automatically,
 * so a forged From would hand the attacker another customer's whole history. We do not check DKIM
 * signatures ourselves (that needs DNS lookups outside core's SSRF-safe client); instead we trust the
 * verdict of the inbox's own mail provider when the admin names it (`trustedAuthservId`): the
 * TOPMOST Authentication-Results header (RFC 8601) — the one the provider's receiving server added
 * last — must carry that authserv-id and `dmarc=pass` for the From domain. Providers delete
 * Authentication-Results headers that claim their own id from incoming mail (RFC 8601 §5), so a
 * sender cannot forge that header. Without `trustedAuthservId` no email is ever marked verified.
 */
import type { VerifiedKey } from '../adapter.ts';
import { domainOf } from './message-id.ts';
import type { RawHeaders } from './headers.ts';

/** Drops RFC 5322 comments `( … )`, which may contain `;` and `=`. */
function withoutComments(v: string): string {
  let out = '';
  let depth = 0;
  for (const ch of v) {
    if (ch === '(') depth++;
    else if (ch === ')' && depth > 0) depth--;
    else if (depth === 0) out += ch;
  }
  return out;
}

export function dmarcPassed(headers: RawHeaders, fromAddress: string, trustedAuthservId: string): boolean {
  const topmost = headers.get('authentication-results')?.[0];
  if (!topmost) return false;
  const [servPart, ...results] = withoutComments(topmost).split(';').map((s) => s.trim());
  const authservId = servPart?.split(/\s+/)[0]?.toLowerCase();
  if (authservId !== trustedAuthservId.trim().toLowerCase()) return false;
  const fromDomain = domainOf(fromAddress);
  return results.some((r) => {
    if (!/^dmarc\s*=\s*pass\b/i.test(r)) return false;
    const headerFrom = /\bheader\.from\s*=\s*"?([^\s";]+)/i.exec(r)?.[1]?.toLowerCase();
    return headerFrom === fromDomain;
  });
}

export function verifiedEmailKeys(headers: RawHeaders, fromAddress: string, trustedAuthservId: string | undefined): VerifiedKey[] {
  if (!trustedAuthservId) return [];
  return dmarcPassed(headers, fromAddress, trustedAuthservId) ? [{ kind: 'email', value: fromAddress.toLowerCase() }] : [];
}
