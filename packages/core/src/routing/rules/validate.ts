import type { FieldIssue } from '@huiliu/contracts';
import {
  RoutingRuleSet,
  type ConditionGroup,
  type RoutingRule,
  type RuleCondition,
  type RuleSetWarning,
} from '@huiliu/contracts/routing-rules';
import { conditionImplies } from './conditions.ts';
import { ruleStops } from './evaluate.ts';
import { toFieldIssues, validationError } from './zod-issues.ts';

/**
 * Validation of a rule set on save.
 *
 * 1. Shape and self-consistency, from the contract (`RoutingRuleSet`): formats, empty condition groups,
 *    duplicate rule ids, contradictory numeric ranges, more than one routing action in a rule…
 * 2. References against the workspace (`catalog`): teams, agents, skills, inboxes, schedules (and SLA
 *    policies when the catalog lists them). Disabled rules are checked too — they may be enabled later.
 * Problems of 1 or 2 → AppError('validation_failed') with one issue per problem naming the field, e.g.
 * `body.rules.2.actions.0.teamId`. (References are checked only once the shape is valid.)
 * 3. Unreachable rules → warnings, not errors: an enabled rule is unreachable when an earlier enabled rule
 *    that stops evaluation matches whenever it does (no conditions; the same conditions; a subset of them;
 *    or conditions implied by them such as `channel ∈ [web]` ⇒ `channel ∈ [web, api]`). The check is
 *    sound (a warned rule really can never match) but not complete.
 */

export interface RoutingCatalog {
  teamIds: Iterable<string>;
  agentIds: Iterable<string>;
  /** Skill names known in the workspace (compared exactly, as the strategies match agents' skills). */
  skills: Iterable<string>;
  inboxIds: Iterable<string>;
  scheduleIds: Iterable<string>;
  /** When given, `set_sla` must name one of these; when left out, SLA policy ids are not checked. */
  slaPolicyIds?: Iterable<string>;
}

export interface ValidatedRuleSet {
  rules: RoutingRule[];
  warnings: RuleSetWarning[];
}

export interface ValidateRuleSetOptions {
  /** Path of the rule list in the request, prefixed to every issue and warning. Default `body.rules`. */
  path?: string;
}

export function validateRuleSet(input: unknown, catalog: RoutingCatalog, options: ValidateRuleSetOptions = {}): ValidatedRuleSet {
  const base = options.path ?? 'body.rules';
  const parsed = RoutingRuleSet.safeParse(input);
  if (!parsed.success) throw validationError(toFieldIssues(parsed.error, base), 'the routing rules are not valid');
  const rules = parsed.data;

  const issues = referenceIssues(rules, catalog, base);
  if (issues.length) throw validationError(issues, 'the routing rules reference missing items');
  return { rules, warnings: findUnreachable(rules, base) };
}

function referenceIssues(rules: RoutingRule[], catalog: RoutingCatalog, base: string): FieldIssue[] {
  const teams = new Set(catalog.teamIds);
  const agents = new Set(catalog.agentIds);
  const skills = new Set(catalog.skills);
  const inboxes = new Set(catalog.inboxIds);
  const schedules = new Set(catalog.scheduleIds);
  const slas = catalog.slaPolicyIds === undefined ? undefined : new Set(catalog.slaPolicyIds);
  const issues: FieldIssue[] = [];
  const missing = (path: string, message: string) => issues.push({ path, message });

  rules.forEach((rule, ri) => {
    const r = `${base}.${ri}`;
    rule.conditions.forEach((g, gi) =>
      g.conditions.forEach((c, ci) => {
        const p = `${r}.conditions.${gi}.conditions.${ci}`;
        if (c.type === 'inbox') {
          c.in.forEach((id, k) => {
            if (!inboxes.has(id)) missing(`${p}.in.${k}`, `no inbox ${id} in this workspace`);
          });
        } else if (c.type === 'business_hours' && !schedules.has(c.scheduleId)) {
          missing(`${p}.scheduleId`, `no business-hours schedule ${c.scheduleId} in this workspace`);
        }
      }),
    );
    rule.actions.forEach((a, ai) => {
      const p = `${r}.actions.${ai}`;
      switch (a.type) {
        case 'route_team':
          if (!teams.has(a.teamId)) missing(`${p}.teamId`, `no team ${a.teamId} in this workspace`);
          break;
        case 'route_skills':
          a.skills.forEach((s, k) => {
            if (!skills.has(s.skill)) missing(`${p}.skills.${k}.skill`, `no agent skill named "${s.skill}" in this workspace; define it first`);
          });
          if (a.teamId !== undefined && !teams.has(a.teamId)) missing(`${p}.teamId`, `no team ${a.teamId} in this workspace`);
          break;
        case 'route_agent':
          if (!agents.has(a.agentId)) missing(`${p}.agentId`, `no active agent ${a.agentId} in this workspace`);
          if (a.fallbackTeamId !== undefined && !teams.has(a.fallbackTeamId)) missing(`${p}.fallbackTeamId`, `no team ${a.fallbackTeamId} in this workspace`);
          break;
        case 'set_sla':
          if (slas && !slas.has(a.slaPolicyId)) missing(`${p}.slaPolicyId`, `no SLA policy ${a.slaPolicyId} in this workspace`);
          break;
        default:
          break;
      }
    });
  });
  return issues;
}

/** Conditions every match of the rule satisfies: those of `all` groups and of one-condition groups. */
function required(groups: readonly ConditionGroup[]): RuleCondition[] {
  return groups.flatMap((g) => (g.match === 'all' || g.conditions.length === 1 ? g.conditions : []));
}

/** Does every conversation matching `a` (a rule's groups) also satisfy group `g`? */
function groupImplied(a: readonly ConditionGroup[], req: RuleCondition[], g: ConditionGroup): boolean {
  if (g.match === 'all' || g.conditions.length === 1) {
    return g.conditions.every((b) => req.some((x) => conditionImplies(x, b)));
  }
  if (g.conditions.some((b) => req.some((x) => conditionImplies(x, b)))) return true;
  // An `any` group of `a` each of whose conditions implies one of g's.
  return a.some((ga) => ga.match === 'any' && ga.conditions.every((x) => g.conditions.some((b) => conditionImplies(x, b))));
}

/** Does rule `later` matching imply rule `earlier` matching? */
export function conditionsImply(later: readonly ConditionGroup[], earlier: readonly ConditionGroup[]): boolean {
  const req = required(later);
  return earlier.every((g) => groupImplied(later, req, g));
}

export function findUnreachable(rules: readonly RoutingRule[], base = 'body.rules'): RuleSetWarning[] {
  const warnings: RuleSetWarning[] = [];
  const stoppers: { rule: RoutingRule; index: number }[] = [];
  rules.forEach((rule, index) => {
    if (!rule.enabled) return;
    const shadow = stoppers.find((s) => conditionsImply(rule.conditions, s.rule.conditions));
    if (shadow) {
      const how = shadow.rule.conditions.length === 0 ? 'has no conditions, so it matches every conversation,' : 'matches every conversation this rule matches';
      warnings.push({
        path: `${base}.${index}`,
        ruleId: rule.id,
        code: 'unreachable',
        message:
          `rule "${rule.name}" (${rule.id}) can never run: the earlier rule "${shadow.rule.name}" (${shadow.rule.id}, ` +
          `${base}.${shadow.index}) ${how} and stops the evaluation; move this rule above it, or narrow or un-stop the earlier rule`,
      });
    }
    if (ruleStops(rule)) stoppers.push({ rule, index });
  });
  return warnings;
}
