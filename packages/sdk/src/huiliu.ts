import {
  createChatClient,
  createClientId,
  type ChatClient,
  type ChatClientOptions,
  type ChatStatus,
  type ConnectError,
  type ConversationUpdate,
  type HandshakeAuthInput,
  type ReadEvent,
  type TimelineItem,
  type Transport,
  type TransportErrorCode,
  type TypingEvent,
} from '@huiliu/client';
import { Emitter } from '@huiliu/client/emitter';
import type { AttachmentRef, ContentType, FieldIssue, Message, QueueUpdatedEvent } from '@huiliu/contracts';
import { createWidgetApi, type VisitorConversation, type WidgetAgent, type WidgetApi } from './api.ts';
import { HuiliuError, isHuiliuError, type HuiliuErrorCode } from './errors.ts';
import type { FileInput, HttpAdapter } from './http.ts';
import type { StorageAdapter } from './storage.ts';

/** A customer signed in to your app, vouched for by your backend (identity verification). */
export interface HuiliuIdentity {
  /** Your own id of the user, exactly as signed. */
  identifier: string;
  /** hex(HMAC-SHA256(inbox identity key, identifier)), computed on YOUR server: the key never ships in an app. */
  identifierHash: string;
  /** Contact details stored with the contact (never used to identify anyone). */
  name?: string;
  email?: string;
}

/** Where the realtime transport connects; `auth` reads the current visitor token on every (re)connect. */
export interface TransportContext {
  /** Server origin, e.g. `https://support.example.com`. */
  readonly url: string;
  /** Socket.IO path, `/socket.io` unless Huiliu is mounted under a path prefix. */
  readonly path: string;
  readonly auth: () => HandshakeAuthInput;
}

export type TransportFactory = (context: TransportContext) => Transport;

/** Options with every platform adapter given: what `createHuiliu` resolves the platform defaults to. */
export interface HuiliuCoreOptions {
  /** The Huiliu server, e.g. `https://support.example.com` (a path prefix is kept). */
  baseUrl: string;
  /** The inbox's public id: the `data-inbox` of the widget's embed snippet. */
  inboxId: string;
  identity?: HuiliuIdentity | undefined;
  /** BCP 47 tag stored on a new contact, e.g. `zh-CN`. */
  locale?: string | undefined;
  http: HttpAdapter;
  storage: StorageAdapter;
  transport: TransportFactory;
  /** Messages per history page (initial load and `loadEarlier`). Default 30. */
  historyPageSize?: number | undefined;
  /** Tuning of the client core (ack timeout, retry delays, typing keep-alive). */
  client?: Pick<ChatClientOptions, 'ackTimeoutMs' | 'retryDelayMs' | 'maxRetryDelayMs' | 'maxServerRetries' | 'typingKeepAliveMs'> | undefined;
}

export interface HuiliuSession {
  readonly contactId: string;
  /** The conversation on screen: the most recent one, null until the first message. */
  readonly conversationId: string | null;
  readonly conversations: readonly VisitorConversation[];
}

export interface HuiliuSendInput {
  text?: string;
  /** Uploaded first, then sent as an image / audio / video / file message (with `text` as caption). */
  file?: FileInput;
  /** Reuse an id the UI already rendered; generated otherwise. */
  clientId?: string;
  /** Upload progress 0..1 (mini-program: real progress; fetch: 1 when done). */
  onProgress?: (fraction: number) => void;
}

/** Why a send failed for good: a server code, 'network' (the conversation could not be created), 'invalid_input'… */
export interface SendFailure {
  readonly code: HuiliuErrorCode | TransportErrorCode;
  readonly message: string;
  readonly issues?: readonly FieldIssue[] | undefined;
}

export type HuiliuSendResult =
  | { readonly ok: true; readonly message: Message; readonly duplicate: boolean }
  | { readonly ok: false; readonly error: SendFailure };

export interface HuiliuSendHandle {
  readonly clientId: string;
  /** Settles once: stored (exactly once, however often it was retried), or refused. Never rejects. */
  readonly result: Promise<HuiliuSendResult>;
}

