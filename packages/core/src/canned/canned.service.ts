import type { CannedResponse } from '@huiliu/contracts';
import type { Database, Row } from '../db/database.ts';
import { one } from '../db/database.ts';
import type { Actor } from '../auth/actor.ts';
import { requirePermission } from '../auth/actor.ts';
import { conflict, forbidden, isUniqueViolation, notFound } from '../shared/errors.ts';

function present(r: Row): CannedResponse {
  return { id: r.id as string, shortCode: r.short_code as string, content: r.content as string, createdAt: r.created_at as string };
}

/** Replaces {{contact.name}}-style variables; unknown variables are left as typed so the agent sees them. */
export function renderTemplate(content: string, vars: Record<string, string | number | null | undefined>): string {
  return content.replace(/\{\{\s*([a-zA-Z]+\.[a-zA-Z]+)\s*\}\}/g, (whole, key: string) => {
    const v = vars[key];
    return v === undefined ? whole : v === null ? '' : String(v);
  });
}

export function createCannedService(deps: { db: Database }) {
  const { db } = deps;
  const onUnique = (code: string | undefined) => (err: unknown) => {
    if (isUniqueViolation(err)) throw conflict(`the shortcut "/${code}" is already used`);
    throw err;
  };
  const readable = (actor: Actor) => {
    if (actor.kind === 'visitor') throw forbidden();
  };
  return {
    async list(actor: Actor, q?: string): Promise<CannedResponse[]> {
      readable(actor);
      const rows = await db.query(
        `SELECT * FROM canned_responses WHERE workspace_id = $1 AND ($2::text IS NULL OR short_code ILIKE $2 || '%' OR content ILIKE '%' || $2 || '%') ORDER BY short_code LIMIT 500`,
        [actor.workspaceId, q ?? null],
      );
      return rows.map(present);
    },
    async create(actor: Actor, input: { shortCode: string; content: string }): Promise<CannedResponse> {
      requirePermission(actor, 'canned.manage');
      const r = await one(db, `INSERT INTO canned_responses (workspace_id, short_code, content, created_by) VALUES ($1, $2, $3, $4) RETURNING *`, [
        actor.workspaceId,
        input.shortCode,
        input.content,
        actor.kind === 'user' ? actor.userId : null,
      ]).catch(onUnique(input.shortCode));
      return present(r!);
    },
    async update(actor: Actor, id: string, patch: { shortCode?: string | undefined; content?: string | undefined }): Promise<CannedResponse> {
      requirePermission(actor, 'canned.manage');
      const r = await one(
        db,
        `UPDATE canned_responses SET short_code = COALESCE($3, short_code), content = COALESCE($4, content) WHERE id = $1 AND workspace_id = $2 RETURNING *`,
        [id, actor.workspaceId, patch.shortCode ?? null, patch.content ?? null],
      ).catch(onUnique(patch.shortCode));
      if (!r) throw notFound('canned response');
      return present(r);
    },
    async remove(actor: Actor, id: string): Promise<void> {
      requirePermission(actor, 'canned.manage');
      const rows = await db.query(`DELETE FROM canned_responses WHERE id = $1 AND workspace_id = $2 RETURNING id`, [id, actor.workspaceId]);
      if (rows.length === 0) throw notFound('canned response');
    },
    async get(actor: Actor, id: string): Promise<CannedResponse> {
      readable(actor);
      const r = await one(db, `SELECT * FROM canned_responses WHERE id = $1 AND workspace_id = $2`, [id, actor.workspaceId]);
      if (!r) throw notFound('canned response');
      return present(r);
    },
  };
}
export type CannedService = ReturnType<typeof createCannedService>;
