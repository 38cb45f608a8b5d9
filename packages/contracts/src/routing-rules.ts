import { z } from 'zod';
import { ChannelType, Id, Priority, Timestamp } from './entities.ts';

/**
 * Routing rules and business-hours schedules: the one definition of their shape.
 *
 * Everything a rule or a schedule can get wrong *by itself* is checked here (formats, empty groups,
 * duplicate ids, contradictory numeric ranges, shifts that end before they start or overlap, duplicate
 * holidays, unknown time zones), so the HTTP layer's `parseOrThrow` already reports it with the field path.
 * What needs the workspace's data (do the referenced teams / agents / skills / inboxes / schedules exist? is
 * a rule shadowed by an earlier one?) is checked by `validateRuleSet` in @huiliu/core (routing/rules).
 */

// ---------------------------------------------------------------------------------------------------------
// Shared pieces: clock times, dates, time zones, weekdays
// ---------------------------------------------------------------------------------------------------------

export const Weekday = z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);
export type Weekday = z.infer<typeof Weekday>;
/** Monday first; index = ISO weekday - 1. */
export const WEEKDAYS: readonly Weekday[] = Weekday.options;

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;
const HHMM_OR_24 = /^(([01]\d|2[0-3]):[0-5]\d|24:00)$/;

/** Minutes since midnight of "HH:MM" ("24:00" → 1440); NaN when the text is not a clock time. */
export function minutesOfDay(hhmm: string): number {
  if (!HHMM_OR_24.test(hhmm)) return Number.NaN;
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

export const ClockTime = z
  .string()
  .regex(HHMM, 'a time as HH:MM on the 24-hour clock, e.g. 09:00 or 13:30');
/** An end time: HH:MM, or 24:00 for "until the end of the day". */
export const EndClockTime = z
  .string()
  .regex(HHMM_OR_24, 'a time as HH:MM on the 24-hour clock, e.g. 12:00 or 18:30 (24:00 = end of the day)');

/** True for a real calendar date written YYYY-MM-DD (2026-02-30 is not). */
export function isCalendarDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = new Date(Date.UTC(y, mo - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d;
}
export const LocalDate = z
  .string()
  .refine(isCalendarDate, 'a calendar date as YYYY-MM-DD, e.g. 2026-10-01');

/** Day number (days since 1970-01-01) of a YYYY-MM-DD date; NaN when it is not one. */
export function dayNumber(date: string): number {
  if (!isCalendarDate(date)) return Number.NaN;
  return Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10))) / 86_400_000;
}

const zoneCache = new Map<string, boolean>();
/** An IANA time zone the runtime knows (checked with Intl.DateTimeFormat, as the evaluation uses it). */
export function isValidTimeZone(tz: string): boolean {
  let ok = zoneCache.get(tz);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      ok = tz.length > 0;
    } catch {
      ok = false;
    }
    if (zoneCache.size < 1000) zoneCache.set(tz, ok);
  }
  return ok;
}
export const TimeZone = z
  .string()
  .min(1)
  .max(64)
  .refine(isValidTimeZone, 'an IANA time zone such as Asia/Shanghai or America/New_York');

// ---------------------------------------------------------------------------------------------------------
// Business hours
// ---------------------------------------------------------------------------------------------------------

/**
 * One opening interval of a day, [start, end) in the schedule's local wall-clock time. Overnight shifts are
 * not one shift: 22:00–06:00 is written as 22:00–24:00 on the first day and 00:00–06:00 on the next.
 */
export const Shift = z
  .strictObject({ start: ClockTime, end: EndClockTime })
  .superRefine((s, ctx) => {
    const start = minutesOfDay(s.start);
    const end = minutesOfDay(s.end);
    if (Number.isNaN(start) || Number.isNaN(end) || s.start === '24:00') return;
    if (end <= start) {
      ctx.addIssue({
        code: 'custom',
        path: ['end'],
        message:
          `the shift ends (${s.end}) at or before it starts (${s.start}); overnight shifts are written as two ` +
          `shifts, e.g. 22:00–24:00 and 00:00–06:00 on the next day`,
      });
    }
  });
export type Shift = z.infer<typeof Shift>;

