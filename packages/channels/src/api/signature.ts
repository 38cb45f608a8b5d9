import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Huiliu's outbound webhook signature, the scheme Stripe uses:
 *   X-Huiliu-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 * The timestamp is inside the signed string so a receiver can refuse old deliveries (replays) without
 * trusting an unsigned header.
 */
export const SIGNATURE_HEADER = 'x-huiliu-signature';
export const DELIVERY_HEADER = 'x-huiliu-delivery';
export const EVENT_HEADER = 'x-huiliu-event';

export function signWebhook(secret: string, rawBody: string | Buffer, timestampSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${timestampSeconds}.`).update(rawBody).digest('hex');
  return `t=${timestampSeconds},v1=${mac}`;
}

/** Compares two secrets in time independent of where they differ and of their lengths. */
export function constantTimeEqual(a: string, b: string): boolean {
  // Hashing first gives equal-length inputs, so the length of the stored key does not leak either.
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}
