import {
  createChatClient,
  createClientId,
  createSocketIoTransport,
  type ChatClient,
  type TypingEvent,
} from '@huiliu/client';
import type { Message } from '@huiliu/contracts';
import { ApiError, createApi, type Agent, type Api, type VisitorConversation, type WidgetConfig } from './api.ts';
import { formatBytes, resolveLocale, translator, type Locale, type LocaleSetting, type Translate } from './i18n.ts';
import { createStorage, type WidgetStorage } from './storage.ts';
import { CSS } from './styles.ts';
import { createEmailOffer, createPrechat, emailSaved } from './ui/forms.ts';
import type { FileView, Row } from './ui/messages.ts';
import { createView, type ConnectionLabel, type View } from './ui/panel.ts';

export interface WidgetOptions {
  /** The Huiliu server, derived from the script's src (no trailing slash). */
  base: string;
  publicId: string;
  /** Offer the leave-your-email form when no one answered the visitor for this long. */
  offlineAfterMs: number;
  /** The site's signed-in user (identity verification): one contact across the workspace's inboxes. */
  identity?: { identifier: string; identifierHash: string } | undefined;
}

/** Messages loaded when a conversation is opened; older ones on demand ("show earlier"). */
const HISTORY = 50;
/** A queue estimate this long counts as "nobody is available": offer the email form right away. */
const LONG_WAIT_SECONDS = 10 * 60;
/** Agents' typing events are refreshed every ~3 s while they type; a lost "stopped" must not stick. */
const TYPING_TTL_MS = 6_000;
/** After this long without a keystroke the visitor counts as no longer typing. */
const VISITOR_IDLE_MS = 4_000;

/**
 * The widget's controller. All chat state lives here or in the client core (messages, outbox, seq
 * dedupe, resync); the view only renders what `renderNow` hands it. Nothing touches the network before
 * the visitor acts, except for a returning visitor (stored token), whose conversation is resumed at once so
 * the unread badge and unsent messages work without opening the panel.
 */
export class Widget {
  private readonly api: Api;
  private readonly store: WidgetStorage;
  private cfg: WidgetConfig | null = null;
  /** From `HuiliuWidget.setLocale`; null = the inbox setting, then the browser. */
  private localeOverride: Locale | null = null;
  private locale: Locale = 'en';
  private t: Translate = translator('en');
  private host: HTMLElement | null = null;
  private shadow: ShadowRoot | null = null;
  private view: View | null = null;

  private client: ChatClient | null = null;
  private offs: Array<() => void> = [];
  private session: Promise<void> | null = null;
  private creating: Promise<string> | null = null;
  private conv: string | null = null;
  private connection: ConnectionLabel = 'idle';

  private isOpen = false;
  private queue: { position: number | null; seconds: number | null } = { position: null, seconds: null };
  private readonly typers = new Map<string, { name: string; timer: number }>();
  private readonly agents = new Map<string, Agent>();
  private readonly agentsAsked = new Set<string>();
  /** Name/size/url of files the visitor sent from this page, to draw them before the server echoes them. */
  private readonly previews = new Map<string, FileView>();
  private upload: { name: string; fraction: number; abort(): void } | null = null;
  private error: string | null = null;
  private offer: 'none' | 'form' | 'saved' = 'none';
  private savedEmail = '';
  /** The first visitor message nobody has answered yet, and when the email offer becomes due for it. */
  private pending: { seq: number; due: number } | null = null;
  private loadingEarlier = false;
  /** Older messages exist on the server than the oldest one loaded. */
  private hasEarlier = false;
  private timers = { offer: 0, typing: 0, retry: 0 };
  private retryDelay = 5_000;
  private renderQueued = false;
  private destroyed = false;

  constructor(private readonly opts: WidgetOptions) {
    this.store = createStorage(opts.publicId);
    this.api = createApi(opts.base, () => this.store.load().token);
  }

  // ---- public API (window.HuiliuWidget) ------------------------------------------------------------

