import type { Database } from '@huiliu/core/db/database';
import type { Actor } from '@huiliu/core/auth/actor';
import { createDomainEvents, type DomainEvents } from '@huiliu/core/shared/events';
import type { Logger } from '@huiliu/core/shared/logger';
import { createFileUrlSigner, createVisitorTokens } from '@huiliu/core/auth/tokens';
import { deriveKey, createVault } from '@huiliu/core/vault/vault';
import { createTextIndex } from '@huiliu/core/search/index';
import { createDiskStorage } from '@huiliu/core/storage/disk-storage';
import type { BlobStorage } from '@huiliu/core/storage/blob-storage';
import { createUserService } from '@huiliu/core/users/user.service';
import { createTeamService } from '@huiliu/core/teams/team.service';
import { createInboxService } from '@huiliu/core/inboxes/inbox.service';
import { createContactService } from '@huiliu/core/contacts/contact.service';
import { createIdentityService } from '@huiliu/core/contacts/identity.service';
import { createIdentityVerification } from '@huiliu/core/contacts/identity-verification';
import { createMessagePipeline } from '@huiliu/core/messages/pipeline';
import { createMessageService } from '@huiliu/core/messages/message.service';
import { createConversationService } from '@huiliu/core/conversations/conversation.service';
import { createCannedService } from '@huiliu/core/canned/canned.service';
import { createSearchService } from '@huiliu/core/search/search.service';
import { createWidgetService } from '@huiliu/core/widget/widget.service';
import { createAttachmentService } from '@huiliu/core/attachments/attachment.service';
import { recordAudit } from '@huiliu/core/audit/audit.service';
import { createSafeHttpClient, type SafeRequestInit, type SafeResponse } from '@huiliu/core/net/safe-http';
import { getWorkspace } from '@huiliu/core/workspaces/workspace.service';
import { createRoutingService } from '@huiliu/core/routing/routing.service';
import { createTransferService } from '@huiliu/core/conversations/transfer.service';
import { ACCEPTED_CONTENT_TYPES } from '@huiliu/core/storage/upload-policy';
import { createContactImportService } from '@huiliu/core/contacts/contact-import';
import { createOfflineReplies } from '@huiliu/core/mail/offline-replies.service';
import type { Mailer } from '@huiliu/core/mail/mailer';
import type { UploadLimits } from '@huiliu/contracts';
import { channelAdapters } from '@huiliu/channels';
import { createChannelConfigService, type ChannelAdapters } from '@huiliu/core/channels/channel-config.service';
import { createChannelIngestService } from '@huiliu/core/channels/channel-ingest.service';
import { createChannelPollers, type ChannelPollersOptions } from '@huiliu/core/channels/channel-pollers';
import { createSendPolicy, outboundChannelResolver } from '@huiliu/core/channels/send-policy';
import { createOutboundDelivery } from '@huiliu/core/channels/outbound-delivery';
import { createSharedTokenStore } from '@huiliu/core/channels/shared-tokens';
import { createChannelPulls } from '@huiliu/core/channels/channel-pulls';
import { createSessionSync } from '@huiliu/core/channels/session-sync';
import { createLlmService } from '@huiliu/core/bot/llm/llm.service';
import { createKnowledgeService } from '@huiliu/core/bot/knowledge/kb.service';
import { createFlowService, knownNlu } from '@huiliu/core/bot/dialog/flow.service';
import { createBotService } from '@huiliu/core/bot/bot.service';
import { classifyIntent, groundedAnswer, suggestReplies, summarizeConversation } from '@huiliu/core/bot/llm/llm-tasks';

export interface ServiceDeps {
  db: Database;
  logger: Logger;
  masterKey: Buffer;
  attachmentsDir: string;
  maxUploadBytes: number;
  storage?: BlobStorage;
  /** Outgoing email; without it offline replies are not emailed. */
  mail?: { mailer: Mailer; from: { name: string | null; address: string }; offlineDelayMs: number };
  /** External channel adapters by kind (default: every adapter of @huiliu/channels); tests pass fakes. */
  channelAdapters?: ChannelAdapters;
  /** The public base URL (webhook URLs given to platforms); a function: a test node learns its port after listen. */
  publicUrl?: () => string;
  channelPollers?: ChannelPollersOptions;
}

