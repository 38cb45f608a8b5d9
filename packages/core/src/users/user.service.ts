import type { Permission, Role, User } from '@huiliu/contracts';
import type { Database, Row, Sql } from '../db/database.ts';
import { one } from '../db/database.ts';
import type { Actor, UserActor } from '../auth/actor.ts';
import { requirePermission } from '../auth/actor.ts';
import { hashPassword, verifyPassword } from '../auth/passwords.ts';
import { hashToken, newToken } from '../auth/tokens.ts';
import { AppError, conflict, forbidden, invalid, isUniqueViolation, notFound } from '../shared/errors.ts';
import { recordAudit } from '../audit/audit.service.ts';
import type { DomainEvents } from '../shared/events.ts';
import { presentRole, presentWorkspace } from '../workspaces/workspace.service.ts';

const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;
const INVITE_TTL_MS = 7 * 24 * 3600 * 1000;
const RESET_TTL_MS = 24 * 3600 * 1000;

export function presentUser(r: Row): User {
  return {
    id: r.id as string,
    email: r.email as string,
    name: r.name as string,
    role: (r.role_name as string) ?? 'agent',
    status: r.status as User['status'],
    avatarUrl: (r.avatar_url as string | null) ?? null,
    locale: r.locale as string,
    createdAt: r.created_at as string,
  };
}

const USER_SELECT = `SELECT u.*, r.name AS role_name, r.permissions FROM users u JOIN roles r ON r.id = u.role_id`;

export interface SessionInfo {
  token: string;
  expiresAt: string;
  user: User;
  workspace: ReturnType<typeof presentWorkspace>;
  permissions: Permission[];
}