  async start(): Promise<void> {
    try {
      this.cfg = await this.api.config(this.opts.publicId);
    } catch (err) {
      // Server unreachable: try again later (a returning visitor may have unsent messages). Unknown inbox
      // or an origin not on the inbox's allowlist: stay invisible and say why, once.
      if (err instanceof ApiError && (err.code === 'network' || err.status >= 500) && !this.destroyed) {
        this.timers.retry = window.setTimeout(() => void this.start(), this.retryDelay);
        this.retryDelay = Math.min(this.retryDelay * 2, 60_000);
      } else console.warn('[huiliu] chat widget disabled:', err instanceof Error ? err.message : err);
      return;
    }
    this.retryDelay = 5_000;
    if (this.destroyed) return;
    this.mount();
    document.addEventListener('visibilitychange', this.onVisibility);
    if (this.store.load().token) this.resume();
  }

  open(): void {
    this.isOpen = true;
    if (!this.view) return; // opened through the API before the config arrived: applied by mount()
    this.renderNow();
    // On touch screens focusing the input would throw the keyboard over the panel at once.
    if (matchMedia('(pointer: coarse)').matches) this.view.list.el.focus();
    else this.view.focus();
    if (this.store.load().token && !this.session) this.resume();
  }

  close(): void {
    this.isOpen = false;
    if (!this.view) return;
    this.view.composer.closePicker();
    const hadFocus = !!this.shadow?.activeElement;
    this.renderNow();
    if (hadFocus) this.view.launcher.focus();
  }

  toggle(): void {
    if (this.isOpen) this.close();
    else this.open();
  }

  setLocale(locale: LocaleSetting): void {
    this.localeOverride = locale === 'auto' ? null : locale;
    if (this.view) this.mount();
  }

  destroy(): void {
    this.destroyed = true;
    this.upload?.abort();
    this.stopClient();
    for (const timer of Object.values(this.timers)) clearTimeout(timer);
    for (const typer of this.typers.values()) clearTimeout(typer.timer);
    document.removeEventListener('visibilitychange', this.onVisibility);
    this.host?.remove();
    this.view = null;
  }

  // ---- view ----------------------------------------------------------------------------------------

  /** (Re)builds the DOM for the current locale and re-applies all state to it. */
  private mount(): void {
    const cfg = this.cfg;
    if (!cfg) return;
    this.locale = resolveLocale(this.localeOverride ?? cfg.widget.locale, navigator.languages?.length ? navigator.languages : [navigator.language]);
    this.t = translator(this.locale);
    if (!this.host) {
      // A custom element name: host-page rules written for div/section never match it.
      this.host = document.createElement('huiliu-widget');
      this.shadow = this.host.attachShadow({ mode: 'open' });
      document.body.append(this.host);
    }
    const draft = this.view?.composer.input.value ?? '';
    const view = createView(cfg, this.t, {
      toggle: () => this.toggle(),
      close: () => this.close(),
      send: (text) => void this.sendText(text),
      typing: () => this.visitorTyping(),
      file: (file) => void this.sendFile(file),
      retry: (key) => this.client?.retry(key),
      earlier: () => void this.loadEarlier(),
      cancelUpload: () => this.upload?.abort(),
    });
    view.root.lang = this.locale;
    const style = document.createElement('style');
    style.textContent = CSS;
    this.shadow?.replaceChildren(style, view.root);
    this.view = view;
    view.composer.setDraft(draft);
    view.setStatus(this.connection);
    view.setQueue(this.queue.position, this.queue.seconds);
    view.setError(this.error);
    view.setProgress(this.upload);
    this.applyTyping();
    this.renderNow();
    if (this.isOpen) view.focus();
  }

  private scheduleRender(): void {
    if (this.renderQueued) return;
    this.renderQueued = true;
    queueMicrotask(() => {
      this.renderQueued = false;
      this.renderNow();
    });
  }

  private renderNow(): void {
    const view = this.view;
    if (!view) return;
    this.markRead();
    view.render(this.rows());
    view.setOpen(this.isOpen, this.unread());
    view.list.setEarlier(this.hasEarlier && !this.loadingEarlier);
    // The greeting opens the conversation: above a partly loaded history it would sit in the middle.
    view.list.greeting.hidden = this.hasEarlier;
    this.evaluateOffer();
    this.updateExtra();
  }

