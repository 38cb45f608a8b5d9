import { useCallback, useEffect, useRef, useState } from 'react';

export interface Loaded<T> {
  data: T | undefined;
  loading: boolean;
  error: Error | null;
  /** Loads again with the same arguments (after a change the page made itself). */
  reload: () => Promise<void>;
  /** Replaces the data locally, e.g. with the row a PATCH returned, without another round trip. */
  setData: (update: (prev: T | undefined) => T | undefined) => void;
}

/**
 * Runs `load` when `deps` change and keeps the last answer. A slower, older request never overwrites a
 * newer one (typing in a search box fires several), which is why each call carries a sequence number.
 */
export function useLoad<T>(load: () => Promise<T>, deps: readonly unknown[]): Loaded<T> {
  const [data, setDataState] = useState<T>();
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<Error | null>(null);
  const seq = useRef(0);
  // `load` is a new closure on every render; `deps` (the caller's, as with useEffect) say when it really changed.
  const run = useCallback(load, deps);

  const reload = useCallback(async () => {
    const mine = ++seq.current;
    setLoading(true);
    try {
      const value = await run();
      if (mine !== seq.current) return;
      setDataState(value);
      setError(null);
    } catch (e) {
      if (mine !== seq.current) return;
      setError(e instanceof Error ? e : new Error(String(e)));
    } finally {
      if (mine === seq.current) setLoading(false);
    }
  }, [run]);

  useEffect(() => {
    void reload();
    // A page left while loading must not set state from the late answer.
    return () => {
      seq.current++;
    };
  }, [reload]);

  const setData = useCallback((update: (prev: T | undefined) => T | undefined) => setDataState(update), []);
  return { data, loading, error, reload, setData };
}
