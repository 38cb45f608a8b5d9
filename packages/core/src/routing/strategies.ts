/**
 * Routing strategies: pure functions over an in-memory snapshot, like Rocket.Chat's `getNextAgent`.
 * The routing service builds the snapshot (eligible agents with their load), asks the team's strategy
 * for one agent, and then claims atomically in PostgreSQL; a strategy never touches the database, so a
 * decision costs microseconds and is unit-testable. Eligibility (online, inbox / team member, skills,
 * load < capacity) is decided before, by `eligibleCandidates`, so every strategy sees the same pool.
 */
import type { Priority } from '@huiliu/contracts';

export const STRATEGY_NAMES = ['least_busy', 'round_robin', 'least_recently_routed', 'sticky', 'manual', 'offer_all'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

export interface RoutingCandidate {
  userId: string;
  name: string;
  /** Open + pending conversations assigned now. */
  load: number;
  capacity: number;
  /** Per channel type caps, e.g. { email: 10 }. */
  channelCapacities: Record<string, number>;
  /** Load on the conversation's channel type (only meaningful with a channel cap). */
  channelLoad: number;
  /** Assignments in the recent window (fairness tie-break: fewest assigned first). */
  recentAssignments: number;
  /** Epoch ms of the last routing to this agent, null if never. */
  lastRoutedAt: number | null;
  skills: Record<string, number>;
}

export interface RoutingConversation {
  id: string;
  contactId: string;
  inboxId: string;
  channelType: string;
  teamId: string | null;
  priority: Priority;
  requiredSkills: Record<string, number>;
}

export interface RoutingContext {
  now: number;
  /** Sticky: the agent who served this contact last within the team's window, if any. */
  stickyAgentId?: string | null;
  /** Round robin: the agent this team routed to last. */
  roundRobinAfter?: string | null;
}

export interface AgentPick {
  agent: RoutingCandidate;
  /** Why this agent (stored in routing_decisions.reason). */
  reason: Record<string, unknown>;
}

export interface RoutingStrategy {
  readonly name: StrategyName;
  /** One agent among already eligible candidates, or null (manual pick-up, or nobody). */
  pickAgent(candidates: readonly RoutingCandidate[], conversation: RoutingConversation, context: RoutingContext): AgentPick | null;
}

/** Agents that may take the conversation: required skill levels met and free capacity (overall and per channel). */
export function eligibleCandidates(candidates: readonly RoutingCandidate[], conversation: RoutingConversation): RoutingCandidate[] {
  const required = Object.entries(conversation.requiredSkills);
  return candidates.filter((c) => {
    if (c.load >= c.capacity) return false;
    const channelCap = c.channelCapacities[conversation.channelType];
    if (channelCap !== undefined && c.channelLoad >= channelCap) return false;
    return required.every(([skill, level]) => (c.skills[skill] ?? 0) >= level);
  });
}

const ratio = (c: RoutingCandidate) => c.load / c.capacity;
const byId = (a: RoutingCandidate, b: RoutingCandidate) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0);
const scores = (c: RoutingCandidate) => ({ load: c.load, capacity: c.capacity, loadRatio: Math.round(ratio(c) * 1000) / 1000, recentAssignments: c.recentAssignments });

/** Lower load ratio first, then fewest recent assignments, then longest since last routed, then id (stable). */
function leastBusyOrder(a: RoutingCandidate, b: RoutingCandidate): number {
  return ratio(a) - ratio(b) || a.recentAssignments - b.recentAssignments || (a.lastRoutedAt ?? -1) - (b.lastRoutedAt ?? -1) || byId(a, b);
}

/** Single pass instead of a sort: the decision runs over up to thousands of agents. */
function minBy(candidates: readonly RoutingCandidate[], cmp: (a: RoutingCandidate, b: RoutingCandidate) => number): RoutingCandidate | undefined {
  let best: RoutingCandidate | undefined;
  for (const c of candidates) if (!best || cmp(c, best) < 0) best = c;
  return best;
}