export type HuiliuEvents = {
  /** A newly stored message of this visitor's conversations (yours and the agents'), once per seq, in order. */
  message: (message: Message) => void;
  /** The current conversation's timeline changed: stored messages in order, then your unsent ones. */
  messages: (timeline: readonly TimelineItem[]) => void;
  /** An agent or the bot started / stopped typing. */
  typing: (event: TypingEvent) => void;
  /** An agent read up to `seq` (readerType 'user'). */
  read: (event: ReadEvent) => void;
  /** 'connecting' (also while reconnecting), 'online', 'offline'. */
  status: (status: ChatStatus) => void;
  /** A conversation changed (status, assignee). */
  conversation: (conversation: ConversationUpdate) => void;
  /** The visitor's place in the routing queue; `position` null once an agent took the conversation. */
  queue: (event: QueueUpdatedEvent) => void;
  /** The realtime connection was refused, or a background operation failed. */
  error: (error: HuiliuError) => void;
};

export interface Huiliu {
  readonly status: ChatStatus;
  readonly contactId: string | null;
  readonly conversationId: string | null;
  /** Older messages exist on the server than the oldest one loaded. */
  readonly hasEarlier: boolean;
  /**
   * Starts (or resumes) the visitor session over HTTP, connects the realtime socket and loads the newest
   * page of the current conversation. Resolves once online and caught up; rejects with a HuiliuError when
   * the server refuses (`unauthenticated` for a wrong identifierHash). While the network is down it keeps
   * trying and resolves when it gets through.
   */
  connect(): Promise<HuiliuSession>;
  /** Sends text and/or a file; creates the conversation on the first message. `result` never rejects. */
  send(input: string | HuiliuSendInput): HuiliuSendHandle;
  /** Sends a failed message again (same clientId: never stored twice). */
  retry(clientId: string): HuiliuSendHandle | null;
  discard(clientId: string): boolean;
  /** Pages older messages in over REST; they join `messages()` / the timeline. */
  loadEarlier(limit?: number): Promise<{ messages: readonly Message[]; hasMore: boolean }>;
  /** Stored messages of the current conversation in seq order. */
  messages(): readonly Message[];
  timeline(): readonly TimelineItem[];
  /** Read receipt up to `seq` (default: the newest message). Coalesced, delivered after reconnects. */
  markRead(seq?: number): void;
  /** Typing indicator for the agents; call with false when the customer stops or sends. */
  typing(on?: boolean): void;
  /** Opens a new conversation (e.g. after the last one was resolved) and makes it current. */
  startConversation(): Promise<string>;
  /** Agents of the current conversation (names and avatars). */
  agents(): Promise<readonly WidgetAgent[]>;
  /** Attachment and avatar URLs are server-relative: this makes them absolute. */
  absoluteUrl(url: string): string;
  on<K extends keyof HuiliuEvents>(event: K, listener: HuiliuEvents[K]): () => void;
  /** Closes the socket; `connect()` resumes. */
  disconnect(): void;
  /** Sign-out: forgets the stored session, conversation and unsent messages on this device. */
  reset(): Promise<void>;
  /** Disconnects and drops all listeners; unsent messages stay stored for the next instance. */
  destroy(): void;
}

interface SavedSession {
  token?: string;
  contactId?: string;
  /** Whose session it is: the verified identifier, absent for an anonymous visitor. */
  identifier?: string;
  conversationId?: string;
}

const DEFAULT_PAGE = 30;

export function createHuiliuCore(options: HuiliuCoreOptions): Huiliu {
  return new HuiliuChat(options);
}

class HuiliuChat implements Huiliu {
  private readonly baseUrl: string;
  private readonly api: WidgetApi;
  private readonly emitter = new Emitter<HuiliuEvents>();
  private readonly sessionKey: string;
  private readonly outboxKey: string;
  private readonly pageSize: number;

  private token: string | null = null;
  private saved: SavedSession | null = null;
  private session: Promise<HuiliuSession> | null = null;
  /** Loading the current conversation (history + subscribe) after the session started. */
  private opening: Promise<void> = Promise.resolve();
  private creating: Promise<string> | null = null;
  private client: ChatClient | null = null;
  private offs: Array<() => void> = [];
  /** connect() calls waiting to get online; rejected when the client is stopped under them. */
  private readonly waiting = new Set<(error: HuiliuError) => void>();
  private conv: string | null = null;
  private earlier = false;
  private destroyed = false;

  constructor(private readonly options: HuiliuCoreOptions) {
    if (!options.inboxId) throw new HuiliuError('invalid_input', 'inboxId is required: the public inbox id from the widget embed snippet (data-inbox)');
    if (!/^https?:\/\//i.test(options.baseUrl)) {
      throw new HuiliuError('invalid_input', `baseUrl must be the server's http(s):// address (got ${JSON.stringify(options.baseUrl)})`);
    }
    if (options.identity && (!options.identity.identifier || !options.identity.identifierHash)) {
      throw new HuiliuError('invalid_input', 'identity needs both identifier and identifierHash (computed on your server)');
    }
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.api = createWidgetApi(this.baseUrl, options.http, () => this.token);
    // Not the widget's keys (`huiliu.<inbox>.state` / `.outbox`): a page may run both on one origin.
    this.sessionKey = `huiliu.sdk.${options.inboxId}.session`;
    this.outboxKey = `huiliu.sdk.${options.inboxId}.outbox`;
    this.pageSize = options.historyPageSize ?? DEFAULT_PAGE;
  }

