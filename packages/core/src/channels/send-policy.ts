/**
 * What an agent may send in a conversation of an external channel, decided once for the composer
 * (GET /conversations/:id/send-window) and for the server's refusal (message.service.ts): the send window
 * and quota (send-window.ts), the content types the channel carries, its text and media limits, templates.
 *
 * Window, quota, content types and limits are refused up front because such a message would never
 * arrive. A channel that is not configured yet is only reported: the message is stored and its delivery
 * fails visibly ("channel not configured"), so the agent can retry once an admin finished the settings.
 * Private notes never leave Huiliu and are never restricted.
 */
import type { ChannelCapabilities, ChannelType, SendMessageBody, SendWindowStatus } from '@huiliu/contracts';
import type { ChannelAdapter } from '@huiliu/channels';
import type { Database, Sql } from '../db/database.ts';
import { one } from '../db/database.ts';
import type { Actor } from '../auth/actor.ts';
import { requirePermission } from '../auth/actor.ts';
import { AppError, invalid, notFound } from '../shared/errors.ts';
import type { InboxService } from '../inboxes/inbox.service.ts';
import { evaluateSendWindow } from './send-window.ts';
import type { ChannelRuntime } from './channel-config.service.ts';

/** The channel side of an inbox as outbound code needs it. */
export interface OutboundChannel {
  adapter: ChannelAdapter<any>;
  /** Parsed settings; null when they do not parse (not configured yet). */
  config: unknown;
  capabilities: ChannelCapabilities | null;
  ready: boolean;
  /** Why it is not ready, in words an admin acts on. */
  problem: string | null;
}

/** Null for the web widget (and kinds without an adapter on this server): no channel rules apply. */
export type ResolveOutboundChannel = (workspaceId: string, inboxId: string, channelType: ChannelType) => Promise<OutboundChannel | null>;

/**
 * Resolves through the channel config service's `contextFor` (parsed settings, secrets present); when
 * that refuses (not ready), the stored settings still tell the limits if they parse.
 */
export function outboundChannelResolver(deps: {
  db: Database;
  adapters: ReadonlyMap<ChannelType, ChannelAdapter<any>>;
  contextFor: (workspaceId: string, inboxId: string) => Promise<Pick<ChannelRuntime, 'adapter' | 'ctx'>>;
}): ResolveOutboundChannel {
  const capabilitiesOf = (adapter: ChannelAdapter<any>, config: unknown): ChannelCapabilities | null => {
    try {
      return adapter.capabilities(config) as ChannelCapabilities;
    } catch {
      return null;
    }
  };
  return async (workspaceId, inboxId, channelType) => {
    const adapter = deps.adapters.get(channelType);
    if (!adapter) return null;
    try {
      const rt = await deps.contextFor(workspaceId, inboxId);
      return { adapter: rt.adapter, config: rt.ctx.config, capabilities: capabilitiesOf(rt.adapter, rt.ctx.config), ready: true, problem: null };
    } catch (err) {
      if (!(err instanceof AppError) || err.code !== 'conflict') throw err;
      const r = await one(deps.db, `SELECT channel_config FROM inboxes WHERE id = $1 AND workspace_id = $2`, [inboxId, workspaceId]);
      const parsed = adapter.configSchema.safeParse(r?.channel_config ?? {});
      const config = parsed.success ? parsed.data : null;
      return { adapter, config, capabilities: parsed.success ? capabilitiesOf(adapter, config) : null, ready: false, problem: err.message };
    }
  };
}

/** The web widget speaks Huiliu's own protocol: everything, no window. */
export function webCapabilities(maxMediaBytes: number): ChannelCapabilities {
  return {
    contentTypes: ['text', 'image', 'file', 'audio', 'video', 'location', 'card'],
    maxTextLength: 65_536,
    maxMediaBytes,
    typing: true,
    readReceipts: true,
    deliveryReports: false,
    templates: false,
    sendWindow: null,
  };
}

const MB = 1024 * 1024;
const formatMb = (bytes: number) => `${Math.round((bytes / MB) * 10) / 10} MB`;

