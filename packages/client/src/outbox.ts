import type { ContentType, Message } from '@huiliu/contracts';
import type { ChatError, ClientPayload } from './protocol.ts';

/**
 * Key/value string storage: `localStorage`, `wx.getStorageSync`/`setStorageSync`, React Native AsyncStorage.
 * Sync or async, whichever the platform offers.
 */
export interface StorageAdapter {
  get(key: string): string | null | undefined | Promise<string | null | undefined>;
  set(key: string, value: string): void | Promise<void>;
}

/** What `send` accepts: the `message.send` payload without the ids the client fills in. */
export type SendInput = Omit<ClientPayload<'message.send'>, 'conversationId' | 'clientId'> & {
  /** Reuse a clientId (e.g. one the UI already rendered); generated when absent. */
  clientId?: string;
};

/**
 * - `sending`: not acknowledged yet; retried (same clientId) until the server answers.
 * - `sent`: stored by the server, waiting for the messages before it to arrive so it can take its place.
 * - `failed`: refused by the server; `error` says why. `retry()` or `discard()` it.
 */
export type OutgoingStatus = 'sending' | 'sent' | 'failed';

/** An optimistic outgoing message, shaped so a UI can render it like a `Message`. */
export interface OutgoingMessage {
  readonly clientId: string;
  readonly conversationId: string;
  readonly contentType: ContentType;
  readonly text: string;
  readonly private: boolean;
  readonly attachmentIds: readonly string[];
  readonly location: NonNullable<SendInput['location']> | null;
  readonly card: NonNullable<SendInput['card']> | null;
  readonly status: OutgoingStatus;
  readonly error: ChatError | null;
  readonly createdAt: string;
}

export type SendResult =
  | { readonly ok: true; readonly message: Message; readonly duplicate: boolean }
  | { readonly ok: false; readonly error: ChatError };

/** @internal Mutable bookkeeping behind an `OutgoingMessage`. */
export interface OutboxEntry {
  clientId: string;
  conversationId: string;
  input: Omit<SendInput, 'clientId'>;
  createdAt: string;
  status: OutgoingStatus;
  error: ChatError | null;
  /** The stored message once acked or seen in an event. */
  message: Message | null;
  /** Consecutive `rate_limited` / `internal` answers, bounded before giving up. */
  serverRetries: number;
  /** Consecutive lost acks, only used for the backoff delay. */
  lostAcks: number;
  settle: Array<(result: SendResult) => void>;
}

export function toOutgoing(e: OutboxEntry): OutgoingMessage {
  return {
    clientId: e.clientId,
    conversationId: e.conversationId,
    contentType: e.input.contentType ?? 'text',
    text: e.input.text ?? '',
    private: e.input.private ?? false,
    attachmentIds: e.input.attachmentIds ?? [],
    location: e.input.location ?? null,
    card: e.input.card ?? null,
    status: e.status,
    error: e.error,
    createdAt: e.createdAt,
  };
}

interface PersistedEntry {
  clientId: string;
  conversationId: string;
  input: Omit<SendInput, 'clientId'>;
  createdAt: string;
  status: 'sending' | 'failed';
  error: ChatError | null;
}

const VERSION = 1;

/** Only unsent work is worth keeping across a reload; `sent` ones come back through sync. */
export function serializeOutbox(entries: readonly OutboxEntry[]): string {
  const items: PersistedEntry[] = [];
  for (const e of entries) {
    if (e.status === 'sent') continue;
    items.push({
      clientId: e.clientId,
      conversationId: e.conversationId,
      input: e.input,
      createdAt: e.createdAt,
      status: e.status,
      error: e.error,
    });
  }
  return JSON.stringify({ v: VERSION, items });
}

/** Tolerant of anything: storage is shared with the host page and may hold garbage or an older format. */
export function parseOutbox(raw: string | null | undefined): OutboxEntry[] {
  if (!raw) return [];
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return [];
  }
  const doc = data as { v?: unknown; items?: unknown };
  if (doc?.v !== VERSION || !Array.isArray(doc.items)) return [];
  const out: OutboxEntry[] = [];
  for (const item of doc.items as Array<Partial<PersistedEntry> | null>) {
    if (
      !item ||
      typeof item.clientId !== 'string' ||
      typeof item.conversationId !== 'string' ||
      typeof item.input !== 'object' ||
      item.input === null
    ) {
      continue;
    }
    out.push({
      clientId: item.clientId,
      conversationId: item.conversationId,
      input: item.input,
      createdAt: typeof item.createdAt === 'string' ? item.createdAt : new Date().toISOString(),
      status: item.status === 'failed' ? 'failed' : 'sending',
      error: item.status === 'failed' && item.error ? item.error : null,
      message: null,
      serverRetries: 0,
      lostAcks: 0,
      settle: [],
    });
  }
  return out;
}
