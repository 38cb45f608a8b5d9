import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { createChatClient, createSocketIoTransport, type ChatClient, type Transport } from '@huiliu/client';
import type { Permission, User, Workspace } from '@huiliu/contracts';
import { api, getToken, onSessionExpired, setToken } from './api.ts';
import { createMessageUpdates, type MessageUpdates } from '../workbench/channels/messageUpdates.ts';

/**
 * The signed-in agent: who they are, what they may do, and one realtime connection shared by every page.
 * `chat` (the client core) handles messages, typing, read receipts, resync after reconnects and the
 * persisted outbox; `transport` is the raw connection for other server events (queue, transfers).
 */
export interface Session {
  user: User;
  workspace: Workspace;
  permissions: Permission[];
  can: (permission: Permission) => boolean;
  chat: ChatClient;
  transport: Transport;
  /** Newer versions of stored messages (`message.updated`: delivery status of channel messages). */
  messageUpdates: MessageUpdates;
  logout: () => Promise<void>;
  /** Re-read /auth/me (after the agent changed their own profile). */
  refresh: () => Promise<void>;
}

interface Me {
  user: User;
  workspace: Workspace;
  permissions: Permission[];
}

type State = { kind: 'loading' } | { kind: 'anonymous'; expired: boolean } | { kind: 'signed-in'; session: Session };

const SessionContext = createContext<{ state: State; login: (email: string, password: string) => Promise<void> } | null>(null);

function connect(me: Me, onLogout: () => Promise<void>, refresh: () => Promise<void>): Session {
  const transport = createSocketIoTransport({ url: location.origin, auth: () => ({ token: getToken() ?? '' }) });
  const chat = createChatClient({ transport, storage: { get: (k) => localStorage.getItem(k), set: (k, v) => localStorage.setItem(k, v) }, storageKey: `huiliu.outbox.${me.user.id}` });
  chat.connect();
  const set = new Set(me.permissions);
  return { ...me, can: (p) => set.has(p), chat, transport, messageUpdates: createMessageUpdates(transport), logout: onLogout, refresh };
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<State>({ kind: 'loading' });

  const value = useMemo(() => {
    let current: Session | undefined;
    const end = (expired: boolean) => {
      current?.chat.destroy();
      current = undefined;
      setToken(null);
      setState({ kind: 'anonymous', expired });
    };
    const logout = async () => {
      await api('POST', '/auth/logout').catch(() => undefined);
      end(false);
    };
    const refresh = async () => {
      const me = await api<Me>('GET', '/auth/me');
      if (current) {
        current = { ...current, ...me, can: (p) => me.permissions.includes(p) };
        setState({ kind: 'signed-in', session: current });
      }
    };
    const start = (me: Me) => {
      current?.chat.destroy();
      current = connect(me, logout, refresh);
      current.chat.on('session.revoked', () => end(true));
      // A reconnect refused for good (the token expired or was revoked while we were away): sign in again.
      current.chat.on('connect_error', (e) => {
        if (!e.willRetry && (e.code === 'session_expired' || e.code === 'unauthenticated')) end(true);
      });
      setState({ kind: 'signed-in', session: current });
    };
    const load = async () => {
      if (!getToken()) return setState({ kind: 'anonymous', expired: false });
      try {
        start(await api<Me>('GET', '/auth/me'));
      } catch {
        setState({ kind: 'anonymous', expired: false });
      }
    };
    const login = async (email: string, password: string) => {
      const r = await api<Me & { token: string }>('POST', '/auth/login', { email, password });
      setToken(r.token);
      start(r);
    };
    return { load, login, end };
  }, []);

  useEffect(() => {
    void value.load();
    return onSessionExpired(() => value.end(true));
  }, [value]);

  return <SessionContext.Provider value={{ state, login: value.login }}>{children}</SessionContext.Provider>;
}

export function useSessionState() {
  const v = useContext(SessionContext);
  if (!v) throw new Error('useSessionState outside SessionProvider');
  return v;
}

/** The signed-in session; only inside pages behind the login gate. */
export function useSession(): Session {
  const { state } = useSessionState();
  if (state.kind !== 'signed-in') throw new Error('useSession without a signed-in agent');
  return state.session;
}
