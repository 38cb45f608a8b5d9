import { useCallback, useEffect, useRef, useState } from 'react';
import type { ChannelType, SendWindowStatus } from '@huiliu/contracts';
import { api } from '../../lib/api.ts';
import { useSession } from '../../lib/session.tsx';

/** The window is re-read this often while the conversation is open (it closes by itself with time). */
const REFRESH_MS = 60_000;

/**
 * What the agent may send now in a conversation on an external channel (GET …/send-window): read when the
 * conversation opens, after every new message in it (a customer message reopens a window; our replies
 * use up a quota) and every minute. Web-widget conversations have no window: nothing is fetched.
 * A failed read leaves the composer as it is (the server still refuses what cannot be delivered).
 */
export function useSendWindow(conversationId: string, channelType: ChannelType | undefined): { status: SendWindowStatus | null; reload: () => void } {
  const { chat } = useSession();
  const [status, setStatus] = useState<SendWindowStatus | null>(null);
  const seq = useRef(0);
  const external = channelType !== undefined && channelType !== 'web';

  const reload = useCallback(() => {
    if (!external) return;
    const mine = ++seq.current;
    api<SendWindowStatus>('GET', `/conversations/${conversationId}/send-window`)
      .then((s) => {
        if (mine === seq.current) setStatus(s);
      })
      .catch(() => undefined);
  }, [conversationId, external]);

  useEffect(() => {
    setStatus(null);
    if (!external) return;
    reload();
    const timer = setInterval(reload, REFRESH_MS);
    const off = chat.on('message', (m) => {
      if (m.conversationId === conversationId && !m.private && m.direction !== 'activity') reload();
    });
    return () => {
      seq.current++;
      clearInterval(timer);
      off();
    };
  }, [chat, conversationId, external, reload]);

  return { status, reload };
}

/** `accept` of the file input: only the media the channel can carry (private notes take anything). */
export function acceptFor(status: SendWindowStatus | null): { canAttach: boolean; accept: string | undefined } {
  if (!status) return { canAttach: true, accept: undefined };
  const types = status.capabilities.contentTypes;
  if (types.includes('file')) return { canAttach: true, accept: undefined };
  const accept = (['image', 'audio', 'video'] as const).filter((x) => types.includes(x)).map((x) => `${x}/*`);
  return { canAttach: accept.length > 0, accept: accept.length ? accept.join(',') : undefined };
}
