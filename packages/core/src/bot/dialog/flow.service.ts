import { FlowDocument, type BotFlow } from '@huiliu/contracts';
import type { Database, Row, Sql } from '../../db/database.ts';
import { one } from '../../db/database.ts';
import type { Actor } from '../../auth/actor.ts';
import { requirePermission } from '../../auth/actor.ts';
import { recordAudit } from '../../audit/audit.service.ts';
import { AppError, invalid, isUniqueViolation, notFound } from '../../shared/errors.ts';
import type { DomainEvents } from '../../shared/events.ts';
import { hasErrors, validateFlow, type FlowIssue } from './flow-validation.ts';

/**
 * Bot flows: drafts edited in the console, published as immutable numbered versions (bot_flow_versions).
 *
 * Saving a draft accepts any document of the right shape (zod, at the route) — an admin half-way through
 * building a flow may have dangling transitions. Publishing runs the full validation (flow-validation.ts)
 * against the workspace's intents and entities and refuses with `validation_failed`, one issue per problem
 * naming the step; warnings do not block publishing. Issue paths are relative to the document (`steps.3.next`).
 *
 * The bot runtime reads `publishedFlows(workspaceId)` on every customer message, so it is cached per
 * workspace. This node drops its cached copy on every change it makes; other nodes of a cluster pick a
 * change up when their copy expires (`cacheTtlMs`) — a relayed event would make that immediate (follow-up).
 */

export interface KnownNlu {
  intents: string[];
  entities: string[];
}

export interface RuntimeFlow {
  id: string;
  name: string;
  version: number;
  document: FlowDocument;
}

export interface FlowServiceDeps {
  db: Database;
  /** Intent and entity names of a workspace, for validation (see knownNlu). */
  known: (workspaceId: string) => Promise<KnownNlu>;
  /** When given, `cluster.resync` (this node may have missed changes) drops the cache. */
  events?: DomainEvents;
  /** How long another node's change may go unseen by this node's runtime cache. Default 30 s. */
  cacheTtlMs?: number;
  now?: () => number;
}

/** Intent and entity names from the lead's NLU tables (migration 20261126090000_bot.sql). */
export function knownNlu(db: Sql): (workspaceId: string) => Promise<KnownNlu> {
  return async (workspaceId) => {
    const [intents, entities] = await Promise.all([
      db.query<{ name: string }>(`SELECT name FROM bot_intents WHERE workspace_id = $1`, [workspaceId]),
      db.query<{ name: string }>(`SELECT name FROM bot_entities WHERE workspace_id = $1`, [workspaceId]),
    ]);
    return { intents: intents.map((r) => r.name), entities: entities.map((r) => r.name) };
  };
}

function present(r: Row): BotFlow {
  return {
    id: r.id as string,
    name: r.name as string,
    description: r.description as string,
    draft: r.draft as FlowDocument,
    published: (r.published as FlowDocument | null) ?? null,
    version: Number(r.version),
    enabled: r.enabled as boolean,
    updatedAt: r.updated_at as string,
    publishedAt: (r.published_at as string | null) ?? null,
  };
}

