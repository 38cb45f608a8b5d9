import { PRESET_ROLES, WorkspaceSettings, type Role, type Workspace } from '@huiliu/contracts';
import type { Database, Row, Sql } from '../db/database.ts';
import { one } from '../db/database.ts';
import type { Actor } from '../auth/actor.ts';
import { requirePermission } from '../auth/actor.ts';
import { conflict, isUniqueViolation, notFound } from '../shared/errors.ts';
import { recordAudit } from '../audit/audit.service.ts';

export function presentWorkspace(r: Row): Workspace {
  return {
    id: r.id as string,
    name: r.name as string,
    slug: r.slug as string,
    settings: WorkspaceSettings.parse(r.settings ?? {}),
    createdAt: r.created_at as string,
  };
}

export function presentRole(r: Row): Role {
  return { id: r.id as string, name: r.name as string, permissions: r.permissions as Role['permissions'], preset: r.preset as boolean };
}

/** Creates a workspace with the preset roles (admin / supervisor / agent). */
export async function createWorkspace(sql: Sql, input: { name: string; slug: string }): Promise<Workspace> {
  try {
    const ws = await one(sql, `INSERT INTO workspaces (name, slug, settings) VALUES ($1, $2, $3) RETURNING *`, [
      input.name,
      input.slug,
      JSON.stringify(WorkspaceSettings.parse({})),
    ]);
    for (const [name, permissions] of Object.entries(PRESET_ROLES)) {
      await sql.query(`INSERT INTO roles (workspace_id, name, permissions, preset) VALUES ($1, $2, $3, true)`, [
        ws!.id,
        name,
        permissions,
      ]);
    }
    return presentWorkspace(ws!);
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(`a workspace with slug "${input.slug}" already exists`);
    throw err;
  }
}

export async function getWorkspace(sql: Sql, workspaceId: string): Promise<Workspace> {
  const r = await one(sql, `SELECT * FROM workspaces WHERE id = $1`, [workspaceId]);
  if (!r) throw notFound('workspace');
  return presentWorkspace(r);
}

export async function updateWorkspace(
  db: Database,
  actor: Actor,
  patch: { name?: string | undefined; settings?: Partial<WorkspaceSettings> | undefined },
): Promise<Workspace> {
  requirePermission(actor, 'workspace.manage');
  return db.transaction(async (tx) => {
    const current = await getWorkspace(tx, actor.workspaceId);
    const settings = WorkspaceSettings.parse({ ...current.settings, ...(patch.settings ?? {}) });
    const r = await one(tx, `UPDATE workspaces SET name = $2, settings = $3 WHERE id = $1 RETURNING *`, [
      actor.workspaceId,
      patch.name ?? current.name,
      JSON.stringify(settings),
    ]);
    await recordAudit(tx, actor, 'workspace.updated', { type: 'workspace', id: actor.workspaceId }, { fields: Object.keys(patch) });
    return presentWorkspace(r!);
  });
}