/** The shifts of one day: at most 10, not overlapping (touching is fine: 09:00–12:00 and 12:00–13:00). */
export const DayShifts = z
  .array(Shift)
  .max(10)
  .superRefine((shifts, ctx) => {
    const valid = shifts
      .map((s, i) => ({ i, s, start: minutesOfDay(s.start), end: minutesOfDay(s.end) }))
      .filter((x) => !Number.isNaN(x.start) && !Number.isNaN(x.end) && x.end > x.start)
      .sort((a, b) => a.start - b.start || a.i - b.i);
    for (let k = 1; k < valid.length; k++) {
      const prev = valid[k - 1]!;
      const cur = valid[k]!;
      if (cur.start < prev.end) {
        const later = cur.i > prev.i ? cur : prev;
        const other = later === cur ? prev : cur;
        ctx.addIssue({
          code: 'custom',
          path: [later.i, 'start'],
          message: `the shift ${later.s.start}–${later.s.end} overlaps the shift ${other.s.start}–${other.s.end} (index ${other.i}) on the same day`,
        });
      }
    }
  });

export const WeeklyHours = z.strictObject({
  mon: DayShifts.default([]),
  tue: DayShifts.default([]),
  wed: DayShifts.default([]),
  thu: DayShifts.default([]),
  fri: DayShifts.default([]),
  sat: DayShifts.default([]),
  sun: DayShifts.default([]),
});
export type WeeklyHours = z.infer<typeof WeeklyHours>;

const MAX_HOLIDAY_DAYS = 366;
/** A closed day, or a closed range of days (`until` inclusive), e.g. 国庆节 2026-10-01 … 2026-10-07. */
export const Holiday = z
  .strictObject({
    date: LocalDate,
    until: LocalDate.optional().describe('Last closed day (inclusive) when the holiday spans several days'),
    name: z.string().trim().max(100).optional(),
  })
  .superRefine((h, ctx) => {
    if (h.until === undefined) return;
    const from = dayNumber(h.date);
    const to = dayNumber(h.until);
    if (Number.isNaN(from) || Number.isNaN(to)) return;
    if (to < from) ctx.addIssue({ code: 'custom', path: ['until'], message: `the holiday ends (${h.until}) before it starts (${h.date})` });
    else if (to - from >= MAX_HOLIDAY_DAYS) ctx.addIssue({ code: 'custom', path: ['until'], message: `a holiday spans at most ${MAX_HOLIDAY_DAYS} days` });
  });
export type Holiday = z.infer<typeof Holiday>;

/**
 * A one-off day with its own hours that replace the weekly hours, e.g. a make-up working Saturday (调休) or a
 * short Christmas Eve. To close a day, use a holiday instead.
 */
export const SpecialDay = z.strictObject({
  date: LocalDate,
  name: z.string().trim().max(100).optional(),
  shifts: DayShifts.min(1, 'a special day needs at least one shift; to close the day, add a holiday instead'),
});
export type SpecialDay = z.infer<typeof SpecialDay>;

/** What happens to a conversation that arrives outside business hours. */
export const OutsideHoursAction = z.enum(['bot_only', 'offline_form', 'ticket']);
export type OutsideHoursAction = z.infer<typeof OutsideHoursAction>;

function checkCalendar(
  s: { holidays: Holiday[]; specialDays: SpecialDay[] },
  ctx: z.RefinementCtx,
): void {
  const closed = new Map<number, string>(); // day → "holidays.N"
  s.holidays.forEach((h, i) => {
    const from = dayNumber(h.date);
    const to = h.until === undefined ? from : dayNumber(h.until);
    if (Number.isNaN(from) || Number.isNaN(to) || to < from || to - from >= MAX_HOLIDAY_DAYS) return;
    for (let d = from; d <= to; d++) {
      const earlier = closed.get(d);
      if (earlier !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['holidays', i, 'date'],
          message: `duplicate holiday: ${dateOfDayNumber(d)} is already covered by ${earlier}`,
        });
        return;
      }
    }
    for (let d = from; d <= to; d++) closed.set(d, `holidays.${i}`);
  });
  const special = new Map<number, number>();
  s.specialDays.forEach((sd, i) => {
    const d = dayNumber(sd.date);
    if (Number.isNaN(d)) return;
    const earlier = special.get(d);
    if (earlier !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['specialDays', i, 'date'], message: `duplicate special day: ${sd.date} is already specialDays.${earlier}` });
      return;
    }
    special.set(d, i);
    const holiday = closed.get(d);
    if (holiday !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['specialDays', i, 'date'],
        message: `${sd.date} is both a special opening day and a holiday (${holiday}); keep one of them`,
      });
    }
  });
}