/** The composition root of the domain: every service with its explicit dependencies. */
export function createServices(deps: ServiceDeps) {
  const { db, logger, masterKey } = deps;
  const events: DomainEvents = createDomainEvents((err, name) => logger.error({ err, event: name }, 'domain event handler failed'));
  const files = createFileUrlSigner(deriveKey(masterKey, 'file-urls/v1'));
  const visitorTokens = createVisitorTokens(deriveKey(masterKey, 'visitor-tokens/v1'));
  const textIndex = createTextIndex();
  const storage = deps.storage ?? createDiskStorage(deps.attachmentsDir);

  const adapters: ChannelAdapters = deps.channelAdapters ?? channelAdapters;
  const inboxes = createInboxService({ db, events, channelTypes: ['web', ...adapters.keys()] });
  const users = createUserService({ db, events });
  const teams = createTeamService({ db });
  const contacts = createContactService({ db, textIndex });
  const pipeline = createMessagePipeline({ db, events, textIndex, files, logger });
  // Send windows, channel limits and 'pending' for channel messages; channelConfig is created below (called lazily).
  const sendPolicy = createSendPolicy({
    db, inboxes, maxUploadBytes: deps.maxUploadBytes,
    resolve: outboundChannelResolver({ db, adapters, contextFor: (workspaceId, inboxId) => channelConfig.contextFor(workspaceId, inboxId) }),
  });
  const messages = createMessageService({ pipeline, inboxes, sendPolicy });
  const conversations = createConversationService({ db, events, pipeline, inboxes, files });
  const canned = createCannedService({ db });
  const search = createSearchService({ db, textIndex, contacts, inboxes, files });
  // What the UIs may upload, so they can refuse a file before sending it (the server still checks the bytes).
  const uploadLimits: UploadLimits = { maxBytes: deps.maxUploadBytes, contentTypes: [...ACCEPTED_CONTENT_TYPES] };
  const vault = createVault({ db, masterKey });
  // Cross-channel identity: the inbox identity keys (widget / app sign-in) and merges, timeline, reply-via.
  const identityVerification = createIdentityVerification({ db, vault });
  const identity = createIdentityService({ db, textIndex, inboxes, events, files });
  const widget = createWidgetService({ db, tokens: visitorTokens, inboxes, contacts, conversations, messages, textIndex, uploads: uploadLimits, identity: identityVerification });
  const attachments = createAttachmentService({ db, storage, files, maxUploadBytes: deps.maxUploadBytes });
  const http = createSafeHttpClient();
  async function fetchForWorkspace(workspaceId: string, url: string, init: SafeRequestInit = {}): Promise<SafeResponse> {
    const { settings } = await getWorkspace(db, workspaceId);
    return http.request(url, { ...init, allowHosts: [...(init.allowHosts ?? []), ...settings.networkAllowlist] });
  }
  // Optional LLM provider per workspace (key in the vault, calls through the workspace's SSRF-safe fetch).
  const llm = createLlmService({ db, vaultIn: (sql) => createVault({ db: sql, masterKey }), fetch: fetchForWorkspace, logger });
  const flows = createFlowService({ db, events, known: knownNlu(db) });
  // External channels: settings + secrets per inbox, inbound storage, and the pollers (started by app.ts).
  const channelConfig = createChannelConfigService({
    db,
    events,
    logger,
    adapters,
    vaultIn: (sql) => createVault({ db: sql, masterKey }),
    fetch: fetchForWorkspace,
    publicUrl: deps.publicUrl ?? (() => 'http://localhost:3000'),
    tokens: createSharedTokenStore({ db, masterKey, logger }),
  });
  // Pulls (work a webhook announced, e.g. WeCom kf sync_msg) as durable jobs, started by app.ts.
  const channelPulls = createChannelPulls({ db, logger, channelConfig, ingest: (rt, batch) => channelIngest.ingest(rt, batch) });
  const channelIngest = createChannelIngestService({ db, events, logger, contacts, conversations, pipeline, attachments, channelConfig, files, pulls: channelPulls });
  const channelPollers = createChannelPollers({ db, events, logger, channelConfig, ingest: channelIngest, ...(deps.channelPollers ? { options: deps.channelPollers } : {}) });
  // Outbound delivery as durable jobs (started by app.ts): retries, per-conversation order, dead letters.
  const outbound = createOutboundDelivery({
    db, events, logger, files, storage, inboxes, policy: sendPolicy, adapters,
    contextFor: (workspaceId, inboxId) => channelConfig.contextFor(workspaceId, inboxId),
    publicUrl: deps.publicUrl ?? (() => 'http://localhost:3000'),
  });
  // Platform session state (WeCom kf) kept in step with assignments and resolutions, as durable jobs (started by app.ts).
  const sessionSync = createSessionSync({
    db, events, logger, adapters,
    contextFor: (workspaceId, inboxId) => channelConfig.contextFor(workspaceId, inboxId),
    recordError: (workspaceId, inboxId, message) => channelConfig.recordError(workspaceId, inboxId, message),
    clearErrorStartingWith: (workspaceId, inboxId, prefix) => channelConfig.clearErrorStartingWith(workspaceId, inboxId, prefix),
  });
  // Started by app.ts with the job queue (its work runs as durable jobs).
  const routing = createRoutingService({ db, events, conversations, inboxes, logger, pipeline });
  // Started by app.ts too (pending transfers expire through a durable job); team transfers are routed at once.
  const transfers = createTransferService({ db, events, pipeline, conversations, route: (workspaceId, conversationId) => routing.route(workspaceId, conversationId, 'manual', { transfer: 'team' }) });
  // Started by app.ts: imports run as durable jobs.
  const contactImports = createContactImportService({ db, storage, textIndex, logger });
  // The knowledge base (started by app.ts: imports and embeddings run as durable jobs); vectors when the LLM provider has an embedding model.
  const knowledge = createKnowledgeService({ db, storage, logger, embed: (workspaceId, texts) => llm.embed(workspaceId, texts) });
  // The AI bot (started by app.ts: a message-log consumer + durable turn jobs). Knowledge and the LLM are
  // ports: the bot works without an LLM (the default), the LLM only grounds, classifies and summarizes.
  const bot = createBotService({
    db, events, logger, pipeline, vault, fetch: fetchForWorkspace, flows,
    ports: {
      knowledge: { searchFor: (workspaceId, query, limit) => knowledge.searchFor(workspaceId, query, limit).then((hits) => hits.map((h) => ({ entry: h.entry, snippet: h.passage, confidence: h.confidence }))) },
      llm: {
        answer: (workspaceId, question, passages) => groundedAnswer(llm, workspaceId, question, passages),
        classifyIntent: async (workspaceId, text) => {
          if (!(await llm.isEnabled(workspaceId, 'intentFallback'))) return null;
          return (await classifyIntent(llm, workspaceId, text, await bot.training.intentCatalog(workspaceId)))?.intent ?? null;
        },
        summarize: (workspaceId, transcript) => summarizeConversation(llm, workspaceId, transcript),
      },
    },
    suggestReplies: (workspaceId, transcript, passages) => suggestReplies(llm, workspaceId, transcript, passages),
    canReadConversation: async (actor, conversationId) => {
      await conversations.get(actor, conversationId);
    },
    canned: (actor) => canned.list(actor),
  });
  // Started by app.ts once the realtime gateway exists (it tells whether a visitor is connected).
  const offlineReplies = deps.mail
    ? createOfflineReplies({ db, events, logger, mailer: deps.mail.mailer, from: deps.mail.from, options: { delayMs: deps.mail.offlineDelayMs } })
    : undefined;

  return {
    db,
    logger,
    events,
    files,
    visitorTokens,
    textIndex,
    inboxes,
    users,
    teams,
    contacts,
    pipeline,
    messages,
    conversations,
    canned,
    search,
    widget,
    identity,
    identityVerification,
    attachments,
    vault,
    http,
    routing,
    transfers,
    contactImports,
    knowledge,
    bot,
    offlineReplies,
    uploadLimits,
    channelConfig,
    channelIngest,
    channelPulls,
    channelPollers,
    sendPolicy,
    outbound,
    sessionSync,
    llm,
    flows,
    /**
     * Outbound HTTP on behalf of a workspace (webhooks, channel APIs, LLM endpoints): the SSRF-safe client
     * with the hosts the workspace's admin allowlisted (settings.networkAllowlist).
     */
    fetchForWorkspace,
    audit: (actor: Actor, action: string, target: { type: string; id: string } | null, details: Record<string, unknown> = {}) =>
      recordAudit(db, actor, action, target, details),
    /** Marks read and tells the other side (agents ↔ visitor) in real time. */
    async realtimeRead(actor: Actor, conversationId: string, seq: number): Promise<{ seq: number }> {
      const r = await conversations.markRead(actor, conversationId, seq);
      const conv = await conversations.getVisibleRow(db, actor, conversationId);
      events.emit('conversation.read', {
        workspaceId: actor.workspaceId,
        conversationId,
        contactId: conv.contact_id as string,
        inboxId: conv.inbox_id as string,
        assigneeId: (conv.assignee_id as string | null) ?? null,
        readerType: actor.kind === 'visitor' ? 'contact' : 'user',
        readerId: actor.kind === 'visitor' ? actor.contactId : actor.kind === 'user' ? actor.userId : '00000000-0000-0000-0000-000000000000',
        seq: r.seq,
      });
      return r;
    },
  };
}
export type Services = ReturnType<typeof createServices>;