  /** The client core's timeline, from the visitor's point of view. */
  private rows(): Row[] {
    const { client, conv } = this;
    if (!client || !conv) return [];
    const t = this.t;
    const agentRead = this.store.load().agentRead ?? 0;
    const rows: Row[] = [];
    const groups: string[] = [];
    let readIndex = -1;
    for (const item of client.getTimeline(conv)) {
      const base = { key: item.key, error: null, sender: null, first: false, last: false, read: false };
      if (item.kind === 'message') {
        const m = item.message;
        if (m.private) continue;
        const dir = m.direction === 'incoming' ? 'out' : m.direction === 'outgoing' ? 'in' : 'sys';
        if (dir === 'out' && m.seq <= agentRead) readIndex = rows.length;
        if (m.senderType === 'user' && m.senderId && !this.agents.has(m.senderId) && !this.agentsAsked.has(m.senderId)) {
          this.agentsAsked.add(m.senderId);
          void this.loadAgents();
        }
        groups.push(`${dir}:${m.senderType}:${m.senderId}`);
        rows.push({
          ...base,
          dir,
          seq: m.seq,
          text: m.text,
          files: m.attachments.map((a) => ({ name: a.fileName, size: a.size, image: a.contentType.startsWith('image/'), url: this.abs(a.url) })),
          status: 'sent',
          time: this.time(m.createdAt),
          ...(dir === 'in' ? { sender: this.sender(m) } : {}),
        });
      } else {
        const o = item.outgoing;
        const preview = this.previews.get(o.clientId);
        groups.push('out');
        rows.push({
          ...base,
          dir: 'out',
          seq: null,
          text: o.text,
          files: preview ? [preview] : o.attachmentIds.map(() => ({ name: t('file'), size: 0, image: false, url: null })),
          status: o.status === 'failed' ? 'failed' : o.status === 'sent' ? 'sent' : 'sending',
          error: o.error?.message ?? null,
          time: this.time(o.createdAt),
        });
      }
    }
    rows.forEach((row, i) => {
      row.first = groups[i] !== groups[i - 1];
      row.last = groups[i] !== groups[i + 1];
      // The name and avatar head a run of messages from one sender only.
      if (!row.first) row.sender = null;
    });
    const read = rows[readIndex];
    if (read) read.read = true;
    return rows;
  }

  private sender(m: Message): { name: string; avatar: string | null } {
    if (m.senderType === 'bot') return { name: this.t('bot'), avatar: null };
    const agent = m.senderId ? this.agents.get(m.senderId) : undefined;
    return { name: agent?.name ?? this.t('agent'), avatar: agent?.avatarUrl ? this.abs(agent.avatarUrl) : null };
  }

  private unread(): number {
    const { client, conv } = this;
    if (!client || !conv) return 0;
    const seen = this.store.load().visitorRead ?? 0;
    return client.getMessages(conv).filter((m) => m.direction === 'outgoing' && !m.private && m.seq > seen).length;
  }

  /** Read receipts only while the visitor can actually see the messages. */
  private markRead(): void {
    const { client, conv } = this;
    if (!client || !conv || !this.isOpen || document.visibilityState !== 'visible') return;
    const last = client.getLastSeq(conv) ?? 0;
    if (last <= (this.store.load().visitorRead ?? 0)) return;
    this.store.save({ visitorRead: last });
    client.markRead(conv, last);
  }

  private readonly onVisibility = () => this.scheduleRender();

  private updateExtra(): void {
    const { view, cfg, t } = this;
    if (!view || !cfg) return;
    const onError = (m: string) => this.showError(m);
    if (cfg.widget.preChatForm && !this.store.load().token) {
      view.setExtra('pre', () => createPrechat(t, (name, email) => this.submitPrechat(name, email), onError), false);
    } else if (this.offer === 'form') {
      view.setExtra('offer', () => createEmailOffer(t, (email) => this.saveEmail(email), onError));
    } else if (this.offer === 'saved') {
      view.setExtra('saved', () => emailSaved(t, this.savedEmail));
    } else {
      view.setExtra('', () => null);
    }
  }

  private showError(message: string | null): void {
    this.error = message;
    this.view?.setError(message);
  }

  private describe(err: unknown): string {
    return err instanceof ApiError && err.code !== 'network' ? err.message : this.t('connectFailed');
  }

