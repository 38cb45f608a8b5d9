import { EventEmitter } from 'node:events';
import type { Conversation, Message, Transfer } from '@huiliu/contracts';

/**
 * In-process domain events, emitted only AFTER the transaction that caused them committed.
 * The realtime gateway, the job queue and log consumers subscribe; services never call them directly.
 */
export interface DomainEventMap {
  'message.created': { message: Message; conversation: Conversation };
  /**
   * A stored message changed after the fact: its delivery status moved (a channel's delivery report, or
   * outbound delivery marking it sent / failed). Gateway: `message.updated` to the agents' rooms.
   */
  'message.updated': { message: Message; conversation: Conversation };
  /** An admin changed the channel settings or secrets of an inbox (pollers restart with the new ones). */
  'inbox.channel_changed': { workspaceId: string; inboxId: string };
  'conversation.updated': { conversation: Conversation; previousAssigneeId: string | null };
  'sessions.revoked': { workspaceId: string; userId: string; reason: 'logout' | 'password_changed' | 'deactivated'; sessionIds: string[] };
  'inbox.members_changed': { workspaceId: string; inboxId: string };
  'conversation.read': {
    workspaceId: string;
    conversationId: string;
    contactId: string;
    inboxId: string;
    assigneeId: string | null;
    readerType: 'contact' | 'user';
    readerId: string;
    seq: number;
  };
  /**
   * The bot (or a flow) hands the conversation to a human. The routing engine consumes it like a new
   * customer message: it enqueues a durable routing job (see routing/handoff.ts; prefer
   * `enqueueHandoff(tx, …)` inside the bot's own transaction, which makes the handoff itself durable).
   */
  'conversation.handoff_requested': {
    workspaceId: string;
    conversationId: string;
    reason: HandoffReason;
    /** Minimum skill levels the human needs, e.g. { refund: 3 }. */
    requiredSkills?: Record<string, number> | undefined;
    teamId?: string | null | undefined;
  };
  /** An agent → agent transfer waits for the receiving agent (gateway: `transfer.requested` to user:<to>). */
  'transfer.requested': { transfer: Transfer; conversation: Conversation };
  /** A transfer was accepted, declined, cancelled or expired (gateway: to the requester and the receiver). */
  'transfer.responded': { transfer: Transfer; conversation: Conversation };
  /**
   * The conversation goes back to the bot: nobody took it in time (overflow action `back_to_bot`) or the
   * team is closed and its schedule says bot_only.
   * The bot (AI issue) consumes it and continues; a later handoff queues the conversation again.
   */
  'conversation.bot_resumed': { workspaceId: string; conversationId: string; reason: 'queue_timeout' | 'outside_hours' };
  /** Offer to all: these agents may accept the waiting conversation (first claim wins). */
  'conversation.offered': { workspaceId: string; conversationId: string; agentIds: string[] };
  /** An agent's presence, capacity or skills changed (gateway: to supervisors, i.e. routing.manage holders). */
  'presence.updated': { workspaceId: string; userId: string };
  /** The routing queue of a workspace changed (gateway: to supervisors, who re-read GET /routing/queue). */
  'routing.queue_changed': { workspaceId: string };
  /**
   * Messages were stored on a node that does not read the message log (no worker role): wake the log
   * consumers here (relayed across nodes, see apps/server/src/cluster/relay.ts).
   */
  'message.log_wake': Record<string, never>;
  /**
   * This node may have missed events relayed from other nodes (its Redis connection was down; the relay is
   * Redis pub/sub, which does not replay): drop per-node caches and recompute per-node state from the database.
   */
  'cluster.resync': Record<string, never>;
  /** Routing rules or business hours were saved: every node drops its cached copy (relayed across nodes). */
  'routing.config_changed': { workspaceId: string };
  /** A visitor's position in the routing queue changed (null: they left the queue). */
  'queue.updated': { workspaceId: string; contactId: string; conversationId: string; position: number | null; estimatedWaitSeconds: number | null };
}

export type HandoffReason = 'customer_request' | 'negative_sentiment' | 'low_confidence' | 'bot_failure' | 'flow_action' | 'business_rule';
export type DomainEventName = keyof DomainEventMap;

export interface DomainEvents {
  emit<K extends DomainEventName>(name: K, payload: DomainEventMap[K]): void;
  on<K extends DomainEventName>(name: K, handler: (payload: DomainEventMap[K]) => void): () => void;
}

export function createDomainEvents(onError: (err: unknown, name: string) => void): DomainEvents {
  const emitter = new EventEmitter();
  emitter.setMaxListeners(100);
  return {
    emit(name, payload) {
      // A failing subscriber must not break the caller (the change is already committed).
      for (const listener of emitter.listeners(name)) {
        try {
          (listener as (p: unknown) => void)(payload);
        } catch (err) {
          onError(err, name);
        }
      }
    },
    on(name, handler) {
      emitter.on(name, handler);
      return () => emitter.off(name, handler);
    },
  };
}
