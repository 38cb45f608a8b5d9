import type { Sql } from '../db/database.ts';
import type { AppendResult, MessagePipeline } from '../messages/pipeline.ts';

/**
 * Time-driven conversation changes, run by the scheduler as a durable job:
 *  - snoozed conversations whose time has come reopen;
 *  - open / pending conversations resolve after the workspace's `autoResolveHours` of customer silence
 *    (no customer message for that long; 0 disables it).
 * Each change adds an activity line through the pipeline. Returns what to publish after COMMIT.
 */
export async function runConversationSweep(tx: Sql, pipeline: MessagePipeline, limit = 500): Promise<AppendResult[]> {
  const due = await tx.query<{ id: string; workspace_id: string; action: 'reopen' | 'resolve'; hours: number }>(
    `SELECT c.id, c.workspace_id, 'reopen' AS action, 0 AS hours FROM conversations c
      WHERE c.status = 'snoozed' AND c.snoozed_until <= now()
     UNION ALL
     SELECT c.id, c.workspace_id, 'resolve', (w.settings->>'autoResolveHours')::int FROM conversations c JOIN workspaces w ON w.id = c.workspace_id
      WHERE c.status IN ('open', 'pending') AND COALESCE((w.settings->>'autoResolveHours')::int, 0) > 0
        AND COALESCE(c.last_incoming_at, c.created_at) < now() - make_interval(hours => (w.settings->>'autoResolveHours')::int)
     LIMIT $1`,
    [limit],
  );
  const published: AppendResult[] = [];
  for (const d of due) {
    const changed = await tx.query(
      d.action === 'reopen'
        ? `UPDATE conversations SET status = 'open', snoozed_until = NULL, updated_at = now() WHERE id = $1 AND status = 'snoozed' RETURNING id`
        : `UPDATE conversations SET status = 'resolved', resolved_at = now(), updated_at = now() WHERE id = $1 AND status IN ('open', 'pending') RETURNING id`,
      [d.id],
    );
    if (changed.length === 0) continue;
    published.push(
      await pipeline.appendInTx(tx, {
        workspaceId: d.workspace_id,
        conversationId: d.id,
        scope: {},
        direction: 'activity',
        private: false,
        senderType: 'system',
        senderId: null,
        contentType: 'text',
        text: d.action === 'reopen' ? 'The snooze ended; the conversation is open again' : `Resolved automatically after ${d.hours} h without a customer message`,
      }),
    );
  }
  return published;
}