export function dateOfDayNumber(day: number): string {
  return new Date(day * 86_400_000).toISOString().slice(0, 10);
}

const scheduleFields = {
  name: z.string().trim().min(1).max(100),
  timeZone: TimeZone,
  weekly: WeeklyHours,
  holidays: z.array(Holiday).max(500).default([]),
  specialDays: z.array(SpecialDay).max(500).default([]),
  outsideHoursAction: OutsideHoursAction.default('offline_form'),
};

/** Request body to create or replace a schedule. */
export const BusinessScheduleBody = z.strictObject(scheduleFields).superRefine(checkCalendar);
export type BusinessScheduleBody = z.infer<typeof BusinessScheduleBody>;

export const BusinessSchedule = z.strictObject({ id: Id, ...scheduleFields }).superRefine(checkCalendar);
export type BusinessSchedule = z.infer<typeof BusinessSchedule>;

/** What `isOpen` / `nextOpening` need of a schedule. */
export type ScheduleTimes = Pick<BusinessSchedule, 'timeZone' | 'weekly' | 'holidays' | 'specialDays'>;

// ---------------------------------------------------------------------------------------------------------
// Routing rules: conditions
// ---------------------------------------------------------------------------------------------------------

export const RuleId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'letters, digits and _ . : - (starting with a letter or digit)');
const AttributeKey = z.string().min(1).max(100);
const AttributeValue = z.union([z.string().max(500), z.number(), z.boolean()]);
const TagName = z.string().trim().min(1).max(50);
/** Same shape as the skills agents are given (routing engine): compared exactly, case included. */
export const SkillName = z
  .string()
  .regex(/^[\p{L}\p{N}_.-]{1,40}$/u, 'a skill name: letters, digits and _ . - (max 40; e.g. refund, english, vip)');
const LanguageTag = z
  .string()
  .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'a language tag such as zh, zh-CN, en or en-US');

/** The conversation's channel type is one of `in`. */
const ChannelCondition = z.strictObject({ type: z.literal('channel'), in: z.array(ChannelType).min(1).max(20) });
/** The conversation's inbox is one of `in`. */
const InboxCondition = z.strictObject({ type: z.literal('inbox'), in: z.array(Id).min(1).max(200) });
/** contact.attributes[key] equals value (strings compared case-insensitively; "5" equals 5). */
const AttributeEqualsCondition = z.strictObject({ type: z.literal('attribute_equals'), key: AttributeKey, value: AttributeValue });
/** contact.attributes[key] equals one of values. */
const AttributeInCondition = z.strictObject({
  type: z.literal('attribute_in'),
  key: AttributeKey,
  values: z.array(AttributeValue).min(1).max(200),
});
/** contact.attributes[key] is present and not null / empty text. */
const AttributeExistsCondition = z.strictObject({ type: z.literal('attribute_exists'), key: AttributeKey });
/** contact.attributes[key] is a number (or numeric text) and `op value` holds. */
const AttributeCompareCondition = z.strictObject({
  type: z.literal('attribute_compare'),
  key: AttributeKey,
  op: z.enum(['gt', 'gte', 'lt', 'lte']),
  value: z.number(),
});
/** The contact has the tag (case-insensitive). */
const TagHasCondition = z.strictObject({ type: z.literal('tag_has'), tag: TagName });
/** The contact has at least one of the tags (case-insensitive). */
const TagHasAnyCondition = z.strictObject({ type: z.literal('tag_has_any'), tags: z.array(TagName).min(1).max(50) });
/** The conversation's language matches one of `in`; "zh" matches zh, zh-CN, zh-TW…; "zh-CN" only zh-CN. */
const LanguageCondition = z.strictObject({ type: z.literal('language'), in: z.array(LanguageTag).min(1).max(50) });
/** The detected intent is one of `in` with at least `minConfidence` (0…1). */
const IntentCondition = z.strictObject({
  type: z.literal('intent'),
  in: z.array(z.string().trim().min(1).max(100)).min(1).max(100),
  minConfidence: z.number().min(0).max(1).default(0),
});
/** Now is inside / outside the business hours of a schedule. */
const BusinessHoursCondition = z.strictObject({
  type: z.literal('business_hours'),
  scheduleId: Id,
  state: z.enum(['inside', 'outside']),
});
/**
 * The customer's local time (in their time zone) is within [from, to); from > to wraps midnight
 * (22:00–06:00). `days` restricts the local weekday (of the moment evaluated). Not matched when the
 * customer's time zone is unknown.
 */
