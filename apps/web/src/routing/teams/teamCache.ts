import type { TeamRouting } from '../shared/types.ts';

/**
 * The server has no read endpoint for a team's routing settings or business-hours schedule (only
 * `PUT /teams/:id/routing` and `PUT /teams/:id/schedule`, which answer with what they stored). Until it has
 * one, the console remembers what *it* last saved, per workspace and team, and says so on screen — another
 * admin's change elsewhere is not seen. Saves send only the fields the admin changed (the server keeps the
 * others), so an unknown value is never overwritten by a guess.
 */
export interface CachedTeamSettings {
  routing?: TeamRouting;
  /** undefined: unknown; null: always open. */
  scheduleId?: string | null;
  savedAt: string;
}

const key = (workspaceId: string, teamId: string) => `huiliu.routing.team.${workspaceId}.${teamId}`;

export function loadTeamSettings(workspaceId: string, teamId: string): CachedTeamSettings | null {
  try {
    const raw = localStorage.getItem(key(workspaceId, teamId));
    return raw ? (JSON.parse(raw) as CachedTeamSettings) : null;
  } catch {
    return null;
  }
}

export function saveTeamSettings(workspaceId: string, teamId: string, patch: Omit<CachedTeamSettings, 'savedAt'>): CachedTeamSettings {
  const next: CachedTeamSettings = { ...(loadTeamSettings(workspaceId, teamId) ?? {}), ...patch, savedAt: new Date().toISOString() };
  try {
    localStorage.setItem(key(workspaceId, teamId), JSON.stringify(next));
  } catch {
    /* storage disabled: the page still works, it just forgets */
  }
  return next;
}
