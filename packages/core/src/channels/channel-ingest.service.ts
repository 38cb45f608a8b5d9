/**
 * Inbound channel traffic → Huiliu's data. Adapters turn a platform's webhook (or IMAP poll) into
 * NormalizedInbound events; this service stores them durably, idempotently and in order:
 *
 *  message  → identity (contacts.resolveIdentity, verified keys passed on for automatic merges) →
 *             conversation (the email thread it replies to, else the identity's unresolved conversation
 *             in this inbox, else a new one) → media downloaded through the SSRF-safe client and stored
 *             like uploads → appended through the message pipeline with the platform's id as externalId
 *             (a replayed webhook finds the stored message and stores nothing).
 *  echo     → our own outgoing message coming back: skipped.
 *  status   → delivery report of one of our outgoing messages: forward transitions only, then
 *             `message.updated` for the agents.
 *  event    → subscribe / unsubscribe…: an activity line in the contact's open conversation, if any;
 *             an event that ends the platform's session (endsConversation) then resolves it.
 *
 * Bad content never fails the batch: an oversized file, a media URL pointing at an internal address or a
 * file the upload policy refuses becomes a note on the stored message. Only storage failures throw, so
 * the webhook answers 500 and the platform retries (what was stored before is then recognized by id).
 */
import type { ChannelAdapter, ChannelEvent, DeliveryStatusEvent, InboundHttpRequest, InboundMessageEvent, MediaRef, NormalizedInbound, OutboundHttpResponse, PullRequest } from '@huiliu/channels';
import { ChannelError } from '@huiliu/channels';
import { Card, Location, type ContentType } from '@huiliu/contracts';
import type { z } from 'zod';
import type { Database, Sql } from '../db/database.ts';
import { one } from '../db/database.ts';
import type { VisitorActor } from '../auth/actor.ts';
import { AppError, isUniqueViolation, notFound } from '../shared/errors.ts';
import type { DomainEvents } from '../shared/events.ts';
import type { Logger } from '../shared/logger.ts';
import type { ContactService } from '../contacts/contact.service.ts';
import type { ConversationService } from '../conversations/conversation.service.ts';
import type { AppendInput, AppendResult, MessagePipeline } from '../messages/pipeline.ts';
import { presentConversation, presentMessage } from '../messages/present.ts';
import type { AttachmentService } from '../attachments/attachment.service.ts';
import type { FileUrlSigner } from '../auth/tokens.ts';
import type { ChannelConfigService, ChannelRuntime } from './channel-config.service.ts';
import type { ChannelPulls } from './channel-pulls.ts';
import { recordSessionState } from './session-sync.ts';
import { sanitizeEmailHtml } from './sanitize-html.ts';

export type IngestOutcome =
  | { kind: 'stored'; messageId: string; conversationId: string; createdConversation: boolean }
  | { kind: 'duplicate'; messageId: string; conversationId: string }
  | { kind: 'echo'; externalId: string }
  | { kind: 'status'; messageId: string; status: DeliveryStatusEvent['status'] }
  | { kind: 'status_ignored'; externalId: string; reason: 'unknown_message' | 'not_forward' }
  | { kind: 'activity'; messageId: string; conversationId: string }
  | { kind: 'event_logged'; event: string };

/** Storing failed (database, file storage): the platform must retry, so the webhook answers 500. */
export class IngestError extends Error {
  constructor(readonly inboxId: string, cause: unknown) {
    super(`storing the inbound events of inbox ${inboxId} failed`);
    this.name = 'IngestError';
    this.cause = cause;
  }
}

interface MediaRefusal {
  fileName: string;
  contentType: string | null;
  size: number | null;
  reason: string;
  /** The upload policy refused the bytes (type not allowed): the message is flagged unsupported. */
  policy: boolean;
}

const MEDIA_TIMEOUT_MS = 60_000;

function formatBytes(n: number): string {
  const MB = 1024 * 1024;
  if (n >= MB) return `${Number.isInteger(n / MB) ? n / MB : (n / MB).toFixed(1)} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${n} bytes`;
}

