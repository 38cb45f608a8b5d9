/**
 * The channel side of an inbox: which adapter serves it, its non-secret settings (inboxes.channel_config,
 * validated with the adapter's configSchema) and its credentials (the vault, under
 * `channel:<inboxId>:<secretName>`, never returned — only whether each is set and a hint of its last
 * characters). `contextFor` assembles what an adapter call needs (ChannelContext): parsed config,
 * decrypted secrets, the SSRF-safe HTTP client with the workspace's allowlist, the public webhook URL.
 *
 * The adapters map is a dependency (production: `channelAdapters` of @huiliu/channels) so tests can run
 * the whole server with a fake adapter.
 */
import { z } from 'zod';
import type {
  ChannelAdapter, ChannelCapabilities as AdapterCapabilities, ChannelContext, ChannelHttp, ChannelHttpResponse, ChannelLogger,
} from '@huiliu/channels';
import { ChannelError } from '@huiliu/channels';
import type { ChannelCapabilities, ChannelKindInfo, ChannelSecretInfo, ChannelType, FieldIssue, InboxChannel, UpdateInboxChannelBody } from '@huiliu/contracts';
import type { Database, Row, Sql } from '../db/database.ts';
import { one } from '../db/database.ts';
import type { Actor } from '../auth/actor.ts';
import { requirePermission } from '../auth/actor.ts';
import { AppError, conflict, forbidden, invalid, notFound } from '../shared/errors.ts';
import type { DomainEvents } from '../shared/events.ts';
import type { Logger } from '../shared/logger.ts';
import type { Vault } from '../vault/vault.ts';
import type { SafeRequestInit, SafeResponse } from '../net/safe-http.ts';
import type { SharedTokenStore } from './shared-tokens.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { toFieldIssues, validationError } from '../routing/rules/zod-issues.ts';

export type ChannelAdapters = ReadonlyMap<ChannelType, ChannelAdapter<any>>;

/** The inbox fields channel code needs. */
export interface ChannelInbox {
  id: string;
  workspaceId: string;
  publicId: string;
  name: string;
  channelType: ChannelType;
}

/** Everything one adapter call needs for one inbox. */
export interface ChannelRuntime {
  inbox: ChannelInbox;
  adapter: ChannelAdapter<any>;
  ctx: ChannelContext<any>;
}

export interface ChannelCheckResult {
  ok: boolean;
  message: string | null;
}

/** Media downloads and API calls of adapters: at most this much per response unless the adapter asks. */
const DEFAULT_MAX_BYTES = 25 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 15_000;

/** What the web widget carries (its own protocol; no adapter). Shown for completeness in the console. */
const WEB_CAPABILITIES: ChannelCapabilities = {
  contentTypes: ['text', 'image', 'file', 'audio', 'video', 'location', 'card'],
  maxTextLength: 10_000,
  maxMediaBytes: 20 * 1024 * 1024,
  typing: true,
  readReceipts: true,
  deliveryReports: false,
  templates: false,
  sendWindow: null,
};

/** When an adapter cannot compute capabilities from an unfinished config: text only, nothing promised. */
const UNKNOWN_CAPABILITIES: ChannelCapabilities = {
  contentTypes: ['text'],
  maxTextLength: 4096,
  maxMediaBytes: 0,
  typing: false,
  readReceipts: false,
  deliveryReports: false,
  templates: false,
  sendWindow: null,
};

export const channelSecretName = (inboxId: string, name: string) => `channel:${inboxId}:${name}`;

function presentInbox(r: Row): ChannelInbox {
  return {
    id: r.id as string,
    workspaceId: r.workspace_id as string,
    publicId: r.public_id as string,
    name: r.name as string,
    channelType: r.channel_type as ChannelType,
  };
}

/** core's SafeResponse → the adapter's ChannelHttpResponse. */
function toChannelResponse(r: SafeResponse): ChannelHttpResponse {
  const headers: Record<string, string> = {};
  r.headers.forEach((v, k) => {
    headers[k.toLowerCase()] = v;
  });
  return {
    status: r.status,
    headers,
    body: r.body,
    text: () => r.body.toString('utf8'),
    json: () => JSON.parse(r.body.toString('utf8')) as unknown,
  };
}

