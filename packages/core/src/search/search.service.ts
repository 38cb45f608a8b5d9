import type { Contact, Conversation, Message } from '@huiliu/contracts';
import type { Database, Row } from '../db/database.ts';
import type { Actor } from '../auth/actor.ts';
import { can, requirePermission } from '../auth/actor.ts';
import type { FileUrlSigner } from '../auth/tokens.ts';
import type { TextIndex } from '../shared/text-index.ts';
import type { ContactService } from '../contacts/contact.service.ts';
import type { InboxService } from '../inboxes/inbox.service.ts';
import { presentConversation, presentMessage } from '../messages/present.ts';

/**
 * One search box across contacts, conversations and messages. Text is segmented with jieba at write time
 * (see TextIndex) so Chinese works on plain PostgreSQL and PGlite without extensions. Results respect
 * inbox visibility; private notes are found only by agents (visitors cannot search).
 */
export function createSearchService(deps: { db: Database; textIndex: TextIndex; contacts: ContactService; inboxes: InboxService; files: FileUrlSigner }) {
  const { db, textIndex, contacts, inboxes, files } = deps;
  return {
    async search(actor: Actor, q: string, limit: number): Promise<{ contacts: Contact[]; conversations: Conversation[]; messages: { message: Message; conversation: Conversation }[] }> {
      requirePermission(actor, 'conversation.read');
      const tsq = textIndex.query(q);
      const inboxIds = await inboxes.visibleInboxIds(actor);
      const contactHits = can(actor, 'contact.read') ? (await contacts.list(actor, { q, limit })).items : [];
      const messageRows: Row[] = tsq
        ? await db.query(
            `SELECT m.*, to_jsonb(c) AS conversation FROM messages m JOIN conversations c ON c.id = m.conversation_id
             WHERE m.workspace_id = $1 AND m.search @@ to_tsquery('simple', $2) AND ($3::uuid[] IS NULL OR c.inbox_id = ANY($3::uuid[]))
             ORDER BY m.created_at DESC LIMIT $4`,
            [actor.workspaceId, tsq, inboxIds, limit],
          )
        : [];
      const displayId = /^#?(\d{1,9})$/.exec(q.trim())?.[1];
      const convRows = await db.query(
        `SELECT * FROM conversations c WHERE c.workspace_id = $1 AND ($2::uuid[] IS NULL OR c.inbox_id = ANY($2::uuid[]))
           AND (c.display_id = $3 OR c.contact_id = ANY($4::uuid[]) OR c.id = ANY($5::uuid[]))
         ORDER BY c.last_activity_at DESC LIMIT $6`,
        [actor.workspaceId, inboxIds, displayId ? Number(displayId) : null, contactHits.map((c) => c.id), messageRows.map((m) => m.conversation_id), limit],
      );
      return {
        contacts: contactHits,
        conversations: convRows.map(presentConversation),
        messages: messageRows.map((r) => ({ message: presentMessage(r, files), conversation: presentConversation(r.conversation as Row) })),
      };
    },
  };
}
export type SearchService = ReturnType<typeof createSearchService>;