interface ConversationFacts {
  inboxId: string;
  channelType: ChannelType;
  lastIncomingAt: Date | null;
  identityReachable: boolean;
  /** The message with this client id is stored already: its retry gets the stored one, never a refusal. */
  alreadyStored: boolean;
}

async function loadFacts(sql: Sql, workspaceId: string, conversationId: string, inboxIds: string[] | null, clientId: string | null = null): Promise<ConversationFacts | undefined> {
  const r = await one(
    sql,
    `SELECT c.inbox_id, c.last_incoming_at, i.channel_type, ci.inbox_id AS identity_inbox_id,
       ($4::text IS NOT NULL AND EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.client_id = $4)) AS already_stored
     FROM conversations c
     JOIN inboxes i ON i.id = c.inbox_id AND i.workspace_id = c.workspace_id
     LEFT JOIN contact_identities ci ON ci.id = c.identity_id AND ci.workspace_id = c.workspace_id
     WHERE c.id = $1 AND c.workspace_id = $2 AND ($3::uuid[] IS NULL OR c.inbox_id = ANY($3::uuid[]))`,
    [conversationId, workspaceId, inboxIds, clientId],
  );
  if (!r) return undefined;
  return {
    inboxId: r.inbox_id as string,
    channelType: r.channel_type as ChannelType,
    lastIncomingAt: r.last_incoming_at ? new Date(r.last_incoming_at as string) : null,
    identityReachable: r.identity_inbox_id === r.inbox_id,
    alreadyStored: r.already_stored === true,
  };
}

/** Outgoing public messages since the customer last wrote; failed ones never reached them and do not count. */
async function outgoingSince(sql: Sql, workspaceId: string, conversationId: string, since: Date): Promise<number> {
  const r = await one<{ n: number }>(
    sql,
    `SELECT count(*)::int AS n FROM messages
     WHERE conversation_id = $1 AND workspace_id = $2 AND direction = 'outgoing' AND NOT private
       AND delivery_status <> 'failed' AND created_at > $3`,
    [conversationId, workspaceId, since.toISOString()],
  );
  return r?.n ?? 0;
}