  /** Attachment and avatar links: server-relative ones point at the Huiliu server, not the host page. */
  private abs(url: string): string | null {
    if (/^https?:\/\//i.test(url)) return url;
    return url.startsWith('/') && !url.startsWith('//') ? this.opts.base + url : null;
  }

  private time(iso: string): string {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString(this.locale, { hour: '2-digit', minute: '2-digit' });
  }

  // ---- session and conversation --------------------------------------------------------------------

  /** Resume a returning visitor's session; retried with backoff so a server restart heals by itself. */
  private resume(): void {
    clearTimeout(this.timers.retry);
    this.ensureSession().then(
      () => (this.retryDelay = 5_000),
      () => {
        if (this.destroyed) return;
        this.timers.retry = window.setTimeout(() => this.resume(), this.retryDelay);
        this.retryDelay = Math.min(this.retryDelay * 2, 60_000);
      },
    );
  }

  private ensureSession(details?: { name: string; email: string }): Promise<void> {
    if (this.session) return this.session;
    const p = (async () => {
      const saved = this.store.load();
      const s = await this.api.session({
        inboxPublicId: this.opts.publicId,
        ...(saved.token ? { visitorToken: saved.token } : {}),
        ...this.opts.identity,
        ...details,
        locale: this.locale,
      });
      if (this.destroyed) return;
      // An expired or foreign token gets a brand-new visitor: nothing stored for the old one applies.
      if (saved.contactId && saved.contactId !== s.contactId) this.store.clear();
      this.store.save({ token: s.visitorToken, contactId: s.contactId, ...(details ? { emailSaved: true } : {}) });
      this.startClient();
      const pick = s.conversations.find((c) => c.id === saved.conversationId) ?? s.conversations[0];
      if (pick) await this.openConversation(pick);
      this.scheduleRender();
    })();
    this.session = p;
    p.catch(() => {
      if (this.session === p) this.session = null;
    });
    return p;
  }

  private startClient(): void {
    if (this.client) return;
    const url = new URL(this.opts.base);
    const path = url.pathname.replace(/\/$/, '');
    const transport = createSocketIoTransport({
      url: url.origin,
      ...(path ? { path: `${path}/socket.io` } : {}),
      // Read on every (re)connect: a session restart may have replaced the token.
      auth: () => ({ visitorToken: this.store.load().token ?? '' }),
    });
    // The outbox is persisted by the client core itself, so unsent messages go out after a reload.
    const client = createChatClient({ transport, storage: this.store.outbox, storageKey: this.store.outboxKey });
    this.client = client;
    this.offs = [
      client.on('messages', (id) => id === this.conv && this.scheduleRender()),
      client.on('message', (m) => {
        if (m.conversationId === this.conv && m.direction === 'outgoing' && !m.private) this.stopTyping(m.senderId ?? m.senderType);
      }),
      client.on('typing', (e) => this.agentTyping(e)),
      client.on('read', (e) => {
        if (e.conversationId !== this.conv || e.readerType !== 'user' || e.seq <= (this.store.load().agentRead ?? 0)) return;
        this.store.save({ agentRead: e.seq });
        this.scheduleRender();
      }),
      client.on('status', (status) => {
        this.connection = status;
        this.view?.setStatus(status);
        // Queue events sent while we were away are lost: ask for the current state.
        if (status === 'online') void this.refreshQueue();
      }),
      client.on('connect_error', (e) => {
        // The server no longer knows this visitor (data reset, key rotated): start over as a new one.
        if (!e.willRetry && e.code === 'unauthenticated') this.resetSession();
      }),
      client.on('error', (e, ctx) => {
        if (ctx.conversationId && ctx.conversationId === this.conv && (e.code === 'forbidden' || e.code === 'not_found')) {
          this.conv = null;
          this.store.save({ conversationId: undefined });
          this.scheduleRender();
        }
      }),
      // Not forwarded by the client core (it is not part of the message stream): listen on the transport.
      transport.on('queue.updated', (e) => {
        if (e.conversationId === this.conv) this.setQueue(e.position, e.estimatedWaitSeconds);
      }),
    ];
    client.connect();
  }

  private stopClient(): void {
    for (const off of this.offs) off();
    this.offs = [];
    this.client?.destroy();
    this.client = null;
  }

  private resetSession(): void {
    this.stopClient();
    this.store.clear();
    this.session = null;
    this.conv = null;
    this.connection = 'idle';
    this.view?.setStatus('idle');
    this.setQueue(null, null);
    this.scheduleRender();
  }

  private async openConversation(c: VisitorConversation): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.conv = c.id;
    this.hasEarlier = false;
    if (this.store.load().conversationId !== c.id) this.store.save({ conversationId: c.id, visitorRead: 0, agentRead: 0 });
    void this.refreshQueue();
    void this.loadAgents();
    // The newest page over REST first: the history shows even where WebSockets are blocked (the outbox
    // then waits, visibly "sending"). Subscribing afterwards continues from the newest seq loaded; the
    // client core keeps the conversation complete across reconnects from there (seq dedupe + sync).
    let after: number | undefined;
    if (c.lastSeq > 0) {
      try {
        const page = await this.api.messages(c.id, { beforeSeq: c.lastSeq + 1, limit: HISTORY });
        client.addHistory(c.id, page.items);
        this.hasEarlier = page.hasMore;
      } catch {
        after = Math.max(0, c.lastSeq - HISTORY); // let the socket replay about the same range instead
        this.hasEarlier = after > 0;
      }
    }
    if (this.client === client && this.conv === c.id) client.subscribe(c.id, after).catch(() => undefined);
  }

