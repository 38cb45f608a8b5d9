import type { AuditEntry } from '@huiliu/contracts';
import type { Sql } from '../db/database.ts';
import type { Actor } from '../auth/actor.ts';
import { requirePermission } from '../auth/actor.ts';

/**
 * Append-only audit log of administrative and sensitive actions (who, what, when, from where).
 * Writes take the caller's transaction so the entry commits with the change it describes.
 */
export async function recordAudit(
  sql: Sql,
  actor: Actor,
  action: string,
  target: { type: string; id: string } | null,
  details: Record<string, unknown> = {},
): Promise<void> {
  const actorType = actor.kind === 'user' ? 'user' : actor.kind === 'system' && actor.via === 'cli' ? 'cli' : 'system';
  const actorId = actor.kind === 'user' ? actor.userId : actor.kind === 'visitor' ? actor.contactId : null;
  await sql.query(
    `INSERT INTO audit_log (workspace_id, actor_type, actor_id, action, target_type, target_id, ip, user_agent, details)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      actor.workspaceId,
      actorType,
      actorId,
      action,
      target?.type ?? null,
      target?.id ?? null,
      'ip' in actor ? (actor.ip ?? null) : null,
      actor.kind === 'user' ? (actor.userAgent ?? null) : null,
      JSON.stringify(details),
    ],
  );
}

export async function listAudit(sql: Sql, actor: Actor, opts: { limit: number; before?: number }): Promise<AuditEntry[]> {
  requirePermission(actor, 'audit.read');
  const rows = await sql.query(
    `SELECT * FROM audit_log WHERE workspace_id = $1 AND ($2::bigint IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
    [actor.workspaceId, opts.before ?? null, opts.limit],
  );
  return rows.map((r) => ({
    id: r.id as number,
    actorType: r.actor_type as AuditEntry['actorType'],
    actorId: r.actor_id as string | null,
    action: r.action as string,
    targetType: r.target_type as string | null,
    targetId: r.target_id as string | null,
    ip: r.ip as string | null,
    userAgent: r.user_agent as string | null,
    details: r.details as Record<string, unknown>,
    createdAt: r.created_at as string,
  }));
}
