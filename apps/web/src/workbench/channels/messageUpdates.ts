import type { Transport } from '@huiliu/client';
import type { Message } from '@huiliu/contracts';

/**
 * Newer versions of already stored messages: the delivery status of a channel message changes after it
 * was stored (`message.updated`: pending → sent → delivered → read, or failed with a reason), and a Retry
 * answers the message pending again. The chat client keeps messages by seq and never replaces one it
 * has, so the timeline draws each message through this overlay instead. One per session (lib/session.tsx).
 *
 * Answers fetched over HTTP can be older than an event that overtook them, hence `mark()`: an answer only
 * counts for messages no event has touched since the request was made.
 */
export interface MessageUpdates {
  /** The newest known version of this message, or the message itself. */
  latest(message: Message): Message;
  /** A newer version, from the server's event. */
  apply(message: Message): void;
  /** Taken right before a request whose answer carries messages. */
  mark(): number;
  /** Versions from an answer to a request made at `mark`: kept unless an event updated them since. */
  applyAnswer(messages: readonly Message[], mark: number): void;
  /** Called with the conversation id whenever one of its messages changed. */
  subscribe(listener: (conversationId: string) => void): () => void;
}

export function createMessageUpdates(transport: Transport): MessageUpdates {
  const byId = new Map<string, Message>();
  /** Message id → the counter value of its last update. */
  const touched = new Map<string, number>();
  let counter = 0;
  const listeners = new Set<(conversationId: string) => void>();
  const notify = (ids: Set<string>) => {
    for (const id of ids) for (const l of listeners) l(id);
  };
  const apply = (message: Message) => {
    byId.set(message.id, message);
    touched.set(message.id, ++counter);
    notify(new Set([message.conversationId]));
  };
  transport.on('message.updated', apply);
  return {
    latest: (m) => byId.get(m.id) ?? m,
    apply,
    mark: () => counter,
    applyAnswer(messages, mark) {
      const changed = new Set<string>();
      for (const m of messages) {
        // Only our messages change after being stored; the overlay stays small.
        if (m.direction !== 'outgoing' || m.private) continue;
        if ((touched.get(m.id) ?? 0) > mark) continue;
        byId.set(m.id, m);
        changed.add(m.conversationId);
      }
      notify(changed);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
