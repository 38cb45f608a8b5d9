/**
 * Queue overflow: what happens to a conversation that waited longer than its team's queue timeout.
 *
 * Every action is one `OverflowAction` — validated when an admin saves a team's routing settings and run
 * inside the transaction that takes the conversation out of its wait — so later modules add their own
 * kinds (tickets: "create a ticket", SLA: "escalate") with `registry.register(action)` and nothing here
 * changes. The built-ins: move to another team's queue, leave a message for a later reply (by email or
 * the original channel), or back to the bot.
 */
import type { Sql } from '../db/database.ts';
import { one } from '../db/database.ts';
import type { DomainEvents } from '../shared/events.ts';

export interface OverflowIssue {
  /** Field under `overflow`, e.g. 'teamId'. */
  path: string;
  message: string;
}

export interface OverflowRunContext {
  tx: Sql;
  workspaceId: string;
  conversation: { id: string; teamId: string | null; contactId: string; inboxId: string; channelType: string };
  /** The action's saved parameters (validated on save). */
  params: Record<string, unknown>;
  /** The customer's language is Chinese (for texts the customer reads). */
  zh: boolean;
  /** Appends a line to the conversation, inside the transaction; `private` lines only agents see. */
  appendActivity(text: string, opts?: { private?: boolean }): Promise<void>;
}

export interface OverflowOutcome {
  /** Stored on the routing decision (why / what was done). */
  detail: Record<string, unknown>;
  /** The conversation stays in a queue and should be routed again after the commit (e.g. another team). */
  reroute: boolean;
  /** Runs after the commit (domain events for other modules). */
  afterCommit?: (events: DomainEvents) => void;
}

export interface OverflowAction {
  readonly kind: string;
  /** Checks the parameters an admin saves for a team; each issue names its field. */
  validate(params: Record<string, unknown>, ctx: { sql: Sql; workspaceId: string; teamId: string }): Promise<OverflowIssue[]>;
  /** Runs inside the transaction that found the conversation still waiting past the timeout. */
  run(ctx: OverflowRunContext): Promise<OverflowOutcome>;
}

export interface OverflowRegistry {
  register(action: OverflowAction): void;
  get(kind: string): OverflowAction | undefined;
  kinds(): string[];
}

export function createOverflowRegistry(actions: readonly OverflowAction[] = BUILT_IN_OVERFLOW_ACTIONS): OverflowRegistry {
  const byKind = new Map<string, OverflowAction>();
  const registry: OverflowRegistry = {
    register(action) {
      if (byKind.has(action.kind)) throw new Error(`overflow action ${action.kind} is already registered`);
      byKind.set(action.kind, action);
    },
    get: (kind) => byKind.get(kind),
    kinds: () => [...byKind.keys()],
  };
  for (const a of actions) registry.register(a);
  return registry;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Into another team's queue; it keeps its place in line (queued_at) and is routed again at once. */
export const routeToTeam: OverflowAction = {
  kind: 'route_to_team',
  async validate(params, { sql, workspaceId, teamId }) {
    const target = params.teamId;
    if (typeof target !== 'string' || !UUID.test(target)) return [{ path: 'teamId', message: 'name the team to move waiting conversations to (a team id)' }];
    if (target === teamId) return [{ path: 'teamId', message: 'the overflow team must be another team than this one' }];
    const t = await one(sql, `SELECT 1 AS ok FROM teams WHERE id = $1 AND workspace_id = $2`, [target, workspaceId]);
    return t ? [] : [{ path: 'teamId', message: `team ${target} does not exist in this workspace` }];
  },
  async run({ tx, workspaceId, conversation, params, appendActivity }) {
    const target = await one(tx, `SELECT id, name FROM teams WHERE id = $1 AND workspace_id = $2`, [params.teamId, workspaceId]);
    if (!target) return { detail: { skipped: 'the overflow team no longer exists' }, reroute: false };
    await tx.query(`UPDATE conversations SET team_id = $3 WHERE id = $1 AND workspace_id = $2`, [conversation.id, workspaceId, target.id]);
    await appendActivity(`Queue timeout: Routing moved the conversation to the team ${target.name as string}`, { private: true });
    return { detail: { fromTeamId: conversation.teamId, toTeamId: target.id, toTeamName: target.name }, reroute: true };
  },
};

/**
 * Out of the queue, waiting for a later reply: the conversation becomes pending (unassigned, in the
 * "unassigned" list), the customer is asked to leave their message — the reply reaches them by email
 * (when they left an address) or on their channel.
 */
export const leaveMessage: OverflowAction = {
  kind: 'leave_message',
  async validate() {
    return [];
  },
  async run({ tx, workspaceId, conversation, zh, appendActivity }) {
    await tx.query(`UPDATE conversations SET queued_at = NULL, status = 'pending', updated_at = now() WHERE id = $1 AND workspace_id = $2`, [conversation.id, workspaceId]);
    await appendActivity(
      zh
        ? '抱歉，客服现在都在忙。请留下您的问题和邮箱，我们会尽快回复您（通过邮件或在这里）。'
        : 'Sorry, all our agents are busy right now. Leave your question and your email, and we will reply as soon as we can — by email or right here.',
    );
    return { detail: { status: 'pending' }, reroute: false };
  },
};

/**
 * SET clause giving a conversation back to the bot — only where its inbox has the bot on (otherwise it would
 * wait for a bot that never answers; it stays with the humans' routing).
 */
export const BACK_TO_BOT_SQL = `bot_status = CASE WHEN EXISTS (SELECT 1 FROM inboxes bi WHERE bi.id = conversations.inbox_id AND bi.bot_enabled) THEN 'bot' ELSE bot_status END`;

/** Back to the bot: out of the queue, the bot (AI issue) continues; a later handoff queues it again. */
export const backToBot: OverflowAction = {
  kind: 'back_to_bot',
  async validate() {
    return [];
  },
  async run({ tx, workspaceId, conversation, zh, appendActivity }) {
    await tx.query(`UPDATE conversations SET queued_at = NULL, updated_at = now(), ${BACK_TO_BOT_SQL} WHERE id = $1 AND workspace_id = $2`, [conversation.id, workspaceId]);
    await appendActivity(
      zh ? '客服现在都在忙，智能助手会继续为您服务。' : 'All our agents are busy right now; our assistant will keep helping you meanwhile.',
    );
    return {
      detail: { handedTo: 'bot' },
      reroute: false,
      afterCommit: (events) => events.emit('conversation.bot_resumed', { workspaceId, conversationId: conversation.id, reason: 'queue_timeout' }),
    };
  },
};

export const BUILT_IN_OVERFLOW_ACTIONS: readonly OverflowAction[] = [routeToTeam, leaveMessage, backToBot];

/** How many overflows one conversation may go through (a → b → a… loops stop here; it stays queued). */
export const MAX_OVERFLOWS = 3;
