import type { RoutingRuleInput } from '@huiliu/contracts/routing-rules';

/**
 * The rule editor works on the contract's *input* shape (RoutingRuleInput): what the admin edits is exactly
 * what PUT /routing/rules receives, so an issue path from the server (`rules.2.actions.0.teamId`) or from the
 * contract run in the browser points at the same place in the draft. While typing, attribute values are
 * kept as text; `normalizeRule` turns them into numbers / booleans right before validation.
 */
export type RuleDraft = RoutingRuleInput;
export type GroupDraft = NonNullable<RuleDraft['conditions']>[number];
export type ConditionDraft = GroupDraft['conditions'][number];
export type ConditionType = ConditionDraft['type'];
export type ActionDraft = RuleDraft['actions'][number];
export type ActionType = ActionDraft['type'];
export type Scalar = string | number | boolean;

/** A rule of the working list with a key of its own: ids can be edited or doubled, keys stay put. */
export interface WorkingRule {
  key: string;
  rule: RuleDraft;
}

let keySeq = 0;
export const newKey = (): string => `k${Date.now().toString(36)}${(keySeq++).toString(36)}`;

/** Condition "fields" as the editor shows them; several contract types share one field and differ by operator. */
export const FIELDS = ['channel', 'inbox', 'attribute', 'tag', 'language', 'intent', 'keywords', 'business_hours', 'local_time'] as const;
export type Field = (typeof FIELDS)[number];

export const ATTRIBUTE_OPS = ['equals', 'in', 'exists', 'gt', 'gte', 'lt', 'lte'] as const;
export type AttributeOp = (typeof ATTRIBUTE_OPS)[number];

export function fieldOf(type: ConditionType): Field {
  if (type.startsWith('attribute_')) return 'attribute';
  if (type === 'tag_has' || type === 'tag_has_any') return 'tag';
  return type as Field;
}

/** The operator the editor shows for a condition (only fields with several have one). */
export function operatorOf(c: ConditionDraft): string | undefined {
  switch (c.type) {
    case 'attribute_equals': return 'equals';
    case 'attribute_in': return 'in';
    case 'attribute_exists': return 'exists';
    case 'attribute_compare': return c.op;
    case 'tag_has': return 'has';
    case 'tag_has_any': return 'has_any';
    case 'business_hours': return c.state;
    default: return undefined;
  }
}

export function operatorsOf(field: Field): readonly string[] {
  if (field === 'attribute') return ATTRIBUTE_OPS;
  if (field === 'tag') return ['has', 'has_any'];
  if (field === 'business_hours') return ['inside', 'outside'];
  return [];
}

// Required fields start empty (cast where the type wants a value): the contract then names what is missing.
const unset = <T,>() => undefined as unknown as T;

export function defaultCondition(field: Field, firstScheduleId?: string): ConditionDraft {
  switch (field) {
    case 'channel': return { type: 'channel', in: [] };
    case 'inbox': return { type: 'inbox', in: [] };
    case 'attribute': return { type: 'attribute_equals', key: '', value: '' };
    case 'tag': return { type: 'tag_has', tag: '' };
    case 'language': return { type: 'language', in: [] };
    case 'intent': return { type: 'intent', in: [] };
    case 'keywords': return { type: 'keywords', any: [] };
    case 'business_hours': return { type: 'business_hours', scheduleId: firstScheduleId ?? unset<string>(), state: 'inside' };
    case 'local_time': return { type: 'local_time', from: '09:00', to: '18:00' };
  }
}

/** Switches the operator of an attribute / tag / hours condition, carrying over what still makes sense. */
export function withOperator(c: ConditionDraft, op: string): ConditionDraft {
  if (c.type === 'business_hours') return { ...c, state: op as 'inside' | 'outside' };
  if (c.type === 'tag_has' || c.type === 'tag_has_any') {
    const tags = c.type === 'tag_has' ? (c.tag ? [c.tag] : []) : c.tags;
    return op === 'has' ? { type: 'tag_has', tag: tags[0] ?? '' } : { type: 'tag_has_any', tags };
  }
  if (!c.type.startsWith('attribute_')) return c;
  const key = 'key' in c ? c.key : '';
  const values: Scalar[] = c.type === 'attribute_in' ? c.values : c.type === 'attribute_equals' || c.type === 'attribute_compare' ? (c.value === undefined || c.value === '' ? [] : [c.value]) : [];
  switch (op) {
    case 'equals': return { type: 'attribute_equals', key, value: values[0] ?? '' };
    case 'in': return { type: 'attribute_in', key, values };
    case 'exists': return { type: 'attribute_exists', key };
    default: {
      const n = Number(values[0]);
      return { type: 'attribute_compare', key, op: op as 'gt' | 'gte' | 'lt' | 'lte', value: values.length && Number.isFinite(n) ? n : unset<number>() };
    }
  }
}

