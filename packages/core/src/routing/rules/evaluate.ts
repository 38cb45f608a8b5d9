import {
  ROUTE_ACTIONS,
  type RoutingDecision,
  type RoutingFacts,
  type RoutingRule,
  type RoutingTarget,
  type RuleAction,
  type RuleEvaluation,
  type RuleTrace,
  type ScheduleTimes,
} from '@huiliu/contracts/routing-rules';
import { evaluateCondition, fold, type ConditionContext } from './conditions.ts';

/**
 * Evaluates a workspace's ordered routing rules against the facts of one conversation.
 *
 * - Rules run first to last; disabled rules are skipped. A rule matches when every condition group holds
 *   (`all`: every condition, `any`: at least one); a rule without groups always matches.
 * - A matching rule stops the evaluation when `stop` is true, or — `stop` left out — when it routes
 *   (route_team / route_skills / route_agent). Later rules are then "not_reached".
 * - Merging: the earliest matching rule wins each part of the decision (target, priority, SLA policy); a
 *   later rule's action for a part already decided is kept in its trace as `overridden`, with the reason.
 *   Tags are the union, in order.
 * - Everything is explained: per rule, every condition evaluated with what was compared; per decision part,
 *   the rule that set it (`decision.sources`), and a few human-readable lines (`explanation`).
 *
 * Pure: time comes from `clock`, schedules from `options.schedules`; all conditions of a reached rule are
 * evaluated (no short-circuit) so the trace is complete.
 */

export interface Clock {
  now(): Date;
}

export interface EvaluateOptions {
  /** Business-hours schedules by id, for `business_hours` conditions. A missing schedule never matches. */
  schedules?: ReadonlyMap<string, ScheduleTimes> | ((id: string) => ScheduleTimes | undefined);
}

export function isRouteAction(a: RuleAction): a is Extract<RuleAction, { type: (typeof ROUTE_ACTIONS)[number] }> {
  return a.type === 'route_team' || a.type === 'route_skills' || a.type === 'route_agent';
}

/** Whether a matching rule ends the evaluation. */
export function ruleStops(rule: Pick<RoutingRule, 'stop' | 'actions'>): boolean {
  return rule.stop ?? rule.actions.some(isRouteAction);
}

function targetOf(a: RuleAction): RoutingTarget | null {
  switch (a.type) {
    case 'route_team':
      return { type: 'team', teamId: a.teamId };
    case 'route_skills':
      return { type: 'skills', skills: a.skills.map((s) => ({ ...s })), ...(a.teamId ? { teamId: a.teamId } : {}) };
    case 'route_agent':
      return { type: 'agent', agentId: a.agentId, ...(a.fallbackTeamId ? { fallbackTeamId: a.fallbackTeamId } : {}) };
    default:
      return null;
  }
}

export function describeTarget(t: RoutingTarget): string {
  switch (t.type) {
    case 'team':
      return `team ${t.teamId}`;
    case 'skills':
      return `skills ${t.skills.map((s) => `${s.skill}≥${s.minLevel}`).join(', ')}${t.teamId ? ` in team ${t.teamId}` : ''}`;
    case 'agent':
      return `agent ${t.agentId}${t.fallbackTeamId ? ` (else team ${t.fallbackTeamId})` : ''}`;
  }
}

const label = (r: Pick<RoutingRule, 'id' | 'name'>) => `"${r.name}" (${r.id})`;

