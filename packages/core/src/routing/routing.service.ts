/**
 * The routing engine (issue 4): presence, the queue, and atomic assignment.
 *
 * A decision has two halves, kept apart on purpose (Rocket.Chat's `getNextAgent` + locked claim):
 *  1. decide in memory: load a snapshot of the eligible agents (online, member of the conversation's
 *     inbox and of its team, skills, load < capacity) and let the team's strategy pick one;
 *  2. claim in PostgreSQL, the source of truth: one transaction locks the agent's presence row
 *     (serializing capacity across workers and nodes), re-counts the load, and assigns only
 *     `WHERE assignee_id IS NULL` — 0 rows means another worker won, and the next candidate is tried.
 * Whoever finds nobody leaves the conversation in the queue (queued_at); an agent coming online or
 * freeing capacity drains the queue by priority, then longest waiting.
 *
 * Work runs as durable jobs (jobs/job-queue.ts), so it survives restarts and spreads over nodes:
 *  - `routing.route`  one conversation (new customer message, bot handoff, unassigned by a person);
 *  - `routing.drain`  the workspace's queue, when capacity appears (agent online, a conversation closed);
 *  - `routing.presence_timeout`  an agent's grace period after going offline / losing their last socket.
 *
 * Trigger: new customer messages are read from the message log by a log consumer, not from the
 * in-process `message.created` event. The event is lost if the process dies between the message's
 * COMMIT and the routing job, and it only fires on the node that stored the message; the log consumer
 * resumes from its stored cursor after a restart, runs once per message across all nodes, and enqueues
 * the routing job in the same transaction that advances its cursor (exactly once). The event is only
 * used to wake the consumer early.
 */
import type { PresenceStatus, Priority } from '@huiliu/contracts';
import type { Database, Row, Sql } from '../db/database.ts';
import { one } from '../db/database.ts';
import type { Actor, UserActor } from '../auth/actor.ts';
import { requirePermission } from '../auth/actor.ts';
import { AppError, conflict, forbidden, notFound } from '../shared/errors.ts';
import type { DomainEvents, HandoffReason } from '../shared/events.ts';
import type { Logger } from '../shared/logger.ts';
import type { ConversationService } from '../conversations/conversation.service.ts';
import type { InboxService } from '../inboxes/inbox.service.ts';
import type { JobQueue } from '../jobs/job-queue.ts';
import { createBurstCatchUp, createLogConsumer, type LogConsumer, type MessageLogRow } from '../jobs/log-consumer.ts';
import {
  QUEUE_ORDER_SQL, STRATEGIES, eligibleCandidates,
  type RoutingCandidate, type RoutingContext, type RoutingConversation, type StrategyName,
} from './strategies.ts';
import type { AgentPresence, QueueItem, QueueStatus, RoutingDecision, TeamRouting, TeamRoutingSettings } from './routing.schemas.ts';
import type { BusinessSchedule, RoutingFacts, RoutingRule, RuleEvaluation } from '@huiliu/contracts/routing-rules';
import type { MessagePipeline } from '../messages/pipeline.ts';
import { evaluateRules } from './rules/index.ts';
import { isOpen, nextOpening } from './business-hours/index.ts';
import { loadSchedules } from './routing-rules.service.ts';
import { presentConversation } from '../messages/present.ts';
import { BACK_TO_BOT_SQL, createOverflowRegistry, MAX_OVERFLOWS, type OverflowIssue, type OverflowRegistry } from './overflow.ts';

export const ROUTE_QUEUE = 'routing.route';
export const DRAIN_QUEUE = 'routing.drain';
export const PRESENCE_TIMEOUT_QUEUE = 'routing.presence_timeout';
/** A business-hours opening: drains the workspace's queue when a closed team opens again. */
export const OPENING_QUEUE = 'routing.opening';
/** A team's queue timeout: runs the team's overflow action if the conversation is still waiting. */
export const QUEUE_TIMEOUT_QUEUE = 'routing.queue_timeout';
const CONSUMER_NAME = 'routing';

export interface RoutingOptions {
  /** How long an agent may be offline / without a socket before their conversations are re-queued. */
  offlineGraceMs: number;
  /** Wait estimate per conversation when there is no handling history yet. */
  fallbackHandlingSeconds: number;
  /** Handling times averaged for the wait estimate: the last N resolved conversations. */
  handlingSample: number;
  /** Candidates tried per routing attempt before the conversation stays queued. */
  maxClaimAttempts: number;
}

export const DEFAULT_ROUTING_OPTIONS: RoutingOptions = {
  offlineGraceMs: 120_000,
  fallbackHandlingSeconds: 300,
  handlingSample: 50,
  maxClaimAttempts: 5,
};

export interface RouteJob {
  workspaceId: string;
  conversationId: string;
  trigger: 'message' | 'handoff' | 'unassigned' | 'manual';
  reason?: HandoffReason | undefined;
}

export type RouteOutcome =
  | { outcome: 'assigned'; agentId: string }
  | { outcome: 'queued'; newly: boolean }
  | { outcome: 'skipped'; why: string };

interface QueueTimeoutJob {
  workspaceId: string;
  conversationId: string;
  /** The wait this timeout belongs to: a later wait (or another team) has its own job. */
  teamId: string;
  queuedAt: string;
}

interface PresenceTimeoutJob {
  workspaceId: string;
  userId: string;
  /** 'disconnect': last socket gone (compare epoch); 'offline': set offline by hand (compare status time). */
  kind: 'disconnect' | 'offline';
  epoch: string;
  statusChangedAt: string | null;
}

const iso = (v: unknown): string => new Date(v as string).toISOString();
const isoOrNull = (v: unknown): string | null => (v == null ? null : iso(v));
const ms = (v: unknown): number | null => (v == null ? null : new Date(v as string).getTime());

/** Ensures the agent has a presence row (defaults: offline, capacity 5). */
/**
 * Puts an unassigned open conversation into the queue (keeping an earlier queued_at: its place in line).
 * Undefined when it is no longer unassigned and open; `newly` when it was not queued before.
 * The place in line counts from the customer's latest message, not from when a routing worker got to
 * it: route jobs run concurrently, so "first routed" is not "first to write".
 */
async function markQueued(sql: Sql, workspaceId: string, conversationId: string): Promise<{ newly: boolean } | undefined> {
  const r = await one(
    sql,
    `WITH old AS (SELECT queued_at FROM conversations WHERE id = $1)
     UPDATE conversations c SET queued_at = COALESCE(c.queued_at, LEAST(now(), COALESCE(c.last_incoming_at, now())))
     WHERE c.id = $1 AND c.workspace_id = $2 AND c.assignee_id IS NULL AND c.status = 'open'
     RETURNING (SELECT queued_at FROM old) IS NULL AS newly`,
    [conversationId, workspaceId],
  );
  return r ? { newly: Boolean(r.newly) } : undefined;
}

async function ensurePresence(sql: Sql, workspaceId: string, userId: string): Promise<void> {
  await sql.query(`INSERT INTO agent_presence (user_id, workspace_id) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING`, [userId, workspaceId]);
}

/** Enqueues routing for a bot handoff inside the caller's transaction (durable with the bot's own writes). */
export async function enqueueHandoff(
  jobs: JobQueue,
  tx: Sql,
  input: { workspaceId: string; conversationId: string; reason: HandoffReason; requiredSkills?: Record<string, number> | undefined; teamId?: string | null | undefined },
): Promise<void> {
  if (input.requiredSkills || input.teamId) {
    // The bot's requirements become the conversation's queue requirements (team only within the workspace).
    await tx.query(
      `UPDATE conversations SET required_skills = COALESCE($3::text::jsonb, required_skills),
         team_id = COALESCE((SELECT id FROM teams WHERE id = $4::uuid AND workspace_id = $2), team_id)
       WHERE id = $1 AND workspace_id = $2`,
      [input.conversationId, input.workspaceId, input.requiredSkills ? JSON.stringify(input.requiredSkills) : null, input.teamId ?? null],
    );
  }
  const payload: RouteJob = { workspaceId: input.workspaceId, conversationId: input.conversationId, trigger: 'handoff', reason: input.reason };
  await jobs.enqueue(tx, { queue: ROUTE_QUEUE, payload, workspaceId: input.workspaceId, orderingKey: `routing:${input.conversationId}`, maxAttempts: 5 });
}

