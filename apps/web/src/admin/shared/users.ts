import type { User } from '@huiliu/contracts';
import { api } from '../../lib/api.ts';
import type { Translate } from '../../lib/i18n.tsx';
import { useLoad } from './useLoad.ts';

/** Everyone in the workspace, for member pickers and for showing names next to ids. */
export function useWorkspaceUsers() {
  return useLoad(() => api<User[]>('GET', '/users'), []);
}

/**
 * Options for a member picker. Deactivated people cannot take conversations, so they are not offered, but
 * one who is already a member stays visible (marked) so saving does not silently drop them.
 */
export function memberOptions(users: User[] | undefined, selected: string[] = [], t: Translate) {
  return (users ?? [])
    .filter((u) => u.status !== 'deactivated' || selected.includes(u.id))
    .map((u) => ({
      value: u.id,
      label: u.status === 'deactivated' ? `${u.name} (${t('admin.users.status.deactivated')})` : u.name,
      title: u.email,
    }));
}

/** Preset roles have translated names; custom roles show the name the admin gave them. */
export function roleLabel(t: Translate, role: string): string {
  const key = `admin.role.${role}`;
  const text = t(key);
  return text === key ? role : text;
}

/** Dates as people read them in the console's language. */
export function formatDate(iso: string, locale: string, withTime = false): string {
  const d = new Date(iso);
  return withTime ? d.toLocaleString(locale) : d.toLocaleDateString(locale);
}