export function createSendPolicy(deps: {
  db: Database;
  inboxes: InboxService;
  resolve: ResolveOutboundChannel;
  maxUploadBytes: number;
  now?: () => Date;
}) {
  const { db, inboxes, resolve } = deps;
  const now = deps.now ?? (() => new Date());

  async function windowOf(workspaceId: string, conversationId: string, facts: ConversationFacts, channel: OutboundChannel) {
    const rule = channel.capabilities?.sendWindow ?? null;
    const sent = rule?.maxMessages !== undefined && facts.lastIncomingAt ? await outgoingSince(db, workspaceId, conversationId, facts.lastIncomingAt) : 0;
    return evaluateSendWindow({ rule, lastCustomerMessageAt: facts.lastIncomingAt, outgoingSinceCustomer: sent, now: now(), channelName: channel.adapter.displayName });
  }

  return {
    /** For the composer: what may be sent now, and why not. */
    async status(actor: Actor, conversationId: string): Promise<SendWindowStatus> {
      if (actor.kind === 'visitor') throw notFound('conversation');
      if (actor.kind === 'user') requirePermission(actor, 'conversation.read');
      const facts = await loadFacts(db, actor.workspaceId, conversationId, await inboxes.visibleInboxIds(actor));
      if (!facts) throw notFound('conversation');
      const channel = await resolve(actor.workspaceId, facts.inboxId, facts.channelType);
      if (!channel) {
        return { channelType: facts.channelType, allowed: true, templatesOnly: false, reason: null, reasonCode: null, closesAt: null, remainingMessages: null, capabilities: webCapabilities(deps.maxUploadBytes) };
      }
      const name = channel.adapter.displayName;
      const capabilities = channel.capabilities ?? { ...webCapabilities(0), contentTypes: ['text'], typing: false, readReceipts: false };
      const base = { channelType: facts.channelType, capabilities, closesAt: null, remainingMessages: null };
      if (!channel.ready) {
        return { ...base, allowed: false, templatesOnly: false, reasonCode: 'channel_not_ready', reason: `${name} is not ready in this inbox, so messages cannot be delivered yet: ${channel.problem ?? 'its settings are incomplete'}` };
      }
      if (!facts.identityReachable) {
        return { ...base, allowed: false, templatesOnly: false, reasonCode: 'no_reachable_identity', reason: `This customer has no ${name} address in this conversation, so nothing can be sent to them here` };
      }
      const w = await windowOf(actor.workspaceId, conversationId, facts, channel);
      return { channelType: facts.channelType, capabilities, ...w };
    },

    /**
     * Refuses what the conversation's channel would never deliver; returns what the stored message needs
     * (channel messages start 'pending' until outbound delivery sends them). `inboxIds`: the actor's
     * visible inboxes (null = all); an invisible conversation is left to the pipeline's not_found.
     */
    async checkOutgoing(
      workspaceId: string,
      conversationId: string,
      inboxIds: string[] | null,
      body: SendMessageBody,
      prefix: string,
    ): Promise<{ deliveryStatus?: 'pending'; extraContent?: Record<string, unknown> }> {
      if (body.template && body.private) throw invalid(`${prefix}.template`, 'a private note cannot be a template; remove template or private');
      if (body.private) return {};
      const facts = await loadFacts(db, workspaceId, conversationId, inboxIds, body.clientId);
      if (!facts || facts.alreadyStored) return {};
      const channel = await resolve(workspaceId, facts.inboxId, facts.channelType);
      if (!channel) {
        if (body.template) throw new AppError('content_unsupported_by_channel', 'the web chat has no message templates; write a normal message instead', [{ path: `${prefix}.template`, message: 'templates need a channel that has them (WhatsApp)' }]);
        return {};
      }
      const extraContent = body.template ? { template: body.template } : undefined;
      const pending = { deliveryStatus: 'pending' as const, ...(extraContent ? { extraContent } : {}) };
      // Settings that do not parse yet: nothing is known about the channel's limits; delivery reports it.
      const caps = channel.capabilities;
      if (!caps) return pending;
      const name = channel.adapter.displayName;
      if (body.template && !caps.templates) {
        throw new AppError('content_unsupported_by_channel', `${name} has no message templates; write a normal message instead`, [{ path: `${prefix}.template`, message: `${name} has no templates` }]);
      }
      if (!caps.contentTypes.includes(body.contentType)) {
        throw new AppError('content_unsupported_by_channel', `${name} cannot carry ${body.contentType} messages; it carries ${caps.contentTypes.join(', ')}`, [{ path: `${prefix}.contentType`, message: `not carried by ${name}` }]);
      }
      if (body.text.length > caps.maxTextLength) {
        throw invalid(`${prefix}.text`, `${name} accepts at most ${caps.maxTextLength} characters per message and this one has ${body.text.length}; shorten it or split it into several messages`);
      }
      if (body.attachmentIds.length) {
        const big = await db.query<{ file_name: string; size: number }>(
          `SELECT file_name, size FROM attachments WHERE workspace_id = $1 AND id = ANY($2::uuid[]) AND size > $3`,
          [workspaceId, body.attachmentIds, caps.maxMediaBytes],
        );
        if (big[0]) {
          throw new AppError('payload_too_large', `${name} accepts files up to ${formatMb(caps.maxMediaBytes)}; ${big[0].file_name} is ${formatMb(Number(big[0].size))}`, [{ path: `${prefix}.attachmentIds`, message: `larger than ${name} accepts` }]);
        }
      }
      if (!facts.identityReachable || !channel.ready) return pending;
      const w = await windowOf(workspaceId, conversationId, facts, channel);
      if (w.allowed || (body.template && w.templatesOnly)) return pending;
      throw new AppError('send_window_closed', w.reason ?? `${name} does not allow a message now`, [{ path: body.template ? `${prefix}.template` : `${prefix}.text`, message: w.reasonCode ?? 'window_closed' }]);
    },
  };
}
export type SendPolicy = ReturnType<typeof createSendPolicy>;