export const leastBusy: RoutingStrategy = {
  name: 'least_busy',
  pickAgent(candidates) {
    const agent = minBy(candidates, leastBusyOrder);
    return agent ? { agent, reason: { strategy: 'least_busy', candidates: candidates.length, ...scores(agent) } } : null;
  },
};

export const roundRobin: RoutingStrategy = {
  name: 'round_robin',
  pickAgent(candidates, _conversation, context) {
    if (candidates.length === 0) return null;
    const after = context.roundRobinAfter ?? null;
    // The next id after the cursor in id order, wrapping around to the smallest.
    const next = after === null ? undefined : minBy(candidates.filter((c) => c.userId > after), byId);
    const agent = next ?? minBy(candidates, byId)!;
    return { agent, reason: { strategy: 'round_robin', candidates: candidates.length, after, ...scores(agent) } };
  },
};

export const leastRecentlyRouted: RoutingStrategy = {
  name: 'least_recently_routed',
  pickAgent(candidates) {
    const agent = minBy(candidates, (a, b) => (a.lastRoutedAt ?? -1) - (b.lastRoutedAt ?? -1) || byId(a, b));
    return agent ? { agent, reason: { strategy: 'least_recently_routed', candidates: candidates.length, lastRoutedAt: agent.lastRoutedAt === null ? null : new Date(agent.lastRoutedAt).toISOString(), ...scores(agent) } } : null;
  },
};

export const sticky: RoutingStrategy = {
  name: 'sticky',
  pickAgent(candidates, conversation, context) {
    const previous = context.stickyAgentId ?? null;
    const agent = previous ? candidates.find((c) => c.userId === previous) : undefined;
    if (agent) return { agent, reason: { strategy: 'sticky', previousAgentId: previous, candidates: candidates.length, ...scores(agent) } };
    const fallback = leastBusy.pickAgent(candidates, conversation, context);
    if (!fallback) return null;
    return { agent: fallback.agent, reason: { ...fallback.reason, strategy: 'sticky', fallback: 'least_busy', previousAgentId: previous, previousAvailable: false } };
  },
};

/** Manual pick-up: the engine only queues; agents claim from the queue. */
export const manual: RoutingStrategy = {
  name: 'manual',
  pickAgent: () => null,
};

/**
 * Offer to all: the engine picks nobody; every eligible agent is offered the conversation
 * (`conversation.offered`) and the first to accept gets it — acceptance is the same atomic claim as a
 * manual pick-up, so two agents accepting at once cannot both win.
 */
export const offerAll: RoutingStrategy = {
  name: 'offer_all',
  pickAgent: () => null,
};

export const STRATEGIES: Readonly<Record<StrategyName, RoutingStrategy>> = {
  least_busy: leastBusy,
  round_robin: roundRobin,
  least_recently_routed: leastRecentlyRouted,
  sticky,
  manual,
  offer_all: offerAll,
};

const PRIORITY_RANK: Record<Priority, number> = { urgent: 4, high: 3, medium: 2, low: 1, none: 0 };
export const priorityRank = (p: Priority): number => PRIORITY_RANK[p];

/** Queue order: higher priority first, then longest waiting (earliest queuedAt), then id. */
export function compareQueued(a: { priority: Priority; queuedAt: number; id: string }, b: { priority: Priority; queuedAt: number; id: string }): number {
  return PRIORITY_RANK[b.priority] - PRIORITY_RANK[a.priority] || a.queuedAt - b.queuedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** SQL ORDER BY for the same queue order (keep in step with compareQueued). */
export const QUEUE_ORDER_SQL = `CASE c.priority WHEN 'urgent' THEN 4 WHEN 'high' THEN 3 WHEN 'medium' THEN 2 WHEN 'low' THEN 1 ELSE 0 END DESC, c.queued_at, c.id`;