/** Validation failed: the error the console shows, one issue per problem (warnings left out). */
export function flowValidationError(name: string, issues: FlowIssue[]): AppError {
  const errors = issues.filter((i) => i.severity === 'error');
  const first = errors[0]?.message ?? 'the flow is not valid';
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more problem${errors.length > 2 ? 's' : ''})` : '';
  return new AppError(
    'validation_failed',
    `the flow "${name}" cannot be published: ${first}${more}`,
    errors.map(({ path, message }) => ({ path, message })),
  );
}

export function createFlowService(deps: FlowServiceDeps) {
  const { db, known } = deps;
  const ttl = deps.cacheTtlMs ?? 30_000;
  const now = deps.now ?? Date.now;
  const cache = new Map<string, { at: number; flows: Promise<RuntimeFlow[]> }>();
  /** Published versions never change, so they are cached without expiry (bounded). */
  const versionCache = new Map<string, RuntimeFlow>();
  const invalidate = (workspaceId: string) => cache.delete(workspaceId);
  deps.events?.on('cluster.resync', () => cache.clear());

  const uniqueName = (err: unknown): never => {
    if (isUniqueViolation(err)) throw invalid('body.name', 'a flow with this name already exists in this workspace');
    throw err;
  };
  const userId = (actor: Actor) => (actor.kind === 'user' ? actor.userId : null);

  async function load(sql: Sql, workspaceId: string, id: string, lock = false): Promise<Row> {
    const r = await one(sql, `SELECT * FROM bot_flows WHERE id = $1 AND workspace_id = $2${lock ? ' FOR UPDATE' : ''}`, [id, workspaceId]);
    if (!r) throw notFound('flow');
    return r;
  }

  async function readPublished(workspaceId: string): Promise<RuntimeFlow[]> {
    const rows = await db.query(
      `SELECT id, name, version, published FROM bot_flows WHERE workspace_id = $1 AND enabled AND published IS NOT NULL ORDER BY name`,
      [workspaceId],
    );
    const flows: RuntimeFlow[] = [];
    for (const r of rows) {
      // Stored documents passed this schema when published; one that no longer does (an older contract)
      // is skipped rather than breaking every conversation of the workspace.
      const parsed = FlowDocument.safeParse(r.published);
      if (parsed.success) flows.push({ id: r.id as string, name: r.name as string, version: Number(r.version), document: parsed.data });
    }
    return flows;
  }

  return {
    async list(actor: Actor): Promise<BotFlow[]> {
      requirePermission(actor, 'bot.manage');
      const rows = await db.query(`SELECT * FROM bot_flows WHERE workspace_id = $1 ORDER BY name LIMIT 500`, [actor.workspaceId]);
      return rows.map(present);
    },

    async get(actor: Actor, id: string): Promise<BotFlow> {
      requirePermission(actor, 'bot.manage');
      return present(await load(db, actor.workspaceId, id));
    },

    /** A new flow with a draft of the right shape (not published: the bot does not run it yet). */
    async create(actor: Actor, body: { name: string; description?: string | undefined; draft: FlowDocument }): Promise<BotFlow> {
      requirePermission(actor, 'bot.manage');
      const draft = FlowDocument.parse(body.draft);
      const r = await one(
        db,
        `INSERT INTO bot_flows (workspace_id, name, description, draft, created_by) VALUES ($1, $2, $3, $4::text::jsonb, $5) RETURNING *`,
        [actor.workspaceId, body.name, body.description ?? '', JSON.stringify(draft), userId(actor)],
      ).catch(uniqueName);
      return present(r!);
    },

    async update(
      actor: Actor,
      id: string,
      body: { name?: string | undefined; description?: string | undefined; draft?: FlowDocument | undefined; enabled?: boolean | undefined },
    ): Promise<BotFlow> {
      requirePermission(actor, 'bot.manage');
      const draft = body.draft === undefined ? null : JSON.stringify(FlowDocument.parse(body.draft));
      const r = await one(
        db,
        `UPDATE bot_flows SET name = COALESCE($3, name), description = COALESCE($4, description), draft = COALESCE($5::text::jsonb, draft),
           enabled = COALESCE($6, enabled), updated_at = now()
         WHERE id = $1 AND workspace_id = $2 RETURNING *`,
        [id, actor.workspaceId, body.name ?? null, body.description ?? null, draft, body.enabled ?? null],
      ).catch(uniqueName);
      if (!r) throw notFound('flow');
      // enabled (and the name the runtime reports) change what the bot runs.
      invalidate(actor.workspaceId);
      return present(r);
    },

    async remove(actor: Actor, id: string): Promise<void> {
      requirePermission(actor, 'bot.manage');
      await db.transaction(async (tx) => {
        const rows = await tx.query(`DELETE FROM bot_flows WHERE id = $1 AND workspace_id = $2 RETURNING name, version`, [id, actor.workspaceId]);
        if (rows.length === 0) throw notFound('flow');
        await recordAudit(tx, actor, 'bot.flow_deleted', { type: 'bot_flow', id }, { name: rows[0]!.name, version: Number(rows[0]!.version) });
      });
      invalidate(actor.workspaceId);
    },

    /** Validates the draft fully and makes it the next version customers talk to. */
    async publish(actor: Actor, id: string): Promise<BotFlow> {
      requirePermission(actor, 'bot.manage');
      const names = await known(actor.workspaceId);
      const published = await db.transaction(async (tx) => {
        // The row lock serializes concurrent publishes of one flow (version numbers stay dense).
        const cur = await load(tx, actor.workspaceId, id, true);
        const { document, issues } = validateFlow(cur.draft, names);
        if (!document || hasErrors(issues)) throw flowValidationError(cur.name as string, issues);
        const version = Number(cur.version) + 1;
        const json = JSON.stringify(document);
        await tx.query(`INSERT INTO bot_flow_versions (flow_id, version, document, published_by) VALUES ($1, $2, $3::text::jsonb, $4)`, [id, version, json, userId(actor)]);
        const r = await one(
          tx,
          `UPDATE bot_flows SET published = $3::text::jsonb, version = $4, published_at = now(), updated_at = now() WHERE id = $1 AND workspace_id = $2 RETURNING *`,
          [id, actor.workspaceId, json, version],
        );
        await recordAudit(tx, actor, 'bot.flow_published', { type: 'bot_flow', id }, { name: cur.name, version, warnings: issues.length });
        return present(r!);
      });
      invalidate(actor.workspaceId);
      return published;
    },

    async versions(actor: Actor, id: string): Promise<Array<{ version: number; document: FlowDocument; publishedAt: string; publishedBy: string | null }>> {
      requirePermission(actor, 'bot.manage');
      await load(db, actor.workspaceId, id);
      const rows = await db.query(`SELECT version, document, published_at, published_by FROM bot_flow_versions WHERE flow_id = $1 ORDER BY version DESC`, [id]);
      return rows.map((r) => ({
        version: Number(r.version),
        document: r.document as FlowDocument,
        publishedAt: r.published_at as string,
        publishedBy: (r.published_by as string | null) ?? null,
      }));
    },

    /** The console's "check" button: every problem and warning, without saving anything. */
    async validate(actor: Actor, document: unknown): Promise<{ issues: FlowIssue[] }> {
      requirePermission(actor, 'bot.manage');
      return { issues: validateFlow(document, await known(actor.workspaceId)).issues };
    },

    // --- for the bot runtime (no actor: the workspace comes from the conversation) ---

    /** Enabled, published flows of a workspace (cached; see the module comment). */
    publishedFlows(workspaceId: string): Promise<RuntimeFlow[]> {
      const hit = cache.get(workspaceId);
      if (hit && now() - hit.at < ttl) return hit.flows;
      const flows = readPublished(workspaceId);
      cache.set(workspaceId, { at: now(), flows });
      // A failed read is not cached: the next message tries again.
      flows.catch(() => {
        if (cache.get(workspaceId)?.flows === flows) cache.delete(workspaceId);
      });
      return flows;
    },

    /**
     * One published version (a conversation keeps the version it started with, even after a new publish).
     * null when the flow was deleted or belongs to another workspace.
     */
    async publishedVersion(workspaceId: string, id: string, version: number): Promise<RuntimeFlow | null> {
      const key = `${workspaceId}:${id}:${version}`;
      const hit = versionCache.get(key);
      if (hit) return hit;
      const r = await one(
        db,
        `SELECT f.name, v.document FROM bot_flow_versions v JOIN bot_flows f ON f.id = v.flow_id WHERE v.flow_id = $1 AND v.version = $2 AND f.workspace_id = $3`,
        [id, version, workspaceId],
      );
      if (!r) return null;
      const parsed = FlowDocument.safeParse(r.document);
      if (!parsed.success) return null;
      const flow = { id, name: r.name as string, version, document: parsed.data };
      if (versionCache.size >= 1000) versionCache.delete(versionCache.keys().next().value!);
      versionCache.set(key, flow);
      return flow;
    },

    /** The draft, for the simulator ("chat with a draft before publishing"); null when not found. */
    async draftFlow(workspaceId: string, id: string): Promise<RuntimeFlow | null> {
      const r = await one(db, `SELECT id, name, version, draft FROM bot_flows WHERE id = $1 AND workspace_id = $2`, [id, workspaceId]);
      if (!r) return null;
      const parsed = FlowDocument.safeParse(r.draft);
      if (!parsed.success) return null;
      return { id: r.id as string, name: r.name as string, version: Number(r.version), document: parsed.data };
    },
  };
}
export type FlowService = ReturnType<typeof createFlowService>;
