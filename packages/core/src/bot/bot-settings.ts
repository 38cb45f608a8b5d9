import { BotSettings, type UpdateBotSettingsBody } from '@huiliu/contracts';
import type { z } from 'zod';
import type { Database, Sql } from '../db/database.ts';
import { one } from '../db/database.ts';
import type { Actor } from '../auth/actor.ts';
import { requirePermission } from '../auth/actor.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { invalid } from '../shared/errors.ts';
import { customPatternProblem } from './nlu/entities.ts';

/**
 * The bot's settings per workspace. Everything lives in one jsonb row except the inboxes where the bot
 * answers first, which are `inboxes.bot_enabled`: the conversations trigger reads that flag in the INSERT
 * that creates a conversation, so the routing engine never sees a bot conversation first.
 */
export const DEFAULT_BOT_SETTINGS: Omit<BotSettings, 'inboxIds'> = {
  name: '小汇',
  greeting: '您好，我是智能助手小汇，请问有什么可以帮您？',
  fallbackMessage: '抱歉，我没有理解您的意思。您可以换个说法，或者输入“转人工”联系人工客服。',
  handoffMessage: '正在为您转接人工客服，请稍候…',
  intentThreshold: null,
  lowConfidenceTurns: 2,
  negativeSentimentThreshold: -0.6,
  vipTags: ['VIP'],
  knowledgeThreshold: 0.5,
  flowTimeoutMinutes: 30,
  orderNumberPatterns: [],
};

export async function loadBotSettings(sql: Sql, workspaceId: string): Promise<BotSettings> {
  const row = await one(sql, `SELECT settings FROM bot_settings WHERE workspace_id = $1`, [workspaceId]);
  const inboxes = await sql.query(`SELECT id FROM inboxes WHERE workspace_id = $1 AND bot_enabled ORDER BY created_at`, [workspaceId]);
  const stored = (row?.settings ?? {}) as Partial<BotSettings>;
  return { ...DEFAULT_BOT_SETTINGS, ...stored, inboxIds: inboxes.map((r) => r.id as string) };
}

export function createBotSettingsStore(deps: { db: Database; onChange: (workspaceId: string) => void }) {
  const { db } = deps;
  return {
    async get(actor: Actor): Promise<BotSettings> {
      requirePermission(actor, 'bot.manage');
      return loadBotSettings(db, actor.workspaceId);
    },

    async update(actor: Actor, patch: z.infer<typeof UpdateBotSettingsBody>): Promise<BotSettings> {
      requirePermission(actor, 'bot.manage');
      patch.orderNumberPatterns?.forEach((p, i) => {
        // The same check as workspace entities: these run on every customer message.
        const problem = customPatternProblem(p);
        if (problem) throw invalid(`body.orderNumberPatterns.${i}`, `${problem}; e.g. [A-Z]{2}\\d{10}`);
      });
      const result = await db.transaction(async (tx) => {
        if (patch.inboxIds) {
          const found = await tx.query(`SELECT id FROM inboxes WHERE workspace_id = $1 AND id = ANY($2::uuid[])`, [actor.workspaceId, patch.inboxIds]);
          const missing = patch.inboxIds.filter((id) => !found.some((r) => r.id === id));
          if (missing.length > 0) throw invalid('body.inboxIds', `no inbox ${missing.join(', ')} in this workspace; pick inboxes from GET /api/v1/inboxes`);
          await tx.query(`UPDATE inboxes SET bot_enabled = (id = ANY($2::uuid[])) WHERE workspace_id = $1`, [actor.workspaceId, patch.inboxIds]);
        }
        const current = await loadBotSettings(tx, actor.workspaceId);
        const { inboxIds: _ignored, ...rest } = { ...current, ...patch };
        const next = BotSettings.parse({ ...rest, inboxIds: current.inboxIds });
        const { inboxIds: _i, ...stored } = next;
        await tx.query(
          `INSERT INTO bot_settings (workspace_id, settings) VALUES ($1, $2)
           ON CONFLICT (workspace_id) DO UPDATE SET settings = EXCLUDED.settings, updated_at = now()`,
          [actor.workspaceId, JSON.stringify(stored)],
        );
        await recordAudit(tx, actor, 'bot.settings_updated', null, { fields: Object.keys(patch) });
        return next;
      });
      deps.onChange(actor.workspaceId);
      return result;
    },
  };
}
