import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Opaque random tokens (sessions, invites, resets); only their SHA-256 is stored. */
export function newToken(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface VisitorClaims {
  /** workspace id */ w: string;
  /** inbox id */ i: string;
  /** contact id */ c: string;
  /** contact identity id */ id: string;
  /** expiry, unix seconds */ exp: number;
}

/**
 * Signed visitor tokens: `v1.<claims base64url>.<HMAC-SHA256 base64url>`. The widget stores it and sends it
 * on every request; it is the visitor's only identity (a typed email never identifies anyone).
 */
export function createVisitorTokens(key: Buffer, ttlSeconds = 180 * 24 * 3600) {
  const sign = (body: string) => createHmac('sha256', key).update(body).digest('base64url');
  return {
    issue(claims: Omit<VisitorClaims, 'exp'>, now = Date.now()): string {
      const body = Buffer.from(JSON.stringify({ ...claims, exp: Math.floor(now / 1000) + ttlSeconds })).toString('base64url');
      return `v1.${body}.${sign(`v1.${body}`)}`;
    },
    /** Returns the claims, or undefined for a forged, malformed or expired token. */
    verify(token: string, now = Date.now()): VisitorClaims | undefined {
      const [version, body, mac] = token.split('.');
      if (version !== 'v1' || !body || !mac) return undefined;
      const expected = Buffer.from(sign(`v1.${body}`));
      const given = Buffer.from(mac);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
      try {
        const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as VisitorClaims;
        if (typeof claims.exp !== 'number' || claims.exp * 1000 < now) return undefined;
        if (![claims.w, claims.i, claims.c, claims.id].every((v) => typeof v === 'string')) return undefined;
        return claims;
      } catch {
        return undefined;
      }
    },
  };
}
export type VisitorTokens = ReturnType<typeof createVisitorTokens>;

/** Signed, expiring download links for attachments, so <img src> works without auth headers. */
export function createFileUrlSigner(key: Buffer) {
  const sign = (id: string, exp: number) => createHmac('sha256', key).update(`${id}.${exp}`).digest('base64url');
  return {
    url(id: string, ttlSeconds = 24 * 3600, now = Date.now()): string {
      const exp = Math.floor(now / 1000) + ttlSeconds;
      return `/files/${id}?exp=${exp}&sig=${sign(id, exp)}`;
    },
    verify(id: string, exp: number, sig: string, now = Date.now()): boolean {
      if (exp * 1000 < now) return false;
      const a = Buffer.from(sign(id, exp));
      const b = Buffer.from(sig);
      return a.length === b.length && timingSafeEqual(a, b);
    },
  };
}
export type FileUrlSigner = ReturnType<typeof createFileUrlSigner>;