const LocalTimeCondition = z
  .strictObject({
    type: z.literal('local_time'),
    from: ClockTime,
    to: EndClockTime,
    days: z.array(Weekday).min(1).max(7).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.from === c.to || (c.from === '00:00' && c.to === '24:00')) {
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'the window is empty or the whole day; leave the condition out for "any time"' });
    }
  });
/**
 * The customer's message contains one of the keywords, case-insensitively (full-width letters count as
 * normal ones). A keyword with Chinese / Japanese / Korean characters matches as a plain substring; other
 * keywords match whole words ("refund" matches "Refund please" and "我要refund", not "refunded").
 */
const KeywordsCondition = z.strictObject({
  type: z.literal('keywords'),
  any: z.array(z.string().trim().min(1).max(100)).min(1).max(200),
});

export const RuleCondition = z.discriminatedUnion('type', [
  ChannelCondition,
  InboxCondition,
  AttributeEqualsCondition,
  AttributeInCondition,
  AttributeExistsCondition,
  AttributeCompareCondition,
  TagHasCondition,
  TagHasAnyCondition,
  LanguageCondition,
  IntentCondition,
  BusinessHoursCondition,
  LocalTimeCondition,
  KeywordsCondition,
]);
export type RuleCondition = z.infer<typeof RuleCondition>;
export type RuleConditionType = RuleCondition['type'];

/** `all`: every condition holds; `any`: at least one does. */
export const ConditionGroup = z.strictObject({
  match: z.enum(['all', 'any']),
  conditions: z
    .array(RuleCondition)
    .min(1, 'an empty condition group; remove the group or add a condition')
    .max(50),
});
export type ConditionGroup = z.infer<typeof ConditionGroup>;

// ---------------------------------------------------------------------------------------------------------
// Routing rules: actions
// ---------------------------------------------------------------------------------------------------------

export const SkillRequirement = z.strictObject({ skill: SkillName, minLevel: z.int().min(1).max(10).default(1) });
export type SkillRequirement = z.infer<typeof SkillRequirement>;

const RouteTeamAction = z.strictObject({ type: z.literal('route_team'), teamId: Id });
const RouteSkillsAction = z
  .strictObject({
    type: z.literal('route_skills'),
    skills: z.array(SkillRequirement).min(1).max(20),
    teamId: Id.optional().describe('Only agents of this team'),
  })
  .superRefine((a, ctx) => {
    const seen = new Set<string>();
    a.skills.forEach((s, i) => {
      const k = s.skill;
      if (seen.has(k)) ctx.addIssue({ code: 'custom', path: ['skills', i, 'skill'], message: `the skill "${s.skill}" is listed twice` });
      seen.add(k);
    });
  });
const RouteAgentAction = z.strictObject({
  type: z.literal('route_agent'),
  agentId: Id,
  fallbackTeamId: Id.optional().describe('Where the conversation goes when the agent is not available'),
});
const SetPriorityAction = z.strictObject({ type: z.literal('set_priority'), priority: Priority });
const SetSlaAction = z.strictObject({ type: z.literal('set_sla'), slaPolicyId: z.string().min(1).max(100) });
const AddTagsAction = z.strictObject({ type: z.literal('add_tags'), tags: z.array(TagName).min(1).max(20) });

export const RuleAction = z.discriminatedUnion('type', [
  RouteTeamAction,
  RouteSkillsAction,
  RouteAgentAction,
  SetPriorityAction,
  SetSlaAction,
  AddTagsAction,
]);
export type RuleAction = z.infer<typeof RuleAction>;
export const ROUTE_ACTIONS = ['route_team', 'route_skills', 'route_agent'] as const;

// ---------------------------------------------------------------------------------------------------------
// Rules and rule sets
// ---------------------------------------------------------------------------------------------------------

interface Bound { value: number; strict: boolean; where: string }

/**
 * Required conditions of a rule: those of `all` groups and of single-condition groups (every group must
 * hold). Contradictions among them make the rule impossible.
 */
