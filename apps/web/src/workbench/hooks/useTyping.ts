import { useEffect, useState } from 'react';
import { useSession } from '../../lib/session.tsx';

/** A typing indicator nobody refreshed for this long is stale (senders re-send every 3 s while typing). */
const EXPIRE_MS = 6_000;

export interface TypingState {
  /** The customer is typing. */
  contact: boolean;
  /** Other agents typing in this conversation (collision warning), by name. */
  agents: string[];
}

export function useTyping(conversationId: string): TypingState {
  const { chat, user } = useSession();
  const [state, setState] = useState<Map<string, { contact: boolean; name: string }>>(new Map());

  useEffect(() => {
    setState(new Map());
    const timers = new Map<string, ReturnType<typeof setTimeout>>();
    const drop = (key: string) => {
      clearTimeout(timers.get(key));
      timers.delete(key);
      setState((prev) => {
        if (!prev.has(key)) return prev;
        const next = new Map(prev);
        next.delete(key);
        return next;
      });
    };
    const off = chat.on('typing', (e) => {
      if (e.conversationId !== conversationId) return;
      if (e.senderType === 'user' && e.senderId === user.id) return; // my other tab
      const key = `${e.senderType}:${e.senderId ?? ''}`;
      if (!e.typing) return drop(key);
      setState((prev) => new Map(prev).set(key, { contact: e.senderType === 'contact', name: e.senderName ?? '' }));
      clearTimeout(timers.get(key));
      timers.set(key, setTimeout(() => drop(key), EXPIRE_MS));
    });
    // A message from the typist ends their typing.
    const offMsg = chat.on('message', (m) => {
      if (m.conversationId === conversationId) drop(`${m.senderType}:${m.senderId ?? ''}`);
    });
    return () => {
      off();
      offMsg();
      timers.forEach((t) => clearTimeout(t));
    };
  }, [chat, conversationId, user.id]);

  const values = [...state.values()];
  return { contact: values.some((v) => v.contact), agents: values.filter((v) => !v.contact).map((v) => v.name) };
}

/** Highest seq the customer has read, from live `read` events (for "read" ticks on replies). */
export function useContactReadSeq(conversationId: string): number {
  const { chat } = useSession();
  const [seq, setSeq] = useState(0);
  useEffect(() => {
    setSeq(0);
    return chat.on('read', (e) => {
      if (e.conversationId === conversationId && e.readerType === 'contact') setSeq((s) => Math.max(s, e.seq));
    });
  }, [chat, conversationId]);
  return seq;
}
