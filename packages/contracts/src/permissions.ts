import { z } from 'zod';

/**
 * Roles are sets of permission strings. Presets ship with every workspace; custom roles are rows
 * with any subset, so adding one needs no schema change.
 */
export const PERMISSIONS = [
  'conversation.read', // conversations of inboxes the user is a member of
  'conversation.read_all', // conversations of every inbox
  'conversation.reply',
  'conversation.note',
  'conversation.assign',
  'conversation.manage', // status, priority, tags, team
  'contact.read',
  'contact.manage',
  'contact.pii', // see unmasked email / phone of contacts
  'contact.merge', // merge and unmerge contacts (automatic merges on verified keys need no one)
  'inbox.manage',
  'team.manage',
  'user.manage',
  'role.manage',
  'canned.manage',
  'audit.read',
  'secret.manage',
  'workspace.manage',
  'routing.manage', // agents' capacity and skills, team strategies, the live queue and presence
  'bot.manage', // the AI bot: intents, flows, knowledge base, LLM provider, bot settings
] as const;
export const Permission = z.enum(PERMISSIONS);
export type Permission = z.infer<typeof Permission>;

export const PRESET_ROLES: Record<'admin' | 'supervisor' | 'agent', readonly Permission[]> = {
  admin: PERMISSIONS,
  supervisor: [
    'conversation.read',
    'conversation.read_all',
    'conversation.reply',
    'conversation.note',
    'conversation.assign',
    'conversation.manage',
    'contact.read',
    'contact.manage',
    'contact.pii',
    'contact.merge',
    'canned.manage',
    'team.manage',
    'audit.read',
    'routing.manage',
    'bot.manage',
  ],
  agent: [
    'conversation.read',
    'conversation.reply',
    'conversation.note',
    'conversation.assign',
    'conversation.manage',
    'contact.read',
    'contact.manage',
  ],
};
