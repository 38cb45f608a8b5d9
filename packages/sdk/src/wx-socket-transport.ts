import {
  TransportError,
  type ConnectError,
  type HandshakeAuthInput,
  type Transport,
  type Unsubscribe,
} from '@huiliu/client';
import type { ErrorCode } from '@huiliu/contracts';
import {
  decodeEnginePacket,
  decodeSocketPacket,
  encodeEnginePacket,
  encodeSocketPacket,
  ProtocolError,
  ROOT_NAMESPACE,
  type SocketPacket,
} from './wire.ts';
import type { WxApi, WxSocketTask } from './wx-api.ts';

export interface WxSocketTransportOptions {
  /** The mini-program's `wx` (or a compatible object: a fake in tests, `tt`/`my` shims elsewhere). */
  wx: WxApi;
  /** Server origin: `https://support.example.com` (sent as wss://) or a ws(s):// URL. */
  url: string;
  /** Socket.IO path when Huiliu is mounted elsewhere than `/socket.io`. */
  path?: string;
  /** `{ visitorToken }`; a function is called on every (re)connect so a renewed token is picked up. */
  auth: HandshakeAuthInput | (() => HandshakeAuthInput | Promise<HandshakeAuthInput>);
  /** Ack timeout of `emit` calls that pass none. Default 10 s. */
  ackTimeoutMs?: number;
  /** Opening the socket plus the Socket.IO handshake must finish within this. Default 20 s (as socket.io-client). */
  connectTimeoutMs?: number;
  /** First reconnect delay, doubled per failed attempt up to the max; ± randomization. Default 1 s / 5 s / 0.5. */
  reconnectDelayMs?: number;
  reconnectDelayMaxMs?: number;
  randomizationFactor?: number;
  /** Extra handshake headers (Referer cannot be set in a mini-program). */
  header?: Record<string, string>;
}

type Phase = 'idle' | 'opening' | 'handshake' | 'connected';
type Listener = (payload: unknown) => void;
type Timer = ReturnType<typeof setTimeout>;

interface PendingAck {
  resolve: (ack: never) => void;
  reject: (error: TransportError) => void;
  timer: Timer;
}

/** One connection attempt; callbacks of a superseded attempt are ignored. */
interface Attempt {
  task: WxSocketTask | null;
}

const DEFAULTS = {
  ackTimeoutMs: 10_000,
  connectTimeoutMs: 20_000,
  reconnectDelayMs: 1_000,
  reconnectDelayMaxMs: 5_000,
  randomizationFactor: 0.5,
};

/**
 * `Transport` over `wx.connectSocket`, speaking Engine.IO v4 / Socket.IO v5 itself (text frames, WebSocket
 * only, no long-polling). Follows the Transport contract: `emit` never buffers while disconnected, pending
 * emits reject with 'disconnected' on a drop and 'timeout' when the ack is late; reconnects with
 * exponential backoff until `disconnect()` or until the server refuses the handshake (CONNECT_ERROR) or
 * disconnects us (DISCONNECT), which, as in socket.io-client, are final.
 *
 * Dead links are detected by the Engine.IO heartbeat: the server pings every `pingInterval`; no frame for
 * `pingInterval + pingTimeout` means the connection is gone even if WeChat never reported a close (which
 * happens when the app is suspended in the background).
 */
export function createWxSocketTransport(options: WxSocketTransportOptions): Transport {
  return new WxSocketTransport(options);
}

class WxSocketTransport implements Transport {
  private readonly wx: WxApi;
  private readonly url: string;
  private readonly opts: typeof DEFAULTS;
  private readonly auth: WxSocketTransportOptions['auth'];
  private readonly header: Record<string, string> | undefined;

  private phase: Phase = 'idle';
  /** connect() was called and neither disconnect() nor a refusal has ended it: keep (re)connecting. */
  private active = false;
  private attempt: Attempt | null = null;
  private failures = 0;
  private heartbeatMs = 0;
  private nextAckId = 0;
  private readonly pending = new Map<number, PendingAck>();
  private readonly timers: { reconnect?: Timer; connect?: Timer; heartbeat?: Timer } = {};

  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly connectListeners = new Set<() => void>();
  private readonly disconnectListeners = new Set<(reason: string, willReconnect: boolean) => void>();
  private readonly errorListeners = new Set<(error: ConnectError) => void>();
  private hooked = false;