export function evaluateRules(
  rules: readonly RoutingRule[],
  facts: RoutingFacts,
  clock: Clock,
  options: EvaluateOptions = {},
): RuleEvaluation {
  const now = clock.now();
  const schedules = options.schedules;
  let text: string | undefined;
  let tags: Set<string> | undefined;
  const ctx: ConditionContext = {
    facts,
    now,
    schedule: (id) => (schedules === undefined ? undefined : typeof schedules === 'function' ? schedules(id) : schedules.get(id)),
    text: () => (text ??= fold(facts.messageText ?? '')),
    tags: () => (tags ??= new Set((facts.contact?.tags ?? []).map(fold))),
  };

  const decision: RoutingDecision = {
    target: null,
    priority: null,
    slaPolicyId: null,
    tags: [],
    sources: { target: null, priority: null, slaPolicyId: null, tags: {} },
  };
  const traces: RuleTrace[] = [];
  const matchedRuleIds: string[] = [];
  const explanation: string[] = [];
  let stoppedBy: RoutingRule | undefined;

  rules.forEach((rule, index) => {
    const base = { ruleId: rule.id, ruleName: rule.name, index, applied: [] as string[], overridden: [] as string[], stopped: false };
    if (stoppedBy) {
      traces.push({ ...base, status: 'not_reached', groups: [] });
      return;
    }
    if (!rule.enabled) {
      traces.push({ ...base, status: 'disabled', groups: [] });
      return;
    }
    const groups = rule.conditions.map((g, gi) => {
      const conditions = g.conditions.map((c, ci) => ({
        path: `conditions.${gi}.conditions.${ci}`,
        type: c.type,
        ...evaluateCondition(c, ctx),
      }));
      const matched = g.match === 'all' ? conditions.every((c) => c.matched) : conditions.some((c) => c.matched);
      return { match: g.match, matched, conditions };
    });
    const matched = groups.every((g) => g.matched);
    if (!matched) {
      traces.push({ ...base, status: 'not_matched', groups });
      return;
    }

    matchedRuleIds.push(rule.id);
    const trace: RuleTrace = { ...base, status: 'matched', groups };
    for (const action of rule.actions) applyAction(rule, action, decision, trace);
    trace.stopped = ruleStops(rule);
    if (trace.stopped) stoppedBy = rule;
    traces.push(trace);

    const why = groups.length === 0
      ? 'no conditions'
      : groups
          .map((g) => {
            const hits = g.conditions.filter((c) => c.matched).map((c) => c.detail);
            return g.match === 'all' ? `all of [${hits.join('; ')}]` : `any of [${hits.join('; ')}]`;
          })
          .join(' and ');
    explanation.push(`Rule #${index + 1} ${label(rule)} matched: ${why}.`);
  });

  const byId = new Map(rules.map((r) => [r.id, r]));
  const from = (id: string | null) => {
    const r = id === null ? undefined : byId.get(id);
    return r ? ` (rule ${label(r)})` : '';
  };
  if (matchedRuleIds.length === 0) explanation.push('No rule matched; the default routing applies.');
  if (decision.target) explanation.push(`Route to ${describeTarget(decision.target)}${from(decision.sources.target)}.`);
  else if (matchedRuleIds.length > 0) explanation.push('No matching rule routes the conversation; the default routing applies.');
  if (decision.priority) explanation.push(`Priority ${decision.priority}${from(decision.sources.priority)}.`);
  if (decision.slaPolicyId) explanation.push(`SLA policy ${decision.slaPolicyId}${from(decision.sources.slaPolicyId)}.`);
  if (decision.tags.length) explanation.push(`Tags: ${decision.tags.join(', ')}.`);
  if (stoppedBy && traces.some((t) => t.status === 'not_reached')) {
    explanation.push(`Later rules were not evaluated: rule ${label(stoppedBy)} stops the evaluation.`);
  }

  return { evaluatedAt: now.toISOString(), matchedRuleIds, decision, rules: traces, explanation };
}

function applyAction(rule: RoutingRule, action: RuleAction, d: RoutingDecision, trace: RuleTrace): void {
  const target = targetOf(action);
  if (target) {
    if (d.target) trace.overridden.push(`${action.type} → ${describeTarget(target)}: the target was already set by rule ${d.sources.target}`);
    else {
      d.target = target;
      d.sources.target = rule.id;
      trace.applied.push(`${action.type} → ${describeTarget(target)}`);
    }
    return;
  }
  switch (action.type) {
    case 'set_priority':
      if (d.priority) trace.overridden.push(`set_priority ${action.priority}: priority was already set to ${d.priority} by rule ${d.sources.priority}`);
      else {
        d.priority = action.priority;
        d.sources.priority = rule.id;
        trace.applied.push(`set_priority ${action.priority}`);
      }
      return;
    case 'set_sla':
      if (d.slaPolicyId) trace.overridden.push(`set_sla ${action.slaPolicyId}: the SLA policy was already set to ${d.slaPolicyId} by rule ${d.sources.slaPolicyId}`);
      else {
        d.slaPolicyId = action.slaPolicyId;
        d.sources.slaPolicyId = rule.id;
        trace.applied.push(`set_sla ${action.slaPolicyId}`);
      }
      return;
    case 'add_tags': {
      const added: string[] = [];
      for (const tag of action.tags) {
        if (d.tags.some((t) => fold(t) === fold(tag))) continue;
        d.tags.push(tag);
        d.sources.tags[tag] = rule.id;
        added.push(tag);
      }
      if (added.length) trace.applied.push(`add_tags ${added.join(', ')}`);
      return;
    }
    default:
      return;
  }
}
