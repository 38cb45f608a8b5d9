import { io, type ManagerOptions, type SocketOptions } from 'socket.io-client';
import type { ErrorCode } from '@huiliu/contracts';
import type { HandshakeAuthInput } from './protocol.ts';
import { TransportError, type ConnectError, type Transport, type Unsubscribe } from './transport.ts';

export interface SocketIoTransportOptions {
  /** Server origin, e.g. `https://support.example.com` (the default namespace is used). */
  url: string;
  /**
   * `{ token }` for agents, `{ visitorToken }` for widget visitors. A function is called on every
   * (re)connect, so a refreshed token is picked up without recreating the transport.
   */
  auth: HandshakeAuthInput | (() => HandshakeAuthInput | Promise<HandshakeAuthInput>);
  /** Socket.IO path when the server is mounted elsewhere than `/socket.io`. */
  path?: string;
  /** Ack timeout for `emit` calls that do not pass their own. Default 10 s. */
  ackTimeoutMs?: number;
  /** Escape hatch for other Socket.IO options (reconnection delays, a custom WebSocket for React Native…). */
  socketOptions?: Partial<ManagerOptions & SocketOptions>;
}

const DEFAULT_ACK_TIMEOUT_MS = 10_000;
/**
 * Handshake refusals that say "not now" rather than "not you": the server's database restarting, a rate
 * limit. Socket.IO stops reconnecting after ANY middleware refusal, which would leave a widget offline for
 * good after a server-side blip; for these we keep trying, with backoff.
 */
const TRANSIENT_REFUSALS: ReadonlySet<string> = new Set(['internal', 'rate_limited', 'transport']);
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;

/** `Transport` over socket.io-client: WebSocket only, automatic reconnection, acks with a timeout. */
export function createSocketIoTransport(options: SocketIoTransportOptions): Transport {
  const { auth } = options;
  const socket = io(options.url, {
    // The client decides when to connect (after it has registered its handlers).
    autoConnect: false,
    // Long-polling would need sticky sessions on the server and adds a round of upgrades; every target
    // platform we support has WebSocket.
    transports: ['websocket'],
    reconnection: true,
    // Each transport carries its own credentials, so never share a Manager with another `io()` call
    // for the same host (the agent console and a test may hold several).
    forceNew: true,
    ...(options.path === undefined ? {} : { path: options.path }),
    auth:
      typeof auth === 'function'
        ? (cb: (data: object) => void) => {
            // A failing token provider connects without credentials: the server then refuses with
            // `unauthenticated`, which surfaces through `onConnectError` instead of a silent hang.
            Promise.resolve()
              .then(auth)
              .then(cb, () => cb({}));
          }
        : auth,
    ...options.socketOptions,
  });
  const defaultTimeout = options.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS;
  let wanted = false;
  let retryDelay = RETRY_MIN_MS;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  socket.on('connect', () => {
    retryDelay = RETRY_MIN_MS;
  });
  /** Whether the last refusal is being retried here (set before any handler sees the error). */
  let retrying = false;
  const retriesAfter = (err: Error & { data?: unknown }): boolean => {
    if (socket.active || !wanted || !TRANSIENT_REFUSALS.has(toConnectError(err, false).code)) return false;
    if (!retryTimer) {
      // Jitter spreads the reconnects of many clients after a server restart.
      const delay = retryDelay * (0.5 + Math.random());
      retryDelay = Math.min(retryDelay * 2, RETRY_MAX_MS);
      retryTimer = setTimeout(() => {
        retryTimer = undefined;
        if (wanted && !socket.connected) socket.connect();
      }, delay);
    }
    return true;
  };
  socket.on('connect_error', (err: Error & { data?: unknown }) => {
    retrying = retriesAfter(err);
  });

  const listen = (event: string, handler: (...args: never[]) => void): Unsubscribe => {
    const h = handler as (...args: unknown[]) => void;
    socket.on(event, h);
    return () => {
      socket.off(event, h);
    };
  };

  return {
    get connected() {
      return socket.connected;
    },
    connect() {
      wanted = true;
      socket.connect();
    },
    disconnect() {
      wanted = false;
      clearTimeout(retryTimer);
      retryTimer = undefined;
      socket.disconnect();
    },
    emit(event, payload, emitOptions) {
      // Socket.IO would buffer the packet and send it on reconnect; the client resends what it still
      // needs itself after syncing, so a buffered duplicate (e.g. a stale `sync`) is only noise.
      if (!socket.connected) return Promise.reject(new TransportError('disconnected'));
      return socket
        .timeout(emitOptions?.timeoutMs ?? defaultTimeout)
        .emitWithAck(event, payload)
        .catch((err: unknown) => {
          // Socket.IO rejects both on timeout and when the connection drops before the ack.
          throw new TransportError(
            socket.connected ? 'timeout' : 'disconnected',
            err instanceof Error ? err.message : undefined,
          );
        });
    },
    on(event, handler) {
      return listen(event, handler);
    },
    onConnect(handler) {
      return listen('connect', handler);
    },
    onDisconnect(handler) {
      // `socket.active` is false after `disconnect()` or a server-side disconnect: no reconnection follows.
      return listen('disconnect', (reason: string) => handler(reason, socket.active));
    },
    onConnectError(handler) {
      return listen('connect_error', (err: Error & { data?: unknown }) =>
        handler(toConnectError(err, socket.active || retrying)),
      );
    },
  };
}

/**
 * The server refuses a handshake with `next(err)` where `err.data` is the ack error shape `{ code, message }`
 * (an ErrorBody `{ error: { code, message } }` is accepted too).
 */
function toConnectError(err: Error & { data?: unknown }, willRetry: boolean): ConnectError {
  type Shape = { code?: unknown; message?: unknown };
  const data = err.data as (Shape & { error?: Shape }) | null | undefined;
  const code = data?.code ?? data?.error?.code;
  const message = data?.message ?? data?.error?.message;
  return {
    code: typeof code === 'string' ? (code as ErrorCode) : 'transport',
    message: typeof message === 'string' ? message : err.message,
    willRetry,
  };
}