function checkContradictions(groups: ConditionGroup[], ctx: z.RefinementCtx): void {
  const byKey = new Map<string, { lo?: Bound; hi?: Bound; eq?: { value: number; where: string } }>();
  groups.forEach((g, gi) => {
    if (g.match === 'any' && g.conditions.length > 1) return;
    g.conditions.forEach((c, ci) => {
      const where = `conditions.${gi}.conditions.${ci}`;
      const path = ['conditions', gi, 'conditions', ci, 'value'];
      let numeric: number | undefined;
      if (c.type === 'attribute_compare') numeric = c.value;
      else if (c.type === 'attribute_equals' && typeof c.value === 'number') numeric = c.value;
      else return;
      const st = byKey.get(c.key) ?? {};
      byKey.set(c.key, st);
      const fail = (other: string, why: string) =>
        ctx.addIssue({ code: 'custom', path, message: `contradicts ${other} on attribute "${c.key}": ${why}; the rule could never match` });
      if (c.type === 'attribute_equals') {
        if (st.eq && st.eq.value !== numeric) return fail(st.eq.where, `it cannot equal both ${st.eq.value} and ${numeric}`);
        st.eq = { value: numeric, where };
      } else if (c.op === 'gt' || c.op === 'gte') {
        const b: Bound = { value: numeric, strict: c.op === 'gt', where };
        if (!st.lo || b.value > st.lo.value || (b.value === st.lo.value && b.strict)) st.lo = b;
      } else {
        const b: Bound = { value: numeric, strict: c.op === 'lt', where };
        if (!st.hi || b.value < st.hi.value || (b.value === st.hi.value && b.strict)) st.hi = b;
      }
      const { lo, hi, eq } = st;
      if (lo && hi && (lo.value > hi.value || (lo.value === hi.value && (lo.strict || hi.strict)))) {
        const other = lo.where === where ? hi.where : lo.where;
        return fail(other, `no number is ${lo.strict ? '>' : '≥'} ${lo.value} and ${hi.strict ? '<' : '≤'} ${hi.value}`);
      }
      if (eq && lo && (eq.value < lo.value || (eq.value === lo.value && lo.strict))) {
        return fail(eq.where === where ? lo.where : eq.where, `${eq.value} is not ${lo.strict ? '>' : '≥'} ${lo.value}`);
      }
      if (eq && hi && (eq.value > hi.value || (eq.value === hi.value && hi.strict))) {
        return fail(eq.where === where ? hi.where : eq.where, `${eq.value} is not ${hi.strict ? '<' : '≤'} ${hi.value}`);
      }
      return undefined;
    });
  });
}

export const RoutingRule = z
  .strictObject({
    id: RuleId,
    name: z.string().trim().min(1).max(100),
    enabled: z.boolean().default(true),
    /** Every group must hold; no groups = the rule always matches. */
    conditions: z.array(ConditionGroup).max(20).default([]),
    actions: z.array(RuleAction).min(1, 'a rule needs at least one action').max(20),
    /**
     * Whether evaluation stops after this rule matches. Default: stop when the rule routes (has a
     * route_team / route_skills / route_agent action), continue otherwise.
     */
    stop: z.boolean().optional(),
  })
  .superRefine((r, ctx) => {
    const once = new Map<string, number>();
    r.actions.forEach((a, i) => {
      const kind = (ROUTE_ACTIONS as readonly string[]).includes(a.type) ? 'route' : a.type;
      if (kind === 'add_tags') return;
      const earlier = once.get(kind);
      if (earlier !== undefined) {
        const what = kind === 'route' ? 'routing action (route_team / route_skills / route_agent)' : `${kind} action`;
        ctx.addIssue({ code: 'custom', path: ['actions', i, 'type'], message: `a rule has at most one ${what}; actions.${earlier} is one already` });
      } else once.set(kind, i);
    });
    checkContradictions(r.conditions, ctx);
  });
export type RoutingRule = z.infer<typeof RoutingRule>;
export type RoutingRuleInput = z.input<typeof RoutingRule>;