export function defaultAction(type: ActionType): ActionDraft {
  switch (type) {
    case 'route_team': return { type, teamId: unset<string>() };
    case 'route_skills': return { type, skills: [{ skill: '', minLevel: 1 }] };
    case 'route_agent': return { type, agentId: unset<string>() };
    case 'set_priority': return { type, priority: 'high' };
    case 'set_sla': return { type, slaPolicyId: '' };
    case 'add_tags': return { type, tags: [] };
  }
}

export const ACTION_TYPES: readonly ActionType[] = ['route_team', 'route_skills', 'route_agent', 'set_priority', 'set_sla', 'add_tags'];
export const ROUTE_TYPES: readonly ActionType[] = ['route_team', 'route_skills', 'route_agent'];

/**
 * Text typed for an attribute value → what the contact attribute holds: "5" → 5, "true" → true (the engine
 * compares "5" with 5 and "true" with true anyway, but numbers matter for the contradiction check).
 * Only canonical numbers convert, so "007" stays text.
 */
export function coerceScalar(v: Scalar): Scalar {
  if (typeof v !== 'string') return v;
  const s = v.trim();
  if (s === 'true') return true;
  if (s === 'false') return false;
  if (s !== '' && String(Number(s)) === s) return Number(s);
  return s;
}

const cleanList = (xs: string[]) => xs.map((x) => x.trim()).filter(Boolean);

export function normalizeRule(r: RuleDraft): RuleDraft {
  const conditions = (r.conditions ?? []).map((g) => ({
    match: g.match,
    conditions: g.conditions.map((c): ConditionDraft => {
      switch (c.type) {
        case 'attribute_equals': return { ...c, key: c.key.trim(), value: coerceScalar(c.value) };
        case 'attribute_in': return { ...c, key: c.key.trim(), values: c.values.map(coerceScalar) };
        case 'attribute_exists': return { ...c, key: c.key.trim() };
        case 'attribute_compare': return { ...c, key: c.key.trim() };
        case 'tag_has': return { ...c, tag: c.tag.trim() };
        case 'tag_has_any': return { ...c, tags: cleanList(c.tags) };
        case 'keywords': return { ...c, any: cleanList(c.any) };
        case 'language': return { ...c, in: cleanList(c.in) };
        case 'intent': {
          const { minConfidence, ...rest } = c;
          return minConfidence === undefined || minConfidence === null ? { ...rest, in: cleanList(c.in) } : { ...rest, in: cleanList(c.in), minConfidence };
        }
        case 'local_time': {
          const { days, ...rest } = c;
          return days && days.length ? { ...rest, days } : rest;
        }
        default: return c;
      }
    }),
  }));
  const actions = r.actions.map((a): ActionDraft => {
    if (a.type === 'route_skills') {
      const { teamId, ...rest } = a;
      const skills = a.skills.map((s) => ({ ...s, skill: s.skill.trim() }));
      return teamId ? { ...rest, skills, teamId } : { ...rest, skills };
    }
    if (a.type === 'route_agent') {
      const { fallbackTeamId, ...rest } = a;
      return fallbackTeamId ? { ...rest, fallbackTeamId } : rest;
    }
    if (a.type === 'add_tags') return { ...a, tags: cleanList(a.tags) };
    if (a.type === 'set_sla') return { ...a, slaPolicyId: a.slaPolicyId.trim() };
    return a;
  });
  const { stop, ...rest } = r;
  return { ...rest, id: r.id.trim(), name: r.name.trim(), enabled: r.enabled ?? true, conditions, actions, ...(stop === undefined ? {} : { stop }) };
}

/** Does the rule end the evaluation when it matches? (Contract default: when it routes.) */
export function ruleStops(r: RuleDraft): boolean {
  return r.stop ?? r.actions.some((a) => ROUTE_TYPES.includes(a.type));
}

/** An id from the name when it is Latin text ("VIP customers" → "vip-customers"), else rule-N. */
export function newRuleId(name: string, taken: ReadonlySet<string>): string {
  const slug = name.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40);
  const base = /^[a-z0-9]/.test(slug) ? slug : 'rule';
  if (base !== 'rule' && !taken.has(base)) return base;
  for (let n = 1; ; n++) if (!taken.has(`${base}-${n}`)) return `${base}-${n}`;
}

export function emptyRule(): RuleDraft {
  return { id: '', name: '', enabled: true, conditions: [], actions: [{ type: 'route_team', teamId: unset<string>() }] };
}
