import { useCallback, useEffect, useState } from 'react';
import type { Message } from '@huiliu/contracts';
import { useSession } from '../../lib/session.tsx';

/**
 * `(m) => newest version of m` for one conversation's timeline; re-renders when one of its messages
 * changes (delivery status, a retry).
 */
export function useMessageUpdates(conversationId: string): (m: Message) => Message {
  const { messageUpdates } = useSession();
  const [version, setVersion] = useState(0);
  useEffect(
    () =>
      messageUpdates.subscribe((id) => {
        if (id === conversationId) setVersion((v) => v + 1);
      }),
    [messageUpdates, conversationId],
  );
  // `version` makes a new function after each change, so memoized bubbles below see it.
  return useCallback((m: Message) => messageUpdates.latest(m), [messageUpdates, version]);
}
