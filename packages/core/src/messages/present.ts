import type { AttachmentRef, Conversation, Message } from '@huiliu/contracts';
import type { Row } from '../db/database.ts';
import type { FileUrlSigner } from '../auth/tokens.ts';

/** Accepts both PostgreSQL text timestamps (parsed by the driver) and JSON ones (from to_jsonb). */
const iso = (v: unknown): string => new Date(v as string).toISOString();
const isoOrNull = (v: unknown): string | null => (v == null ? null : iso(v));

export interface StoredAttachment {
  id: string;
  fileName: string;
  contentType: string;
  size: number;
}

export function presentMessage(r: Row, files: FileUrlSigner): Message {
  const content = (r.content ?? {}) as {
    attachments?: StoredAttachment[]; location?: Message['location']; card?: Message['card'];
    deliveryError?: string; subject?: string; html?: string; unsupported?: { type: string }; template?: Message['template'];
  };
  const attachments: AttachmentRef[] = (content.attachments ?? []).map((a) => ({ ...a, url: files.url(a.id) }));
  return {
    id: r.id as string,
    conversationId: r.conversation_id as string,
    seq: Number(r.seq),
    direction: r.direction as Message['direction'],
    private: r.private as boolean,
    senderType: r.sender_type as Message['senderType'],
    senderId: (r.sender_id as string | null) ?? null,
    identityId: (r.identity_id as string | null) ?? null,
    contentType: r.content_type as Message['contentType'],
    text: r.text as string,
    attachments,
    location: content.location ?? null,
    card: content.card ?? null,
    clientId: (r.client_id as string | null) ?? null,
    externalId: (r.external_id as string | null) ?? null,
    deliveryStatus: r.delivery_status as Message['deliveryStatus'],
    deliveryError: content.deliveryError ?? null,
    subject: content.subject ?? null,
    html: content.html ?? null,
    unsupported: content.unsupported?.type ?? null,
    template: content.template ?? null,
    createdAt: iso(r.created_at),
  };
}

export function presentConversation(r: Row): Conversation {
  return {
    id: r.id as string,
    workspaceId: r.workspace_id as string,
    displayId: Number(r.display_id),
    inboxId: r.inbox_id as string,
    contactId: r.contact_id as string,
    identityId: r.identity_id as string,
    status: r.status as Conversation['status'],
    assigneeId: (r.assignee_id as string | null) ?? null,
    teamId: (r.team_id as string | null) ?? null,
    priority: r.priority as Conversation['priority'],
    tags: (r.tags as string[]) ?? [],
    lastSeq: Number(r.last_seq),
    lastActivityAt: iso(r.last_activity_at),
    lastIncomingAt: isoOrNull(r.last_incoming_at),
    snoozedUntil: isoOrNull(r.snoozed_until),
    botStatus: (r.bot_status as Conversation['botStatus'] | undefined) ?? null,
    createdAt: iso(r.created_at),
  };
}

/** What a widget visitor may see of a conversation. */
export function presentVisitorConversation(c: Conversation) {
  return { id: c.id, displayId: c.displayId, status: c.status, lastSeq: c.lastSeq, lastActivityAt: c.lastActivityAt, createdAt: c.createdAt };
}