  private ensureConversation(): Promise<string> {
    if (this.conv) return Promise.resolve(this.conv);
    this.creating ??= (async () => {
      await this.ensureSession();
      if (this.conv) return this.conv;
      const { conversation } = await this.api.createConversation();
      await this.openConversation(conversation);
      return conversation.id;
    })().finally(() => (this.creating = null));
    return this.creating;
  }

  private async loadEarlier(): Promise<void> {
    const { client, conv } = this;
    const first = conv && client ? client.getMessages(conv)[0] : undefined;
    if (!client || !conv || !first || this.loadingEarlier) return;
    this.loadingEarlier = true;
    try {
      const page = await this.api.messages(conv, { beforeSeq: first.seq, limit: HISTORY });
      client.addHistory(conv, page.items);
      this.hasEarlier = page.hasMore;
    } catch (err) {
      this.showError(this.describe(err));
    } finally {
      this.loadingEarlier = false;
      this.scheduleRender();
    }
  }

  private async loadAgents(): Promise<void> {
    if (!this.conv) return;
    try {
      for (const a of await this.api.agents(this.conv)) this.agents.set(a.id, a);
      this.scheduleRender();
    } catch {
      // Names fall back to "Agent"; the next unknown sender asks again.
    }
  }

  private async refreshQueue(): Promise<void> {
    if (!this.conv) return;
    try {
      const q = await this.api.queue(this.conv);
      this.setQueue(q.position, q.estimatedWaitSeconds);
    } catch {
      // Live queue.updated events still arrive.
    }
  }

  private setQueue(position: number | null, seconds: number | null): void {
    this.queue = { position, seconds };
    this.view?.setQueue(position, seconds);
    this.scheduleRender();
  }

  // ---- sending -------------------------------------------------------------------------------------

  private async sendText(text: string): Promise<void> {
    this.showError(null);
    let conv: string;
    try {
      conv = await this.ensureConversation();
    } catch (err) {
      // Not even the conversation could be created: give the text back rather than lose it.
      if (this.view && !this.view.composer.input.value) this.view.composer.setDraft(text);
      this.showError(this.describe(err));
      return;
    }
    clearTimeout(this.timers.typing);
    this.client?.typing(conv, false);
    this.client?.send(conv, { text });
  }

