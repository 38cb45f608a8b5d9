import type { Sql } from '../db/database.ts';
import type { MessageLogRow } from '../jobs/log-consumer.ts';

/**
 * Reads the message log and records reporting facts (Chatwoot-style reporting events):
 *  - `first_response`: seconds from the conversation's start to the first public agent reply.
 *  - `message_incoming` / `message_outgoing`: one per message, for volume charts.
 * Runs in the cursor's transaction, so each fact is written exactly once.
 */
export async function recordReportingFacts(tx: Sql, rows: MessageLogRow[]): Promise<void> {
  for (const m of rows) {
    if (m.direction === 'activity' || m.private) continue;
    await tx.query(`INSERT INTO reporting_events (workspace_id, conversation_id, name, value, user_id, created_at) VALUES ($1, $2, $3, 1, $4, $5)`, [
      m.workspaceId,
      m.conversationId,
      m.direction === 'incoming' ? 'message_incoming' : 'message_outgoing',
      m.senderType === 'user' ? m.senderId : null,
      m.createdAt,
    ]);
    if (m.direction === 'outgoing' && m.senderType === 'user') {
      await tx.query(
        `INSERT INTO reporting_events (workspace_id, conversation_id, name, value, user_id, created_at)
         SELECT $1, c.id, 'first_response', EXTRACT(EPOCH FROM ($4::timestamptz - c.created_at)), $3, $4
         FROM conversations c
         WHERE c.id = $2 AND NOT EXISTS (SELECT 1 FROM reporting_events r WHERE r.conversation_id = $2 AND r.name = 'first_response')`,
        [m.workspaceId, m.conversationId, m.senderId, m.createdAt],
      );
    }
  }
}
