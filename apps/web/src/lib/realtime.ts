import { useEffect, useState } from 'react';
import type { ChatStatus } from '@huiliu/client';
import type { ServerPayload } from '@huiliu/client';
import type { ServerEventName } from '@huiliu/contracts';
import { useSession } from './session.tsx';

/** 'online' | 'connecting' | 'offline' of the shared realtime connection. */
export function useConnectionStatus(): ChatStatus {
  const { chat } = useSession();
  const [status, setStatus] = useState<ChatStatus>(chat.status);
  useEffect(() => {
    setStatus(chat.status);
    return chat.on('status', setStatus);
  }, [chat]);
  return status;
}

/** Subscribe to a raw server event (queue.updated, transfer.requested…) for the lifetime of a component. */
export function useServerEvent<E extends ServerEventName>(event: E, handler: (payload: ServerPayload<E>) => void): void {
  const { transport } = useSession();
  useEffect(() => transport.on(event, handler), [transport, event, handler]);
}
