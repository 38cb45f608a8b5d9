import { useEffect, useState } from 'react';
import { api } from '../../lib/api.ts';

/**
 * GET `path` whenever it or `rev` changes; null while loading, `fallback` when the request fails (an
 * agent may lack the permission for one part of the profile: that part stays empty, the rest works).
 */
export function useFetched<T>(path: string | null, rev: number, fallback: T): T | null {
  const [value, setValue] = useState<T | null>(null);
  useEffect(() => {
    if (!path) return;
    let cancelled = false;
    setValue(null);
    api<T>('GET', path)
      .then((r) => !cancelled && setValue(r))
      .catch(() => !cancelled && setValue(fallback));
    return () => {
      cancelled = true;
    };
    // `fallback` is a constant of the caller; reloading on its identity would loop.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [path, rev]);
  return value;
}
