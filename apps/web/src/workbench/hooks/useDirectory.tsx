import { createContext, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import type { Inbox, Team, User } from '@huiliu/contracts';
import { api } from '../../lib/api.ts';

/**
 * Users, teams and inboxes of the workspace: names for avatars, senders and filters. Loaded once when the
 * workbench opens; each list fails on its own (an agent may lack a permission for one), leaving it empty.
 */
export interface Directory {
  users: User[];
  teams: Team[];
  inboxes: Inbox[];
  userById: Map<string, User>;
  teamById: Map<string, Team>;
  inboxById: Map<string, Inbox>;
}

const empty: Directory = { users: [], teams: [], inboxes: [], userById: new Map(), teamById: new Map(), inboxById: new Map() };
const DirectoryContext = createContext<Directory>(empty);

export function DirectoryProvider({ children }: { children: ReactNode }) {
  const [lists, setLists] = useState<{ users: User[]; teams: Team[]; inboxes: Inbox[] }>({ users: [], teams: [], inboxes: [] });
  useEffect(() => {
    let cancelled = false;
    void Promise.all([
      api<User[]>('GET', '/users').catch(() => [] as User[]),
      api<Team[]>('GET', '/teams').catch(() => [] as Team[]),
      api<Inbox[]>('GET', '/inboxes').catch(() => [] as Inbox[]),
    ]).then(([users, teams, inboxes]) => {
      if (!cancelled) setLists({ users, teams, inboxes });
    });
    return () => {
      cancelled = true;
    };
  }, []);
  const value = useMemo<Directory>(
    () => ({
      ...lists,
      userById: new Map(lists.users.map((u) => [u.id, u])),
      teamById: new Map(lists.teams.map((t) => [t.id, t])),
      inboxById: new Map(lists.inboxes.map((i) => [i.id, i])),
    }),
    [lists],
  );
  return <DirectoryContext.Provider value={value}>{children}</DirectoryContext.Provider>;
}

export function useDirectory(): Directory {
  return useContext(DirectoryContext);
}