/**
 * Adapters speak ChannelError: a refused address is final (retrying cannot make it public), an oversized
 * body is media_too_large, anything else on the wire is a retryable network problem.
 */
function toChannelError(err: unknown): unknown {
  if (!(err instanceof AppError)) return err;
  if (err.code === 'ssrf_blocked') return Object.assign(new ChannelError('network', err.message, { retryable: false }), { cause: err, ssrfBlocked: true });
  if (err.code === 'payload_too_large') return Object.assign(new ChannelError('media_too_large', err.message, { retryable: false }), { cause: err });
  if (err.code === 'validation_failed') return Object.assign(new ChannelError('network', err.message, { retryable: false }), { cause: err });
  return Object.assign(new ChannelError('network', err.message), { cause: err });
}

function adapterLogger(logger: Logger): ChannelLogger {
  return {
    info: (obj, msg) => logger.info(obj, msg),
    warn: (obj, msg) => logger.warn(obj, msg),
    error: (obj, msg) => logger.error(obj, msg),
  };
}

export function createChannelConfigService(deps: {
  db: Database;
  events: DomainEvents;
  logger: Logger;
  adapters: ChannelAdapters;
  /** The vault on a given connection, so secret changes commit with the config change and the audit entry. */
  vaultIn: (sql: Sql) => Vault;
  /** services.fetchForWorkspace: the SSRF-safe client with the workspace's allowlist. */
  fetch: (workspaceId: string, url: string, init: SafeRequestInit) => Promise<SafeResponse>;
  /** The public base URL (HUILIU_PUBLIC_URL), without trailing slash; a function because a test node learns its port late. */
  publicUrl: () => string;
  /** Platform access tokens shared by all nodes (ChannelContext.tokens), see shared-tokens.ts. */
  tokens: SharedTokenStore;
  now?: () => Date;
}) {
  const { db, events, adapters, vaultIn } = deps;
  const now = deps.now ?? (() => new Date());
  const log = deps.logger.child({ component: 'channels' });

  const webhookUrl = (publicId: string) => `${deps.publicUrl().replace(/\/$/, '')}/api/channels/v1/${publicId}/webhook`;

  function httpFor(workspaceId: string): ChannelHttp {
    return async (url, init = {}) => {
      try {
        const r = await deps.fetch(workspaceId, url, {
          method: init.method ?? 'GET',
          ...(init.headers ? { headers: init.headers } : {}),
          ...(init.body !== undefined ? { body: typeof init.body === 'string' ? init.body : new Uint8Array(init.body) } : {}),
          timeoutMs: init.timeoutMs ?? DEFAULT_TIMEOUT_MS,
          maxResponseBytes: init.maxBytes ?? DEFAULT_MAX_BYTES,
        });
        return toChannelResponse(r);
      } catch (err) {
        throw toChannelError(err);
      }
    };
  }

  async function inboxRow(sql: Sql, workspaceId: string, inboxId: string): Promise<Row> {
    const r = await one(
      sql,
      `SELECT i.id, i.workspace_id, i.public_id, i.name, i.channel_type, i.channel_config, s.last_error
       FROM inboxes i LEFT JOIN channel_inbound_state s ON s.inbox_id = i.id AND s.workspace_id = i.workspace_id
       WHERE i.id = $1 AND i.workspace_id = $2 AND i.deleted_at IS NULL`,
      [inboxId, workspaceId],
    );
    if (!r) throw notFound('inbox');
    return r;
  }

  const storedConfig = (r: Row): Record<string, unknown> => ((r.channel_config as Record<string, unknown> | null) ?? {});

  /** The names of this inbox's secrets that are set, with their hints. */
  async function secretHints(sql: Sql, workspaceId: string, inboxId: string): Promise<Map<string, string>> {
    const prefix = channelSecretName(inboxId, '');
    const list = await vaultIn(sql).list(workspaceId);
    return new Map(list.filter((s) => s.name.startsWith(prefix)).map((s) => [s.name.slice(prefix.length), s.hint]));
  }

  /** Why the channel cannot run yet, in words an admin can act on; null when ready. */
  function notReadyReason(adapter: ChannelAdapter<any>, config: Record<string, unknown>, setSecrets: ReadonlySet<string>): string | null {
    const missing = adapter.secrets.filter((s) => s.required && !setSecrets.has(s.name)).map((s) => `"${s.name}"`);
    if (missing.length) return `the secret${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not set`;
    const parsed = adapter.configSchema.safeParse(config);
    if (!parsed.success) {
      const first = toFieldIssues(parsed.error, 'config')[0];
      return `the settings are incomplete (${first ? `${first.path}: ${first.message}` : 'invalid'})`;
    }
    return null;
  }

  function capabilitiesOf(adapter: ChannelAdapter<any>, config: Record<string, unknown>): ChannelCapabilities {
    const parsed = adapter.configSchema.safeParse(config);
    try {
      return adapter.capabilities((parsed.success ? parsed.data : config) as never) as AdapterCapabilities as ChannelCapabilities;
    } catch {
      return UNKNOWN_CAPABILITIES;
    }
  }

  function adapterOf(kind: ChannelType): ChannelAdapter<any> {
    const adapter = adapters.get(kind);
    if (!adapter) throw conflict(`this server has no "${kind}" channel adapter; the inbox cannot send or receive until one is installed`);
    return adapter;
  }

  async function present(sql: Sql, r: Row): Promise<InboxChannel> {
    const inbox = presentInbox(r);
    if (inbox.channelType === 'web') {
      return { inboxId: inbox.id, kind: 'web', config: {}, secrets: [], webhookUrl: '', capabilities: WEB_CAPABILITIES, ready: true, lastError: null };
    }
    const adapter = adapterOf(inbox.channelType);
    const config = storedConfig(r);
    const hints = await secretHints(sql, inbox.workspaceId, inbox.id);
    const secrets: ChannelSecretInfo[] = adapter.secrets.map((s) => ({ name: s.name, label: s.label, required: s.required, set: hints.has(s.name), hint: hints.get(s.name) ?? null }));
    return {
      inboxId: inbox.id,
      kind: inbox.channelType,
      config,
      secrets,
      webhookUrl: adapter.receive ? webhookUrl(inbox.publicId) : '',
      capabilities: capabilitiesOf(adapter, config),
      ready: notReadyReason(adapter, config, new Set(hints.keys())) === null,
      lastError: (r.last_error as string | null) ?? null,
    };
  }

  function requireAdmin(actor: Actor): void {
    if (actor.kind === 'visitor') throw forbidden();
    requirePermission(actor, 'inbox.manage');
  }

  async function runtimeFor(r: Row, logger: ChannelLogger | undefined): Promise<ChannelRuntime> {
    const inbox = presentInbox(r);
    const adapter = adapters.get(inbox.channelType);
    if (!adapter) throw notFound('channel');
    const secrets: Record<string, string> = {};
    const vault = vaultIn(db);
    for (const s of adapter.secrets) {
      const value = await vault.get(inbox.workspaceId, channelSecretName(inbox.id, s.name));
      if (value !== undefined) secrets[s.name] = value;
    }
    const config = storedConfig(r);
    const reason = notReadyReason(adapter, config, new Set(Object.keys(secrets)));
    if (reason) throw conflict(`the channel of this inbox is not ready: ${reason}; an admin can finish it under Admin → Inboxes`);
    const ctx: ChannelContext<any> = {
      config: adapter.configSchema.parse(config),
      secrets: Object.freeze(secrets),
      http: httpFor(inbox.workspaceId),
      webhookUrl: webhookUrl(inbox.publicId),
      now,
      logger: logger ?? adapterLogger(log.child({ inboxId: inbox.id, channel: inbox.channelType })),
      tokens: deps.tokens.forInbox(inbox.workspaceId, inbox.id),
    };
    return { inbox, adapter, ctx };
  }

  return {
    adapters,
    webhookUrl,

    /** GET /api/v1/channels: the channel kinds this server can run, with what their settings form needs. */
    catalogue(actor: Actor): ChannelKindInfo[] {
      if (actor.kind === 'visitor') throw forbidden();
      return [...adapters.values()].map((a) => {
        const schema = z.toJSONSchema(a.configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
        delete schema.$schema;
        return {
          kind: a.kind,
          displayName: a.displayName,
          configSchema: schema,
          secrets: a.secrets.map((s) => ({ name: s.name, label: s.label, required: s.required })),
          inbound: a.receive ? ('webhook' as const) : ('poll' as const),
        };
      });
    },

    /** Channel kinds an inbox may be created with: the web widget and every kind with an adapter. */
    supportedKinds(): ChannelType[] {
      return ['web', ...adapters.keys()];
    },

    async get(actor: Actor, inboxId: string): Promise<InboxChannel> {
      requireAdmin(actor);
      return present(db, await inboxRow(db, actor.workspaceId, inboxId));
    },

    /**
     * PUT /api/v1/inboxes/:id/channel. `config` replaces the settings (validated, errors name
     * `config.<field>`); each secret: a value sets it, null deletes it, absent keeps it. One transaction
     * with the audit entry, which names changed setting keys and secret names, never values.
     */
    async update(actor: Actor, inboxId: string, body: UpdateInboxChannelBody): Promise<InboxChannel> {
      requireAdmin(actor);
      const result = await db.transaction(async (tx) => {
        const r = await inboxRow(tx, actor.workspaceId, inboxId);
        const kind = r.channel_type as ChannelType;
        const secretsIn = Object.entries(body.secrets ?? {});
        if (kind === 'web') {
          if (Object.keys(body.config ?? {}).length || secretsIn.length) {
            throw invalid('body', 'a web widget inbox has no channel settings; change it with PATCH /api/v1/inboxes/:id (widget, allowedOrigins)');
          }
          return { channel: await present(tx, r), changed: false };
        }
        const adapter = adapterOf(kind);
        const known = new Set(adapter.secrets.map((s) => s.name));
        const unknown: FieldIssue[] = secretsIn
          .filter(([name]) => !known.has(name))
          .map(([name]) => ({ path: `secrets.${name}`, message: `unknown secret; the ${adapter.displayName} channel takes: ${[...known].join(', ') || 'none'}` }));
        if (unknown.length) throw validationError(unknown, 'unknown secret');

        const before = storedConfig(r);
        let configKeys: string[] = [];
        if (body.config !== undefined) {
          const parsed = adapter.configSchema.safeParse(body.config);
          if (!parsed.success) throw validationError(toFieldIssues(parsed.error, 'config'), 'config: invalid');
          // Stored as sent (the schema is strict, so nothing unknown gets in): defaults stay defaults.
          const next = body.config;
          configKeys = [...new Set([...Object.keys(before), ...Object.keys(next)])].filter((k) => JSON.stringify(before[k]) !== JSON.stringify(next[k])).sort();
          if (configKeys.length) {
            await tx.query(`UPDATE inboxes SET channel_config = $3 WHERE id = $1 AND workspace_id = $2`, [inboxId, actor.workspaceId, JSON.stringify(next)]);
          }
        }
        const vault = vaultIn(tx);
        const set: string[] = [];
        const removed: string[] = [];
        for (const [name, value] of secretsIn) {
          if (value === null) {
            if (await vault.remove(actor.workspaceId, channelSecretName(inboxId, name))) removed.push(name);
          } else {
            await vault.put(actor.workspaceId, channelSecretName(inboxId, name), value);
            set.push(name);
          }
        }
        const changed = configKeys.length > 0 || set.length > 0 || removed.length > 0;
        if (changed) {
          await tx.query(`UPDATE inboxes SET channel_updated_at = now() WHERE id = $1 AND workspace_id = $2`, [inboxId, actor.workspaceId]);
          // New settings, new attempt: the previous connection error no longer describes them.
          await tx.query(`UPDATE channel_inbound_state SET last_error = NULL, last_error_at = NULL WHERE inbox_id = $1 AND workspace_id = $2`, [inboxId, actor.workspaceId]);
          // Cached access tokens were issued for the old credentials (another AppID, a revoked secret).
          await tx.query(`DELETE FROM channel_tokens WHERE inbox_id = $1 AND workspace_id = $2`, [inboxId, actor.workspaceId]);
          await recordAudit(tx, actor, 'inbox.channel_updated', { type: 'inbox', id: inboxId }, { kind, configKeys, secretsSet: set.sort(), secretsRemoved: removed.sort() });
        }
        return { channel: await present(tx, await inboxRow(tx, actor.workspaceId, inboxId)), changed };
      });
      if (result.changed) events.emit('inbox.channel_changed', { workspaceId: actor.workspaceId, inboxId });
      return result.channel;
    },

    /** POST /api/v1/inboxes/:id/channel/check: the console's "test connection". */
    async check(actor: Actor, inboxId: string): Promise<ChannelCheckResult> {
      requireAdmin(actor);
      const r = await inboxRow(db, actor.workspaceId, inboxId);
      if (r.channel_type === 'web') return { ok: true, message: null };
      adapterOf(r.channel_type as ChannelType);
      let runtime: ChannelRuntime;
      try {
        runtime = await runtimeFor(r, undefined);
      } catch (err) {
        if (err instanceof AppError && err.code === 'conflict') return { ok: false, message: err.message };
        throw err;
      }
      if (!runtime.adapter.check) return { ok: true, message: 'settings are complete; this channel has no connection test' };
      try {
        const res = await runtime.adapter.check(runtime.ctx);
        return res.ok ? { ok: true, message: null } : { ok: false, message: res.message };
      } catch (err) {
        log.warn({ inboxId, code: (err as ChannelError).code, reason: (err as Error).message }, 'channel check failed');
        return { ok: false, message: err instanceof Error ? err.message : 'the check failed' };
      }
    },

    /**
     * The adapter and its context for one inbox. Throws not_found (no such inbox in the workspace, or
     * no adapter for its kind) or conflict (a required secret or setting is missing).
     * `logger` replaces the default (pollers record errors through it).
     */
    async contextFor(workspaceId: string, inboxId: string, opts: { logger?: ChannelLogger } = {}): Promise<ChannelRuntime> {
      return runtimeFor(await inboxRow(db, workspaceId, inboxId), opts.logger);
    },

    /** The same, from the public id in a webhook URL (no workspace known yet: the public id is unique). */
    async runtimeByPublicId(publicId: string): Promise<ChannelRuntime> {
      const r = await one(
        db,
        `SELECT id, workspace_id, public_id, name, channel_type, channel_config FROM inboxes WHERE public_id = $1 AND deleted_at IS NULL`,
        [publicId],
      );
      if (!r) throw notFound('inbox');
      if (!adapters.get(r.channel_type as ChannelType)) throw notFound('channel webhook');
      return runtimeFor(r, undefined);
    },

    /**
     * Clears InboxChannel.lastError only if it starts with `prefix`: a background task (pulls, session
     * sync) that succeeds again clears its own earlier error, not another task's.
     */
    async clearErrorStartingWith(workspaceId: string, inboxId: string, prefix: string): Promise<void> {
      await db.query(
        `UPDATE channel_inbound_state SET last_error = NULL, last_error_at = NULL, updated_at = now()
         WHERE inbox_id = $1 AND workspace_id = $2 AND left(last_error, length($3::text)) = $3::text`,
        [inboxId, workspaceId, prefix],
      );
    },

    /** Records (or clears, with null) the inbound connection problem shown as InboxChannel.lastError. */
    async recordError(workspaceId: string, inboxId: string, message: string | null): Promise<void> {
      await db.query(
        `INSERT INTO channel_inbound_state (inbox_id, workspace_id, last_error, last_error_at) VALUES ($1, $2, $3, CASE WHEN $3::text IS NULL THEN NULL ELSE now() END)
         ON CONFLICT (inbox_id) DO UPDATE SET last_error = EXCLUDED.last_error, last_error_at = EXCLUDED.last_error_at, updated_at = now()
         WHERE channel_inbound_state.workspace_id = EXCLUDED.workspace_id AND channel_inbound_state.last_error IS DISTINCT FROM EXCLUDED.last_error`,
        [inboxId, workspaceId, message === null ? null : message.slice(0, 1000)],
      );
    },
  };
}
export type ChannelConfigService = ReturnType<typeof createChannelConfigService>;
