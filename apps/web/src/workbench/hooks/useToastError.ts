import { useCallback } from 'react';
import { App } from 'antd';
import { ChatClientError } from '@huiliu/client';
import { ApiError } from '../../lib/api.ts';

/**
 * Shows a failed request with the server's own message (it names the problem and the fix). A 401 is not
 * shown: the session provider already sends the agent to the login page.
 */
export function useToastError(): (error: unknown) => void {
  const { message } = App.useApp();
  return useCallback(
    (error: unknown) => {
      if (error instanceof ApiError && (error.status === 401 || error.code === 'session_expired')) return;
      if (error instanceof ChatClientError && error.code === 'cancelled') return;
      const text = error instanceof Error ? error.message : String(error);
      void message.error(text);
    },
    [message],
  );
}
