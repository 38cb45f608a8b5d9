// Types only: the client core must not pull zod (or the schemas) into the widget bundle, so everything here
// is derived from the contract schemas at compile time and erased from the output.
import type { z } from 'zod';
import type {
  ClientEventName,
  ClientEvents,
  ErrorCode,
  FieldIssue,
  HandshakeAuth,
  ServerEventName,
  ServerEvents,
} from '@huiliu/contracts';

/** What a client puts on the wire: the schema's input, so fields with server-side defaults stay optional. */
export type ClientPayload<E extends ClientEventName> = z.input<(typeof ClientEvents)[E]['payload']>;
/** What the server acks with (already parsed/serialized by the server, hence the schema's output). */
export type ClientAck<E extends ClientEventName> = z.output<(typeof ClientEvents)[E]['ack']>;
/** Payload of a server → client event. */
export type ServerPayload<E extends ServerEventName> = z.output<(typeof ServerEvents)[E]>;

export type TypingEvent = ServerPayload<'typing'>;
export type ReadEvent = ServerPayload<'read'>;
export type SessionRevokedEvent = ServerPayload<'session.revoked'>;
/** Agents receive full conversations, visitors the reduced `VisitorConversation` shape. */
export type ConversationUpdate = ServerPayload<'conversation.updated'>;
export type HandshakeAuthInput = z.input<typeof HandshakeAuth>;

/** The `error` of a failed ack (`{ ok: false, error }`). */
export type AckError = Extract<ClientAck<'sync'>, { ok: false }>['error'];

/** Errors that never reach the server: the packet or its ack was lost. */
export type TransportErrorCode = 'timeout' | 'disconnected';

/**
 * Every error the client surfaces to a UI: a server error code, a transport failure, or 'cancelled' for
 * work abandoned locally (`discard`, `unsubscribe`, `destroy`).
 */
export interface ChatError {
  readonly code: ErrorCode | TransportErrorCode | 'cancelled';
  readonly message: string;
  readonly issues?: readonly FieldIssue[] | undefined;
}
