import { randomBytes } from 'node:crypto';
import { WidgetSettings, type ChannelType, type Inbox } from '@huiliu/contracts';
import type { Database, Row, Sql } from '../db/database.ts';
import { one } from '../db/database.ts';
import type { Actor } from '../auth/actor.ts';
import { requirePermission } from '../auth/actor.ts';
import { AppError, forbidden, invalid, notFound } from '../shared/errors.ts';
import { recordAudit } from '../audit/audit.service.ts';
import type { DomainEvents } from '../shared/events.ts';
import { assertWorkspaceUsers } from '../teams/team.service.ts';

export function presentInbox(r: Row): Inbox {
  return {
    id: r.id as string,
    name: r.name as string,
    channelType: r.channel_type as ChannelType,
    publicId: r.public_id as string,
    allowedOrigins: r.allowed_origins as string[],
    widget: WidgetSettings.parse(r.widget ?? {}),
    memberIds: (r.member_ids as string[] | null) ?? [],
    createdAt: r.created_at as string,
  };
}

const INBOX_SELECT = `SELECT i.*, COALESCE((SELECT array_agg(m.user_id ORDER BY m.user_id) FROM inbox_members m WHERE m.inbox_id = i.id), '{}') AS member_ids FROM inboxes i`;

/**
 * Origin allowlist of a widget inbox. An empty list allows any origin (the demo page and first setup);
 * admins narrow it to their site's origins. Requests without an Origin header (server-side API clients,
 * native apps) are allowed: the visitor token still authenticates them.
 */
export function originAllowed(allowedOrigins: readonly string[], origin: string | undefined): boolean {
  if (!origin || allowedOrigins.length === 0 || allowedOrigins.includes('*')) return true;
  const o = origin.toLowerCase().replace(/\/$/, '');
  return allowedOrigins.some((a) => a.toLowerCase().replace(/\/$/, '') === o);
}

