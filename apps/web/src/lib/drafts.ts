/**
 * Per-conversation drafts in localStorage, written on every change. An agent's half-typed reply must
 * survive a reload, a crash and a session expiry (the login page sends them back to the same URL), so
 * nothing is kept only in React state. Keys carry the user id so two agents sharing a browser never see
 * each other's drafts.
 */
export interface DraftAttachment {
  id: string;
  fileName: string;
  contentType: string;
  size: number;
}

export interface Draft {
  text: string;
  private: boolean;
  /** Uploaded but not yet sent: their ids stay valid until a message uses them. */
  attachments: DraftAttachment[];
  updatedAt: number;
}

const PREFIX = 'huiliu.draft.';
/** Drafts nobody came back to for this long are dropped, so storage does not fill up over months. */
const MAX_AGE_MS = 30 * 24 * 3600 * 1000;

const keyOf = (userId: string, conversationId: string) => `${PREFIX}${userId}.${conversationId}`;

export function isEmptyDraft(d: Pick<Draft, 'text' | 'attachments'>): boolean {
  return d.text.trim() === '' && d.attachments.length === 0;
}

export function loadDraft(userId: string, conversationId: string): Draft | null {
  try {
    const raw = localStorage.getItem(keyOf(userId, conversationId));
    if (!raw) return null;
    const d = JSON.parse(raw) as Partial<Draft>;
    return {
      text: typeof d.text === 'string' ? d.text : '',
      private: d.private === true,
      attachments: Array.isArray(d.attachments) ? d.attachments.filter((a) => a && typeof a.id === 'string') : [],
      updatedAt: typeof d.updatedAt === 'number' ? d.updatedAt : Date.now(),
    };
  } catch {
    return null; // unreadable or foreign data: start empty rather than break the composer
  }
}

export function saveDraft(userId: string, conversationId: string, draft: Omit<Draft, 'updatedAt'>): void {
  try {
    if (isEmptyDraft(draft) && !draft.private) localStorage.removeItem(keyOf(userId, conversationId));
    else localStorage.setItem(keyOf(userId, conversationId), JSON.stringify({ ...draft, updatedAt: Date.now() }));
  } catch {
    // Quota exceeded or storage disabled: the draft still lives in the composer for this page.
  }
}

export function clearDraft(userId: string, conversationId: string): void {
  try {
    localStorage.removeItem(keyOf(userId, conversationId));
  } catch {
    /* storage disabled */
  }
}

/** Conversation ids that have a non-empty draft (the list marks them). */
export function draftConversationIds(userId: string): Set<string> {
  const out = new Set<string>();
  const prefix = `${PREFIX}${userId}.`;
  try {
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      if (!key?.startsWith(prefix)) continue;
      const d = loadDraft(userId, key.slice(prefix.length));
      if (d && !isEmptyDraft(d)) out.add(key.slice(prefix.length));
    }
  } catch {
    /* storage disabled */
  }
  return out;
}

export function pruneDrafts(now: number = Date.now()): void {
  try {
    const stale: string[] = [];
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      if (!key?.startsWith(PREFIX)) continue;
      const raw = localStorage.getItem(key);
      const at = raw ? (JSON.parse(raw) as { updatedAt?: number }).updatedAt : undefined;
      if (typeof at !== 'number' || now - at > MAX_AGE_MS) stale.push(key);
    }
    for (const key of stale) localStorage.removeItem(key);
  } catch {
    /* storage disabled or garbage: leave it */
  }
}
