/**
 * REST shapes of the routing engine. They live beside the engine for now (the routing work was scoped to
 * this folder); they only depend on @huiliu/contracts and can move there unchanged when the console
 * needs them.
 */
import { z } from 'zod';
import { Id, Priority, PresenceStatus, Timestamp } from '@huiliu/contracts';
import { STRATEGY_NAMES } from './strategies.ts';

export const SkillName = z.string().regex(/^[\p{L}\p{N}_.-]{1,40}$/u, 'a skill name: letters, digits, _ . - (max 40)');
export const SkillLevels = z.record(SkillName, z.number().int().min(1, 'skill levels go from 1 to 10').max(10, 'skill levels go from 1 to 10'));
const ChannelType = z.string().regex(/^[a-z0-9_-]{1,32}$/, 'a channel type like web, email, wechat_oa');
const Capacity = z.number({ message: 'capacity must be a whole number greater than 0' }).int('capacity must be a whole number').positive('capacity must be greater than 0').max(1000, 'capacity is at most 1000');

export const StrategyName = z.enum(STRATEGY_NAMES);

export const SetPresenceBody = z.strictObject({ status: PresenceStatus });

export const UserRoutingBody = z.strictObject({
  capacity: Capacity.optional().describe('Maximum concurrent open/pending conversations (default 5)'),
  channelCapacities: z.record(ChannelType, Capacity).optional().describe('Caps per channel type, e.g. {"email": 10}; replaces the previous set'),
  skills: SkillLevels.optional().describe('Skills with levels 1–10, e.g. {"refund": 3}; replaces the previous set'),
});

/** `{ action: 'route_to_team', teamId }`, `{ action: 'leave_message' }`, `{ action: 'back_to_bot' }` or a kind another module registered. */
export const OverflowSetting = z
  .object({ action: z.string().regex(/^[a-z_]{1,40}$/, 'an overflow action like route_to_team, leave_message, back_to_bot') })
  .catchall(z.unknown())
  .describe('What happens when a conversation waited longer than queueTimeoutSeconds');

export const TeamRoutingBody = z
  .strictObject({
    strategy: StrategyName.optional(),
    stickyMinutes: z.number().int().min(1, 'stickyMinutes must be at least 1').max(43_200).optional().describe('Sticky strategy: how long the last agent of a contact stays preferred'),
    queueTimeoutSeconds: z.number().int('queueTimeoutSeconds must be whole seconds').min(10, 'queueTimeoutSeconds is at least 10').max(86_400, 'queueTimeoutSeconds is at most 86400 (one day)').nullable().optional()
      .describe('How long a conversation may wait in this team\'s queue before the overflow action runs; null = no timeout'),
    overflow: OverflowSetting.nullable().optional(),
  });

export const AgentPresence = z.object({
  userId: Id,
  name: z.string(),
  status: PresenceStatus,
  capacity: z.number().int(),
  channelCapacities: z.record(z.string(), z.number().int()),
  skills: z.record(z.string(), z.number().int()),
  load: z.number().int().describe('Open and pending conversations assigned now'),
  lastSeenAt: Timestamp.nullable(),
  statusChangedAt: Timestamp.nullable(),
});
export type AgentPresence = z.infer<typeof AgentPresence>;

export const TeamRouting = z.object({
  teamId: Id,
  strategy: StrategyName,
  stickyMinutes: z.number().int(),
  queueTimeoutSeconds: z.number().int().nullable(),
  overflow: z.record(z.string(), z.unknown()).nullable(),
});
export type TeamRouting = z.infer<typeof TeamRouting>;
/** A team's routing settings with its business-hours schedule, as the console reads them. */
export const TeamRoutingSettings = TeamRouting.extend({ scheduleId: Id.nullable() });
export type TeamRoutingSettings = z.infer<typeof TeamRoutingSettings>;

export const RoutingDecision = z.object({
  id: Id,
  conversationId: Id,
  agentId: Id.nullable(),
  strategy: z.string(),
  outcome: z.enum(['assigned', 'queued', 'claimed', 'requeued', 'overflow', 'offered']),
  reason: z.record(z.string(), z.unknown()),
  createdAt: Timestamp,
});
export type RoutingDecision = z.infer<typeof RoutingDecision>;

export const QueueStatus = z.object({
  conversationId: Id,
  queued: z.boolean(),
  position: z.number().int().min(1).nullable(),
  estimatedWaitSeconds: z.number().int().min(0).nullable(),
});
export type QueueStatus = z.infer<typeof QueueStatus>;

export const QueueItem = z.object({
  conversationId: Id,
  displayId: z.number().int(),
  inboxId: Id,
  teamId: Id.nullable(),
  priority: Priority,
  requiredSkills: z.record(z.string(), z.number().int()),
  queuedAt: Timestamp,
  waitingSeconds: z.number().int(),
  position: z.number().int().min(1).describe('Place within its team queue (conversations without a team share one queue)'),
  estimatedWaitSeconds: z.number().int().min(0),
});
export type QueueItem = z.infer<typeof QueueItem>;
