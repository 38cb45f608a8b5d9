import { randomUUID } from 'node:crypto';
import type { Card, ContentType, Conversation, Location, Message } from '@huiliu/contracts';
import type { z } from 'zod';
import type { Database, Row, Sql } from '../db/database.ts';
import { AppError, invalid, isUniqueViolation, notFound } from '../shared/errors.ts';
import type { DomainEvents } from '../shared/events.ts';
import type { TextIndex } from '../shared/text-index.ts';
import type { FileUrlSigner } from '../auth/tokens.ts';
import type { Logger } from '../shared/logger.ts';
import { presentConversation, presentMessage, type StoredAttachment } from './present.ts';
import { appendBatchRows, type BatchRow } from './append-batch.ts';

/**
 * The one write path for messages (DESIGN.md §3). Every message — a visitor's, an agent's reply, a note,
 * an activity line — gets its per-conversation `seq` here, in the same statement that stores it.
 *
 * Group commit: callers submit; a flush waits `lingerMs` for company, then stores the batch with ONE call
 * of the plan-cached SQL function `huiliu_append_batch` (append-batch.ts) — on PGlite a call costs ~0.5 ms
 * plus ~0.15 ms per message, so batching is what sustains 1,000 msg/s embedded (docs/benchmarks.md).
 * Each caller is acknowledged only after COMMIT and events are published in seq order. Messages with
 * attachments take the single-message path (APPEND_SQL) inside the same transaction, in order. If a batch
 * fails, each message is retried alone so one bad message cannot fail its neighbours.
 */

export interface AppendInput {
  workspaceId: string;
  conversationId: string;
  /** Authorization predicate evaluated in the same statement: the conversation must match it. */
  scope: { contactId?: string | undefined; inboxIds?: string[] | null | undefined };
  direction: Message['direction'];
  private: boolean;
  senderType: Message['senderType'];
  senderId: string | null;
  /** Identity an incoming message came through; defaults to the conversation's identity. */
  identityId?: string | null | undefined;
  contentType: ContentType;
  text: string;
  location?: z.infer<typeof Location> | undefined;
  card?: z.infer<typeof Card> | undefined;
  /** Channel fields kept in messages.content (subject, sanitized html, unsupported, sentAt…; see present.ts). */
  extraContent?: Record<string, unknown> | undefined;
  attachmentIds?: string[] | undefined;
  /** Who uploaded the attachments (they must be theirs and not yet used). */
  uploader?: { type: 'user' | 'contact' | 'system'; id: string | null } | undefined;
  clientId?: string | null | undefined;
  externalId?: string | null | undefined;
  deliveryStatus?: Message['deliveryStatus'] | undefined;
  /** Prefix of field paths in validation errors (e.g. "body" for REST). */
  fieldPrefix?: string | undefined;
}

export interface AppendResult {
  message: Message;
  conversation: Conversation;
  duplicate: boolean;
  /** The conversation's status changed (a customer message reopened it). */
  reopened: boolean;
}

const APPEND_SQL = `
WITH scoped AS (
  SELECT c.id FROM conversations c
  WHERE c.id = $2 AND c.workspace_id = $1
    AND ($5::uuid IS NULL OR c.contact_id = $5)
    AND ($6::uuid[] IS NULL OR c.inbox_id = ANY($6::uuid[]))
),
existing AS (
  SELECT m.id FROM messages m JOIN scoped ON scoped.id = m.conversation_id
  WHERE ($3::text IS NOT NULL AND m.client_id = $3) OR ($4::text IS NOT NULL AND m.external_id = $4)
  LIMIT 1
),
conv AS (
  UPDATE conversations c SET
    last_seq = c.last_seq + 1,
    last_activity_at = now(),
    updated_at = now(),
    last_incoming_at = CASE WHEN $7 = 'incoming' THEN now() ELSE c.last_incoming_at END,
    status = CASE WHEN $7 = 'incoming' AND c.status IN ('resolved', 'snoozed') THEN 'open' ELSE c.status END,
    snoozed_until = CASE WHEN $7 = 'incoming' THEN NULL ELSE c.snoozed_until END,
    resolved_at = CASE WHEN $7 = 'incoming' AND c.status = 'resolved' THEN NULL ELSE c.resolved_at END
  FROM scoped
  WHERE c.id = scoped.id AND NOT EXISTS (SELECT 1 FROM existing)
  RETURNING c.*, (c.status IS DISTINCT FROM (SELECT o.status FROM conversations o WHERE o.id = c.id)) AS reopened
),
ins AS (
  INSERT INTO messages (id, workspace_id, inbox_id, conversation_id, seq, direction, private, sender_type, sender_id,
                        identity_id, content_type, text, content, client_id, external_id, delivery_status, search)
  SELECT $8, $1, conv.inbox_id, conv.id, conv.last_seq, $7, $9, $10, $11,
         CASE WHEN $7 = 'incoming' THEN COALESCE($12, conv.identity_id) ELSE $12 END,
         $13, $14, $15, $3, $4, $16, to_tsvector('simple', $17)
  FROM conv
  RETURNING *
)
SELECT ins.*, false AS duplicate, conv.reopened, to_jsonb(conv) AS conversation FROM ins, conv
UNION ALL
SELECT m.*, true AS duplicate, false AS reopened, to_jsonb(c) AS conversation
FROM existing e JOIN messages m ON m.id = e.id JOIN conversations c ON c.id = m.conversation_id`;