export function createRoutingService(deps: {
  db: Database;
  events: DomainEvents;
  conversations: ConversationService;
  inboxes: InboxService;
  logger: Logger;
  options?: Partial<RoutingOptions>;
  /** For the visitor's "we are closed now" message. */
  pipeline: MessagePipeline;
  /** Queue overflow actions; other modules register theirs on `routing.overflowActions`. */
  overflow?: OverflowRegistry;
}) {
  const { db, events, conversations, inboxes, pipeline } = deps;
  const overflowActions = deps.overflow ?? createOverflowRegistry();
  const log = deps.logger.child({ component: 'routing' });
  /** Mutable on purpose: tests shorten the grace period of a running node. */
  const options: RoutingOptions = { ...DEFAULT_ROUTING_OPTIONS, ...deps.options };
  let jobs: JobQueue | undefined;
  let consumer: LogConsumer | undefined;
  let stopped = true;
  const offs: (() => void)[] = [];

  function queue(): JobQueue {
    if (!jobs) throw new Error('the routing engine is not started');
    return jobs;
  }

  async function enqueueRoute(sql: Sql, job: RouteJob): Promise<void> {
    await queue().enqueue(sql, { queue: ROUTE_QUEUE, payload: job, workspaceId: job.workspaceId, orderingKey: `routing:${job.conversationId}`, maxAttempts: 5 });
  }

  async function enqueueDrain(workspaceId: string, reason: string): Promise<void> {
    // Drains of one workspace run one at a time (ordering key); a drain already waiting covers this one.
    await db.transaction(async (tx) => {
      const waiting = await tx.query(`SELECT 1 FROM jobs WHERE queue = $1 AND ordering_key = $2 AND status = 'queued' LIMIT 1`, [DRAIN_QUEUE, `routing-drain:${workspaceId}`]);
      if (waiting.length === 0) await queue().enqueue(tx, { queue: DRAIN_QUEUE, payload: { workspaceId, reason }, workspaceId, orderingKey: `routing-drain:${workspaceId}`, maxAttempts: 5 });
    });
    queue().notify();
  }

  // ---------------------------------------------------------------------------------------------
  // Snapshot and decision

  async function loadConversation(sql: Sql, workspaceId: string, id: string): Promise<Row | undefined> {
    return one(
      sql,
      `SELECT c.*, i.channel_type, COALESCE(tr.strategy, 'least_busy') AS strategy, COALESCE(tr.sticky_minutes, 1440) AS sticky_minutes, tr.last_agent_id AS rr_last_agent_id,
         t.schedule_id AS team_schedule_id, tr.queue_timeout_seconds, tr.overflow
       FROM conversations c JOIN inboxes i ON i.id = c.inbox_id
       LEFT JOIN team_routing tr ON tr.team_id = c.team_id
       LEFT JOIN teams t ON t.id = c.team_id
       WHERE c.id = $1 AND c.workspace_id = $2`,
      [id, workspaceId],
    );
  }

  function toRoutingConversation(r: Row): RoutingConversation {
    return {
      id: r.id as string,
      contactId: r.contact_id as string,
      inboxId: r.inbox_id as string,
      channelType: r.channel_type as string,
      teamId: (r.team_id as string | null) ?? null,
      priority: r.priority as Priority,
      requiredSkills: (r.required_skills as Record<string, number> | null) ?? {},
    };
  }

  /** Online agents of the conversation's inbox (and team), with their current load. */
  async function loadCandidates(sql: Sql, workspaceId: string, conv: RoutingConversation): Promise<RoutingCandidate[]> {
    const rows = await sql.query(
      `WITH agents AS (
         SELECT p.user_id, u.name, p.capacity, p.channel_capacities, p.last_routed_at
         FROM agent_presence p
         JOIN users u ON u.id = p.user_id AND u.status = 'active' AND u.workspace_id = p.workspace_id
         JOIN inbox_members im ON im.user_id = p.user_id AND im.inbox_id = $2
         WHERE p.workspace_id = $1 AND p.status = 'online'
           AND ($3::uuid IS NULL OR EXISTS (SELECT 1 FROM team_members tm WHERE tm.team_id = $3 AND tm.user_id = p.user_id))
       ), loads AS (
         SELECT c.assignee_id AS user_id,
                count(*) FILTER (WHERE c.status IN ('open', 'pending')) AS load,
                count(*) FILTER (WHERE c.status IN ('open', 'pending') AND i.channel_type = $4) AS channel_load,
                count(*) FILTER (WHERE c.assigned_at > now() - interval '24 hours') AS recent
         FROM conversations c JOIN inboxes i ON i.id = c.inbox_id
         WHERE c.workspace_id = $1 AND c.assignee_id IN (SELECT user_id FROM agents)
         GROUP BY c.assignee_id
       ), skills AS (
         SELECT s.user_id, jsonb_object_agg(s.skill, s.level) AS skills FROM agent_skills s
         WHERE s.workspace_id = $1 AND s.user_id IN (SELECT user_id FROM agents) GROUP BY s.user_id
       )
       SELECT a.*, COALESCE(l.load, 0) AS load, COALESCE(l.channel_load, 0) AS channel_load, COALESCE(l.recent, 0) AS recent,
         COALESCE(sk.skills, '{}'::jsonb) AS skills
       FROM agents a LEFT JOIN loads l ON l.user_id = a.user_id LEFT JOIN skills sk ON sk.user_id = a.user_id`,
      [workspaceId, conv.inboxId, conv.teamId, conv.channelType],
    );
    return rows.map((r) => ({
      userId: r.user_id as string,
      name: r.name as string,
      load: Number(r.load),
      capacity: Number(r.capacity),
      channelCapacities: (r.channel_capacities as Record<string, number>) ?? {},
      channelLoad: Number(r.channel_load),
      recentAssignments: Number(r.recent),
      lastRoutedAt: ms(r.last_routed_at),
      skills: (r.skills as Record<string, number>) ?? {},
    }));
  }

  async function loadContext(sql: Sql, conv: Row, strategy: StrategyName): Promise<RoutingContext> {
    const context: RoutingContext = { now: Date.now(), roundRobinAfter: (conv.rr_last_agent_id as string | null) ?? null };
    if (strategy === 'sticky') {
      const last = await one(
        sql,
        `SELECT assignee_id FROM conversations
         WHERE workspace_id = $1 AND contact_id = $2 AND id <> $3 AND assignee_id IS NOT NULL
           AND COALESCE(resolved_at, last_activity_at) > now() - $4::int * interval '1 minute'
         ORDER BY COALESCE(resolved_at, last_activity_at) DESC LIMIT 1`,
        [conv.workspace_id, conv.contact_id, conv.id, Number(conv.sticky_minutes)],
      );
      context.stickyAgentId = (last?.assignee_id as string | undefined) ?? null;
    }
    return context;
  }

  async function recordDecision(sql: Sql, d: { workspaceId: string; conversationId: string; agentId: string | null; strategy: string; outcome: RoutingDecision['outcome']; reason: Record<string, unknown> }): Promise<void> {
    await sql.query(
      `INSERT INTO routing_decisions (workspace_id, conversation_id, agent_id, strategy, outcome, reason) VALUES ($1, $2, $3, $4, $5, $6::text::jsonb)`,
      [d.workspaceId, d.conversationId, d.agentId, d.strategy, d.outcome, JSON.stringify(d.reason)],
    );
  }

  /**
   * The atomic claim: one call of the SQL function behind `claimUnassigned`. Lock order: the agent's
   * presence row (SKIP LOCKED for routing: a busy agent is skipped, not waited for), then the conversation
   * row. Returns a refusal reason ('taken', 'busy', 'not_online', 'at_capacity', …) or the conversation.
   */
  async function claimFor(input: {
    actor: Actor;
    workspaceId: string;
    conversationId: string;
    agentId: string;
    agentName: string;
    channelType: string;
    teamId: string | null;
    strategy: string;
    outcome: 'assigned' | 'claimed';
    requireOnline: boolean;
    /** Routing skips an agent whose presence row another claim holds; a person's own claim waits for it. */
    skipLocked: boolean;
    reason: Record<string, unknown>;
  }) {
    const activity = input.outcome === 'claimed'
      ? `${input.agentName} picked the conversation up from the queue`
      : `Routing assigned the conversation to ${input.agentName} (${input.strategy.replace(/_/g, ' ')})`;
    return conversations.claimUnassigned({
      actor: input.actor,
      conversationId: input.conversationId,
      assigneeId: input.agentId,
      activity,
      // SKIP LOCKED: another claim for this agent is in flight; rather than queue behind it (the lock
      // waits dominated the claim latency in `npm run bench -- routing`), try the next candidate.
      guard: { skipLocked: input.skipLocked, requireOnline: input.requireOnline, channelType: input.channelType },
      decision: { strategy: input.strategy, outcome: input.outcome, reason: input.reason, teamId: input.teamId },
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Rules and business hours

  /**
   * The workspace's rules and schedules, parsed once and cached in memory until a save invalidates them
   * (the `routing.config_changed` event, which the server relays to every node of a cluster).
   */
  interface RoutingConfig { rules: RoutingRule[]; schedules: Map<string, BusinessSchedule> }
  const configCache = new Map<string, RoutingConfig>();
  const configGeneration = new Map<string, number>();
  /** Bumped when every workspace's copy is dropped at once (cluster.resync). */
  let allGeneration = 0;

  function invalidateRoutingConfig(workspaceId: string): void {
    configCache.delete(workspaceId);
    configGeneration.set(workspaceId, (configGeneration.get(workspaceId) ?? 0) + 1);
  }

  async function routingConfig(workspaceId: string): Promise<RoutingConfig> {
    const cached = configCache.get(workspaceId);
    if (cached) return cached;
    const generation = configGeneration.get(workspaceId) ?? 0;
    const all = allGeneration;
    const [set, schedules] = await Promise.all([
      one(db, `SELECT rules FROM routing_rule_sets WHERE workspace_id = $1`, [workspaceId]),
      loadSchedules(db, workspaceId),
    ]);
    const config: RoutingConfig = { rules: (set?.rules as RoutingRule[] | undefined) ?? [], schedules };
    // A save while we were reading: do not cache what may already be stale.
    if ((configGeneration.get(workspaceId) ?? 0) === generation && allGeneration === all) configCache.set(workspaceId, config);
    return config;
  }

  /** What the rules look at: channel, inbox, the contact's attributes and tags, language, time zone, latest customer text. */
  async function buildFacts(row: Row): Promise<RoutingFacts> {
    const c = await one(
      db,
      `SELECT ct.attributes, ct.tags,
         (SELECT m.text FROM messages m WHERE m.conversation_id = $1 AND m.direction = 'incoming' ORDER BY m.seq DESC LIMIT 1) AS last_text
       FROM contacts ct WHERE ct.id = $2 AND ct.workspace_id = $3`,
      [row.id, row.contact_id, row.workspace_id],
    );
    const attributes = (c?.attributes as Record<string, unknown> | undefined) ?? {};
    const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : null);
    return {
      channelType: row.channel_type as RoutingFacts['channelType'],
      inboxId: row.inbox_id as string,
      contact: { attributes, tags: (c?.tags as string[] | undefined) ?? [] },
      language: str(attributes.locale)?.slice(0, 35) ?? null,
      timeZone: str(attributes.timeZone)?.slice(0, 64) ?? null,
      messageText: ((c?.last_text as string | null) ?? '').slice(0, 64 * 1024),
    };
  }

  interface RuledConversation {
    row: Row;
    evaluation: RuleEvaluation | null;
    /** A rule routes to one named agent: only them (else the fallback team, else the queue). */
    agentId: string | null;
    fallbackTeamId: string | null;
    facts: RoutingFacts | null;
  }

  /**
   * Evaluates the enabled rules and applies the decision to the conversation: team, required skills,
   * priority and tags (persisted, so the queue and the console show them); a named agent is returned.
   */
  async function applyRules(workspaceId: string, row: Row): Promise<RuledConversation> {
    const config = await routingConfig(workspaceId);
    if (!config.rules.some((r) => r.enabled)) return { row, evaluation: null, agentId: null, fallbackTeamId: null, facts: null };
    const facts = await buildFacts(row);
    const evaluation = evaluateRules(config.rules, facts, { now: () => new Date() }, { schedules: config.schedules });
    const d = evaluation.decision;
    let teamId = (row.team_id as string | null) ?? null;
    let skills = (row.required_skills as Record<string, number> | null) ?? {};
    let agentId: string | null = null;
    let fallbackTeamId: string | null = null;
    if (d.target?.type === 'team') teamId = d.target.teamId;
    else if (d.target?.type === 'skills') {
      skills = { ...skills };
      for (const s of d.target.skills) skills[s.skill] = Math.max(skills[s.skill] ?? 0, s.minLevel);
      if (d.target.teamId) teamId = d.target.teamId;
    } else if (d.target?.type === 'agent') {
      agentId = d.target.agentId;
      fallbackTeamId = d.target.fallbackTeamId ?? null;
    }
    const tags = (row.tags as string[] | null) ?? [];
    const newTags = d.tags.filter((t) => !tags.includes(t));
    const patch: { teamId?: string | null; priority?: RoutingConversation['priority']; tags?: string[] } = {};
    if (teamId !== ((row.team_id as string | null) ?? null)) patch.teamId = teamId;
    if (d.priority && d.priority !== row.priority) patch.priority = d.priority;
    if (newTags.length) patch.tags = [...tags, ...newTags];
    const skillsChanged = JSON.stringify(skills) !== JSON.stringify(row.required_skills ?? {});
    if (skillsChanged) {
      await db.query(`UPDATE conversations SET required_skills = $3::text::jsonb WHERE id = $1 AND workspace_id = $2 AND assignee_id IS NULL`, [row.id, workspaceId, JSON.stringify(skills)]);
    }
    // Through the conversation service: the timeline shows "System set the priority to high" and listeners hear it.
    if (Object.keys(patch).length) await conversations.update({ kind: 'system', workspaceId, via: 'system' }, row.id as string, patch);
    const next = skillsChanged || Object.keys(patch).length ? await loadConversation(db, workspaceId, row.id as string) : row;
    return { row: next ?? row, evaluation, agentId, fallbackTeamId, facts };
  }

  function formatOpening(at: Date, timeZone: string, zh: boolean): string {
    const opts: Intl.DateTimeFormatOptions = { timeZone, month: 'short', day: 'numeric', weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short' };
    try {
      return new Intl.DateTimeFormat(zh ? 'zh-CN' : 'en-US', opts).format(at);
    } catch {
      return new Intl.DateTimeFormat(zh ? 'zh-CN' : 'en-US', { ...opts, timeZone: 'UTC' }).format(at);
    }
  }

  /**
   * The visitor's "we are closed" text, in Chinese or English by the contact's locale, with what happens
   * next: the bot helps meanwhile (bot_only), or they can leave their message and email (offline_form).
   */
  function closedText(opens: Date | null, timeZone: string, locale: string | null, action: BusinessSchedule['outsideHoursAction']): string {
    const zh = (locale ?? '').toLowerCase().startsWith('zh');
    const when = opens ? formatOpening(opens, timeZone, zh) : null;
    const closed = zh ? (when ? `我们现在不在服务时间，将于 ${when} 恢复服务。` : '我们现在不在服务时间。') : when ? `We are closed now; we open again at ${when}.` : 'We are closed now.';
    const next = action === 'bot_only'
      ? (zh ? '在此期间，智能助手可以为您解答。' : 'Our assistant can help you meanwhile.')
      : (zh ? '请留下您的问题和邮箱，我们上班后会回复您。' : 'Leave your question and your email, and we will reply when we are back.');
    return `${closed}${zh ? '' : ' '}${next}`;
  }

  /** One drain when the schedule opens (a durable job, so it survives restarts). */
  async function scheduleOpeningDrain(tx: Sql, workspaceId: string, opens: Date): Promise<void> {
    const key = `routing-opening:${workspaceId}:${opens.toISOString()}`;
    const waiting = await tx.query(`SELECT 1 FROM jobs WHERE queue = $1 AND ordering_key = $2 AND status = 'queued' LIMIT 1`, [OPENING_QUEUE, key]);
    if (waiting.length === 0) await queue().enqueue(tx, { queue: OPENING_QUEUE, payload: { workspaceId }, workspaceId, orderingKey: key, runAt: opens, maxAttempts: 5 });
  }

  /**
   * The conversation's team is outside its business hours; once per closure the visitor is told when we
   * open and the decision is recorded. The schedule's outside-hours action decides the rest:
   *  - offline_form: it stays queued (routed when the team opens) and the visitor is asked for their
   *    question and email, so the reply reaches them even if they have left;
   *  - bot_only: out of the queue, back to the bot (`conversation.bot_resumed`); a later handoff queues it;
   *  - ticket: there is no ticket module yet, so it is handled as offline_form and the decision says so
   *    (the tickets module registers the real action).
   */
  async function holdOutsideHours(input: {
    workspaceId: string; row: Row; schedule: BusinessSchedule; strategy: string; base: Record<string, unknown>; facts: RoutingFacts | null;
  }): Promise<RouteOutcome> {
    const { workspaceId, row, schedule } = input;
    const conversationId = row.id as string;
    const now = new Date();
    const opens = nextOpening(schedule, now);
    const facts = input.facts ?? (await buildFacts(row));
    const customerZone = facts.timeZone && isValidZone(facts.timeZone) ? facts.timeZone : null;
    const action = schedule.outsideHoursAction;
    const text = closedText(opens, customerZone ?? schedule.timeZone, facts.language ?? null, action);
    const r = await db.transaction(async (tx) => {
      const queued = await markQueued(tx, workspaceId, conversationId);
      if (!queued) return null;
      if (action === 'bot_only') await tx.query(`UPDATE conversations SET queued_at = NULL, ${BACK_TO_BOT_SQL} WHERE id = $1 AND workspace_id = $2`, [conversationId, workspaceId]);
      const notice = await tx.query(
        `INSERT INTO routing_closed_notices (conversation_id, workspace_id, opens_at) VALUES ($1, $2, $3::timestamptz) ON CONFLICT DO NOTHING RETURNING opens_at`,
        [conversationId, workspaceId, opens ? opens.toISOString() : 'infinity'],
      );
      let appended = null;
      if (notice.length > 0) {
        await recordDecision(tx, {
          workspaceId, conversationId, agentId: null, strategy: input.strategy, outcome: 'queued',
          reason: {
            ...input.base, why: 'outside business hours', scheduleId: schedule.id, scheduleName: schedule.name, timeZone: schedule.timeZone,
            outsideHoursAction: action, nextOpening: opens ? opens.toISOString() : null, notice: text,
            ...(action === 'ticket' ? { handledAs: 'offline_form', note: 'no ticket module is installed' } : {}),
            ...(action === 'bot_only' ? { handedTo: 'bot' } : {}),
          },
        });
        appended = await pipeline.appendInTx(tx, {
          workspaceId, conversationId, scope: {}, direction: 'activity', private: false, senderType: 'system', senderId: null, contentType: 'text', text,
        });
        if (opens) await scheduleOpeningDrain(tx, workspaceId, opens);
      }
      return { newly: queued.newly, appended };
    });
    if (!r) return { outcome: 'skipped', why: 'changed' };
    if (r.appended) pipeline.publish(r.appended);
    schedulePositions(workspaceId);
    if (action === 'bot_only') {
      if (r.appended) events.emit('conversation.bot_resumed', { workspaceId, conversationId, reason: 'outside_hours' });
      return { outcome: 'skipped', why: 'outside business hours: with the bot' };
    }
    return { outcome: 'queued', newly: r.newly };
  }

  function isValidZone(tz: string): boolean {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      return true;
    } catch {
      return false;
    }
  }

  /** Routes one conversation: assign to the strategy's pick, or leave it queued. */
  async function route(workspaceId: string, conversationId: string, trigger: string, extra: Record<string, unknown> = {}): Promise<RouteOutcome> {
    const loaded = await loadConversation(db, workspaceId, conversationId);
    if (!loaded) return { outcome: 'skipped', why: 'not_found' };
    if (loaded.assignee_id) return { outcome: 'skipped', why: 'assigned' };
    if (loaded.status !== 'open') return { outcome: 'skipped', why: `status ${loaded.status as string}` };
    // The bot answers first in its inboxes; it hands over (bot_status 'handed_off') when a human should.
    if (loaded.bot_status === 'bot') return { outcome: 'skipped', why: 'with the bot' };
    // Rules first: they may set the team, skills, a named agent, priority and tags.
    const ruled = await applyRules(workspaceId, loaded);
    const row = ruled.row;
    if (row.assignee_id) return { outcome: 'skipped', why: 'assigned' };
    if (row.status !== 'open') return { outcome: 'skipped', why: `status ${row.status as string}` };
    const conv = toRoutingConversation(row);
    const strategyName = row.strategy as StrategyName;
    const rules = ruled.evaluation
      ? { matchedRuleIds: ruled.evaluation.matchedRuleIds, target: ruled.evaluation.decision.target, explanation: ruled.evaluation.explanation }
      : undefined;

    // Business hours of the conversation's team: closed → stays queued, the visitor is told when we open.
    const scheduleId = (row.team_schedule_id as string | null) ?? null;
    if (scheduleId) {
      const schedule = (await routingConfig(workspaceId)).schedules.get(scheduleId);
      if (schedule && !isOpen(schedule, Date.now())) {
        return holdOutsideHours({ workspaceId, row, schedule, strategy: strategyName, facts: ruled.facts, base: { trigger, ...extra, teamId: conv.teamId, ...(rules ? { rules } : {}) } });
      }
    }

    let strategy = STRATEGIES[strategyName];
    let online: RoutingCandidate[];
    let agentRule: Record<string, unknown> | undefined;
    if (ruled.agentId) {
      // A rule names the agent: only them, whatever the team (any strategy picks the single candidate).
      online = (await loadCandidates(db, workspaceId, { ...conv, teamId: null })).filter((c) => c.userId === ruled.agentId);
      strategy = STRATEGIES.least_busy;
      agentRule = { agentId: ruled.agentId, available: eligibleCandidates(online, conv).length > 0 };
      if (!agentRule.available && ruled.fallbackTeamId) {
        conv.teamId = ruled.fallbackTeamId;
        online = await loadCandidates(db, workspaceId, conv);
        strategy = STRATEGIES[strategyName];
        agentRule.fallbackTeamId = ruled.fallbackTeamId;
      }
    } else {
      online = await loadCandidates(db, workspaceId, conv);
    }
    let candidates = eligibleCandidates(online, conv);
    const context = await loadContext(db, row, strategyName);
    const lost: { agentId: string; refused: string }[] = [];
    const base = {
      trigger, ...extra, online: online.length, eligible: candidates.length, requiredSkills: conv.requiredSkills, teamId: conv.teamId,
      ...(rules ? { rules } : {}), ...(agentRule ? { namedAgent: agentRule } : {}),
    };
    for (let attempt = 0; attempt < options.maxClaimAttempts; attempt++) {
      const pick = strategy.pickAgent(candidates, conv, context);
      if (!pick) break;
      const r = await claimFor({
        actor: { kind: 'system', workspaceId, via: 'system' },
        workspaceId, conversationId, agentId: pick.agent.userId, agentName: pick.agent.name, channelType: conv.channelType, teamId: conv.teamId,
        strategy: strategyName, outcome: 'assigned', requireOnline: true, skipLocked: true,
        reason: { ...base, ...pick.reason, ...(lost.length ? { lost } : {}) },
      });
      if (r.ok) {
        schedulePositions(workspaceId);
        return { outcome: 'assigned', agentId: pick.agent.userId };
      }
      if (r.reason === 'taken') return { outcome: 'skipped', why: 'taken' };
      // The snapshot was stale for this agent (went offline, filled up meanwhile): next one.
      lost.push({ agentId: pick.agent.userId, refused: r.reason });
      candidates = candidates.filter((c) => c.userId !== pick.agent.userId);
    }
    const queued = await markQueued(db, workspaceId, conversationId);
    if (!queued) return { outcome: 'skipped', why: 'changed' };
    if (strategy.name === 'offer_all') await offer(workspaceId, conversationId, strategyName, candidates, base);
    // A candidate was only busy with another claim: try the queue again once those claims are done.
    if (lost.some((l) => l.refused === 'busy')) void enqueueDrain(workspaceId, 'candidates were busy').catch((err: unknown) => log.warn({ err }, 'routing: drain after busy candidates failed'));
    const newly = queued.newly;
    if (newly) {
      const why = agentRule && !agentRule.fallbackTeamId && !agentRule.available ? 'the agent named by the rule is not available'
        : strategy.name === 'manual' ? 'manual pick-up: agents claim from the queue'
        : strategy.name === 'offer_all' ? (candidates.length ? 'offered to every eligible agent; the first to accept gets it' : 'no eligible agent to offer it to') : online.length === 0 ? 'no agent online' : candidates.length === 0 ? 'no eligible agent with free capacity' : 'every pick was refused';
      await recordDecision(db, { workspaceId, conversationId, agentId: null, strategy: strategyName, outcome: 'queued', reason: { ...base, why, ...(lost.length ? { lost } : {}) } });
      await scheduleQueueTimeout(workspaceId, conversationId);
      schedulePositions(workspaceId);
    }
    return { outcome: 'queued', newly };
  }

  // ---------------------------------------------------------------------------------------------
  // Offer to all (strategies.ts offerAll)

  /** Agents each waiting conversation was offered to (this node): a re-route offers only to new ones. */
  const offeredTo = new Map<string, Set<string>>();

  async function offer(workspaceId: string, conversationId: string, strategyName: string, candidates: RoutingCandidate[], base: Record<string, unknown>): Promise<void> {
    const seen = offeredTo.get(conversationId) ?? new Set<string>();
    const fresh = candidates.map((c) => c.userId).filter((id) => !seen.has(id));
    if (fresh.length === 0) return;
    for (const id of fresh) seen.add(id);
    offeredTo.set(conversationId, seen);
    await recordDecision(db, { workspaceId, conversationId, agentId: null, strategy: strategyName, outcome: 'offered', reason: { ...base, offeredTo: fresh } });
    events.emit('conversation.offered', { workspaceId, conversationId, agentIds: fresh });
  }

  /** Conversations of offer-to-all teams waiting now that this agent could accept (skills, capacity, membership). */
  async function offersFor(actor: UserActor): Promise<string[]> {
    const waiting = await db.query(
      `SELECT c.id FROM conversations c JOIN team_routing tr ON tr.team_id = c.team_id
       WHERE c.workspace_id = $1 AND tr.strategy = 'offer_all' AND c.queued_at IS NOT NULL AND c.assignee_id IS NULL AND c.status = 'open'
       ORDER BY ${QUEUE_ORDER_SQL} LIMIT 100`,
      [actor.workspaceId],
    );
    const mine: string[] = [];
    for (const w of waiting) {
      const row = await loadConversation(db, actor.workspaceId, w.id as string);
      if (!row) continue;
      const conv = toRoutingConversation(row);
      const candidates = eligibleCandidates(await loadCandidates(db, actor.workspaceId, conv), conv);
      if (candidates.some((c) => c.userId === actor.userId)) mine.push(conv.id);
    }
    return mine;
  }

  // ---------------------------------------------------------------------------------------------
  // Queue timeout and overflow (overflow.ts)

  /** A durable timer for the conversation's current wait, when its team has a queue timeout. */
  async function scheduleQueueTimeout(workspaceId: string, conversationId: string): Promise<void> {
    const r = await one(
      db,
      `SELECT c.team_id, c.queued_at, tr.queue_timeout_seconds FROM conversations c JOIN team_routing tr ON tr.team_id = c.team_id
       WHERE c.id = $1 AND c.workspace_id = $2 AND c.queued_at IS NOT NULL AND tr.queue_timeout_seconds IS NOT NULL AND tr.overflow IS NOT NULL`,
      [conversationId, workspaceId],
    );
    if (!r) return;
    const job: QueueTimeoutJob = { workspaceId, conversationId, teamId: r.team_id as string, queuedAt: iso(r.queued_at) };
    // From now, not from queued_at: a conversation moved here by an overflow gets this team's full timeout.
    const runAt = new Date(Date.now() + Number(r.queue_timeout_seconds) * 1000);
    await db.transaction((tx) => queue().enqueue(tx, { queue: QUEUE_TIMEOUT_QUEUE, payload: job, workspaceId, orderingKey: `routing:${conversationId}`, runAt, maxAttempts: 5 }));
  }

  async function onQueueTimeout(job: QueueTimeoutJob): Promise<void> {
    const { workspaceId, conversationId } = job;
    const result = await db.transaction(async (tx) => {
      // Still the same wait? (assigned, resolved, moved to another team or re-queued since → not ours)
      const c = await one(
        tx,
        `SELECT c.id, c.team_id, c.contact_id, c.inbox_id, c.queued_at, i.channel_type, tr.overflow, tr.queue_timeout_seconds, COALESCE(tr.strategy, 'least_busy') AS strategy,
           ct.attributes->>'locale' AS locale
         FROM conversations c JOIN inboxes i ON i.id = c.inbox_id JOIN contacts ct ON ct.id = c.contact_id
         LEFT JOIN team_routing tr ON tr.team_id = c.team_id
         WHERE c.id = $1 AND c.workspace_id = $2 AND c.assignee_id IS NULL AND c.status = 'open' AND c.queued_at IS NOT NULL
         FOR UPDATE OF c`,
        [conversationId, workspaceId],
      );
      if (!c || c.team_id !== job.teamId || iso(c.queued_at) !== job.queuedAt || !c.overflow) return null;
      const config = c.overflow as { action: string } & Record<string, unknown>;
      const action = overflowActions.get(config.action);
      const previous = await one(tx, `SELECT count(*) AS n FROM routing_decisions WHERE conversation_id = $1 AND outcome = 'overflow'`, [conversationId]);
      const base = { trigger: 'queue_timeout', teamId: job.teamId, queueTimeoutSeconds: Number(c.queue_timeout_seconds), queuedAt: job.queuedAt, action: config.action };
      if (!action || Number(previous?.n ?? 0) >= MAX_OVERFLOWS) {
        await recordDecision(tx, { workspaceId, conversationId, agentId: null, strategy: c.strategy as string, outcome: 'queued', reason: { ...base, why: action ? `already overflowed ${MAX_OVERFLOWS} times; it stays queued` : `unknown overflow action ${config.action}` } });
        return null;
      }
      const appended: Awaited<ReturnType<MessagePipeline['appendInTx']>>[] = [];
      const { action: _kind, ...params } = config;
      const outcome = await action.run({
        tx, workspaceId, params,
        conversation: { id: conversationId, teamId: job.teamId, contactId: c.contact_id as string, inboxId: c.inbox_id as string, channelType: c.channel_type as string },
        zh: String(c.locale ?? '').toLowerCase().startsWith('zh'),
        appendActivity: async (text, o = {}) => {
          appended.push(await pipeline.appendInTx(tx, { workspaceId, conversationId, scope: {}, direction: 'activity', private: o.private ?? false, senderType: 'system', senderId: null, contentType: 'text', text }));
        },
      });
      await recordDecision(tx, { workspaceId, conversationId, agentId: null, strategy: c.strategy as string, outcome: 'overflow', reason: { ...base, ...outcome.detail } });
      return { outcome, appended };
    });
    if (!result) return;
    for (const a of result.appended) pipeline.publish(a);
    result.outcome.afterCommit?.(events);
    // Status / team changed under the conversation service's feet: tell every console.
    const updated = await one(db, `SELECT * FROM conversations WHERE id = $1 AND workspace_id = $2`, [conversationId, workspaceId]);
    if (updated) events.emit('conversation.updated', { conversation: presentConversation(updated), previousAssigneeId: null });
    schedulePositions(workspaceId);
    if (result.outcome.reroute) {
      const r = await route(workspaceId, conversationId, 'overflow');
      if (r.outcome === 'queued') await scheduleQueueTimeout(workspaceId, conversationId);
    }
  }

  /** Checks a team's overflow setting on save; the issues name `body.overflow.<field>`. */
  async function validateOverflow(sql: Sql, workspaceId: string, teamId: string, overflow: { action: string } & Record<string, unknown>): Promise<OverflowIssue[]> {
    const action = overflowActions.get(overflow.action);
    if (!action) return [{ path: 'action', message: `unknown overflow action ${overflow.action}; use one of ${overflowActions.kinds().join(', ')}` }];
    const { action: _kind, ...params } = overflow;
    return action.validate(params, { sql, workspaceId, teamId });
  }

  /** Routes the workspace's queue in order (priority, then longest waiting) while agents have room. */
  async function drain(workspaceId: string): Promise<{ assigned: number }> {
    const waiting = await db.query(
      `SELECT c.id FROM conversations c LEFT JOIN team_routing tr ON tr.team_id = c.team_id
       WHERE c.workspace_id = $1 AND c.queued_at IS NOT NULL AND c.assignee_id IS NULL AND c.status = 'open'
         AND COALESCE(tr.strategy, 'least_busy') <> 'manual'
       ORDER BY ${QUEUE_ORDER_SQL} LIMIT 500`,
      [workspaceId],
    );
    let assigned = 0;
    for (const w of waiting) {
      if (stopped) break;
      const free = await one(
        db,
        `SELECT 1 AS ok FROM agent_presence p WHERE p.workspace_id = $1 AND p.status = 'online'
           AND p.capacity > (SELECT count(*) FROM conversations c WHERE c.workspace_id = $1 AND c.assignee_id = p.user_id AND c.status IN ('open', 'pending'))
         LIMIT 1`,
        [workspaceId],
      );
      if (!free) break;
      const r = await route(workspaceId, w.id as string, 'drain');
      if (r.outcome === 'assigned') assigned++;
    }
    schedulePositions(workspaceId);
    return { assigned };
  }

  // ---------------------------------------------------------------------------------------------
  // Queue positions and wait estimates

  async function averageHandlingSeconds(workspaceId: string): Promise<number> {
    const r = await one(
      db,
      `SELECT avg(EXTRACT(EPOCH FROM (resolved_at - assigned_at))) AS avg FROM (
         SELECT resolved_at, assigned_at FROM conversations
         WHERE workspace_id = $1 AND resolved_at IS NOT NULL AND assigned_at IS NOT NULL AND resolved_at > assigned_at
         ORDER BY resolved_at DESC LIMIT $2) s`,
      [workspaceId, options.handlingSample],
    );
    const avg = r?.avg == null ? NaN : Number(r.avg);
    return Number.isFinite(avg) && avg > 0 ? avg : options.fallbackHandlingSeconds;
  }

  /** The workspace's queue in order, with each conversation's place within its team's queue. */
  async function queueSnapshot(workspaceId: string, inboxIds: string[] | null = null) {
    const rows = await db.query(
      `SELECT c.id, c.display_id, c.inbox_id, c.team_id, c.contact_id, c.priority, c.required_skills, c.queued_at,
         EXTRACT(EPOCH FROM (now() - c.queued_at)) AS waiting
       FROM conversations c
       WHERE c.workspace_id = $1 AND c.queued_at IS NOT NULL AND c.assignee_id IS NULL AND c.status = 'open'
       ORDER BY ${QUEUE_ORDER_SQL}`,
      [workspaceId],
    );
    const [handling, onlineRow] = await Promise.all([
      averageHandlingSeconds(workspaceId),
      one(db, `SELECT count(*) AS n FROM agent_presence WHERE workspace_id = $1 AND status = 'online'`, [workspaceId]),
    ]);
    const servers = Math.max(1, Number(onlineRow?.n ?? 0));
    const perTeam = new Map<string, number>();
    const items = rows.map((r) => {
      const key = (r.team_id as string | null) ?? '';
      const position = (perTeam.get(key) ?? 0) + 1;
      perTeam.set(key, position);
      return {
        conversationId: r.id as string,
        displayId: Number(r.display_id),
        inboxId: r.inbox_id as string,
        teamId: (r.team_id as string | null) ?? null,
        contactId: r.contact_id as string,
        priority: r.priority as Priority,
        requiredSkills: (r.required_skills as Record<string, number>) ?? {},
        queuedAt: iso(r.queued_at),
        waitingSeconds: Math.max(0, Math.floor(Number(r.waiting))),
        position,
        // Each online agent serves the queue in parallel: the n-th waiting needs ceil(n / agents) handling times.
        estimatedWaitSeconds: Math.round(Math.ceil(position / servers) * handling),
      };
    });
    return inboxIds === null ? items : items.filter((i) => inboxIds.includes(i.inboxId));
  }

  // Last position sent to each waiting visitor, per workspace: queue.updated only on a change.
  const lastSent = new Map<string, Map<string, { contactId: string; position: number; eta: number }>>();
  const positionTimers = new Map<string, NodeJS.Timeout>();

  function schedulePositions(workspaceId: string): void {
    if (stopped || positionTimers.has(workspaceId)) return;
    const t = setTimeout(() => {
      positionTimers.delete(workspaceId);
      if (stopped) return;
      publishPositions(workspaceId).catch((err: unknown) => log.warn({ err, workspaceId }, 'queue positions failed'));
    }, 20);
    t.unref();
    positionTimers.set(workspaceId, t);
  }

  async function publishPositions(workspaceId: string): Promise<void> {
    const items = await queueSnapshot(workspaceId);
    const prev = lastSent.get(workspaceId) ?? new Map();
    const next = new Map<string, { contactId: string; position: number; eta: number }>();
    let changed = false;
    for (const i of items) {
      next.set(i.conversationId, { contactId: i.contactId, position: i.position, eta: i.estimatedWaitSeconds });
      const p = prev.get(i.conversationId);
      if (!p || p.position !== i.position || p.eta !== i.estimatedWaitSeconds) {
        changed = true;
        events.emit('queue.updated', { workspaceId, contactId: i.contactId, conversationId: i.conversationId, position: i.position, estimatedWaitSeconds: i.estimatedWaitSeconds });
      }
    }
    for (const [id, p] of prev) {
      if (next.has(id)) continue;
      changed = true;
      events.emit('queue.updated', { workspaceId, contactId: p.contactId, conversationId: id, position: null, estimatedWaitSeconds: null });
    }
    // Supervisors' live queue view: one nudge per change, they re-read the queue (it is filtered per viewer).
    if (changed) events.emit('routing.queue_changed', { workspaceId });
    if (next.size) lastSent.set(workspaceId, next);
    else lastSent.delete(workspaceId);
  }

  // ---------------------------------------------------------------------------------------------
  // Presence

  async function presenceOf(sql: Sql, workspaceId: string, userId: string | null): Promise<AgentPresence[]> {
    const rows = await sql.query(
      `SELECT u.id AS user_id, u.name, COALESCE(p.status, 'offline') AS status, COALESCE(p.capacity, 5) AS capacity,
         COALESCE(p.channel_capacities, '{}'::jsonb) AS channel_capacities, p.last_seen_at, p.status_changed_at,
         COALESCE((SELECT jsonb_object_agg(s.skill, s.level) FROM agent_skills s WHERE s.user_id = u.id), '{}'::jsonb) AS skills,
         (SELECT count(*) FROM conversations c WHERE c.workspace_id = u.workspace_id AND c.assignee_id = u.id AND c.status IN ('open', 'pending')) AS load
       FROM users u LEFT JOIN agent_presence p ON p.user_id = u.id
       WHERE u.workspace_id = $1 AND ($2::uuid IS NULL OR u.id = $2) AND ($2::uuid IS NOT NULL OR u.status = 'active')
       ORDER BY u.name, u.id`,
      [workspaceId, userId],
    );
    return rows.map((r) => ({
      userId: r.user_id as string,
      name: r.name as string,
      status: r.status as PresenceStatus,
      capacity: Number(r.capacity),
      channelCapacities: r.channel_capacities as Record<string, number>,
      skills: r.skills as Record<string, number>,
      load: Number(r.load),
      lastSeenAt: isoOrNull(r.last_seen_at),
      statusChangedAt: isoOrNull(r.status_changed_at),
    }));
  }

  async function setStatus(workspaceId: string, userId: string, status: PresenceStatus): Promise<{ changed: boolean; epoch: string; statusChangedAt: string | null }> {
    return db.transaction(async (tx) => {
      await ensurePresence(tx, workspaceId, userId);
      const before = await one(tx, `SELECT status FROM agent_presence WHERE user_id = $1 FOR UPDATE`, [userId]);
      const changed = before?.status !== status;
      const r = await one(
        tx,
        `UPDATE agent_presence SET status = $2, last_seen_at = now(),
           status_changed_at = CASE WHEN $3 THEN now() ELSE status_changed_at END, epoch = epoch + CASE WHEN $3 THEN 1 ELSE 0 END
         WHERE user_id = $1 RETURNING epoch::text AS epoch, status_changed_at`,
        [userId, status, changed],
      );
      return { changed, epoch: r!.epoch as string, statusChangedAt: isoOrNull(r!.status_changed_at) };
    });
  }

  async function schedulePresenceTimeout(job: PresenceTimeoutJob): Promise<void> {
    await db.transaction((tx) =>
      queue().enqueue(tx, { queue: PRESENCE_TIMEOUT_QUEUE, payload: job, workspaceId: job.workspaceId, runAt: new Date(Date.now() + options.offlineGraceMs), maxAttempts: 5 }),
    );
    queue().notify();
  }

  async function requeueAgent(workspaceId: string, userId: string, why: string): Promise<number> {
    const rows = await db.query(
      `SELECT id FROM conversations WHERE workspace_id = $1 AND assignee_id = $2 AND status IN ('open', 'pending') ORDER BY last_activity_at`,
      [workspaceId, userId],
    );
    const name = (await one(db, `SELECT name FROM users WHERE id = $1`, [userId]))?.name as string | undefined;
    let n = 0;
    for (const r of rows) {
      const done = await conversations.requeueFromAgent(workspaceId, r.id as string, userId, `${name ?? 'The agent'} went offline; Routing returned the conversation to the queue`, (tx) =>
        recordDecision(tx, { workspaceId, conversationId: r.id as string, agentId: userId, strategy: 'requeue', outcome: 'requeued', reason: { why, graceMs: options.offlineGraceMs } }),
      );
      if (done) n++;
    }
    if (n > 0) await enqueueDrain(workspaceId, 'requeued');
    return n;
  }

  async function onPresenceTimeout(job: PresenceTimeoutJob): Promise<void> {
    const p = await one(db, `SELECT status, epoch::text AS epoch, status_changed_at FROM agent_presence WHERE user_id = $1 AND workspace_id = $2`, [job.userId, job.workspaceId]);
    if (!p) return;
    if (job.kind === 'disconnect') {
      // A reconnect or a status change since the disconnect bumped the epoch: the agent is back.
      if (p.epoch !== job.epoch) return;
      if (p.status !== 'offline') {
        await setStatus(job.workspaceId, job.userId, 'offline');
        events.emit('presence.updated', { workspaceId: job.workspaceId, userId: job.userId });
      }
      await requeueAgent(job.workspaceId, job.userId, 'disconnected');
      return;
    }
    if (p.status !== 'offline' || isoOrNull(p.status_changed_at) !== job.statusChangedAt) return;
    await requeueAgent(job.workspaceId, job.userId, 'went offline');
  }

  // ---------------------------------------------------------------------------------------------
  // Triggers

  /** Log consumer: each customer message in an unassigned open conversation → one routing job. */
  let routedSinceCatchUp = 0;
  async function handleLog(tx: Sql, rows: MessageLogRow[]): Promise<void> {
    const ids = [...new Set(rows.filter((m) => m.direction === 'incoming').map((m) => m.conversationId))];
    if (ids.length === 0) return;
    const open = await tx.query(`SELECT id, workspace_id FROM conversations WHERE id = ANY($1::uuid[]) AND assignee_id IS NULL AND status = 'open' AND bot_status IS DISTINCT FROM 'bot'`, [ids]);
    for (const c of open) await enqueueRoute(tx, { workspaceId: c.workspace_id as string, conversationId: c.id as string, trigger: 'message' });
    routedSinceCatchUp += open.length;
  }

  // Customer messages arrive in bursts; reading the log once per burst (not once per stored batch) keeps
  // the consumer off the hot path. Routing is still decided within a few tens of milliseconds.
  const logBurst = createBurstCatchUp({
    consumer: () => consumer,
    isActive: () => !stopped,
    // Only when jobs were enqueued: on PostgreSQL a claim may have run before the consumer's COMMIT.
    afterCatchUp: () => {
      if (routedSinceCatchUp > 0) queue().notify();
      routedSinceCatchUp = 0;
    },
    onError: (err) => log.warn({ err }, 'routing log consumer failed; the poll retries'),
  });

  function background(what: string, p: Promise<unknown>): void {
    p.catch((err: unknown) => {
      if (!stopped) log.warn({ err }, `routing: ${what} failed`);
    });
  }

  return {
    options,

    /** Registers the job handlers, starts the message-log consumer and the event subscriptions. */
    start(input: { jobs: JobQueue; /** Read the message log here (worker nodes; default true). */ consume?: boolean; consumerPollMs?: number }): void {
      jobs = input.jobs;
      stopped = false;
      jobs.register<RouteJob>(ROUTE_QUEUE, async (job) => {
        const { workspaceId, conversationId, trigger, reason } = job.payload;
        await route(workspaceId, conversationId, trigger, reason ? { handoffReason: reason } : {});
      }, { concurrency: db.kind === 'postgres' ? 4 : 1 });
      jobs.register<{ workspaceId: string }>(DRAIN_QUEUE, async (job) => {
        await drain(job.payload.workspaceId);
      }, { concurrency: db.kind === 'postgres' ? 2 : 1 });
      jobs.register<PresenceTimeoutJob>(PRESENCE_TIMEOUT_QUEUE, (job) => onPresenceTimeout(job.payload));
      jobs.register<{ workspaceId: string }>(OPENING_QUEUE, (job) => enqueueDrain(job.payload.workspaceId, 'business hours opened'));
      jobs.register<QueueTimeoutJob>(QUEUE_TIMEOUT_QUEUE, (job) => onQueueTimeout(job.payload));
      consumer = createLogConsumer({ db, name: CONSUMER_NAME, logger: log, pollMs: input.consumerPollMs ?? 2_000, handle: handleLog });
      if (input.consume !== false) consumer.start();
      offs.push(
        events.on('routing.config_changed', ({ workspaceId }) => invalidateRoutingConfig(workspaceId)),
        events.on('cluster.resync', () => {
          allGeneration++;
          configCache.clear();
        }),
        events.on('message.created', ({ message }) => {
          if (message.direction === 'incoming') logBurst.trigger();
        }),
        events.on('message.log_wake', () => logBurst.trigger()),
        events.on('conversation.handoff_requested', (e) => {
          background('handoff', db.transaction((tx) => enqueueHandoff(queue(), tx, e)).then(() => queue().notify()));
        }),
        events.on('conversation.updated', ({ conversation: c, previousAssigneeId }) => {
          if (stopped) return;
          if (c.assigneeId !== null || c.status !== 'open') offeredTo.delete(c.id);
          const freed = previousAssigneeId !== null && (c.assigneeId !== previousAssigneeId || c.status === 'resolved' || c.status === 'snoozed');
          if (freed) background('drain', enqueueDrain(c.workspaceId, 'capacity freed'));
          // Unassigned by a person (or re-queued): it needs a human again.
          if (previousAssigneeId !== null && c.assigneeId === null && c.status === 'open') {
            background('route', db.transaction((tx) => enqueueRoute(tx, { workspaceId: c.workspaceId, conversationId: c.id, trigger: 'unassigned' })).then(() => queue().notify()));
          }
          if (lastSent.has(c.workspaceId)) schedulePositions(c.workspaceId);
        }),
      );
    },

    async stop(): Promise<void> {
      stopped = true;
      offs.splice(0).forEach((off) => off());
      for (const t of positionTimers.values()) clearTimeout(t);
      positionTimers.clear();
      logBurst.cancel();
      await consumer?.stop();
    },

    route,
    drain,
    /** Queue overflow actions: later modules (tickets, SLA) register their own kinds here. */
    overflowActions,

    /** Drops this node's cached rules and schedules of a workspace (other nodes hear routing.config_changed). */
    invalidateRoutingConfig,

    /** Business hours changed: conversations waiting for a team that is open now may be routed. */
    async schedulesChanged(workspaceId: string): Promise<void> {
      if (!stopped) await enqueueDrain(workspaceId, 'business hours changed');
    },

    /** Catches the message log up now (tests; normally woken by events and a poll). */
    catchUp: async (): Promise<number> => (consumer ? consumer.catchUp() : 0),

    // ---- presence

    async setPresence(actor: Actor, status: PresenceStatus): Promise<AgentPresence> {
      if (actor.kind !== 'user') throw forbidden('only agents have a presence');
      const r = await setStatus(actor.workspaceId, actor.userId, status);
      if (r.changed) events.emit('presence.updated', { workspaceId: actor.workspaceId, userId: actor.userId });
      if (r.changed && status === 'online') await enqueueDrain(actor.workspaceId, 'agent online');
      if (r.changed && status === 'offline') await schedulePresenceTimeout({ workspaceId: actor.workspaceId, userId: actor.userId, kind: 'offline', epoch: r.epoch, statusChangedAt: r.statusChangedAt });
      if (r.changed) schedulePositions(actor.workspaceId);
      return (await presenceOf(db, actor.workspaceId, actor.userId))[0]!;
    },

    /** A socket of the agent connected: cancels a pending disconnect timeout (epoch) and marks them seen. */
    async agentConnected(actor: Pick<UserActor, 'workspaceId' | 'userId'>): Promise<void> {
      await db.query(`UPDATE agent_presence SET epoch = epoch + 1, last_seen_at = now() WHERE user_id = $1 AND workspace_id = $2`, [actor.userId, actor.workspaceId]);
    },

    /** The agent's last socket disconnected: offline + re-queue after the grace period, unless they come back. */
    async agentDisconnected(actor: Pick<UserActor, 'workspaceId' | 'userId'>): Promise<void> {
      const p = await one(db, `UPDATE agent_presence SET last_seen_at = now() WHERE user_id = $1 AND workspace_id = $2 RETURNING status, epoch::text AS epoch`, [actor.userId, actor.workspaceId]);
      if (!p || p.status === 'offline' || stopped) return;
      await schedulePresenceTimeout({ workspaceId: actor.workspaceId, userId: actor.userId, kind: 'disconnect', epoch: p.epoch as string, statusChangedAt: null });
    },

    async myPresence(actor: Actor): Promise<AgentPresence> {
      if (actor.kind !== 'user') throw forbidden('only agents have a presence');
      return (await presenceOf(db, actor.workspaceId, actor.userId))[0]!;
    },

    /** One agent's presence (for the supervisors' live view; the caller decides who may see it). */
    async presenceOfUser(workspaceId: string, userId: string): Promise<AgentPresence | undefined> {
      return (await presenceOf(db, workspaceId, userId))[0];
    },

    async listPresence(actor: Actor): Promise<AgentPresence[]> {
      requirePermission(actor, 'routing.manage');
      return presenceOf(db, actor.workspaceId, null);
    },

    async updateUserRouting(actor: Actor, userId: string, body: { capacity?: number | undefined; channelCapacities?: Record<string, number> | undefined; skills?: Record<string, number> | undefined }): Promise<AgentPresence> {
      requirePermission(actor, 'routing.manage');
      const result = await db.transaction(async (tx) => {
        const u = await one(tx, `SELECT id FROM users WHERE id = $1 AND workspace_id = $2`, [userId, actor.workspaceId]);
        if (!u) throw notFound('user');
        await ensurePresence(tx, actor.workspaceId, userId);
        await tx.query(
          `UPDATE agent_presence SET capacity = COALESCE($2, capacity), channel_capacities = COALESCE($3::text::jsonb, channel_capacities) WHERE user_id = $1`,
          [userId, body.capacity ?? null, body.channelCapacities ? JSON.stringify(body.channelCapacities) : null],
        );
        if (body.skills) {
          await tx.query(`DELETE FROM agent_skills WHERE user_id = $1 AND workspace_id = $2`, [userId, actor.workspaceId]);
          const entries = Object.entries(body.skills);
          if (entries.length) {
            await tx.query(
              `INSERT INTO agent_skills (workspace_id, user_id, skill, level) SELECT $1, $2, s.skill, s.level FROM jsonb_to_recordset($3::text::jsonb) AS s(skill text, level int)`,
              [actor.workspaceId, userId, JSON.stringify(entries.map(([skill, level]) => ({ skill, level })))],
            );
          }
        }
        return (await presenceOf(tx, actor.workspaceId, userId))[0]!;
      });
      events.emit('presence.updated', { workspaceId: actor.workspaceId, userId });
      // More capacity may let queued conversations through.
      if (body.capacity !== undefined || body.channelCapacities || body.skills) await enqueueDrain(actor.workspaceId, 'routing settings changed');
      return result;
    },

    /** Every team's routing settings (defaults for teams never configured) and business-hours schedule. */
    async listTeamRouting(actor: Actor): Promise<TeamRoutingSettings[]> {
      requirePermission(actor, 'routing.manage');
      const rows = await db.query(
        `SELECT t.id, t.schedule_id, COALESCE(tr.strategy, 'least_busy') AS strategy, COALESCE(tr.sticky_minutes, 1440) AS sticky_minutes,
           tr.queue_timeout_seconds, tr.overflow
         FROM teams t LEFT JOIN team_routing tr ON tr.team_id = t.id
         WHERE t.workspace_id = $1 ORDER BY t.name, t.id`,
        [actor.workspaceId],
      );
      return rows.map((r) => ({
        teamId: r.id as string, strategy: r.strategy as StrategyName, stickyMinutes: Number(r.sticky_minutes),
        queueTimeoutSeconds: (r.queue_timeout_seconds as number | null) ?? null, overflow: (r.overflow as Record<string, unknown> | null) ?? null,
        scheduleId: (r.schedule_id as string | null) ?? null,
      }));
    },

    async updateTeamRouting(
      actor: Actor,
      teamId: string,
      body: { strategy?: StrategyName | undefined; stickyMinutes?: number | undefined; queueTimeoutSeconds?: number | null | undefined; overflow?: ({ action: string } & Record<string, unknown>) | null | undefined },
    ): Promise<TeamRouting> {
      requirePermission(actor, 'routing.manage');
      const r = await db.transaction(async (tx) => {
        const team = await one(tx, `SELECT t.id, tr.queue_timeout_seconds, tr.overflow FROM teams t LEFT JOIN team_routing tr ON tr.team_id = t.id WHERE t.id = $1 AND t.workspace_id = $2`, [teamId, actor.workspaceId]);
        if (!team) throw notFound('team');
        const timeout = body.queueTimeoutSeconds !== undefined ? body.queueTimeoutSeconds : ((team.queue_timeout_seconds as number | null) ?? null);
        const overflow = body.overflow !== undefined ? body.overflow : ((team.overflow as ({ action: string } & Record<string, unknown>) | null) ?? null);
        const issues = overflow ? (await validateOverflow(tx, actor.workspaceId, teamId, overflow)).map((i) => ({ path: `body.overflow.${i.path}`, message: i.message })) : [];
        if (timeout !== null && !overflow) issues.push({ path: 'body.overflow', message: 'a queue timeout needs an overflow action (route_to_team, leave_message, back_to_bot)' });
        if (issues.length) throw new AppError('validation_failed', issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues);
        return one(
          tx,
          `INSERT INTO team_routing (team_id, workspace_id, strategy, sticky_minutes, queue_timeout_seconds, overflow)
           VALUES ($1, $2, COALESCE($3, 'least_busy'), COALESCE($4::int, 1440), $5::int, $6::text::jsonb)
           ON CONFLICT (team_id) DO UPDATE SET strategy = COALESCE($3, team_routing.strategy), sticky_minutes = COALESCE($4::int, team_routing.sticky_minutes),
             queue_timeout_seconds = $5::int, overflow = $6::text::jsonb, updated_at = now()
           RETURNING team_id, strategy, sticky_minutes, queue_timeout_seconds, overflow`,
          [teamId, actor.workspaceId, body.strategy ?? null, body.stickyMinutes ?? null, timeout, overflow ? JSON.stringify(overflow) : null],
        );
      });
      return {
        teamId: r!.team_id as string, strategy: r!.strategy as StrategyName, stickyMinutes: Number(r!.sticky_minutes),
        queueTimeoutSeconds: (r!.queue_timeout_seconds as number | null) ?? null, overflow: (r!.overflow as Record<string, unknown> | null) ?? null,
      };
    },

    // ---- conversations

    async decisions(actor: Actor, conversationId: string): Promise<RoutingDecision[]> {
      requirePermission(actor, 'routing.manage');
      await conversations.getVisibleRow(db, actor, conversationId);
      const rows = await db.query(`SELECT * FROM routing_decisions WHERE conversation_id = $1 AND workspace_id = $2 ORDER BY created_at, id`, [conversationId, actor.workspaceId]);
      return rows.map((r) => ({
        id: r.id as string,
        conversationId: r.conversation_id as string,
        agentId: (r.agent_id as string | null) ?? null,
        strategy: r.strategy as string,
        outcome: r.outcome as RoutingDecision['outcome'],
        reason: r.reason as Record<string, unknown>,
        createdAt: iso(r.created_at),
      }));
    },

    /** An agent picks a conversation from the queue (manual strategy, or any unassigned one): same atomic claim. */
    async claim(actor: Actor, conversationId: string) {
      if (actor.kind !== 'user') throw forbidden('only agents can pick up conversations');
      requirePermission(actor, 'conversation.assign');
      const row = await conversations.getVisibleRow(db, actor, conversationId);
      if (row.assignee_id) throw conflict('this conversation is already assigned');
      if (row.status !== 'open' && row.status !== 'pending') throw conflict(`this conversation is ${row.status as string}; reopen it first`);
      const conv = await loadConversation(db, actor.workspaceId, conversationId);
      const r = await claimFor({
        actor, workspaceId: actor.workspaceId, conversationId, agentId: actor.userId, agentName: actor.name,
        channelType: conv!.channel_type as string, teamId: (conv!.team_id as string | null) ?? null, strategy: conv!.strategy as string,
        outcome: 'claimed', requireOnline: false, skipLocked: false, reason: { trigger: 'claim', queuedAt: isoOrNull(conv!.queued_at) },
      });
      if (!r.ok) {
        if (r.reason === 'taken') throw conflict('someone else took this conversation first');
        throw conflict(r.reason === 'at_channel_capacity' ? 'you are at your capacity for this channel' : 'you are at your capacity; close a conversation first');
      }
      schedulePositions(actor.workspaceId);
      return r.conversation;
    },

    /** Conversations offered to the signed-in agent now (offer-to-all teams); accept = claim. */
    async offers(actor: Actor): Promise<string[]> {
      if (actor.kind !== 'user') throw forbidden('only agents receive offers');
      return offersFor(actor);
    },

    async queueStatus(actor: Actor, conversationId: string): Promise<QueueStatus> {
      const row = await conversations.getVisibleRow(db, actor, conversationId);
      const items = await queueSnapshot(actor.workspaceId);
      const mine = items.find((i) => i.conversationId === row.id);
      return mine
        ? { conversationId, queued: true, position: mine.position, estimatedWaitSeconds: mine.estimatedWaitSeconds }
        : { conversationId, queued: false, position: null, estimatedWaitSeconds: null };
    },

    async listQueue(actor: Actor): Promise<QueueItem[]> {
      requirePermission(actor, 'routing.manage');
      const items = await queueSnapshot(actor.workspaceId, await inboxes.visibleInboxIds(actor));
      return items.map(({ contactId: _c, ...rest }) => rest);
    },
  };
}
export type RoutingService = ReturnType<typeof createRoutingService>;