  private async sendFile(file: File): Promise<void> {
    const t = this.t;
    this.showError(null);
    if (this.upload) return;
    const limits = this.cfg?.uploads;
    if (limits && file.size > limits.maxBytes) {
      this.showError(t('tooLarge', { size: formatBytes(file.size), max: formatBytes(limits.maxBytes) }));
      return;
    }
    // Left to the server, which decides from the bytes anyway: an empty type (unknown extension) and
    // text/* (text has no magic bytes; the server accepts .md or .log as text/plain, browsers say text/markdown).
    if (limits?.contentTypes.length && file.type && !file.type.startsWith('text/') && !typeAllowed(file.type, limits.contentTypes)) {
      this.showError(t('badType', { type: file.type }));
      return;
    }
    let conv: string;
    try {
      conv = await this.ensureConversation();
    } catch (err) {
      this.showError(this.describe(err));
      return;
    }
    const up = this.api.upload(file, (fraction) => {
      if (this.upload) this.upload.fraction = fraction;
      this.view?.setProgress(this.upload);
    });
    this.upload = { name: file.name, fraction: 0, abort: up.abort };
    this.view?.setProgress(this.upload);
    try {
      const ref = await up.done;
      const kind = ref.contentType.split('/')[0] ?? '';
      const clientId = createClientId();
      this.previews.set(clientId, { name: ref.fileName, size: ref.size, image: kind === 'image', url: this.abs(ref.url) });
      this.client?.send(conv, {
        clientId,
        contentType: kind === 'image' || kind === 'audio' || kind === 'video' ? kind : 'file',
        attachmentIds: [ref.id],
      });
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'cancelled')) this.showError(t('uploadFailed', { msg: this.describe(err) }));
    } finally {
      this.upload = null;
      this.view?.setProgress(null);
    }
  }

  private async submitPrechat(name: string, email: string): Promise<void> {
    this.showError(null);
    try {
      await this.ensureSession({ name, email });
      this.renderNow();
      this.view?.focus();
    } catch (err) {
      this.showError(this.describe(err));
    }
  }

  private async saveEmail(email: string): Promise<void> {
    this.showError(null);
    try {
      await this.api.updateContact({ email });
      this.store.save({ emailSaved: true });
      this.savedEmail = email;
      this.offer = 'saved';
      this.renderNow();
    } catch (err) {
      this.showError(this.describe(err));
    }
  }

  // ---- typing --------------------------------------------------------------------------------------

  private visitorTyping(): void {
    const { client, conv } = this;
    if (!client || !conv) return;
    client.typing(conv, true);
    clearTimeout(this.timers.typing);
    this.timers.typing = window.setTimeout(() => client.typing(conv, false), VISITOR_IDLE_MS);
  }

  private agentTyping(e: TypingEvent): void {
    if (e.conversationId !== this.conv || e.senderType === 'contact') return;
    const id = e.senderId ?? e.senderType;
    this.stopTyping(id, false);
    if (e.typing) {
      const name = e.senderName ?? (e.senderId ? this.agents.get(e.senderId)?.name : undefined) ?? this.t(e.senderType === 'bot' ? 'bot' : 'agent');
      this.typers.set(id, { name, timer: window.setTimeout(() => this.stopTyping(id), TYPING_TTL_MS) });
    }
    this.applyTyping();
  }

  private stopTyping(id: string, apply = true): void {
    const typer = this.typers.get(id);
    if (typer) clearTimeout(typer.timer);
    this.typers.delete(id);
    if (apply) this.applyTyping();
  }

  private applyTyping(): void {
    const first = this.typers.values().next();
    this.view?.setTyping(first.done ? null : first.value.name);
  }

  // ---- "leave your email" --------------------------------------------------------------------------

  /**
   * Offer the email form when the visitor's oldest unanswered message has waited `offlineAfterMs`, or
   * at once when the queue estimate says nobody will come soon. An answer from an agent or the bot (not an
   * activity line) resets it.
   */
  private evaluateOffer(): void {
    clearTimeout(this.timers.offer);
    const msgs = this.client && this.conv ? this.client.getMessages(this.conv) : [];
    let first: Message | null = null;
    for (const m of msgs) {
      if (m.private || m.direction === 'activity') continue;
      if (m.direction === 'outgoing') first = null;
      else first ??= m;
    }
    let want = false;
    if (first && !this.store.load().emailSaved) {
      if (this.pending?.seq !== first.seq) {
        // Server time, but never later than now: a fast client clock must not postpone the offer.
        const at = Math.min(Date.parse(first.createdAt) || Date.now(), Date.now());
        this.pending = { seq: first.seq, due: at + this.opts.offlineAfterMs };
      }
      const wait = this.pending.due - Date.now();
      const longQueue = this.queue.position !== null && (this.queue.seconds === null || this.queue.seconds >= LONG_WAIT_SECONDS);
      want = wait <= 0 || longQueue;
      if (!want) this.timers.offer = window.setTimeout(() => this.scheduleRender(), wait + 50);
    }
    this.offer = want ? 'form' : this.offer === 'saved' && first ? 'saved' : 'none';
  }
}

/** `image/png` matches `image/png`, `image/png; charset=…` and `image/*`. */
function typeAllowed(type: string, allowed: readonly string[]): boolean {
  const base = (s: string) => (s.split(';')[0] ?? '').trim().toLowerCase();
  const mine = base(type);
  return allowed.some((a) => {
    const b = base(a);
    return b === mine || (b.endsWith('/*') && mine.startsWith(b.slice(0, -1)));
  });
}
