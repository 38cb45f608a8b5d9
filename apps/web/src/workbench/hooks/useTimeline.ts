import { useCallback, useEffect, useRef, useState } from 'react';
import type { TimelineItem } from '@huiliu/client';
import type { Message } from '@huiliu/contracts';
import { api, qs } from '../../lib/api.ts';
import { useSession } from '../../lib/session.tsx';

const PAGE = 50;

type MessagesPage = { items: Message[]; lastSeq: number; hasMore: boolean };

export interface Timeline {
  items: readonly TimelineItem[];
  /** The first page of history has arrived. */
  ready: boolean;
  error: string | null;
  hasOlder: boolean;
  loadingOlder: boolean;
  loadOlder: () => Promise<void>;
}

/**
 * The open conversation's messages, straight from the chat client: subscribe (live events and replay
 * after reconnects, deduped and ordered by the client core), plus the newest page of history over REST,
 * older pages on demand (`beforeSeq`). Leaving the conversation unsubscribes so the client stops tracking
 * it; list updates keep flowing through the inbox / assignee rooms.
 */
export function useTimeline(conversationId: string, initialLastSeq: number): Timeline {
  const { chat, messageUpdates } = useSession();
  const [items, setItems] = useState<readonly TimelineItem[]>(() => chat.getTimeline(conversationId));
  const [ready, setReady] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [hasOlder, setHasOlder] = useState(false);
  const [loadingOlder, setLoadingOlder] = useState(false);
  // Only the value at opening matters: later messages arrive through the subscription.
  const hint = useRef(initialLastSeq);

  useEffect(() => {
    let cancelled = false;
    setItems(chat.getTimeline(conversationId));
    setReady(false);
    setError(null);
    const off = chat.on('messages', (id, timeline) => {
      if (id === conversationId) setItems(timeline);
    });
    // Subscribing first declares everything up to `hint` as known (the REST page below brings it), so
    // the replay only carries what is newer, and a message arriving meanwhile is not lost in between.
    chat.subscribe(conversationId, hint.current).catch((e: unknown) => {
      if (!cancelled) setError(e instanceof Error ? e.message : String(e));
    });
    const before = Math.max(hint.current, chat.getLastSeq(conversationId) ?? 0) + 1;
    const mark = messageUpdates.mark();
    api<MessagesPage>('GET', `/conversations/${conversationId}/messages${qs({ beforeSeq: before, limit: PAGE })}`)
      .then((page) => {
        if (cancelled) return;
        chat.addHistory(conversationId, page.items);
        // The chat client keeps copies it already had; their delivery status may have moved on since.
        messageUpdates.applyAnswer(page.items, mark);
        setHasOlder(page.hasMore);
      })
      .catch((e: unknown) => {
        if (!cancelled) setError(e instanceof Error ? e.message : String(e));
      })
      .finally(() => {
        if (!cancelled) setReady(true);
      });
    return () => {
      cancelled = true;
      off();
      chat.unsubscribe(conversationId);
    };
  }, [chat, conversationId, messageUpdates]);

  const loadOlder = useCallback(async () => {
    const first = chat.getMessages(conversationId)[0];
    if (!first || first.seq <= 1) {
      setHasOlder(false);
      return;
    }
    setLoadingOlder(true);
    try {
      const page = await api<MessagesPage>('GET', `/conversations/${conversationId}/messages${qs({ beforeSeq: first.seq, limit: PAGE })}`);
      chat.addHistory(conversationId, page.items);
      setHasOlder(page.hasMore);
    } finally {
      setLoadingOlder(false);
    }
  }, [chat, conversationId]);

  return { items, ready, error, hasOlder, loadingOlder, loadOlder };
}