export function createMessagePipeline(deps: {
  db: Database;
  events: DomainEvents;
  textIndex: TextIndex;
  files: FileUrlSigner;
  logger: Logger;
  maxBatch?: number;
  /** How long a flush waits for more messages to share its statement (group commit), in ms. */
  lingerMs?: number;
}) {
  const { db, events, textIndex, files, logger } = deps;
  // ~0.25 ms per message on PGlite: a batch of 64 holds the event loop for ~15 ms at most.
  const maxBatch = deps.maxBatch ?? 64;
  // A call costs ~0.5 ms fixed + ~0.15 ms per message on PGlite: waiting a few ms for company makes a busy
  // system several times cheaper per message and costs an idle one a few ms of latency.
  const lingerMs = deps.lingerMs ?? 3;

  async function claimAttachments(tx: Sql, input: AppendInput, messageId: string): Promise<StoredAttachment[]> {
    const ids = [...new Set(input.attachmentIds ?? [])];
    if (ids.length === 0) return [];
    const rows = await tx.query(
      `UPDATE attachments SET message_id = $1
       WHERE workspace_id = $2 AND id = ANY($3::uuid[]) AND message_id IS NULL
         AND uploader_type = $4 AND uploader_id IS NOT DISTINCT FROM $5
       RETURNING id, file_name, content_type, size`,
      [messageId, input.workspaceId, ids, input.uploader?.type ?? 'system', input.uploader?.id ?? null],
    );
    if (rows.length !== ids.length) {
      throw invalid(`${input.fieldPrefix ?? 'body'}.attachmentIds`, 'an attachment id is unknown, already sent, or was uploaded by someone else; upload the file again');
    }
    const byId = new Map(rows.map((r) => [r.id as string, r]));
    return ids.map((id) => {
      const r = byId.get(id)!;
      return { id, fileName: r.file_name as string, contentType: r.content_type as string, size: Number(r.size) };
    });
  }

  /** Appends inside the caller's transaction. The caller must call `publish()` with the result after COMMIT. */
  async function appendInTx(tx: Sql, input: AppendInput): Promise<AppendResult> {
    const messageId = randomUUID();
    let attachments: StoredAttachment[] = [];
    if (input.attachmentIds?.length) {
      // A retry of an already stored message carries attachment ids that are now used: answer with
      // the stored message instead of an error.
      const dup = await findDuplicate(tx, input);
      if (dup) return dup;
      attachments = await claimAttachments(tx, input, messageId);
    }
    const content = contentOf(input);
    if (attachments.length) content.attachments = attachments;
    const rows = await tx.query(APPEND_SQL, [
      input.workspaceId,
      input.conversationId,
      input.clientId ?? null,
      input.externalId ?? null,
      input.scope.contactId ?? null,
      input.scope.inboxIds ?? null,
      input.direction,
      messageId,
      input.private,
      input.senderType,
      input.senderId,
      input.identityId ?? null,
      input.contentType,
      input.text,
      JSON.stringify(content),
      input.deliveryStatus ?? 'sent',
      textIndex.document(input.text, input.card?.title, input.card?.description, ...attachments.map((a) => a.fileName)),
    ]);
    const row = rows[0];
    if (!row) throw notFound('conversation');
    return toResult(row);
  }

  async function findDuplicate(tx: Sql, input: AppendInput): Promise<AppendResult | undefined> {
    if (!input.clientId && !input.externalId) return undefined;
    const rows = await tx.query(
      `SELECT m.*, true AS duplicate, false AS reopened, to_jsonb(c) AS conversation
       FROM messages m JOIN conversations c ON c.id = m.conversation_id
       WHERE c.id = $2 AND c.workspace_id = $1
         AND ($5::uuid IS NULL OR c.contact_id = $5) AND ($6::uuid[] IS NULL OR c.inbox_id = ANY($6::uuid[]))
         AND (($3::text IS NOT NULL AND m.client_id = $3) OR ($4::text IS NOT NULL AND m.external_id = $4))`,
      [input.workspaceId, input.conversationId, input.clientId ?? null, input.externalId ?? null, input.scope.contactId ?? null, input.scope.inboxIds ?? null],
    );
    return rows[0] ? toResult(rows[0]) : undefined;
  }

  function toResult(row: Row): AppendResult {
    return {
      message: presentMessage(row, files),
      conversation: presentConversation(row.conversation as Row),
      duplicate: row.duplicate as boolean,
      reopened: row.reopened as boolean,
    };
  }

  function publish(result: AppendResult): void {
    if (result.duplicate) return;
    events.emit('message.created', { message: result.message, conversation: result.conversation });
    if (result.reopened) events.emit('conversation.updated', { conversation: result.conversation, previousAssigneeId: result.conversation.assigneeId });
  }

  // ---- group commit ----
  interface Pending {
    input: AppendInput;
    resolve: (r: AppendResult) => void;
    reject: (e: unknown) => void;
  }
  let queue: Pending[] = [];
  let flushing = false;

  async function runAlone(p: Pending): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await db.transaction((tx) => appendInTx(tx, p.input));
        publish(result);
        p.resolve(result);
        return;
      } catch (err) {
        // Two nodes storing the same client id at once: the loser's retry finds the winner's row.
        if (attempt === 0 && isUniqueViolation(err)) continue;
        p.reject(err);
        return;
      }
    }
  }

  function contentOf(input: AppendInput): Record<string, unknown> {
    const content: Record<string, unknown> = { ...(input.extraContent ?? {}) };
    if (input.location) content.location = input.location;
    if (input.card) content.card = input.card;
    return content;
  }

  /**
   * Appends messages without attachments in one statement. Returns, per input, the result or the
   * not_found error of a message whose conversation is outside its caller's scope.
   */
  async function appendManyInTx(tx: Sql, inputs: AppendInput[]): Promise<(AppendResult | AppError)[]> {
    // Duplicates inside the batch (a client retrying while its first try is still queued) are resolved
    // here: they get the first occurrence's result. The database resolves duplicates already stored.
    const firstOf = new Map<string, number>();
    const sameAs: (number | undefined)[] = inputs.map((input, idx) => {
      const keys = [input.clientId && `c:${input.conversationId}:${input.clientId}`, input.externalId && `e:${input.conversationId}:${input.externalId}`].filter(Boolean) as string[];
      for (const key of keys) {
        const first = firstOf.get(key);
        if (first !== undefined) return first;
      }
      keys.forEach((key) => firstOf.set(key, idx));
      return undefined;
    });
    const rows: BatchRow[] = [];
    inputs.forEach((input, idx) => {
      if (sameAs[idx] !== undefined) return;
      rows.push({
        idx,
        id: randomUUID(),
        workspace_id: input.workspaceId,
        conversation_id: input.conversationId,
        client_id: input.clientId ?? null,
        external_id: input.externalId ?? null,
        ...(input.scope.contactId ? { scope_contact: input.scope.contactId } : {}),
        ...(input.scope.inboxIds ? { scope_inboxes: input.scope.inboxIds } : {}),
        direction: input.direction,
        private: input.private,
        sender_type: input.senderType,
        sender_id: input.senderId,
        identity_id: input.identityId ?? null,
        content_type: input.contentType,
        text: input.text,
        content: contentOf(input),
        delivery_status: input.deliveryStatus ?? 'sent',
        search_doc: textIndex.document(input.text, input.card?.title, input.card?.description),
      });
    });
    const outcome = await appendBatchRows(tx, rows);
    const reopenAnnounced = new Set<string>();
    const results = new Map<number, AppResultOrError>();
    for (const row of rows) {
      const inserted = outcome.inserted.get(row.id);
      if (inserted) {
        const conversation = outcome.conversations.get(row.conversation_id)!;
        const reopened = conversation.reopened === true && !reopenAnnounced.has(row.conversation_id);
        if (reopened) reopenAnnounced.add(row.conversation_id);
        results.set(row.idx, { message: presentMessage(inserted, files), conversation: presentConversation(conversation), duplicate: false, reopened });
        continue;
      }
      const existing = outcome.existing.get(row.idx);
      results.set(
        row.idx,
        existing
          ? { message: presentMessage(existing.message, files), conversation: presentConversation(existing.conversation), duplicate: true, reopened: false }
          : notFound('conversation'),
      );
    }
    return inputs.map((_, idx) => {
      const first = sameAs[idx];
      if (first === undefined) return results.get(idx)!;
      const r = results.get(first)!;
      return r instanceof AppError ? r : { ...r, duplicate: true, reopened: false };
    });
  }

  type AppResultOrError = AppendResult | AppError;

  /** One transaction for the batch: runs of plain messages as one statement, attachments one by one, in order. */
  async function appendBatchInTx(tx: Sql, batch: Pending[]): Promise<(AppendResult | AppError)[]> {
    const out: (AppendResult | AppError)[] = [];
    let i = 0;
    while (i < batch.length) {
      if (batch[i]!.input.attachmentIds?.length) {
        out.push(await appendInTx(tx, batch[i]!.input));
        i++;
        continue;
      }
      let j = i;
      while (j < batch.length && !batch[j]!.input.attachmentIds?.length) j++;
      out.push(...(await appendManyInTx(tx, batch.slice(i, j).map((p) => p.input))));
      i = j;
    }
    return out;
  }

  async function flush(): Promise<void> {
    flushing = true;
    try {
      while (queue.length > 0) {
        const batch = queue.slice(0, maxBatch);
        queue = queue.slice(batch.length);
        let outcomes: (AppendResult | AppError)[] | undefined;
        try {
          // Plain messages are one statement, atomic by itself: no BEGIN / COMMIT round trips needed.
          outcomes = batch.some((p) => p.input.attachmentIds?.length)
            ? await db.transaction((tx) => appendBatchInTx(tx, batch))
            : await appendManyInTx(db, batch.map((p) => p.input));
        } catch (err) {
          if (!(err instanceof AppError)) logger.debug({ err, size: batch.length }, 'batch append failed; retrying one by one');
        }
        if (outcomes) {
          outcomes.forEach((o, k) => {
            if (o instanceof AppError) batch[k]!.reject(o);
            else {
              publish(o);
              batch[k]!.resolve(o);
            }
          });
        } else {
          for (const p of batch) await runAlone(p);
        }
        // Let socket reads, acks and fan-out run between batches (PGlite executes on this thread).
        if (queue.length > 0) await new Promise((r) => setImmediate(r));
      }
    } finally {
      flushing = false;
    }
  }

  return {
    /** Stores a message (or returns the original for a retried client/external id). Resolves after COMMIT. */
    append(input: AppendInput): Promise<AppendResult> {
      return new Promise<AppendResult>((resolve, reject) => {
        queue.push({ input, resolve, reject });
        if (flushing) return;
        flushing = true;
        if (lingerMs > 0 && queue.length < maxBatch) setTimeout(() => void flush(), lingerMs);
        else void flush();
      });
    },
    appendInTx,
    publish,
    /** The search document this pipeline stores for a text (for SQL that inserts a message itself: routing's claim). */
    searchDocument: (text: string): string => textIndex.document(text),
    /** Resolves when everything submitted so far is committed (graceful shutdown). */
    async drain(): Promise<void> {
      while (flushing || queue.length > 0) await new Promise((r) => setTimeout(r, 5));
    },
  };
}
export type MessagePipeline = ReturnType<typeof createMessagePipeline>;
