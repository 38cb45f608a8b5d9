import { z } from 'zod';
import { ErrorBody } from './errors.ts';
import { Conversation, Id, Message, SenderType, Transfer } from './entities.ts';
import { SendMessageBody, VisitorConversation } from './api.ts';

/**
 * The realtime protocol (Socket.IO). Every client→server event carries an ack callback that receives
 * `{ ok: true, ... }` or `{ ok: false, error }`. Messages carry a per-conversation `seq`; a client keeps the
 * last seq it has seen per conversation and after a reconnect asks for everything after it (`sync`).
 *
 * Handshake: `io(url, { auth: { token } })` for agents (session token from /api/v1/auth/login) or
 * `{ auth: { visitorToken } }` for widget visitors (from /api/widget/v1/sessions). Visitors are also checked
 * against the inbox's Origin allowlist.
 */

export const HandshakeAuth = z.union([
  z.strictObject({ token: z.string().min(1).max(500) }),
  z.strictObject({ visitorToken: z.string().min(1).max(2000) }),
]);

export const SendMessagePayload = SendMessageBody.extend({ conversationId: Id });
export type SendMessagePayload = z.infer<typeof SendMessagePayload>;

export const SubscribePayload = z.strictObject({ conversationId: Id, afterSeq: z.number().int().min(0).default(0) });
export const UnsubscribePayload = z.strictObject({ conversationId: Id });
export const SyncPayload = z.strictObject({
  conversations: z.array(z.strictObject({ conversationId: Id, afterSeq: z.number().int().min(0) })).max(200),
});
export const TypingPayload = z.strictObject({ conversationId: Id, typing: z.boolean() });
export const ReadPayload = z.strictObject({ conversationId: Id, seq: z.number().int().min(0) });

/** An agent's availability for routing (issue 4). Only `online` agents receive conversations automatically. */
export const PresenceStatus = z.enum(['online', 'busy', 'away', 'offline']);
export type PresenceStatus = z.infer<typeof PresenceStatus>;
export const PresenceSetPayload = z.strictObject({ status: PresenceStatus });

export const Replay = z.object({
  conversationId: Id,
  messages: z.array(Message),
  /** The conversation's newest seq: a client that received `messages` is up to date through it. */
  lastSeq: z.number().int(),
  /** More messages than one replay carries: page the rest through the REST messages endpoint. */
  hasMore: z.boolean(),
});
export type Replay = z.infer<typeof Replay>;

const Fail = z.object({ ok: z.literal(false), error: ErrorBody.shape.error });
export const SendAck = z.union([z.object({ ok: z.literal(true), message: Message, duplicate: z.boolean() }), Fail]);
export const SubscribeAck = z.union([z.object({ ok: z.literal(true) }).extend(Replay.shape), Fail]);
export const SyncAck = z.union([z.object({ ok: z.literal(true), results: z.array(Replay) }), Fail]);
export const SimpleAck = z.union([z.object({ ok: z.literal(true) }), Fail]);
export type SendAck = z.infer<typeof SendAck>;
export type SubscribeAck = z.infer<typeof SubscribeAck>;
export type SyncAck = z.infer<typeof SyncAck>;
export type SimpleAck = z.infer<typeof SimpleAck>;

export const TypingEvent = z.object({
  conversationId: Id,
  senderType: SenderType,
  senderId: Id.nullable(),
  senderName: z.string().nullable(),
  typing: z.boolean(),
});
export const ReadEvent = z.object({ conversationId: Id, readerType: z.enum(['contact', 'user']), readerId: Id, seq: z.number().int() });
export const SessionRevokedEvent = z.object({ reason: z.enum(['logout', 'password_changed', 'deactivated', 'expired']) });
/** The visitor's place in the routing queue; `position` null = no longer waiting (an agent took it). */
export const QueueUpdatedEvent = z.object({
  conversationId: Id,
  position: z.number().int().min(1).nullable(),
  estimatedWaitSeconds: z.number().int().min(0).nullable(),
});
export type QueueUpdatedEvent = z.infer<typeof QueueUpdatedEvent>;

/**
 * Transfers (issue 4). `transfer.requested` goes to the receiving agent; `transfer.responded` (accepted,
 * declined, cancelled by a newer request or a take-over, expired) to the requester and the receiving agent.
 */
export const TransferEvent = z.object({ transfer: Transfer, conversation: Conversation });
export type TransferEvent = z.infer<typeof TransferEvent>;

/** Client → server events, with their payload and ack schemas. */
export const ClientEvents = {
  'message.send': { payload: SendMessagePayload, ack: SendAck },
  'conversation.subscribe': { payload: SubscribePayload, ack: SubscribeAck },
  'conversation.unsubscribe': { payload: UnsubscribePayload, ack: SimpleAck },
  sync: { payload: SyncPayload, ack: SyncAck },
  typing: { payload: TypingPayload, ack: SimpleAck },
  read: { payload: ReadPayload, ack: SimpleAck },
  'presence.set': { payload: PresenceSetPayload, ack: z.union([z.object({ ok: z.literal(true), status: PresenceStatus }), Fail]) },
} as const;
export type ClientEventName = keyof typeof ClientEvents;

/** Server → client events. Visitors receive `VisitorConversation` shapes and never private notes. */
export const ServerEvents = {
  'message.created': Message,
  /** To agents: a message changed after it was stored (delivery status of a channel message: sent, delivered, read, failed). */
  'message.updated': Message,
  'conversation.updated': z.union([Conversation, VisitorConversation]),
  typing: TypingEvent,
  read: ReadEvent,
  'session.revoked': SessionRevokedEvent,
  'queue.updated': QueueUpdatedEvent,
  /** To supervisors (routing.manage): an agent's presence / capacity / load changed (shape of GET /presence items). */
  'presence.updated': z.object({ userId: Id, name: z.string(), status: PresenceStatus, capacity: z.number().int(), load: z.number().int() }).passthrough(),
  /** To supervisors: the routing queue changed; re-read GET /routing/queue. */
  'queue.changed': z.object({}),
  /** Offer to all: you may accept this waiting conversation (POST /conversations/:id/claim; first wins). */
  'conversation.offered': z.object({ conversationId: Id }),
  'transfer.requested': TransferEvent,
  'transfer.responded': TransferEvent,
} as const;
export type ServerEventName = keyof typeof ServerEvents;
