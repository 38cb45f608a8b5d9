import { useMemo } from 'react';
import type { Inbox, Team, User } from '@huiliu/contracts';
import type { BusinessSchedule } from '@huiliu/contracts/routing-rules';
import { api } from '../../lib/api.ts';
import { useLoad } from './useLoad.ts';

/**
 * The names routing pages show instead of ids (teams, agents, inboxes, schedules). Each page asks only
 * for what it shows; a failed lookup degrades to showing ids, never to a broken page.
 */
export function useTeams() {
  return useLoad(() => api<Team[]>('GET', '/teams'), []);
}
export function useUsers() {
  return useLoad(() => api<User[]>('GET', '/users'), []);
}
export function useInboxes() {
  return useLoad(() => api<Inbox[]>('GET', '/inboxes'), []);
}
export function useSchedules() {
  return useLoad(() => api<BusinessSchedule[]>('GET', '/routing/schedules'), []);
}

export function useNameIndex(...lists: ({ id: string; name: string }[] | undefined)[]): Map<string, string> {
  // eslint-disable-next-line react-hooks/exhaustive-deps
  return useMemo(() => new Map(lists.flatMap((l) => (l ?? []).map((x) => [x.id, x.name] as const))), lists);
}

/** Replaces the UUIDs in a server explanation line with names ("route_team → team 3f2…" → "… team 售后"). */
export function withNames(text: string, names: Map<string, string>): string {
  return text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, (id) => {
    const name = names.get(id.toLowerCase()) ?? names.get(id);
    return name ? `“${name}”` : id;
  });
}
