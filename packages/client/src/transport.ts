import type { ClientEventName, ErrorCode, ServerEventName } from '@huiliu/contracts';
import type { ClientAck, ClientPayload, ServerPayload, TransportErrorCode } from './protocol.ts';

/** Removes the handler it was returned for. */
export type Unsubscribe = () => void;

export interface EmitOptions {
  /** Reject with a `TransportError('timeout')` when no ack arrives within this many ms. */
  timeoutMs?: number;
}

/** Why a connection attempt failed. `willRetry` is false when the server refused us (bad token, origin). */
export interface ConnectError {
  /** The server's error code when it refused the handshake, else 'transport' (network, server down). */
  readonly code: ErrorCode | 'transport';
  readonly message: string;
  readonly willRetry: boolean;
}

/**
 * A request/ack message channel to the Huiliu realtime endpoint. Deliberately smaller than Socket.IO's API
 * so that it can be implemented over anything that carries JSON frames (the WeChat mini-program's
 * `wx.connectSocket`, a React Native WebSocket, an in-memory fake in tests):
 *
 * - `emit` never buffers while disconnected; it rejects with `TransportError('disconnected')` so the caller
 *   decides what to resend after a reconnect (buffered stale packets would be replayed blindly otherwise).
 * - A pending `emit` rejects with 'disconnected' when the connection drops, and with 'timeout' when its ack
 *   does not arrive in time. An ack that does arrive is returned as is, including `{ ok: false }` ones.
 * - Reconnecting is the transport's job; the client only reacts to `onConnect` / `onDisconnect`.
 */
export interface Transport {
  readonly connected: boolean;
  /** Start connecting (and keep reconnecting after drops, if the implementation supports it). */
  connect(): void;
  /** Close and stop reconnecting. */
  disconnect(): void;
  emit<E extends ClientEventName>(event: E, payload: ClientPayload<E>, options?: EmitOptions): Promise<ClientAck<E>>;
  on<E extends ServerEventName>(event: E, handler: (payload: ServerPayload<E>) => void): Unsubscribe;
  onConnect(handler: () => void): Unsubscribe;
  /** `willReconnect` tells a UI whether to show "reconnecting…" or "offline". */
  onDisconnect(handler: (reason: string, willReconnect: boolean) => void): Unsubscribe;
  onConnectError(handler: (error: ConnectError) => void): Unsubscribe;
}

/**
 * Rejection of `Transport.emit` when the server's answer never arrived. The event may or may not have been
 * processed, which is why `message.send` carries a `clientId` the server dedupes on.
 */
export class TransportError extends Error {
  readonly code: TransportErrorCode;

  constructor(code: TransportErrorCode, message?: string) {
    super(message ?? (code === 'timeout' ? 'the server did not acknowledge in time' : 'not connected'));
    this.name = 'TransportError';
    this.code = code;
  }
}

/** Structural check: `instanceof` breaks when two copies of this package end up in one bundle. */
export function isTransportError(error: unknown): error is TransportError {
  return error instanceof Error && error.name === 'TransportError' && 'code' in error;
}
