import type { Sql } from '../db/database.ts';
import type { MessageLogRow } from '../jobs/log-consumer.ts';

/**
 * Reads the message log and records reporting facts (Chatwoot-style reporting events):
 *  - `message_incoming` / `message_outgoing`: one per public message, for volume charts;
 *  - `first_response`: seconds from the conversation's start to the first public agent reply.
 * Runs in the cursor's transaction, so each fact is written exactly once; one statement per kind of fact
 * per batch keeps it cheap on the embedded database.
 */
export async function recordReportingFacts(tx: Sql, rows: MessageLogRow[]): Promise<void> {
  const publicMessages = rows.filter((m) => m.direction !== 'activity' && !m.private);
  if (publicMessages.length === 0) return;
  const facts = publicMessages.map((m) => ({
    workspace_id: m.workspaceId,
    conversation_id: m.conversationId,
    name: m.direction === 'incoming' ? 'message_incoming' : 'message_outgoing',
    user_id: m.senderType === 'user' ? m.senderId : null,
    created_at: m.createdAt,
  }));
  await tx.query(
    `INSERT INTO reporting_events (workspace_id, conversation_id, name, value, user_id, created_at)
     SELECT workspace_id, conversation_id, name, 1, user_id, created_at
     FROM jsonb_to_recordset($1::jsonb) AS t(workspace_id uuid, conversation_id uuid, name text, user_id uuid, created_at timestamptz)`,
    [JSON.stringify(facts)],
  );
  const replies = facts.filter((f, i) => f.name === 'message_outgoing' && publicMessages[i]!.senderType === 'user');
  if (replies.length === 0) return;
  await tx.query(
    `INSERT INTO reporting_events (workspace_id, conversation_id, name, value, user_id, created_at)
     SELECT DISTINCT ON (t.conversation_id) t.workspace_id, c.id, 'first_response', EXTRACT(EPOCH FROM (t.created_at - c.created_at)), t.user_id, t.created_at
     FROM jsonb_to_recordset($1::jsonb) AS t(workspace_id uuid, conversation_id uuid, user_id uuid, created_at timestamptz)
     JOIN conversations c ON c.id = t.conversation_id
     WHERE NOT EXISTS (SELECT 1 FROM reporting_events r WHERE r.conversation_id = t.conversation_id AND r.name = 'first_response')
     ORDER BY t.conversation_id, t.created_at`,
    [JSON.stringify(replies)],
  );
}