export function createInboxService(deps: {
  db: Database;
  events: DomainEvents;
  /** Channel types an inbox may be created with: the web widget and every kind with an adapter (default: web only). */
  channelTypes?: readonly ChannelType[];
}) {
  const { db, events } = deps;
  const channelTypes = deps.channelTypes ?? ['web'];
  const get = async (sql: Sql, workspaceId: string, id: string) => {
    const r = await one(sql, `${INBOX_SELECT} WHERE i.id = $1 AND i.workspace_id = $2 AND i.deleted_at IS NULL`, [id, workspaceId]);
    if (!r) throw notFound('inbox');
    return presentInbox(r);
  };
  return {
    get(actor: Actor, id: string): Promise<Inbox> {
      if (actor.kind === 'visitor') throw forbidden();
      return get(db, actor.workspaceId, id);
    },
    async list(actor: Actor): Promise<Inbox[]> {
      if (actor.kind === 'visitor') throw forbidden();
      const rows = await db.query(`${INBOX_SELECT} WHERE i.workspace_id = $1 AND i.deleted_at IS NULL ORDER BY i.created_at`, [actor.workspaceId]);
      return rows.map(presentInbox);
    },
    /** Public lookup by the widget's publicId (not a secret); also checks the Origin. */
    async getPublic(publicId: string, origin: string | undefined): Promise<Inbox & { workspaceId: string }> {
      const r = await one(db, `${INBOX_SELECT} WHERE i.public_id = $1 AND i.deleted_at IS NULL`, [publicId]);
      if (!r) throw notFound('inbox');
      const inbox = presentInbox(r);
      if (!originAllowed(inbox.allowedOrigins, origin)) {
        throw new AppError('origin_not_allowed', `origin ${origin} is not in this inbox's allowed origins; an admin can add it in the inbox settings`);
      }
      return { ...inbox, workspaceId: r.workspace_id as string };
    },
    async create(actor: Actor, input: { name: string; channelType: ChannelType; allowedOrigins: string[]; widget: Partial<WidgetSettings> }): Promise<Inbox> {
      requirePermission(actor, 'inbox.manage');
      if (!channelTypes.includes(input.channelType)) {
        throw invalid('body.channelType', `this server has no "${input.channelType}" channel; available: ${channelTypes.join(', ')}`);
      }
      return db.transaction(async (tx) => {
        const r = await one(
          tx,
          `INSERT INTO inboxes (workspace_id, name, channel_type, public_id, allowed_origins, widget) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
          [actor.workspaceId, input.name, input.channelType, randomBytes(12).toString('base64url'), input.allowedOrigins, JSON.stringify(WidgetSettings.parse(input.widget))],
        );
        await recordAudit(tx, actor, 'inbox.created', { type: 'inbox', id: r!.id as string }, { name: input.name, channelType: input.channelType });
        return get(tx, actor.workspaceId, r!.id as string);
      });
    },
    async update(actor: Actor, id: string, patch: { name?: string | undefined; allowedOrigins?: string[] | undefined; widget?: Partial<WidgetSettings> | undefined }): Promise<Inbox> {
      requirePermission(actor, 'inbox.manage');
      return db.transaction(async (tx) => {
        const before = await get(tx, actor.workspaceId, id);
        await tx.query(`UPDATE inboxes SET name = $3, allowed_origins = $4, widget = $5 WHERE id = $1 AND workspace_id = $2`, [
          id,
          actor.workspaceId,
          patch.name ?? before.name,
          patch.allowedOrigins ?? before.allowedOrigins,
          JSON.stringify(WidgetSettings.parse({ ...before.widget, ...(patch.widget ?? {}) })),
        ]);
        if (patch.allowedOrigins) {
          await recordAudit(tx, actor, 'inbox.origins_changed', { type: 'inbox', id }, { from: before.allowedOrigins, to: patch.allowedOrigins });
        }
        return get(tx, actor.workspaceId, id);
      });
    },
    async remove(actor: Actor, id: string): Promise<void> {
      requirePermission(actor, 'inbox.manage');
      await db.transaction(async (tx) => {
        await get(tx, actor.workspaceId, id);
        // Soft delete: conversations and messages stay for history and reports.
        await tx.query(`UPDATE inboxes SET deleted_at = now() WHERE id = $1 AND workspace_id = $2`, [id, actor.workspaceId]);
        await recordAudit(tx, actor, 'inbox.deleted', { type: 'inbox', id });
      });
    },
    async setMembers(actor: Actor, id: string, userIds: string[]): Promise<Inbox> {
      requirePermission(actor, 'inbox.manage');
      const inbox = await db.transaction(async (tx) => {
        await get(tx, actor.workspaceId, id);
        await assertWorkspaceUsers(tx, actor.workspaceId, userIds, 'body.userIds');
        await tx.query(`DELETE FROM inbox_members WHERE inbox_id = $1`, [id]);
        await tx.query(`INSERT INTO inbox_members (workspace_id, inbox_id, user_id) SELECT $1, $2, unnest($3::uuid[]) ON CONFLICT DO NOTHING`, [actor.workspaceId, id, userIds]);
        await recordAudit(tx, actor, 'inbox.members_set', { type: 'inbox', id }, { userIds });
        return get(tx, actor.workspaceId, id);
      });
      events.emit('inbox.members_changed', { workspaceId: actor.workspaceId, inboxId: id });
      return inbox;
    },
    /** Inbox ids whose conversations the user may see; null = all (conversation.read_all). */
    async visibleInboxIds(actor: Actor): Promise<string[] | null> {
      if (actor.kind === 'system') return null;
      if (actor.kind === 'visitor') return [actor.inboxId];
      if (actor.permissions.has('conversation.read_all')) return null;
      if (!actor.permissions.has('conversation.read')) return [];
      const rows = await db.query<{ inbox_id: string }>(`SELECT inbox_id FROM inbox_members WHERE user_id = $1 AND workspace_id = $2`, [actor.userId, actor.workspaceId]);
      return rows.map((r) => r.inbox_id);
    },
  };
}
export type InboxService = ReturnType<typeof createInboxService>;