/** An ordered list, evaluated first to last. */
export const RoutingRuleSet = z
  .array(RoutingRule)
  .max(500)
  .superRefine((rules, ctx) => {
    const seen = new Map<string, number>();
    rules.forEach((r, i) => {
      if (typeof r?.id !== 'string') return;
      const earlier = seen.get(r.id);
      if (earlier !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate rule id "${r.id}" (also rules.${earlier})` });
      else seen.set(r.id, i);
    });
  });

export const SaveRoutingRulesBody = z.strictObject({ rules: RoutingRuleSet });
export type SaveRoutingRulesBody = z.infer<typeof SaveRoutingRulesBody>;

// ---------------------------------------------------------------------------------------------------------
// Evaluation: facts in, decision + explanation out
// ---------------------------------------------------------------------------------------------------------

/** What the rules look at, taken from the conversation, its contact and the triggering message. */
export const RoutingFacts = z.strictObject({
  channelType: ChannelType,
  inboxId: Id,
  contact: z.strictObject({
    attributes: z.record(z.string(), z.unknown()).default({}),
    tags: z.array(z.string()).default([]),
  }),
  /** Language of the conversation (BCP 47), e.g. from the widget or detection. */
  language: z.string().max(35).nullable().optional(),
  /** The customer's IANA time zone, when known. */
  timeZone: z.string().max(64).nullable().optional(),
  intent: z.strictObject({ name: z.string().max(100), confidence: z.number().min(0).max(1) }).nullable().optional(),
  /** Text of the message that triggered routing. */
  messageText: z.string().max(64 * 1024).optional(),
});
export type RoutingFacts = z.infer<typeof RoutingFacts>;
export type RoutingFactsInput = z.input<typeof RoutingFacts>;

export const RoutingTarget = z.discriminatedUnion('type', [
  z.object({ type: z.literal('team'), teamId: Id }),
  z.object({ type: z.literal('skills'), skills: z.array(SkillRequirement), teamId: Id.optional() }),
  z.object({ type: z.literal('agent'), agentId: Id, fallbackTeamId: Id.optional() }),
]);
export type RoutingTarget = z.infer<typeof RoutingTarget>;

export const ConditionTrace = z.object({
  /** Path inside the rule, e.g. "conditions.0.conditions.1". */
  path: z.string(),
  type: z.string(),
  matched: z.boolean(),
  /** Human-readable: what was compared with what. */
  detail: z.string(),
});
export type ConditionTrace = z.infer<typeof ConditionTrace>;

export const RuleTrace = z.object({
  ruleId: z.string(),
  ruleName: z.string(),
  index: z.number().int(),
  status: z.enum(['matched', 'not_matched', 'disabled', 'not_reached']),
  groups: z.array(z.object({ match: z.enum(['all', 'any']), matched: z.boolean(), conditions: z.array(ConditionTrace) })),
  /** Actions that shaped the decision, e.g. "route_team 3f…", "add_tags vip". */
  applied: z.array(z.string()),
  /** Actions without effect because an earlier rule had already decided, with the reason. */
  overridden: z.array(z.string()),
  stopped: z.boolean(),
});
export type RuleTrace = z.infer<typeof RuleTrace>;

export const RoutingDecision = z.object({
  target: RoutingTarget.nullable(),
  priority: Priority.nullable(),
  slaPolicyId: z.string().nullable(),
  tags: z.array(z.string()),
  /** Which rule set each part of the decision. */
  sources: z.object({
    target: z.string().nullable(),
    priority: z.string().nullable(),
    slaPolicyId: z.string().nullable(),
    tags: z.record(z.string(), z.string()),
  }),
});
export type RoutingDecision = z.infer<typeof RoutingDecision>;

export const RuleEvaluation = z.object({
  evaluatedAt: Timestamp,
  matchedRuleIds: z.array(z.string()),
  decision: RoutingDecision,
  rules: z.array(RuleTrace),
  /** One line per matched rule and per decision part, for the conversation timeline. */
  explanation: z.array(z.string()),
});
export type RuleEvaluation = z.infer<typeof RuleEvaluation>;

/** "Test this rule against a sample conversation": the saved rules, or the unsaved ones given here. */
export const TestRoutingRulesBody = z.strictObject({
  rules: RoutingRuleSet.optional(),
  facts: RoutingFacts,
  at: z.iso.datetime({ offset: true }).optional().describe('Evaluate as if it were this moment (default: now)'),
});
export type TestRoutingRulesBody = z.infer<typeof TestRoutingRulesBody>;

export const RuleSetWarning = z.object({
  path: z.string(),
  ruleId: z.string(),
  code: z.enum(['unreachable']),
  message: z.string(),
});
export type RuleSetWarning = z.infer<typeof RuleSetWarning>;
