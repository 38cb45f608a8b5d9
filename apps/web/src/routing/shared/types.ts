/**
 * REST shapes of the routing engine as the console sees them. The server defines them with zod in
 * packages/core/src/routing/routing.schemas.ts, which the browser bundle cannot import (it is server code);
 * when those schemas move to @huiliu/contracts these interfaces should become `z.infer` of them.
 * Rules and schedules already live in @huiliu/contracts/routing-rules and are imported from there.
 */
import type { PresenceStatus, Priority } from '@huiliu/contracts';
import type { RoutingRule, RuleSetWarning } from '@huiliu/contracts/routing-rules';

export type { PresenceStatus };

export interface AgentPresence {
  userId: string;
  name: string;
  status: PresenceStatus;
  capacity: number;
  channelCapacities: Record<string, number>;
  skills: Record<string, number>;
  /** Open and pending conversations assigned now. */
  load: number;
  lastSeenAt: string | null;
  statusChangedAt: string | null;
}

export interface QueueItem {
  conversationId: string;
  displayId: number;
  inboxId: string;
  teamId: string | null;
  priority: Priority;
  requiredSkills: Record<string, number>;
  queuedAt: string;
  waitingSeconds: number;
  /** Place within its team's queue (conversations without a team share one queue). */
  position: number;
  estimatedWaitSeconds: number;
}

export const STRATEGIES = ['least_busy', 'round_robin', 'least_recently_routed', 'sticky', 'manual', 'offer_all'] as const;
export type StrategyName = (typeof STRATEGIES)[number];

export const OVERFLOW_ACTIONS = ['route_to_team', 'leave_message', 'back_to_bot'] as const;
export type OverflowActionName = (typeof OVERFLOW_ACTIONS)[number];

export interface TeamRouting {
  teamId: string;
  strategy: StrategyName;
  stickyMinutes: number;
  queueTimeoutSeconds: number | null;
  overflow: ({ action: string } & Record<string, unknown>) | null;
}

export interface TeamRoutingBody {
  strategy?: StrategyName;
  stickyMinutes?: number;
  queueTimeoutSeconds?: number | null;
  overflow?: ({ action: string } & Record<string, unknown>) | null;
}

export interface RuleSetResponse {
  rules: RoutingRule[];
  version: number;
  updatedBy: string | null;
  updatedAt: string | null;
  warnings: RuleSetWarning[];
}

export interface ScheduleStatus {
  scheduleId: string;
  timeZone: string;
  open: boolean;
  nextOpening: string | null;
  /** "YYYY-MM-DD HH:MM" in the schedule's zone. */
  localTime: string;
  dayKind: 'weekly' | 'holiday' | 'special_day' | string;
  dayName: string | null;
  /** "09:00–12:00" when open. */
  shift: string | null;
}

/** Presence order on boards: who can take work first. */
export const STATUS_ORDER: Record<PresenceStatus, number> = { online: 0, busy: 1, away: 2, offline: 3 };