  get status(): ChatStatus {
    return this.client?.status ?? 'offline';
  }

  get contactId(): string | null {
    return this.saved?.contactId ?? null;
  }

  get conversationId(): string | null {
    return this.conv;
  }

  get hasEarlier(): boolean {
    return this.earlier;
  }

  on<K extends keyof HuiliuEvents>(event: K, listener: HuiliuEvents[K]): () => void {
    return this.emitter.on(event, listener);
  }

  // ---- session -------------------------------------------------------------------------------------

  async connect(): Promise<HuiliuSession> {
    if (this.destroyed) throw cancelled();
    const session = await this.ensureSession();
    const client = this.client;
    if (!client) throw cancelled();
    client.connect();
    await Promise.all([this.untilOnline(client), this.opening]);
    return { ...session, conversationId: this.conv };
  }

  private ensureSession(): Promise<HuiliuSession> {
    if (this.destroyed) return Promise.reject(cancelled());
    const p = (this.session ??= this.startSession());
    p.catch(() => {
      if (this.session === p) this.session = null;
    });
    return p;
  }

  private async startSession(): Promise<HuiliuSession> {
    const { identity, locale } = this.options;
    const saved = await this.load();
    // A session belongs to whoever signed in when it started: another user on this device (or a signed-out
    // one) never gets it. An anonymous session is presented on sign-in so the server merges it into the user.
    const reusable = saved.identifier === undefined || saved.identifier === identity?.identifier;
    const s = await this.api.session({
      inboxPublicId: this.options.inboxId,
      ...(reusable && saved.token ? { visitorToken: saved.token } : {}),
      ...(identity ? { identifier: identity.identifier, identifierHash: identity.identifierHash } : {}),
      ...(identity?.name ? { name: identity.name } : {}),
      ...(identity?.email ? { email: identity.email } : {}),
      ...(locale ? { locale } : {}),
    });
    if (this.destroyed) throw cancelled();
    const sameContact = saved.contactId === s.contactId;
    if (!sameContact) {
      // Someone else's conversation and unsent messages must not leak into this session.
      this.stopClient();
      await this.forget(this.outboxKey);
    }
    this.token = s.visitorToken;
    await this.save({
      token: s.visitorToken,
      contactId: s.contactId,
      ...(identity ? { identifier: identity.identifier } : {}),
      ...(sameContact && saved.conversationId ? { conversationId: saved.conversationId } : {}),
    });
    const client = this.startClient();
    // Connecting right away: a send() before connect() must not wait in the outbox forever.
    client.connect();
    const pick = s.conversations.find((c) => c.id === this.saved?.conversationId) ?? s.conversations[0];
    if (pick && pick.id !== this.conv) this.opening = this.open(client, pick).catch(() => undefined);
    return { contactId: s.contactId, conversationId: pick?.id ?? null, conversations: s.conversations };
  }

  private startClient(): ChatClient {
    if (this.client) return this.client;
    const base = splitBase(this.baseUrl);
    const transport = this.options.transport({
      url: base.origin,
      path: `${base.path}/socket.io`,
      auth: () => ({ visitorToken: this.token ?? '' }),
    });
    const client = createChatClient({ ...this.options.client, transport, storage: this.options.storage, storageKey: this.outboxKey });
    this.client = client;
    this.offs = [
      client.on('message', (m) => this.emitter.emit('message', m)),
      client.on('messages', (id, timeline) => {
        if (id === this.conv) this.emitter.emit('messages', timeline);
      }),
      client.on('typing', (e) => this.emitter.emit('typing', e)),
      client.on('read', (e) => this.emitter.emit('read', e)),
      client.on('status', (status) => this.emitter.emit('status', status)),
      client.on('conversation', (c) => this.emitter.emit('conversation', c)),
      client.on('connect_error', (e) => this.onConnectError(e)),
      client.on('error', (e, ctx) => {
        if (ctx.conversationId && ctx.conversationId === this.conv && (e.code === 'forbidden' || e.code === 'not_found')) {
          this.conv = null;
          void this.save({ ...this.saved, conversationId: undefined });
        }
        this.emitter.emit('error', new HuiliuError(e.code === 'timeout' || e.code === 'disconnected' ? 'transport' : e.code, e.message, 0, e.issues));
      }),
      // Not forwarded by the client core (not part of the message stream): straight from the transport.
      transport.on('queue.updated', (e) => this.emitter.emit('queue', e)),
    ];
    return client;
  }

