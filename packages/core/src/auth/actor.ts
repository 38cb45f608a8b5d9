import type { Permission } from '@huiliu/contracts';
import { forbidden } from '../shared/errors.ts';

/** Who is acting. Every service call takes one; every query it makes is scoped by `workspaceId`. */
export interface UserActor {
  kind: 'user';
  workspaceId: string;
  userId: string;
  name: string;
  sessionId: string;
  permissions: ReadonlySet<Permission>;
  ip?: string | undefined;
  userAgent?: string | undefined;
}
export interface VisitorActor {
  kind: 'visitor';
  workspaceId: string;
  inboxId: string;
  contactId: string;
  identityId: string;
  ip?: string | undefined;
}
export interface SystemActor {
  kind: 'system';
  workspaceId: string;
  /** 'cli' for the command line, 'system' for schedulers and consumers. */
  via: 'cli' | 'system';
}
export type Actor = UserActor | VisitorActor | SystemActor;

export function can(actor: Actor, permission: Permission): boolean {
  if (actor.kind === 'system') return true;
  if (actor.kind === 'visitor') return false;
  return actor.permissions.has(permission);
}

export function requirePermission(actor: Actor, permission: Permission): void {
  if (!can(actor, permission)) throw forbidden(`this needs the permission "${permission}"`);
}

export function requireUser(actor: Actor): UserActor {
  if (actor.kind !== 'user') throw forbidden('only signed-in agents can do this');
  return actor;
}