  constructor(options: WxSocketTransportOptions) {
    this.wx = options.wx;
    this.url = socketUrl(options.url, options.path ?? '/socket.io');
    this.auth = options.auth;
    this.header = options.header;
    this.opts = {
      ackTimeoutMs: options.ackTimeoutMs ?? DEFAULTS.ackTimeoutMs,
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      reconnectDelayMs: options.reconnectDelayMs ?? DEFAULTS.reconnectDelayMs,
      reconnectDelayMaxMs: options.reconnectDelayMaxMs ?? DEFAULTS.reconnectDelayMaxMs,
      randomizationFactor: options.randomizationFactor ?? DEFAULTS.randomizationFactor,
    };
  }

  get connected(): boolean {
    return this.phase === 'connected';
  }

  connect(): void {
    if (this.active && (this.attempt || this.timers.reconnect !== undefined)) return;
    this.active = true;
    this.failures = 0;
    this.hookWx();
    this.open();
  }

  disconnect(): void {
    this.active = false;
    this.clearTimer('reconnect');
    this.unhookWx();
    const wasConnected = this.phase === 'connected';
    // Tell the server we leave on purpose (socket.io-client does the same), then close the socket.
    if (wasConnected) this.sendFrame(encodeEnginePacket({ type: 'message', data: encodeSocketPacket({ type: 'disconnect', nsp: ROOT_NAMESPACE }) }));
    this.teardown('io client disconnect');
    this.rejectPending();
    if (wasConnected) this.notifyDisconnect('io client disconnect', false);
  }

