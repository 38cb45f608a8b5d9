import type { Team } from '@huiliu/contracts';
import type { Database, Row, Sql } from '../db/database.ts';
import { one } from '../db/database.ts';
import type { Actor } from '../auth/actor.ts';
import { requirePermission } from '../auth/actor.ts';
import { conflict, forbidden, invalid, isUniqueViolation, notFound } from '../shared/errors.ts';
import { recordAudit } from '../audit/audit.service.ts';

function presentTeam(r: Row): Team {
  return {
    id: r.id as string,
    name: r.name as string,
    description: r.description as string,
    memberIds: (r.member_ids as string[] | null) ?? [],
    createdAt: r.created_at as string,
  };
}

const TEAM_SELECT = `SELECT t.*, COALESCE((SELECT array_agg(m.user_id ORDER BY m.user_id) FROM team_members m WHERE m.team_id = t.id), '{}') AS member_ids FROM teams t`;

/** Checks that every id is a user of the workspace (so another workspace's users cannot be attached). */
export async function assertWorkspaceUsers(sql: Sql, workspaceId: string, userIds: string[], field: string): Promise<void> {
  if (userIds.length === 0) return;
  const rows = await sql.query<{ id: string }>(`SELECT id FROM users WHERE workspace_id = $1 AND id = ANY($2::uuid[])`, [workspaceId, userIds]);
  const found = new Set(rows.map((r) => r.id));
  const missing = userIds.filter((id) => !found.has(id));
  if (missing.length) throw invalid(field, `unknown user id(s): ${missing.join(', ')}`);
}

export function createTeamService(deps: { db: Database }) {
  const { db } = deps;
  const get = async (sql: Sql, actor: Actor, id: string) => {
    const r = await one(sql, `${TEAM_SELECT} WHERE t.id = $1 AND t.workspace_id = $2`, [id, actor.workspaceId]);
    if (!r) throw notFound('team');
    return presentTeam(r);
  };
  const wrapUnique = (name: string) => (err: unknown) => {
    if (isUniqueViolation(err)) throw conflict(`a team named "${name}" already exists`);
    throw err;
  };
  return {
    get: (actor: Actor, id: string) => {
      if (actor.kind === 'visitor') throw forbidden();
      return get(db, actor, id);
    },
    async list(actor: Actor): Promise<Team[]> {
      if (actor.kind === 'visitor') throw forbidden();
      return (await db.query(`${TEAM_SELECT} WHERE t.workspace_id = $1 ORDER BY t.name`, [actor.workspaceId])).map(presentTeam);
    },
    async create(actor: Actor, input: { name: string; description: string }): Promise<Team> {
      requirePermission(actor, 'team.manage');
      return db
        .transaction(async (tx) => {
          const r = await one(tx, `INSERT INTO teams (workspace_id, name, description) VALUES ($1, $2, $3) RETURNING id`, [actor.workspaceId, input.name, input.description]);
          await recordAudit(tx, actor, 'team.created', { type: 'team', id: r!.id as string }, { name: input.name });
          return get(tx, actor, r!.id as string);
        })
        .catch(wrapUnique(input.name));
    },
    async update(actor: Actor, id: string, patch: { name?: string | undefined; description?: string | undefined }): Promise<Team> {
      requirePermission(actor, 'team.manage');
      return db
        .transaction(async (tx) => {
          const before = await get(tx, actor, id);
          await tx.query(`UPDATE teams SET name = $3, description = $4 WHERE id = $1 AND workspace_id = $2`, [id, actor.workspaceId, patch.name ?? before.name, patch.description ?? before.description]);
          return get(tx, actor, id);
        })
        .catch(wrapUnique(patch.name ?? ''));
    },
    async remove(actor: Actor, id: string): Promise<void> {
      requirePermission(actor, 'team.manage');
      await db.transaction(async (tx) => {
        await get(tx, actor, id);
        await tx.query(`DELETE FROM teams WHERE id = $1 AND workspace_id = $2`, [id, actor.workspaceId]);
        await recordAudit(tx, actor, 'team.deleted', { type: 'team', id });
      });
    },
    async setMembers(actor: Actor, id: string, userIds: string[]): Promise<Team> {
      requirePermission(actor, 'team.manage');
      return db.transaction(async (tx) => {
        await get(tx, actor, id);
        await assertWorkspaceUsers(tx, actor.workspaceId, userIds, 'body.userIds');
        await tx.query(`DELETE FROM team_members WHERE team_id = $1`, [id]);
        await tx.query(`INSERT INTO team_members (workspace_id, team_id, user_id) SELECT $1, $2, unnest($3::uuid[]) ON CONFLICT DO NOTHING`, [actor.workspaceId, id, userIds]);
        await recordAudit(tx, actor, 'team.members_set', { type: 'team', id }, { userIds });
        return get(tx, actor, id);
      });
    },
  };
}
export type TeamService = ReturnType<typeof createTeamService>;
