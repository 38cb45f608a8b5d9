import { z } from 'zod';
import {
  AuditEntry, CreateRoleBody, CreateTeamBody, InviteResponse, InviteUserBody, ListQuery, PasswordResetResponse, PutSecretBody, Role,
  SecretInfo, SetMembersBody, Team, UpdateRoleBody, UpdateTeamBody, UpdateUserBody, UpdateWorkspaceBody, User, Workspace,
} from '@huiliu/contracts';
import { getWorkspace, updateWorkspace } from '@huiliu/core/workspaces/workspace.service';
import { listAudit } from '@huiliu/core/audit/audit.service';
import { requirePermission } from '@huiliu/core/auth/actor';
import { notFound } from '@huiliu/core/shared/errors';
import { defineRoute, IdParams } from '../route.ts';
import type { Services } from '../../services.ts';

const SecretParams = z.strictObject({ name: z.string().regex(/^[a-z0-9_.-]{1,100}$/, 'lowercase letters, digits, _ . - (max 100)') });
const AuditQuery = z.strictObject({ limit: ListQuery.shape.limit, before: z.coerce.number().int().positive().optional() });

export const workspaceRoutes = (s: Services) => [
  defineRoute({
    method: 'GET', url: '/api/v1/workspace', summary: 'The current workspace', tags: ['workspace'], auth: 'user', response: Workspace,
    handler: ({ actor }) => getWorkspace(s.db, actor.workspaceId),
  }),
  defineRoute({
    method: 'PATCH', url: '/api/v1/workspace', summary: 'Rename the workspace or change its settings', tags: ['workspace'], auth: 'user',
    body: UpdateWorkspaceBody, response: Workspace,
    handler: ({ actor, body }) => updateWorkspace(s.db, actor, body),
  }),
  // roles
  defineRoute({ method: 'GET', url: '/api/v1/roles', summary: 'Roles and their permissions', tags: ['users'], auth: 'user', response: z.array(Role), handler: ({ actor }) => s.users.listRoles(actor) }),
  defineRoute({ method: 'POST', url: '/api/v1/roles', summary: 'Create a custom role', tags: ['users'], auth: 'user', body: CreateRoleBody, response: Role, status: 201, handler: ({ actor, body }) => s.users.createRole(actor, body) }),
  defineRoute({ method: 'PATCH', url: '/api/v1/roles/:id', summary: 'Change a custom role', tags: ['users'], auth: 'user', params: IdParams, body: UpdateRoleBody, response: Role, handler: ({ actor, params, body }) => s.users.updateRole(actor, params.id, body) }),
  // users
  defineRoute({ method: 'GET', url: '/api/v1/users', summary: 'Users of the workspace', tags: ['users'], auth: 'user', response: z.array(User), handler: ({ actor }) => s.users.list(actor) }),
  defineRoute({
    method: 'POST', url: '/api/v1/users/invite', summary: 'Invite a user; returns the one-time invitation token', tags: ['users'], auth: 'user',
    body: InviteUserBody, response: InviteResponse, status: 201, handler: ({ actor, body }) => s.users.invite(actor, body),
  }),
  defineRoute({ method: 'PATCH', url: '/api/v1/users/:id', summary: 'Change name, role, locale or avatar', tags: ['users'], auth: 'user', params: IdParams, body: UpdateUserBody, response: User, handler: ({ actor, params, body }) => s.users.update(actor, params.id, body) }),
  defineRoute({ method: 'POST', url: '/api/v1/users/:id/deactivate', summary: 'Deactivate a user and revoke their sessions', tags: ['users'], auth: 'user', params: IdParams, response: User, handler: ({ actor, params }) => s.users.setActive(actor, params.id, false) }),
  defineRoute({ method: 'POST', url: '/api/v1/users/:id/reactivate', summary: 'Reactivate a user', tags: ['users'], auth: 'user', params: IdParams, response: User, handler: ({ actor, params }) => s.users.setActive(actor, params.id, true) }),
  defineRoute({ method: 'POST', url: '/api/v1/users/:id/password-reset', summary: 'Issue a one-time password reset token', tags: ['users'], auth: 'user', params: IdParams, response: PasswordResetResponse, handler: ({ actor, params }) => s.users.issuePasswordReset(actor, params.id) }),
  // teams
  defineRoute({ method: 'GET', url: '/api/v1/teams', summary: 'Teams', tags: ['teams'], auth: 'user', response: z.array(Team), handler: ({ actor }) => s.teams.list(actor) }),
  defineRoute({ method: 'POST', url: '/api/v1/teams', summary: 'Create a team', tags: ['teams'], auth: 'user', body: CreateTeamBody, response: Team, status: 201, handler: ({ actor, body }) => s.teams.create(actor, body) }),
  defineRoute({ method: 'GET', url: '/api/v1/teams/:id', summary: 'A team', tags: ['teams'], auth: 'user', params: IdParams, response: Team, handler: ({ actor, params }) => s.teams.get(actor, params.id) }),
  defineRoute({ method: 'PATCH', url: '/api/v1/teams/:id', summary: 'Rename or describe a team', tags: ['teams'], auth: 'user', params: IdParams, body: UpdateTeamBody, response: Team, handler: ({ actor, params, body }) => s.teams.update(actor, params.id, body) }),
  defineRoute({ method: 'DELETE', url: '/api/v1/teams/:id', summary: 'Delete a team', tags: ['teams'], auth: 'user', params: IdParams, response: null, handler: ({ actor, params }) => s.teams.remove(actor, params.id) }),
  defineRoute({ method: 'PUT', url: '/api/v1/teams/:id/members', summary: 'Set the members of a team', tags: ['teams'], auth: 'user', params: IdParams, body: SetMembersBody, response: Team, handler: ({ actor, params, body }) => s.teams.setMembers(actor, params.id, body.userIds) }),
  // audit & secrets
  defineRoute({
    method: 'GET', url: '/api/v1/audit-log', summary: 'Audit log, newest first (page with `before`)', tags: ['admin'], auth: 'user', query: AuditQuery, response: z.array(AuditEntry),
    handler: ({ actor, query }) => listAudit(s.db, actor, { limit: query.limit, ...(query.before ? { before: query.before } : {}) }),
  }),
  defineRoute({
    method: 'GET', url: '/api/v1/secrets', summary: 'Stored credentials (names and last 4 characters only)', tags: ['admin'], auth: 'user', response: z.array(SecretInfo),
    handler: ({ actor }) => {
      requirePermission(actor, 'secret.manage');
      return s.vault.list(actor.workspaceId);
    },
  }),
  defineRoute({
    method: 'PUT', url: '/api/v1/secrets/:name', summary: 'Store a credential, encrypted; it is never returned again', tags: ['admin'], auth: 'user',
    params: SecretParams, body: PutSecretBody, response: null,
    handler: async ({ actor, params, body }) => {
      requirePermission(actor, 'secret.manage');
      await s.vault.put(actor.workspaceId, params.name, body.value);
      await s.audit(actor, 'secret.stored', { type: 'secret', id: params.name });
    },
  }),
  defineRoute({
    method: 'DELETE', url: '/api/v1/secrets/:name', summary: 'Delete a credential', tags: ['admin'], auth: 'user', params: SecretParams, response: null,
    handler: async ({ actor, params }) => {
      requirePermission(actor, 'secret.manage');
      if (!(await s.vault.remove(actor.workspaceId, params.name))) throw notFound('secret');
      await s.audit(actor, 'secret.deleted', { type: 'secret', id: params.name });
    },
  }),
];
