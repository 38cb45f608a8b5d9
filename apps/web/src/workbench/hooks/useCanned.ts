import { useCallback, useEffect, useState } from 'react';
import type { CannedResponse } from '@huiliu/contracts';
import { api } from '../../lib/api.ts';

/** Shared by every composer; refreshed when older than this, so edits by admins show up soon. */
const TTL_MS = 60_000;
let cache: { at: number; items: Promise<CannedResponse[]> } | null = null;

function load(): Promise<CannedResponse[]> {
  if (!cache || Date.now() - cache.at > TTL_MS) {
    const items = api<CannedResponse[]>('GET', '/canned-responses').catch((e: unknown) => {
      cache = null;
      throw e;
    });
    cache = { at: Date.now(), items };
  }
  return cache.items;
}

/** Shortcut prefix matches first, then shortcut substrings, then content matches. */
export function filterCanned(items: readonly CannedResponse[], query: string, max = 8): CannedResponse[] {
  const q = query.toLowerCase();
  const score = (c: CannedResponse) => {
    const code = c.shortCode.toLowerCase();
    if (code.startsWith(q)) return 0;
    if (code.includes(q)) return 1;
    if (q && c.content.toLowerCase().includes(q)) return 2;
    return -1;
  };
  return items
    .map((c) => ({ c, s: score(c) }))
    .filter((x) => x.s >= 0)
    .sort((a, b) => a.s - b.s || a.c.shortCode.localeCompare(b.c.shortCode))
    .slice(0, max)
    .map((x) => x.c);
}

/** The canned responses, fetched when `active` first becomes true (the agent typed `/`). */
export function useCanned(active: boolean): { items: CannedResponse[]; loading: boolean; error: string | null } {
  const [items, setItems] = useState<CannedResponse[]>([]);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const refresh = useCallback(() => {
    let cancelled = false;
    setLoading(true);
    load()
      .then((list) => {
        if (!cancelled) {
          setItems(list);
          setError(null);
        }
      })
      .catch((e: unknown) => {
        if (!cancelled) setError(e instanceof Error ? e.message : String(e));
      })
      .finally(() => {
        if (!cancelled) setLoading(false);
      });
    return () => {
      cancelled = true;
    };
  }, []);
  useEffect(() => (active ? refresh() : undefined), [active, refresh]);
  return { items, loading, error };
}
