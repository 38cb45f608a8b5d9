import { z } from 'zod';
import {
  BusinessSchedule, BusinessScheduleBody, RoutingRule, RuleEvaluation, RuleSetWarning, SaveRoutingRulesBody, TestRoutingRulesBody,
} from '@huiliu/contracts/routing-rules';
import { createRoutingRulesService } from '@huiliu/core/routing/routing-rules.service';
import { defineRoute, IdParams } from '../route.ts';
import type { Services } from '../../services.ts';

const RuleSetResponse = z.object({
  rules: z.array(RoutingRule),
  version: z.int(),
  updatedBy: z.uuid().nullable(),
  updatedAt: z.string().nullable(),
  /** Rules that can never run (shadowed by an earlier rule that stops the evaluation). */
  warnings: z.array(RuleSetWarning),
});
const PutRulesBody = SaveRoutingRulesBody.extend({
  expectedVersion: z.int().min(0).optional().describe('The version you edited: 409 when someone saved meanwhile'),
});
const TestResponse = RuleEvaluation.extend({ warnings: z.array(RuleSetWarning) });
const ScheduleStatus = z.object({
  scheduleId: z.uuid(),
  timeZone: z.string(),
  open: z.boolean(),
  nextOpening: z.string().nullable(),
  localTime: z.string(),
  dayKind: z.string(),
  dayName: z.string().nullable(),
  shift: z.string().nullable(),
});
const TeamScheduleBody = z.strictObject({ scheduleId: z.uuid({ message: 'must be a UUID' }).nullable() });
const TeamSchedule = z.object({ teamId: z.uuid(), scheduleId: z.uuid().nullable() });

/** Routing rules and business hours (issue 4): the console's rule editor, "test this rule", schedules. */
export const routingRulesRoutes = (s: Services) => {
  const rules = createRoutingRulesService({
    db: s.db,
    invalidate: (workspaceId) => s.events.emit('routing.config_changed', { workspaceId }),
    onSchedulesChanged: (workspaceId) => s.routing.schedulesChanged(workspaceId),
  });
  return [
    defineRoute({
      method: 'GET', url: '/api/v1/routing/rules', summary: "The workspace's ordered routing rules, with warnings for unreachable rules (needs routing.manage)", tags: ['routing'], auth: 'user',
      response: RuleSetResponse, handler: ({ actor }) => rules.getRules(actor),
    }),
    defineRoute({
      method: 'PUT', url: '/api/v1/routing/rules', summary: 'Replace the routing rules; missing teams / agents / skills / inboxes / schedules are rejected naming the field (needs routing.manage)', tags: ['routing'], auth: 'user',
      body: PutRulesBody, response: RuleSetResponse, handler: ({ actor, body }) => rules.saveRules(actor, body),
    }),
    defineRoute({
      method: 'POST', url: '/api/v1/routing/rules/test', summary: 'Evaluate the saved (or the given) rules against a sample conversation, with the full trace (needs routing.manage)', tags: ['routing'], auth: 'user',
      body: TestRoutingRulesBody, response: TestResponse, rateLimit: 120, handler: ({ actor, body }) => rules.testRules(actor, body),
    }),
    defineRoute({
      method: 'GET', url: '/api/v1/routing/schedules', summary: 'Business-hours schedules (needs routing.manage)', tags: ['routing'], auth: 'user',
      response: z.array(BusinessSchedule), handler: ({ actor }) => rules.listSchedules(actor),
    }),
    defineRoute({
      method: 'POST', url: '/api/v1/routing/schedules', summary: 'Create a business-hours schedule (needs routing.manage)', tags: ['routing'], auth: 'user',
      body: BusinessScheduleBody, response: BusinessSchedule, status: 201, handler: ({ actor, body }) => rules.createSchedule(actor, body),
    }),
    defineRoute({
      method: 'GET', url: '/api/v1/routing/schedules/:id', summary: 'One business-hours schedule (needs routing.manage)', tags: ['routing'], auth: 'user',
      params: IdParams, response: BusinessSchedule, handler: ({ actor, params }) => rules.getSchedule(actor, params.id),
    }),
    defineRoute({
      method: 'PUT', url: '/api/v1/routing/schedules/:id', summary: 'Replace a business-hours schedule (needs routing.manage)', tags: ['routing'], auth: 'user',
      params: IdParams, body: BusinessScheduleBody, response: BusinessSchedule, handler: ({ actor, params, body }) => rules.updateSchedule(actor, params.id, body),
    }),
    defineRoute({
      method: 'DELETE', url: '/api/v1/routing/schedules/:id', summary: 'Delete a business-hours schedule (409 while a rule uses it; teams using it become always open) (needs routing.manage)', tags: ['routing'], auth: 'user',
      params: IdParams, response: null, handler: ({ actor, params }) => rules.deleteSchedule(actor, params.id),
    }),
    defineRoute({
      method: 'GET', url: '/api/v1/routing/schedules/:id/status', summary: 'Is the schedule open now, and when does it open next (needs routing.manage)', tags: ['routing'], auth: 'user',
      params: IdParams, response: ScheduleStatus, handler: ({ actor, params }) => rules.scheduleStatus(actor, params.id),
    }),
    defineRoute({
      method: 'PUT', url: '/api/v1/teams/:id/schedule', summary: "Set or clear a team's business hours (needs routing.manage)", tags: ['routing'], auth: 'user',
      params: IdParams, body: TeamScheduleBody, response: TeamSchedule, handler: ({ actor, params, body }) => rules.setTeamSchedule(actor, params.id, body.scheduleId),
    }),
  ];
};
