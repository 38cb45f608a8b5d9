import type { StorageAdapter } from '@huiliu/client';

/**
 * What the widget remembers across page loads, per inbox (a site may embed several inboxes, and two sites
 * on one origin must not share a visitor): the visitor token, the conversation on screen, how far each side
 * has read, and whether we already know the visitor's email. The client core keeps its outbox under its
 * own key next to it.
 */
export interface SavedState {
  token?: string;
  /** Whose token it is: a different contact after a session restart means the old state is void. */
  contactId?: string;
  conversationId?: string;
  /** Highest seq the visitor has seen with the panel open (drives the unread badge). */
  visitorRead?: number;
  /** Highest seq an agent has read (read receipts are events only, so a reload would lose them). */
  agentRead?: number;
  /** The visitor gave an email (pre-chat or the leave-email form): never ask again. */
  emailSaved?: boolean;
}

export interface WidgetStorage {
  readonly outbox: StorageAdapter;
  readonly outboxKey: string;
  load(): SavedState;
  save(patch: Partial<SavedState>): void;
  clear(): void;
}

/**
 * localStorage, falling back to memory: it throws in sandboxed iframes and some privacy modes, and the
 * host page shares the quota with us, so every access is guarded. The widget then still works for the
 * page's lifetime, it just forgets on reload.
 */
export function createStorage(publicId: string): WidgetStorage {
  const prefix = `huiliu.${publicId}.`;
  const memory = new Map<string, string>();
  let ls: Storage | null = null;
  try {
    ls = window.localStorage;
    ls.setItem(`${prefix}probe`, '1');
    ls.removeItem(`${prefix}probe`);
  } catch {
    ls = null;
  }
  const get = (key: string): string | null => {
    try {
      return ls ? ls.getItem(key) : (memory.get(key) ?? null);
    } catch {
      return memory.get(key) ?? null;
    }
  };
  const set = (key: string, value: string): void => {
    memory.set(key, value);
    try {
      ls?.setItem(key, value);
    } catch {
      // quota exceeded: the in-memory copy still serves this page
    }
  };
  const stateKey = `${prefix}state`;
  let state: SavedState | null = null;

  return {
    outbox: { get, set },
    outboxKey: `${prefix}outbox`,
    load() {
      if (state) return state;
      try {
        const parsed: unknown = JSON.parse(get(stateKey) ?? '{}');
        state = parsed && typeof parsed === 'object' ? (parsed as SavedState) : {};
      } catch {
        state = {};
      }
      return state;
    },
    save(patch) {
      state = { ...this.load(), ...patch };
      set(stateKey, JSON.stringify(state));
    },
    clear() {
      state = {};
      memory.clear();
      try {
        ls?.removeItem(stateKey);
        ls?.removeItem(`${prefix}outbox`);
      } catch {
        // nothing to do
      }
    },
  };
}
