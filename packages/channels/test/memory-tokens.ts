import type { SharedTokens } from '../src/adapter.ts';

/**
 * SharedTokens for adapter tests: one process, no database (core's DB-backed version is tested in
 * apps/server/test/channel-framework-pulls.int.test.ts). Same rules: refresh when missing or expiring within a
 * minute, one refresh in flight, invalidate only the token still cached. `refreshes` counts calls.
 */
export function memoryTokens(now: () => Date = () => new Date()): SharedTokens & { refreshes: number } {
  const cache = new Map<string, { token: string; expiresAt: number }>();
  const inFlight = new Map<string, Promise<string>>();
  const self = {
    refreshes: 0,
    async get(key: string, refresh: () => Promise<{ token: string; expiresInSeconds: number }>): Promise<string> {
      const hit = cache.get(key);
      if (hit && hit.expiresAt - now().getTime() > 60_000) return hit.token;
      const running = inFlight.get(key);
      if (running) return running;
      const p = (async () => {
        self.refreshes++;
        const r = await refresh();
        cache.set(key, { token: r.token, expiresAt: now().getTime() + r.expiresInSeconds * 1000 });
        return r.token;
      })().finally(() => inFlight.delete(key));
      inFlight.set(key, p);
      return p;
    },
    async invalidate(key: string, token: string): Promise<void> {
      if (cache.get(key)?.token === token) cache.delete(key);
    },
  };
  return self;
}