  private onConnectError(e: ConnectError): void {
    if (e.willRetry) return; // network trouble: the transport keeps trying, status says 'connecting'
    // Refused (the token is no longer valid, the identity was removed…): the next connect() starts a
    // fresh session over HTTP instead of presenting the same token again.
    this.session = null;
    this.emitter.emit('error', new HuiliuError(e.code === 'transport' ? 'transport' : e.code, e.message));
  }

  private untilOnline(client: ChatClient): Promise<void> {
    if (client.status === 'online') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        offs.forEach((off) => off());
        this.waiting.delete(fail);
      };
      const fail = (error: HuiliuError) => {
        done();
        reject(error);
      };
      const offs = [
        client.on('status', (status) => {
          if (status !== 'online') return;
          done();
          resolve();
        }),
        client.on('connect_error', (e) => {
          if (!e.willRetry) fail(new HuiliuError(e.code === 'transport' ? 'transport' : e.code, e.message));
        }),
      ];
      this.waiting.add(fail);
    });
  }

  /** Shows a conversation: the newest page over REST, then live updates from there (the core resyncs). */
  private async open(client: ChatClient, c: VisitorConversation): Promise<void> {
    this.conv = c.id;
    this.earlier = false;
    if (this.saved?.conversationId !== c.id) await this.save({ ...this.saved, conversationId: c.id });
    let after: number | undefined;
    if (c.lastSeq > 0) {
      try {
        const page = await this.api.messages(c.id, { beforeSeq: c.lastSeq + 1, limit: this.pageSize });
        client.addHistory(c.id, page.items);
        this.earlier = page.hasMore;
      } catch {
        // REST failed: let the socket replay about the same range instead.
        after = Math.max(0, c.lastSeq - this.pageSize);
        this.earlier = after > 0;
      }
    }
    if (this.client !== client || this.conv !== c.id) return;
    this.emitter.emit('messages', client.getTimeline(c.id));
    await client.subscribe(c.id, after);
  }

  private ensureConversation(): Promise<string> {
    if (this.conv) return Promise.resolve(this.conv);
    return this.startConversation();
  }

  startConversation(): Promise<string> {
    this.creating ??= (async () => {
      await this.ensureSession();
      const client = this.client;
      if (!client) throw cancelled();
      const { conversation } = await this.api.createConversation();
      // Not awaited: subscribing waits for the socket, sending does not need it (the outbox flushes later).
      this.opening = this.open(client, conversation).catch(() => undefined);
      return conversation.id;
    })().finally(() => {
      this.creating = null;
    });
    return this.creating;
  }

  // ---- messages ------------------------------------------------------------------------------------

  send(input: string | HuiliuSendInput): HuiliuSendHandle {
    const msg: HuiliuSendInput = typeof input === 'string' ? { text: input } : input;
    const clientId = msg.clientId ?? createClientId();
    const result = (async (): Promise<HuiliuSendResult> => {
      try {
        if (!msg.file && !msg.text?.trim()) throw new HuiliuError('invalid_input', 'nothing to send: give text or a file');
        const conv = await this.ensureConversation();
        const client = this.client;
        if (!client) throw cancelled();
        client.typing(conv, false);
        if (!msg.file) return await client.send(conv, { clientId, text: msg.text ?? '' }).result;
        const ref = await this.api.upload(msg.file, msg.onProgress);
        return await client.send(conv, {
          clientId,
          contentType: contentTypeOf(ref),
          text: msg.text ?? '',
          attachmentIds: [ref.id],
        }).result;
      } catch (err) {
        const e = isHuiliuError(err) ? err : new HuiliuError('internal', err instanceof Error ? err.message : String(err));
        return { ok: false, error: { code: e.code, message: e.message, ...(e.issues ? { issues: e.issues } : {}) } };
      }
    })();
    return { clientId, result };
  }

  retry(clientId: string): HuiliuSendHandle | null {
    return this.client?.retry(clientId) ?? null;
  }

  discard(clientId: string): boolean {
    return this.client?.discard(clientId) ?? false;
  }

  async loadEarlier(limit = this.pageSize): Promise<{ messages: readonly Message[]; hasMore: boolean }> {
    const { client, conv } = this;
    if (!client || !conv) return { messages: [], hasMore: false };
    const first = client.getMessages(conv)[0];
    if (!first || first.seq <= 1) {
      this.earlier = false;
      return { messages: [], hasMore: false };
    }
    const page = await this.api.messages(conv, { beforeSeq: first.seq, limit });
    client.addHistory(conv, page.items);
    this.earlier = page.hasMore;
    return { messages: page.items, hasMore: page.hasMore };
  }

  messages(): readonly Message[] {
    return this.client && this.conv ? this.client.getMessages(this.conv) : [];
  }

  timeline(): readonly TimelineItem[] {
    return this.client && this.conv ? this.client.getTimeline(this.conv) : [];
  }

  markRead(seq?: number): void {
    const { client, conv } = this;
    if (!client || !conv) return;
    const upTo = seq ?? client.getLastSeq(conv) ?? 0;
    if (upTo > 0) client.markRead(conv, upTo);
  }

  typing(on = true): void {
    if (this.client && this.conv) this.client.typing(this.conv, on);
  }

  async agents(): Promise<readonly WidgetAgent[]> {
    return this.conv ? this.api.agents(this.conv) : [];
  }

  absoluteUrl(url: string): string {
    if (/^[a-z][a-z0-9+.-]*:/i.test(url)) return url;
    const base = splitBase(this.baseUrl);
    return url.startsWith('/') && !url.startsWith('//') ? base.origin + url : `${this.baseUrl}/${url}`;
  }

  // ---- lifecycle -----------------------------------------------------------------------------------

  disconnect(): void {
    this.client?.disconnect();
  }

  async reset(): Promise<void> {
    this.stopClient();
    this.session = null;
    this.token = null;
    this.conv = null;
    this.earlier = false;
    this.saved = {};
    await this.forget(this.sessionKey);
    await this.forget(this.outboxKey);
  }

  private async forget(key: string): Promise<void> {
    const storage = this.options.storage;
    try {
      if (storage.remove) await storage.remove(key);
      else await storage.set(key, '');
    } catch {
      // unavailable storage holds nothing to forget
    }
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.stopClient();
    this.emitter.clear();
  }

  private stopClient(): void {
    for (const fail of [...this.waiting]) fail(cancelled());
    for (const off of this.offs) off();
    this.offs = [];
    this.client?.destroy();
    this.client = null;
    this.conv = null;
    this.opening = Promise.resolve();
  }

  // ---- persistence ---------------------------------------------------------------------------------

  private async load(): Promise<SavedSession> {
    if (this.saved) return this.saved;
    let raw: string | null | undefined;
    try {
      raw = await this.options.storage.get(this.sessionKey);
    } catch {
      raw = null;
    }
    let parsed: unknown;
    try {
      parsed = raw ? JSON.parse(raw) : {};
    } catch {
      parsed = {};
    }
    const s = (parsed && typeof parsed === 'object' ? parsed : {}) as Record<string, unknown>;
    const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
    const saved: SavedSession = {};
    for (const k of ['token', 'contactId', 'identifier', 'conversationId'] as const) {
      const v = str(s[k]);
      if (v !== undefined) saved[k] = v;
    }
    this.saved = saved;
    return saved;
  }

  private async save(next: SavedSession): Promise<void> {
    const clean: SavedSession = {};
    for (const [k, v] of Object.entries(next) as Array<[keyof SavedSession, string | undefined]>) if (v !== undefined) clean[k] = v;
    this.saved = clean;
    try {
      await this.options.storage.set(this.sessionKey, JSON.stringify(clean));
    } catch {
      // storage full or unavailable: the session still lives in memory
    }
  }
}

/** `https://host:8443/prefix` → origin `https://host:8443`, path `/prefix`. No `URL`: older mini-program runtimes lack it. */
function splitBase(baseUrl: string): { origin: string; path: string } {
  const m = /^(https?:\/\/[^/?#]+)([^?#]*)/i.exec(baseUrl);
  if (!m) throw new HuiliuError('invalid_input', `baseUrl is not an http(s) URL: ${JSON.stringify(baseUrl)}`);
  return { origin: m[1]!, path: (m[2] ?? '').replace(/\/+$/, '') };
}

function contentTypeOf(ref: AttachmentRef): ContentType {
  const kind = ref.contentType.split('/')[0] ?? '';
  return kind === 'image' || kind === 'audio' || kind === 'video' ? kind : 'file';
}

function cancelled(): HuiliuError {
  return new HuiliuError('cancelled', 'this Huiliu client was destroyed or reset');
}