export function createUserService(deps: { db: Database; events: DomainEvents }) {
  const { db, events } = deps;

  async function roleByName(sql: Sql, workspaceId: string, name: string): Promise<Row> {
    const role = await one(sql, `SELECT * FROM roles WHERE workspace_id = $1 AND name = $2`, [workspaceId, name]);
    if (!role) throw invalid('body.role', `no role named "${name}" in this workspace (presets: admin, supervisor, agent)`);
    return role;
  }

  async function openSession(sql: Sql, userId: string, meta: { ip?: string | undefined; userAgent?: string | undefined }): Promise<SessionInfo> {
    const token = newToken('hls');
    const expiresAt = new Date(Date.now() + SESSION_TTL_MS).toISOString();
    const u = await one(sql, `${USER_SELECT} WHERE u.id = $1`, [userId]);
    await sql.query(
      `INSERT INTO sessions (workspace_id, user_id, token_hash, ip, user_agent, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
      [u!.workspace_id, userId, hashToken(token), meta.ip ?? null, meta.userAgent?.slice(0, 300) ?? null, expiresAt],
    );
    const ws = await one(sql, `SELECT * FROM workspaces WHERE id = $1`, [u!.workspace_id]);
    return { token, expiresAt, user: presentUser(u!), workspace: presentWorkspace(ws!), permissions: u!.permissions as Permission[] };
  }

  async function revokeSessions(sql: Sql, userId: string, exceptSessionId: string | null): Promise<string[]> {
    const rows = await sql.query<{ id: string }>(
      `UPDATE sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR id <> $2) RETURNING id`,
      [userId, exceptSessionId],
    );
    return rows.map((r) => r.id);
  }

  async function getUserRow(sql: Sql, actor: Actor, userId: string): Promise<Row> {
    const u = await one(sql, `${USER_SELECT} WHERE u.id = $1 AND u.workspace_id = $2`, [userId, actor.workspaceId]);
    if (!u) throw notFound('user');
    return u;
  }

  return {
    async login(input: { email: string; password: string; workspace?: string | undefined }, meta: { ip?: string; userAgent?: string }): Promise<SessionInfo> {
      const rows = await db.query(
        `SELECT u.*, w.slug FROM users u JOIN workspaces w ON w.id = u.workspace_id
         WHERE u.email = $1 AND ($2::text IS NULL OR w.slug = $2)`,
        [input.email, input.workspace ?? null],
      );
      if (rows.length > 1) throw invalid('body.workspace', 'this email belongs to several workspaces; give the workspace slug');
      const u = rows[0];
      const ok = await verifyPassword((u?.password_hash as string | null) ?? null, input.password);
      if (!u || !ok) throw new AppError('invalid_credentials', 'wrong email or password');
      if (u.status === 'deactivated') throw new AppError('account_deactivated', 'this account has been deactivated; ask an admin');
      if (u.status !== 'active') throw new AppError('invalid_credentials', 'wrong email or password');
      return db.transaction(async (tx) => {
        const s = await openSession(tx, u.id as string, meta);
        await recordAudit(tx, { kind: 'system', workspaceId: u.workspace_id as string, via: 'system' }, 'auth.login', { type: 'user', id: u.id as string }, { ip: meta.ip ?? null });
        return s;
      });
    },

    /** Resolves a bearer token to an actor, or undefined when forged, expired, revoked or deactivated. */
    async authenticate(token: string, meta: { ip?: string; userAgent?: string } = {}): Promise<UserActor | undefined> {
      const r = await one(
        db,
        `SELECT s.id AS session_id, s.workspace_id, u.id AS user_id, u.name, u.status, r.permissions
         FROM sessions s JOIN users u ON u.id = s.user_id JOIN roles r ON r.id = u.role_id
         WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()`,
        [hashToken(token)],
      );
      if (!r || r.status !== 'active') return undefined;
      return {
        kind: 'user',
        workspaceId: r.workspace_id as string,
        userId: r.user_id as string,
        name: r.name as string,
        sessionId: r.session_id as string,
        permissions: new Set(r.permissions as Permission[]),
        ip: meta.ip,
        userAgent: meta.userAgent,
      };
    },

    async logout(actor: UserActor): Promise<void> {
      await db.query(`UPDATE sessions SET revoked_at = now() WHERE id = $1`, [actor.sessionId]);
      events.emit('sessions.revoked', { workspaceId: actor.workspaceId, userId: actor.userId, reason: 'logout', sessionIds: [actor.sessionId] });
    },

    async me(actor: UserActor): Promise<Omit<SessionInfo, 'token' | 'expiresAt'>> {
      const u = await getUserRow(db, actor, actor.userId);
      const ws = await one(db, `SELECT * FROM workspaces WHERE id = $1`, [actor.workspaceId]);
      return { user: presentUser(u), workspace: presentWorkspace(ws!), permissions: u.permissions as Permission[] };
    },

    /** Changes the password, revokes every other session, and returns a fresh one for the caller. */
    async changePassword(actor: UserActor, input: { currentPassword: string; newPassword: string }): Promise<SessionInfo> {
      const u = await getUserRow(db, actor, actor.userId);
      if (!(await verifyPassword(u.password_hash as string, input.currentPassword))) {
        throw new AppError('invalid_credentials', 'the current password is wrong');
      }
      const passwordHash = await hashPassword(input.newPassword);
      const { session, revoked } = await db.transaction(async (tx) => {
        await tx.query(`UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1`, [actor.userId, passwordHash]);
        const revoked = await revokeSessions(tx, actor.userId, null);
        await recordAudit(tx, actor, 'user.password_changed', { type: 'user', id: actor.userId });
        return { session: await openSession(tx, actor.userId, { ip: actor.ip, userAgent: actor.userAgent }), revoked };
      });
      events.emit('sessions.revoked', { workspaceId: actor.workspaceId, userId: actor.userId, reason: 'password_changed', sessionIds: revoked });
      return session;
    },

    async list(actor: Actor): Promise<User[]> {
      if (actor.kind === 'visitor') throw forbidden();
      const rows = await db.query(`${USER_SELECT} WHERE u.workspace_id = $1 ORDER BY u.created_at`, [actor.workspaceId]);
      return rows.map(presentUser);
    },

    /** Creates an active user directly (CLI `admin create`, seed). */
    async createActive(sql: Sql, workspaceId: string, input: { email: string; name: string; password: string; role: string }): Promise<User> {
      const role = await roleByName(sql, workspaceId, input.role);
      try {
        const u = await one(
          sql,
          `INSERT INTO users (workspace_id, email, name, password_hash, role_id, status) VALUES ($1, $2, $3, $4, $5, 'active') RETURNING *`,
          [workspaceId, input.email.toLowerCase(), input.name, await hashPassword(input.password), role.id],
        );
        return presentUser({ ...u!, role_name: role.name });
      } catch (err) {
        if (isUniqueViolation(err)) throw conflict(`a user with email ${input.email} already exists in this workspace`);
        throw err;
      }
    },

    async invite(actor: Actor, input: { email: string; name: string; role: string }): Promise<{ user: User; inviteToken: string; expiresAt: string }> {
      requirePermission(actor, 'user.manage');
      const token = newToken('hli');
      const expiresAt = new Date(Date.now() + INVITE_TTL_MS).toISOString();
      return db.transaction(async (tx) => {
        const role = await roleByName(tx, actor.workspaceId, input.role);
        try {
          const u = await one(
            tx,
            `INSERT INTO users (workspace_id, email, name, role_id, status, invite_token_hash, invite_expires_at)
             VALUES ($1, $2, $3, $4, 'invited', $5, $6) RETURNING *`,
            [actor.workspaceId, input.email, input.name, role.id, hashToken(token), expiresAt],
          );
          await recordAudit(tx, actor, 'user.invited', { type: 'user', id: u!.id as string }, { email: input.email, role: input.role });
          return { user: presentUser({ ...u!, role_name: role.name }), inviteToken: token, expiresAt };
        } catch (err) {
          if (isUniqueViolation(err)) throw conflict(`a user with email ${input.email} already exists in this workspace`);
          throw err;
        }
      });
    },

    async acceptInvite(input: { token: string; name: string; password: string }, meta: { ip?: string; userAgent?: string }): Promise<SessionInfo> {
      const passwordHash = await hashPassword(input.password);
      return db.transaction(async (tx) => {
        const u = await one(
          tx,
          `UPDATE users SET status = 'active', name = $2, password_hash = $3, invite_token_hash = NULL, invite_expires_at = NULL, updated_at = now()
           WHERE invite_token_hash = $1 AND status = 'invited' AND invite_expires_at > now() RETURNING *`,
          [hashToken(input.token), input.name, passwordHash],
        );
        if (!u) throw new AppError('invalid_token', 'this invitation link is invalid or has expired; ask an admin for a new one');
        await recordAudit(tx, { kind: 'system', workspaceId: u.workspace_id as string, via: 'system' }, 'user.invite_accepted', { type: 'user', id: u.id as string });
        return openSession(tx, u.id as string, meta);
      });
    },

    async update(actor: Actor, userId: string, patch: { name?: string | undefined; role?: string | undefined; locale?: string | undefined; avatarUrl?: string | null | undefined }): Promise<User> {
      const self = actor.kind === 'user' && actor.userId === userId;
      if (!self || patch.role !== undefined) requirePermission(actor, 'user.manage');
      return db.transaction(async (tx) => {
        const before = await getUserRow(tx, actor, userId);
        const roleId = patch.role !== undefined ? (await roleByName(tx, actor.workspaceId, patch.role)).id : before.role_id;
        if (patch.role !== undefined && before.role_name === 'admin' && patch.role !== 'admin') await assertAnotherAdmin(tx, actor.workspaceId, userId);
        await tx.query(
          `UPDATE users SET name = $3, role_id = $4, locale = $5, avatar_url = $6, updated_at = now() WHERE id = $1 AND workspace_id = $2`,
          [userId, actor.workspaceId, patch.name ?? before.name, roleId, patch.locale ?? before.locale, patch.avatarUrl === undefined ? before.avatar_url : patch.avatarUrl],
        );
        if (patch.role !== undefined && patch.role !== before.role_name) {
          await recordAudit(tx, actor, 'user.role_changed', { type: 'user', id: userId }, { from: before.role_name, to: patch.role });
        }
        return presentUser(await getUserRow(tx, actor, userId));
      });
    },

    async setActive(actor: Actor, userId: string, active: boolean): Promise<User> {
      requirePermission(actor, 'user.manage');
      if (actor.kind === 'user' && actor.userId === userId && !active) throw forbidden('you cannot deactivate yourself');
      const { user, revoked } = await db.transaction(async (tx) => {
        const before = await getUserRow(tx, actor, userId);
        if (!active && before.role_name === 'admin') await assertAnotherAdmin(tx, actor.workspaceId, userId);
        if (active && before.status !== 'deactivated') return { user: presentUser(before), revoked: [] };
        await tx.query(`UPDATE users SET status = $3, updated_at = now() WHERE id = $1 AND workspace_id = $2`, [
          userId,
          actor.workspaceId,
          active ? (before.password_hash ? 'active' : 'invited') : 'deactivated',
        ]);
        const revoked = active ? [] : await revokeSessions(tx, userId, null);
        await recordAudit(tx, actor, active ? 'user.reactivated' : 'user.deactivated', { type: 'user', id: userId });
        return { user: presentUser(await getUserRow(tx, actor, userId)), revoked };
      });
      if (!active) events.emit('sessions.revoked', { workspaceId: actor.workspaceId, userId, reason: 'deactivated', sessionIds: revoked });
      return user;
    },

    /** An admin issues a one-time reset link token (delivered out of band until email is configured). */
    async issuePasswordReset(actor: Actor, userId: string): Promise<{ resetToken: string; expiresAt: string }> {
      requirePermission(actor, 'user.manage');
      const token = newToken('hlr');
      const expiresAt = new Date(Date.now() + RESET_TTL_MS).toISOString();
      await db.transaction(async (tx) => {
        await getUserRow(tx, actor, userId);
        await tx.query(`UPDATE users SET reset_token_hash = $2, reset_expires_at = $3 WHERE id = $1`, [userId, hashToken(token), expiresAt]);
        await recordAudit(tx, actor, 'user.password_reset_issued', { type: 'user', id: userId });
      });
      return { resetToken: token, expiresAt };
    },

    async resetPassword(input: { token: string; password: string }): Promise<void> {
      const passwordHash = await hashPassword(input.password);
      const { u, revoked } = await db.transaction(async (tx) => {
        const u = await one(
          tx,
          `UPDATE users SET password_hash = $2, reset_token_hash = NULL, reset_expires_at = NULL, updated_at = now()
           WHERE reset_token_hash = $1 AND reset_expires_at > now() AND status <> 'deactivated' RETURNING *`,
          [hashToken(input.token), passwordHash],
        );
        if (!u) throw new AppError('invalid_token', 'this reset link is invalid or has expired; ask an admin for a new one');
        const revoked = await revokeSessions(tx, u.id as string, null);
        await recordAudit(tx, { kind: 'system', workspaceId: u.workspace_id as string, via: 'system' }, 'user.password_reset', { type: 'user', id: u.id as string });
        return { u, revoked };
      });
      events.emit('sessions.revoked', { workspaceId: u.workspace_id as string, userId: u.id as string, reason: 'password_changed', sessionIds: revoked });
    },

    async listRoles(actor: Actor): Promise<Role[]> {
      if (actor.kind === 'visitor') throw forbidden();
      const rows = await db.query(`SELECT * FROM roles WHERE workspace_id = $1 ORDER BY preset DESC, name`, [actor.workspaceId]);
      return rows.map(presentRole);
    },

    async createRole(actor: Actor, input: { name: string; permissions: Permission[] }): Promise<Role> {
      requirePermission(actor, 'role.manage');
      return db.transaction(async (tx) => {
        try {
          const r = await one(tx, `INSERT INTO roles (workspace_id, name, permissions) VALUES ($1, $2, $3) RETURNING *`, [
            actor.workspaceId,
            input.name,
            [...new Set(input.permissions)],
          ]);
          await recordAudit(tx, actor, 'role.created', { type: 'role', id: r!.id as string }, { name: input.name, permissions: input.permissions });
          return presentRole(r!);
        } catch (err) {
          if (isUniqueViolation(err)) throw conflict(`a role named "${input.name}" already exists`);
          throw err;
        }
      });
    },

    async updateRole(actor: Actor, roleId: string, patch: { name?: string | undefined; permissions?: Permission[] | undefined }): Promise<Role> {
      requirePermission(actor, 'role.manage');
      return db.transaction(async (tx) => {
        const before = await one(tx, `SELECT * FROM roles WHERE id = $1 AND workspace_id = $2`, [roleId, actor.workspaceId]);
        if (!before) throw notFound('role');
        if (before.preset) throw forbidden('preset roles cannot be changed; create a custom role instead');
        const r = await one(tx, `UPDATE roles SET name = $3, permissions = $4 WHERE id = $1 AND workspace_id = $2 RETURNING *`, [
          roleId,
          actor.workspaceId,
          patch.name ?? before.name,
          patch.permissions ? [...new Set(patch.permissions)] : before.permissions,
        ]);
        await recordAudit(tx, actor, 'role.updated', { type: 'role', id: roleId }, { before: before.permissions, after: r!.permissions });
        return presentRole(r!);
      });
    },
  };
}

async function assertAnotherAdmin(sql: Sql, workspaceId: string, userId: string): Promise<void> {
  const rows = await sql.query(
    `SELECT 1 FROM users u JOIN roles r ON r.id = u.role_id
     WHERE u.workspace_id = $1 AND r.name = 'admin' AND u.status = 'active' AND u.id <> $2 LIMIT 1`,
    [workspaceId, userId],
  );
  if (rows.length === 0) throw conflict('this is the last active admin of the workspace; make someone else admin first');
}

export type UserService = ReturnType<typeof createUserService>;
