import type { StorageAdapter as CoreStorageAdapter } from '@huiliu/client';

/**
 * Key/value string storage, sync or async: the client core's adapter plus `remove`, which `reset()` uses to
 * forget a signed-out user (without it the keys are overwritten with empty values).
 */
export interface StorageAdapter extends CoreStorageAdapter {
  remove?(key: string): void | Promise<void>;
}

/** Forgets everything when the process ends: Node scripts, tests, apps that must not persist chats. */
export function createMemoryStorage(): StorageAdapter {
  const map = new Map<string, string>();
  return {
    get: (key) => map.get(key) ?? null,
    set: (key, value) => {
      map.set(key, value);
    },
    remove: (key) => {
      map.delete(key);
    },
  };
}

/** React Native's AsyncStorage (or anything with its getItem / setItem / removeItem shape). */
export interface AsyncStorageLike {
  getItem(key: string): Promise<string | null>;
  setItem(key: string, value: string): Promise<void>;
  removeItem?(key: string): Promise<void>;
}

export function createAsyncStorage(storage: AsyncStorageLike): StorageAdapter {
  return {
    get: (key) => storage.getItem(key),
    set: (key, value) => storage.setItem(key, value),
    remove: (key) => (storage.removeItem ? storage.removeItem(key) : storage.setItem(key, '')),
  };
}

interface WebStorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * The browser's localStorage, falling back to memory where it throws (sandboxed iframes, privacy modes,
 * quota): chatting still works for the page's lifetime, it just forgets on reload.
 */
export function createLocalStorage(): StorageAdapter {
  const memory = createMemoryStorage();
  let ls: WebStorageLike | null = null;
  try {
    ls = (globalThis as { localStorage?: WebStorageLike }).localStorage ?? null;
    ls?.setItem('huiliu.probe', '1');
    ls?.removeItem('huiliu.probe');
  } catch {
    ls = null;
  }
  if (!ls) return memory;
  const store = ls;
  return {
    get(key) {
      try {
        return store.getItem(key);
      } catch {
        return memory.get(key);
      }
    },
    set(key, value) {
      void memory.set(key, value);
      try {
        store.setItem(key, value);
      } catch {
        // quota: the in-memory copy serves this page
      }
    },
    remove(key) {
      void memory.remove?.(key);
      try {
        store.removeItem(key);
      } catch {
        // nothing to do
      }
    },
  };
}