  emit(event: string, payload: unknown, options?: { timeoutMs?: number }): Promise<never> {
    if (this.phase !== 'connected') return Promise.reject(new TransportError('disconnected'));
    const id = this.nextAckId++;
    return new Promise<never>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new TransportError('timeout'));
      }, options?.timeoutMs ?? this.opts.ackTimeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      const packet: SocketPacket = { type: 'event', nsp: ROOT_NAMESPACE, id, data: [event, payload] };
      this.sendFrame(encodeEnginePacket({ type: 'message', data: encodeSocketPacket(packet) }));
    });
  }

  on(event: string, handler: (payload: never) => void): Unsubscribe {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    const h = handler as Listener;
    set.add(h);
    return () => {
      set.delete(h);
    };
  }

  onConnect(handler: () => void): Unsubscribe {
    return subscribe(this.connectListeners, handler);
  }

  onDisconnect(handler: (reason: string, willReconnect: boolean) => void): Unsubscribe {
    return subscribe(this.disconnectListeners, handler);
  }

  onConnectError(handler: (error: ConnectError) => void): Unsubscribe {
    return subscribe(this.errorListeners, handler);
  }

  // ---- connection ----------------------------------------------------------------------------------

  private open(): void {
    this.clearTimer('reconnect');
    const attempt: Attempt = { task: null };
    this.attempt = attempt;
    this.phase = 'opening';
    const current = () => this.attempt === attempt;
    this.timers.connect = setTimeout(() => {
      if (current() && this.phase !== 'connected') this.lost('connect timeout: no Socket.IO handshake in time');
    }, this.opts.connectTimeoutMs);

    let task: WxSocketTask;
    try {
      task = this.wx.connectSocket({
        url: this.url,
        ...(this.header ? { header: this.header } : {}),
        timeout: this.opts.connectTimeoutMs,
        // May run synchronously, before connectSocket returns.
        fail: (r) => {
          if (current()) this.lost(`wx.connectSocket failed: ${r.errMsg}`, isPermanentWxError(r.errMsg));
        },
      });
    } catch (err) {
      this.lost(`wx.connectSocket threw: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    if (!current()) {
      if (task) closeQuietly(task, 'superseded');
      return;
    }
    if (!task || typeof task.onMessage !== 'function') {
      this.lost('wx.connectSocket returned no SocketTask: base library 1.7.0 or newer is required', true);
      return;
    }
    attempt.task = task;
    task.onMessage((r) => {
      if (current()) this.onFrame(r.data);
    });
    task.onClose((r) => {
      if (current()) this.lost(`socket closed (${r.code}${r.reason ? ` ${r.reason}` : ''})`);
    });
    task.onError((r) => {
      if (current()) this.lost(`socket error: ${r.errMsg}`);
    });
  }

  private onFrame(frame: string | ArrayBuffer): void {
    try {
      // Any frame proves the link alive (the server pings at least every pingInterval).
      if (this.heartbeatMs > 0) this.armHeartbeat();
      const packet = decodeEnginePacket(frame);
      switch (packet.type) {
        case 'open':
          if (this.phase !== 'opening') throw new ProtocolError('a second Engine.IO open packet');
          this.phase = 'handshake';
          this.heartbeatMs = packet.handshake.pingInterval + packet.handshake.pingTimeout;
          this.armHeartbeat();
          void this.sendConnect();
          return;
        case 'ping':
          this.sendFrame(encodeEnginePacket({ type: 'pong', data: packet.data }));
          return;
        case 'close':
          this.lost('transport close');
          return;
        case 'message':
          this.onPacket(decodeSocketPacket(packet.data));
          return;
        default:
          return; // pong (we never ping), noop, upgrade (we never upgrade)
      }
    } catch (err) {
      // A peer that breaks the protocol is not trusted with the rest of the stream: reconnect cleanly.
      this.lost(err instanceof ProtocolError ? `protocol error: ${err.message}` : `frame handling failed: ${String(err)}`);
    }
  }

  private async sendConnect(): Promise<void> {
    const attempt = this.attempt;
    let auth: HandshakeAuthInput | Record<string, never>;
    try {
      auth = typeof this.auth === 'function' ? await this.auth() : this.auth;
    } catch {
      // Without credentials the server refuses with `unauthenticated`: visible, rather than a silent hang.
      auth = {};
    }
    if (this.attempt !== attempt || this.phase !== 'handshake') return;
    const packet: SocketPacket = { type: 'connect', nsp: ROOT_NAMESPACE, data: auth as Record<string, unknown> };
    this.sendFrame(encodeEnginePacket({ type: 'message', data: encodeSocketPacket(packet) }));
  }

  private onPacket(packet: SocketPacket): void {
    if (packet.nsp !== ROOT_NAMESPACE) return;
    switch (packet.type) {
      case 'connect':
        if (this.phase !== 'handshake') return;
        this.phase = 'connected';
        this.failures = 0;
        this.clearTimer('connect');
        for (const h of [...this.connectListeners]) safely(h);
        return;
      case 'connect_error': {
        const refusal = toConnectError(packet.data);
        // "Not now" (the server's database restarting, a rate limit): keep trying with backoff, as the web
        // transport does.
        if (TRANSIENT_REFUSALS.has(refusal.code)) {
          this.lost(refusal.message);
          return;
        }
        // The server's auth middleware refused us (bad or expired token, origin): retrying cannot help.
        this.active = false;
        this.unhookWx();
        this.teardown('refused');
        this.rejectPending();
        for (const h of [...this.errorListeners]) safely(() => h(refusal));
        return;
      }
      case 'disconnect': {
        // Server-side `socket.disconnect()`: final, as in socket.io-client.
        const wasConnected = this.phase === 'connected';
        this.active = false;
        this.unhookWx();
        this.teardown('io server disconnect');
        this.rejectPending();
        if (wasConnected) this.notifyDisconnect('io server disconnect', false);
        return;
      }
      case 'event': {
        if (this.phase !== 'connected') return;
        const [event, payload] = packet.data;
        const set = this.listeners.get(event);
        if (set) for (const h of [...set]) safely(() => h(payload));
        return;
      }
      case 'ack': {
        const pending = this.pending.get(packet.id);
        if (!pending) return; // timed out already
        this.pending.delete(packet.id);
        clearTimeout(pending.timer);
        pending.resolve(packet.data[0] as never);
        return;
      }
    }
  }

  /**
   * The current attempt or connection is gone. Reports it (disconnect when we were connected, else a
   * connect error) and schedules the next attempt unless the failure is permanent.
   */
  private lost(reason: string, permanent = false): void {
    const wasConnected = this.phase === 'connected';
    if (permanent) {
      this.active = false;
      this.unhookWx();
    }
    this.teardown(reason);
    this.rejectPending();
    if (wasConnected) this.notifyDisconnect(reason, this.active);
    else if (this.active || permanent) {
      const error: ConnectError = { code: 'transport', message: reason, willRetry: this.active };
      for (const h of [...this.errorListeners]) safely(() => h(error));
    }
    if (this.active) this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (!this.active || this.timers.reconnect !== undefined) return;
    this.failures++;
    const base = Math.min(this.opts.reconnectDelayMaxMs, this.opts.reconnectDelayMs * 2 ** (this.failures - 1));
    const r = this.opts.randomizationFactor;
    const delay = Math.round(base * (1 - r + 2 * r * Math.random()));
    this.timers.reconnect = setTimeout(() => {
      this.timers.reconnect = undefined;
      if (this.active && !this.attempt) this.open();
    }, delay);
  }

  /** Closes the current socket (its late callbacks are ignored) and stops all connection timers. */
  private teardown(reason: string): void {
    const task = this.attempt?.task;
    this.attempt = null;
    this.phase = 'idle';
    this.heartbeatMs = 0;
    this.clearTimer('connect');
    this.clearTimer('heartbeat');
    if (task) closeQuietly(task, reason);
  }

  private rejectPending(): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(new TransportError('disconnected'));
    }
  }

  private notifyDisconnect(reason: string, willReconnect: boolean): void {
    for (const h of [...this.disconnectListeners]) safely(() => h(reason, willReconnect));
  }

  private armHeartbeat(): void {
    this.clearTimer('heartbeat');
    const attempt = this.attempt;
    this.timers.heartbeat = setTimeout(() => {
      if (this.attempt === attempt) this.lost('ping timeout');
    }, this.heartbeatMs);
  }

  private sendFrame(data: string): void {
    const attempt = this.attempt;
    const task = attempt?.task;
    if (!task) return;
    try {
      task.send({
        data,
        fail: (r) => {
          if (this.attempt === attempt) this.lost(`send failed: ${r.errMsg}`);
        },
      });
    } catch (err) {
      if (this.attempt === attempt) this.lost(`send threw: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private clearTimer(name: keyof WxSocketTransport['timers']): void {
    const timer = this.timers[name];
    if (timer !== undefined) clearTimeout(timer);
    this.timers[name] = undefined;
  }

  // ---- mini-program lifecycle ----------------------------------------------------------------------

  /** Network back or app back in the foreground: try now instead of waiting out the backoff. */
  private readonly retryNow = (result?: unknown): void => {
    if ((result as { isConnected?: boolean } | undefined)?.isConnected === false) return;
    if (!this.active || this.attempt || this.timers.reconnect === undefined) return;
    this.clearTimer('reconnect');
    this.failures = 0;
    this.open();
  };

  private hookWx(): void {
    if (this.hooked) return;
    this.hooked = true;
    this.wx.onNetworkStatusChange?.(this.retryNow);
    this.wx.onAppShow?.(this.retryNow);
  }

  private unhookWx(): void {
    if (!this.hooked) return;
    this.hooked = false;
    this.wx.offNetworkStatusChange?.(this.retryNow);
    this.wx.offAppShow?.(this.retryNow);
  }
}

/** `https://host/prefix` + `/socket.io` → `wss://host/prefix/socket.io/?EIO=4&transport=websocket`. */
export function socketUrl(base: string, path: string): string {
  const origin = base.replace(/\/+$/, '').replace(/^http(s?):\/\//i, (_m, s: string) => `ws${s}://`);
  if (!/^wss?:\/\//i.test(origin)) throw new Error(`url must start with https://, http://, wss:// or ws:// (got ${JSON.stringify(base)})`);
  const p = `/${path.replace(/^\/+|\/+$/g, '')}/`;
  return `${origin}${p}?EIO=4&transport=websocket`;
}

/**
 * Failures no retry fixes: the host is not on the mini-program's socket domain list (or not wss), which
 * WeChat reports as e.g. "connectSocket:fail url not in domain list".
 */
function isPermanentWxError(errMsg: string): boolean {
  return /domain list|not in domain|invalid url|url scheme|合法域名/i.test(errMsg);
}

/** The server refuses with `next(err)` where `err.data` is `{ code, message }` (see apps/server gateway). */
/** Handshake refusals that mean "not now" rather than "not you" (see packages/client's transport). */
const TRANSIENT_REFUSALS: ReadonlySet<string> = new Set(['internal', 'rate_limited', 'transport']);

function toConnectError(packet: { message: string; data?: unknown }): ConnectError {
  type Shape = { code?: unknown; message?: unknown };
  const data = packet.data as (Shape & { error?: Shape }) | null | undefined;
  const code = data?.code ?? data?.error?.code;
  const message = data?.message ?? data?.error?.message;
  return {
    code: typeof code === 'string' ? (code as ErrorCode) : 'transport',
    message: typeof message === 'string' ? message : packet.message,
    willRetry: false,
  };
}

function closeQuietly(task: WxSocketTask, reason: string): void {
  try {
    // WeChat limits the reason to 123 bytes.
    task.close({ code: 1000, reason: reason.slice(0, 60) });
  } catch {
    // already closed
  }
}

function subscribe<T>(set: Set<T>, item: T): Unsubscribe {
  set.add(item);
  return () => {
    set.delete(item);
  };
}

/** A throwing listener must not break the transport's state machine; its error surfaces asynchronously. */
function safely(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    setTimeout(() => {
      throw err;
    }, 0);
  }
}
