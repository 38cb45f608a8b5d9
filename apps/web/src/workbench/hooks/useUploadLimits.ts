import { useEffect, useState } from 'react';
import { api } from '../../lib/api.ts';
import { useSession } from '../../lib/session.tsx';
import type { UploadLimits } from '../types.ts';

let cached: Promise<UploadLimits | null> | null = null;

/**
 * The server's upload limits (`uploads` of GET /auth/me: max size and allowed types), so a wrong file is
 * refused before it is sent. Older servers do not report them: then null, and the server's own error is
 * shown after the upload.
 */
export function useUploadLimits(): UploadLimits | null {
  const session = useSession() as ReturnType<typeof useSession> & { uploads?: UploadLimits };
  const [limits, setLimits] = useState<UploadLimits | null>(session.uploads ?? null);
  useEffect(() => {
    if (session.uploads) return;
    // A fresh login answers with the session, which may not carry `uploads`: ask /auth/me once.
    cached ??= api<{ uploads?: UploadLimits }>('GET', '/auth/me')
      .then((me) => me.uploads ?? null)
      .catch(() => {
        cached = null;
        return null;
      });
    let cancelled = false;
    void cached.then((l) => {
      if (!cancelled) setLimits(l);
    });
    return () => {
      cancelled = true;
    };
  }, [session.uploads]);
  return limits;
}

/**
 * Whether the browser's idea of a file's type is acceptable: `image/png` matches `image/png`, `image/*`
 * and `image/png; charset=…`. The server accepts any UTF-8 text that is not markup as plain text, so
 * text types the browser names differently (text/markdown, text/x-log) are left for the server to judge.
 */
export function typeAllowed(fileType: string, allowed: readonly string[]): boolean {
  const type = fileType.split(';')[0]!.trim().toLowerCase();
  const bases = allowed.map((a) => a.split(';')[0]!.trim().toLowerCase());
  if (bases.some((base) => base === type || (base.endsWith('/*') && type.startsWith(base.slice(0, -1))))) return true;
  return bases.includes('text/plain') && type.startsWith('text/') && !/html|xml/.test(type);
}