const isUrl = (ref: string) => /^https?:\/\//i.test(ref);

/** The platform's name of a message type Huiliu does not read, when the raw payload tells it. */
function platformType(raw: unknown): string {
  if (raw && typeof raw === 'object') {
    const r = raw as Record<string, unknown>;
    for (const key of ['type', 'messageType', 'kind']) if (typeof r[key] === 'string' && r[key]) return (r[key] as string).slice(0, 100);
  }
  return 'unknown';
}

function safeHttpUrl(v: string | undefined): string | undefined {
  if (!v) return undefined;
  try {
    const u = new URL(v);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}

export function createChannelIngestService(deps: {
  db: Database;
  events: DomainEvents;
  logger: Logger;
  contacts: ContactService;
  conversations: ConversationService;
  pipeline: MessagePipeline;
  attachments: AttachmentService;
  channelConfig: ChannelConfigService;
  files: FileUrlSigner;
  /** Stores InboundResult.pulls as durable jobs (channel-pulls.ts). */
  pulls?: Pick<ChannelPulls, 'enqueue'>;
}) {
  const { db, events, contacts, conversations, pipeline, attachments, channelConfig, files } = deps;
  const log = deps.logger.child({ component: 'channels.ingest' });
  const maxBytes = attachments.maxUploadBytes;

  /** A message with this platform id already stored in the inbox (ours = echo, theirs = replay). */
  async function storedByExternalId(sql: Sql, workspaceId: string, inboxId: string, externalId: string) {
    return one(sql, `SELECT id, conversation_id, direction FROM messages WHERE workspace_id = $1 AND inbox_id = $2 AND external_id = $3`, [workspaceId, inboxId, externalId]);
  }

  async function resolveSender(rt: ChannelRuntime, ev: InboundMessageEvent): Promise<{ contactId: string; identityId: string }> {
    const { inbox } = rt;
    const s = ev.sender;
    const input = {
      workspaceId: inbox.workspaceId,
      inboxId: inbox.id,
      channelType: inbox.channelType,
      sourceId: s.sourceId,
      verified: (s.verifiedKeys?.length ?? 0) > 0,
      contact: { name: s.name ?? null, email: s.email ?? null, phone: s.phone ?? null },
      verifiedKeys: s.verifiedKeys ?? [],
    };
    for (let attempt = 0; ; attempt++) {
      try {
        const resolved = await db.transaction((tx) => contacts.resolveIdentity(tx, input));
        // A verified key merged contacts: workbenches showing the moved conversations learn their new contact.
        if (resolved.movedConversationIds.length) {
          const rows = await db.query(`SELECT * FROM conversations WHERE workspace_id = $1 AND id = ANY($2::uuid[])`, [inbox.workspaceId, resolved.movedConversationIds]);
          for (const r of rows) events.emit('conversation.updated', { conversation: presentConversation(r), previousAssigneeId: (r.assignee_id as string | null) ?? null });
        }
        return resolved;
      } catch (err) {
        // The same new sender arriving twice at once: the loser finds the winner's identity.
        if (attempt === 0 && isUniqueViolation(err)) continue;
        throw err;
      }
    }
  }

  /** Downloads and stores the media of a message; what cannot be stored is described, never dropped silently. */
  async function storeMedia(rt: ChannelRuntime, ev: InboundMessageEvent, media: MediaRef[], who: { contactId: string; identityId: string }, type: string) {
    const ids: string[] = [];
    const refused: MediaRefusal[] = [];
    const uploader: VisitorActor = { kind: 'visitor', workspaceId: rt.inbox.workspaceId, inboxId: rt.inbox.id, contactId: who.contactId, identityId: who.identityId };
    for (const [i, m] of media.entries()) {
      const label = m.fileName ?? (media.length > 1 ? `${type} ${i + 1}` : type);
      const refuse = (reason: string, policy = false) => {
        refused.push({ fileName: label, contentType: m.contentType ?? null, size: m.size ?? null, reason, policy });
        log.warn({ inboxId: rt.inbox.id, externalId: ev.externalId, fileName: label, reason }, 'inbound media not stored');
      };
      if (m.size !== undefined && m.size > maxBytes) {
        refuse(`the file is ${formatBytes(m.size)}, over the ${formatBytes(maxBytes)} limit; it was not downloaded`);
        continue;
      }
      let bytes: Buffer;
      let declaredType = m.contentType ?? '';
      let fileName = m.fileName ?? type;
      try {
        if (m.inline) bytes = m.inline;
        else if (m.ref && isUrl(m.ref)) {
          const res = await rt.ctx.http(m.ref, { maxBytes, timeoutMs: MEDIA_TIMEOUT_MS });
          if (res.status < 200 || res.status >= 300) throw new Error(`the download answered HTTP ${res.status}`);
          bytes = res.body;
          declaredType ||= res.headers['content-type'] ?? '';
        } else if (m.ref && rt.adapter.fetchMedia) {
          const f = await rt.adapter.fetchMedia(m, rt.ctx);
          bytes = f.bytes;
          declaredType ||= f.contentType;
          fileName = m.fileName ?? f.fileName;
        } else {
          throw new Error('the channel gave no way to download it');
        }
      } catch (err) {
        const e = err as Error & { code?: string };
        refuse(e instanceof ChannelError && e.code === 'media_too_large' ? `the file is over the ${formatBytes(maxBytes)} limit; it was not stored` : `it could not be downloaded: ${e.message}`);
        continue;
      }
      if (bytes.length > maxBytes) {
        refuse(`the file is ${formatBytes(bytes.length)}, over the ${formatBytes(maxBytes)} limit`);
        continue;
      }
      try {
        const att = await attachments.upload(uploader, { fileName, declaredType, data: bytes });
        ids.push(att.id);
      } catch (err) {
        if (err instanceof AppError && (err.code === 'unsupported_media_type' || err.code === 'payload_too_large')) {
          refuse(err.message, err.code === 'unsupported_media_type');
          continue;
        }
        throw err;
      }
    }
    return { ids, refused };
  }

  /** The conversation a new message belongs to, or null to open one. Runs under the identity's row lock. */
  async function findConversation(tx: Sql, rt: ChannelRuntime, ev: InboundMessageEvent, who: { contactId: string; identityId: string }): Promise<string | null> {
    const { inbox } = rt;
    const refs = [ev.thread?.inReplyTo, ...(ev.thread?.references ?? [])].filter((r): r is string => typeof r === 'string' && r.length > 0);
    if (refs.length) {
      // Only the sender's own conversations: a Message-ID is no secret (it travels in every reply), so
      // knowing one must not let a stranger write into someone else's conversation. A CC'd colleague who
      // replies to the thread gets a conversation of their own.
      const t = await one(
        tx,
        `SELECT m.conversation_id FROM messages m JOIN conversations c ON c.id = m.conversation_id
         WHERE m.workspace_id = $1 AND m.inbox_id = $2 AND m.external_id = ANY($3::text[]) AND c.contact_id = $4
         ORDER BY m.created_at DESC LIMIT 1`,
        [inbox.workspaceId, inbox.id, refs.slice(0, 100), who.contactId],
      );
      if (t) return t.conversation_id as string;
    }
    const open = await one(
      tx,
      `SELECT id FROM conversations WHERE workspace_id = $1 AND inbox_id = $2 AND contact_id = $3 AND identity_id = $4 AND status <> 'resolved'
       ORDER BY last_activity_at DESC LIMIT 1`,
      [inbox.workspaceId, inbox.id, who.contactId, who.identityId],
    );
    return open ? (open.id as string) : null;
  }

  /** The stored form of the normalized content: content type, text and the structured fields. */
  function shape(ev: InboundMessageEvent, stored: string[], refused: MediaRefusal[]): Pick<AppendInput, 'contentType' | 'text' | 'location' | 'card'> & { extra: Record<string, unknown> } {
    const c = ev.content;
    const extra: Record<string, unknown> = {};
    const notes = refused.map((r) => `[${r.fileName} was not stored: ${r.reason}]`);
    const withNotes = (text: string) => [text, ...notes].filter(Boolean).join('\n');
    if (refused.length) extra.mediaRefused = refused.map(({ policy: _p, ...r }) => r);
    const policyRefused = refused.filter((r) => r.policy);
    if (policyRefused.length) extra.unsupported = { type: policyRefused[0]!.contentType ?? 'file', raw: { media: policyRefused.map(({ policy: _p, ...r }) => r) } };
    switch (c.type) {
      case 'text':
        return { contentType: 'text', text: withNotes(c.text), extra };
      case 'image':
      case 'file':
      case 'audio':
      case 'video':
        return { contentType: stored.length ? (c.type as ContentType) : 'text', text: withNotes(c.text ?? ''), extra };
      case 'location': {
        const loc = Location.safeParse({
          latitude: c.location.latitude,
          longitude: c.location.longitude,
          ...(c.location.name ? { name: c.location.name.slice(0, 200) } : {}),
          ...(c.location.address ? { address: c.location.address.slice(0, 500) } : {}),
        });
        if (loc.success) return { contentType: 'location', text: withNotes(c.text ?? ''), location: loc.data, extra };
        return { contentType: 'text', text: withNotes([c.text, `Location: ${c.location.latitude}, ${c.location.longitude}`].filter(Boolean).join('\n')), extra };
      }
      case 'card': {
        const url = safeHttpUrl(c.card.url);
        const imageUrl = safeHttpUrl(c.card.imageUrl);
        const card = Card.safeParse({
          title: c.card.title.trim().slice(0, 200) || 'Card',
          ...(c.card.description ? { description: c.card.description.slice(0, 2000) } : {}),
          ...(url ? { url } : {}),
          ...(imageUrl ? { imageUrl } : {}),
        });
        if (card.success) return { contentType: 'card', text: withNotes(c.text ?? ''), card: card.data as z.infer<typeof Card>, extra };
        return { contentType: 'text', text: withNotes([c.text, c.card.title, c.card.description, c.card.url].filter(Boolean).join('\n')), extra };
      }
      case 'unsupported':
        extra.unsupported = { type: platformType(c.raw), raw: c.raw ?? null };
        return { contentType: 'text', text: withNotes(c.text), extra };
    }
  }

  async function ingestMessage(rt: ChannelRuntime, ev: InboundMessageEvent): Promise<IngestOutcome> {
    const { inbox } = rt;
    if (ev.echo) {
      log.debug({ inboxId: inbox.id, externalId: ev.externalId }, 'echo of our own message skipped');
      return { kind: 'echo', externalId: ev.externalId };
    }
    const known = await storedByExternalId(db, inbox.workspaceId, inbox.id, ev.externalId);
    if (known) return recognized(rt, ev, known);

    const who = await resolveSender(rt, ev);
    const media = 'media' in ev.content && Array.isArray(ev.content.media) ? ev.content.media : [];
    const { ids, refused } = media.length ? await storeMedia(rt, ev, media, who, ev.content.type) : { ids: [], refused: [] };
    const shaped = shape(ev, ids, refused);
    const extra = shaped.extra;
    if (ev.thread?.subject) extra.subject = ev.thread.subject.slice(0, 1000);
    if (ev.html) {
      const html = sanitizeEmailHtml(ev.html);
      if (html) extra.html = html;
    }
    if (ev.sentAt instanceof Date && !Number.isNaN(ev.sentAt.getTime())) extra.sentAt = ev.sentAt.toISOString();

    const input = (conversationId: string, contactId: string): AppendInput => ({
      workspaceId: inbox.workspaceId,
      conversationId,
      scope: {},
      direction: 'incoming',
      private: false,
      senderType: 'contact',
      senderId: contactId,
      identityId: who.identityId,
      contentType: shaped.contentType,
      text: shaped.text,
      location: shaped.location,
      card: shaped.card,
      extraContent: extra,
      attachmentIds: ids,
      uploader: { type: 'contact', id: who.contactId },
      externalId: ev.externalId,
      fieldPrefix: 'event',
    });

    for (let attempt = 0; ; attempt++) {
      try {
        const r = await db.transaction(async (tx) => {
          // One sender's messages are placed one at a time: two first messages arriving together must
          // not open two conversations. The contact is read again under the lock: a merge that committed
          // since resolveSender moved the identity to another contact.
          const locked = await one(tx, `SELECT contact_id FROM contact_identities WHERE id = $1 AND workspace_id = $2 FOR UPDATE`, [who.identityId, inbox.workspaceId]);
          const current = { contactId: (locked?.contact_id as string | undefined) ?? who.contactId, identityId: who.identityId };
          let conversationId = await findConversation(tx, rt, ev, current);
          let created = false;
          if (!conversationId) {
            const c = await conversations.create(tx, { workspaceId: inbox.workspaceId, inboxId: inbox.id, contactId: current.contactId, identityId: current.identityId });
            conversationId = c.id;
            created = true;
          }
          const appended: AppendResult = await pipeline.appendInTx(tx, input(conversationId, current.contactId));
          return { appended, created };
        });
        if (r.created) conversations.publishCreated(r.appended.conversation);
        pipeline.publish(r.appended);
        if (r.appended.duplicate) return { kind: 'duplicate', messageId: r.appended.message.id, conversationId: r.appended.conversation.id };
        return { kind: 'stored', messageId: r.appended.message.id, conversationId: r.appended.conversation.id, createdConversation: r.created };
      } catch (err) {
        // The same message delivered twice at once (a platform retrying while we store): the other
        // request stored it; answer as for a replay.
        if (attempt === 0 && isUniqueViolation(err)) {
          const now = await storedByExternalId(db, inbox.workspaceId, inbox.id, ev.externalId);
          if (now) return recognized(rt, ev, now);
          continue;
        }
        throw err;
      }
    }
  }

  function recognized(rt: ChannelRuntime, ev: InboundMessageEvent, known: Record<string, unknown>): IngestOutcome {
    if (known.direction === 'outgoing') {
      log.debug({ inboxId: rt.inbox.id, externalId: ev.externalId }, 'echo of our own message skipped');
      return { kind: 'echo', externalId: ev.externalId };
    }
    return { kind: 'duplicate', messageId: known.id as string, conversationId: known.conversation_id as string };
  }

  async function ingestStatus(rt: ChannelRuntime, ev: DeliveryStatusEvent): Promise<IngestOutcome> {
    const { inbox } = rt;
    const error = ev.status === 'failed' ? (ev.error?.trim() || 'the channel reported the message as not delivered').slice(0, 2000) : null;
    const rows = await db.query(
      `UPDATE messages SET delivery_status = $4::text,
         content = CASE WHEN $4::text = 'failed' THEN content || jsonb_build_object('deliveryError', $5::text) ELSE content END
       WHERE workspace_id = $1 AND inbox_id = $2 AND external_id = $3 AND direction = 'outgoing'
         AND CASE $4::text
               WHEN 'sent' THEN delivery_status = 'pending'
               WHEN 'delivered' THEN delivery_status IN ('pending', 'sent')
               WHEN 'read' THEN delivery_status IN ('pending', 'sent', 'delivered')
               WHEN 'failed' THEN delivery_status IN ('pending', 'sent')
               ELSE false END
       RETURNING *`,
      [inbox.workspaceId, inbox.id, ev.externalId, ev.status, error],
    );
    const row = rows[0];
    if (!row) {
      const exists = await one(db, `SELECT delivery_status FROM messages WHERE workspace_id = $1 AND inbox_id = $2 AND external_id = $3 AND direction = 'outgoing'`, [inbox.workspaceId, inbox.id, ev.externalId]);
      const reason = exists ? ('not_forward' as const) : ('unknown_message' as const);
      log.debug({ inboxId: inbox.id, externalId: ev.externalId, status: ev.status, current: exists?.delivery_status ?? null, reason }, 'delivery report ignored');
      return { kind: 'status_ignored', externalId: ev.externalId, reason };
    }
    const conv = await one(db, `SELECT * FROM conversations WHERE id = $1 AND workspace_id = $2`, [row.conversation_id, inbox.workspaceId]);
    const message = presentMessage(row, files);
    if (conv) events.emit('message.updated', { message, conversation: presentConversation(conv) });
    return { kind: 'status', messageId: message.id, status: ev.status };
  }

  async function ingestEvent(rt: ChannelRuntime, ev: ChannelEvent): Promise<IngestOutcome> {
    const { inbox } = rt;
    const identity = await one(db, `SELECT id, contact_id FROM contact_identities WHERE workspace_id = $1 AND inbox_id = $2 AND source_id = $3`, [inbox.workspaceId, inbox.id, ev.sender.sourceId]);
    const conv = identity
      ? await one(
          db,
          `SELECT id FROM conversations WHERE workspace_id = $1 AND inbox_id = $2 AND contact_id = $3 AND identity_id = $4 AND status <> 'resolved'
           ORDER BY last_activity_at DESC LIMIT 1`,
          [inbox.workspaceId, inbox.id, identity.contact_id, identity.id],
        )
      : undefined;
    if (!identity || !conv) {
      log.info({ inboxId: inbox.id, event: ev.event, externalId: ev.externalId }, 'channel event without an open conversation: logged only');
      return { kind: 'event_logged', event: ev.event };
    }
    // Prefixed: a platform may number events and messages in the same space.
    const externalId = `event:${ev.externalId}`;
    // A replay after the conversation changed (resolved, a new one opened) would hit the unique
    // external id in another conversation: recognized here, so the webhook does not answer 500 forever.
    const known = await storedByExternalId(db, inbox.workspaceId, inbox.id, externalId);
    if (known) {
      // A replay after a crash between recording the event and resolving: resolve now, unless the
      // customer has written since (their new message reopened the conversation on purpose).
      if (ev.endsConversation) await endConversationAfterReplay(rt, known.conversation_id as string, known.id as string);
      return { kind: 'activity', messageId: known.id as string, conversationId: known.conversation_id as string };
    }
    const who = ev.sender.name?.trim() || 'The customer';
    let appended: AppendResult;
    try {
      appended = await db.transaction((tx) =>
        pipeline.appendInTx(tx, {
          workspaceId: inbox.workspaceId,
          conversationId: conv.id as string,
          scope: {},
          direction: 'activity',
          private: false,
          senderType: 'system',
          senderId: null,
          contentType: 'text',
          text: `${who}: ${ev.event.slice(0, 100)} (${rt.adapter.displayName})`,
          extraContent: { channelEvent: { event: ev.event, at: ev.at instanceof Date ? ev.at.toISOString() : null } },
          externalId,
        }),
      );
    } catch (err) {
      // The same event delivered twice at once: the other request stored it.
      const now = isUniqueViolation(err) ? await storedByExternalId(db, inbox.workspaceId, inbox.id, externalId) : undefined;
      if (!now) throw err;
      return { kind: 'activity', messageId: now.id as string, conversationId: now.conversation_id as string };
    }
    pipeline.publish(appended);
    if (ev.endsConversation) await endConversation(rt, appended.conversation.id);
    return { kind: 'activity', messageId: appended.message.id, conversationId: appended.conversation.id };
  }

  /**
   * The platform ended the customer's session (ChannelEvent.endsConversation): resolve the conversation
   * through the conversation service as the system, so the activity line, events and realtime updates
   * are the usual ones. Recorded first as what the platform knows, so session sync does not tell the
   * platform back what it told us.
   */
  async function endConversation(rt: ChannelRuntime, conversationId: string): Promise<void> {
    const { inbox } = rt;
    if (rt.adapter.syncSession) {
      await recordSessionState(db, { workspaceId: inbox.workspaceId, inboxId: inbox.id, conversationId, state: 'ended', agentId: null });
    }
    await conversations.update({ kind: 'system', workspaceId: inbox.workspaceId, via: 'system' }, conversationId, { status: 'resolved' });
    log.info({ inboxId: inbox.id, conversationId }, 'conversation resolved: the channel ended the session');
  }

  async function endConversationAfterReplay(rt: ChannelRuntime, conversationId: string, eventMessageId: string): Promise<void> {
    const c = await one(
      db,
      `SELECT c.status, EXISTS (
         SELECT 1 FROM messages m WHERE m.conversation_id = c.id AND m.workspace_id = c.workspace_id AND m.direction = 'incoming'
           AND m.seq > (SELECT e.seq FROM messages e WHERE e.id = $3 AND e.workspace_id = c.workspace_id)) AS customer_wrote_since
       FROM conversations c WHERE c.id = $1 AND c.workspace_id = $2`,
      [conversationId, rt.inbox.workspaceId, eventMessageId],
    );
    if (c && c.status !== 'resolved' && !c.customer_wrote_since) await endConversation(rt, conversationId);
  }

  async function ingest(rt: ChannelRuntime, batch: readonly NormalizedInbound[]): Promise<IngestOutcome[]> {
    const out: IngestOutcome[] = [];
    // In order, one at a time: the platform's order is the timeline's order.
    for (const ev of batch) {
      try {
        if (ev.kind === 'message') out.push(await ingestMessage(rt, ev));
        else if (ev.kind === 'status') out.push(await ingestStatus(rt, ev));
        else if (ev.kind === 'event') out.push(await ingestEvent(rt, ev));
        else log.warn({ inboxId: rt.inbox.id, kind: (ev as { kind?: unknown }).kind }, 'unknown inbound event kind ignored');
      } catch (err) {
        log.error({ err, inboxId: rt.inbox.id, kind: ev.kind, externalId: ev.externalId }, 'storing an inbound event failed');
        throw new IngestError(rt.inbox.id, err);
      }
    }
    return out;
  }

  /**
   * The work a webhook announced (InboundResult.pulls), stored as durable jobs before the platform gets
   * its answer (channel-pulls.ts); failing to store them answers 500 so the platform announces again.
   */
  async function storePulls(rt: ChannelRuntime, requests: readonly PullRequest[]): Promise<void> {
    if (!rt.adapter.pull || !deps.pulls) {
      // An adapter bug, not the platform's: a 500 would only make it announce the same thing forever.
      log.error({ inboxId: rt.inbox.id, channel: rt.inbox.channelType, pulls: requests.length }, 'webhook announced messages but nothing here can fetch them');
      await channelConfig.recordError(rt.inbox.workspaceId, rt.inbox.id, `the ${rt.adapter.displayName} channel announced messages that this server cannot fetch (the adapter has no pull)`);
      return;
    }
    try {
      await deps.pulls.enqueue(rt.inbox, requests);
    } catch (err) {
      log.error({ err, inboxId: rt.inbox.id, pulls: requests.length }, 'storing the announced pulls failed');
      throw new IngestError(rt.inbox.id, err);
    }
  }

  return {
    ingest,

    /**
     * One webhook request: inbox by public id → adapter.receive (verification) → ingest → the adapter's
     * answer. Throws AppError not_found / conflict (no such channel, not configured), ChannelError (the
     * request was refused; logged here with the inbox and reason) or IngestError (answer 500: retry).
     */
    async receiveWebhook(publicId: string, req: InboundHttpRequest): Promise<{ response: OutboundHttpResponse; outcomes: IngestOutcome[] }> {
      const rt = await channelConfig.runtimeByPublicId(publicId);
      const adapter: ChannelAdapter<any> = rt.adapter;
      if (!adapter.receive) throw notFound(`webhook: the ${adapter.displayName} channel receives by polling, not webhooks`);
      let result;
      try {
        result = await adapter.receive(req, rt.ctx);
      } catch (err) {
        if (err instanceof ChannelError) {
          log.warn({ inboxId: rt.inbox.id, channel: rt.inbox.channelType, code: err.code, reason: err.message }, 'webhook refused');
        } else {
          log.error({ err, inboxId: rt.inbox.id, channel: rt.inbox.channelType }, 'webhook: the adapter failed');
        }
        throw err;
      }
      const outcomes = await ingest(rt, result.events);
      if (result.pulls?.length) await storePulls(rt, result.pulls);
      return { response: result.response, outcomes };
    },
  };
}
export type ChannelIngestService = ReturnType<typeof createChannelIngestService>;
