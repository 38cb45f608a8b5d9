import {
  isValidTimeZone,
  minutesOfDay,
  type RoutingFacts,
  type RuleCondition,
  type ScheduleTimes,
} from '@huiliu/contracts/routing-rules';
import { scheduleState, type ScheduleState } from '../business-hours/schedule.ts';
import { wallClock, type WallClock } from '../business-hours/time-zone.ts';

/**
 * What each condition type means, in one place: evaluation (`evaluateCondition`) and the static
 * "does condition a imply condition b" used to find unreachable rules (`conditionImplies`).
 */

/** Case and width folding for text comparisons: NFKC (full-width Ｖ → V) then lower case. */
export function fold(s: string): string {
  return s.normalize('NFKC').toLowerCase().trim();
}

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u3000-\u303f\uff00-\uffef]/u;
const WORD = /[\p{L}\p{N}_]/u;

function isWordChar(ch: string | undefined): boolean {
  return ch !== undefined && WORD.test(ch) && !CJK.test(ch);
}
function charBefore(text: string, i: number): string | undefined {
  if (i <= 0) return undefined;
  const lo = text.charCodeAt(i - 1);
  if (lo >= 0xdc00 && lo <= 0xdfff && i >= 2) return text.slice(i - 2, i);
  return text[i - 1];
}
function charAt(text: string, i: number): string | undefined {
  const cp = text.codePointAt(i);
  return cp === undefined ? undefined : String.fromCodePoint(cp);
}

/**
 * Does folded `text` contain folded `keyword`? Keywords with CJK characters: plain substring (Chinese has no
 * spaces between words). Others: whole words — the characters around the match must not be letters or digits
 * of a spaced script, so "refund" is found in "refund?" and "我要refund" but not in "refunded".
 */
export function containsKeyword(text: string, keyword: string): boolean {
  if (!keyword) return false;
  if (CJK.test(keyword)) return text.includes(keyword);
  const needStart = isWordChar(charAt(keyword, 0));
  const needEnd = isWordChar(charBefore(keyword, keyword.length));
  for (let i = text.indexOf(keyword); i !== -1; i = text.indexOf(keyword, i + 1)) {
    if (needStart && isWordChar(charBefore(text, i))) continue;
    if (needEnd && isWordChar(charAt(text, i + keyword.length))) continue;
    return true;
  }
  return false;
}

type Scalar = string | number | boolean;

function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') return Number(v.normalize('NFKC'));
  return Number.NaN;
}

/** Attribute value vs. a rule's scalar: numbers numerically ("5" = 5), text case-insensitively, booleans also as "true"/"false". */
export function scalarMatches(actual: unknown, expected: Scalar): boolean {
  if (Array.isArray(actual)) return actual.some((a) => scalarMatches(a, expected));
  if (typeof expected === 'number') return toNumber(actual) === expected;
  if (typeof expected === 'boolean') return actual === expected || (typeof actual === 'string' && fold(actual) === String(expected));
  if (typeof actual === 'string' || typeof actual === 'number' || typeof actual === 'boolean') return fold(String(actual)) === fold(expected);
  return false;
}

function present(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'string') return v.trim() !== '';
  if (Array.isArray(v)) return v.length > 0;
  return true;
}

function attribute(facts: RoutingFacts, key: string): unknown {
  const attrs = facts.contact?.attributes ?? {};
  return Object.hasOwn(attrs, key) ? attrs[key] : undefined;
}

const show = (v: unknown) => (v === undefined ? '(missing)' : JSON.stringify(v));
const list = (xs: readonly unknown[]) => `[${xs.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(', ')}]`;

/** Does language tag `pattern` ("zh") cover `tag` ("zh-CN")? */
export function languageCovers(pattern: string, tag: string): boolean {
  const p = pattern.toLowerCase().replace(/_/g, '-');
  const t = tag.toLowerCase().replace(/_/g, '-');
  return t === p || t.startsWith(`${p}-`);
}

export interface ConditionContext {
  facts: RoutingFacts;
  now: Date;
  schedule(id: string): ScheduleTimes | undefined;
  /** Folded message text and tags, computed once per evaluation. */
  text(): string;
  tags(): ReadonlySet<string>;
  /** Per-evaluation memo of the (comparatively costly, Intl-based) clock look-ups. */
  scheduleStates?: Map<string, ScheduleState>;
  localClocks?: Map<string, WallClock>;
}

const clockMinutes = new Map<string, number>();
function minutes(hhmm: string): number {
  let m = clockMinutes.get(hhmm);
  if (m === undefined) clockMinutes.set(hhmm, (m = minutesOfDay(hhmm)));
  return m;
}

const foldedCache = new WeakMap<readonly string[], string[]>();
/** Keywords folded once per (immutable) rule, not per evaluation. */
function foldedKeywords(keywords: readonly string[]): string[] {
  let f = foldedCache.get(keywords);
  if (!f) foldedCache.set(keywords, (f = keywords.map(fold)));
  return f;
}

export interface ConditionResult { matched: boolean; detail: string }

const OP = { gt: '>', gte: '≥', lt: '<', lte: '≤' } as const;

export function evaluateCondition(c: RuleCondition, ctx: ConditionContext): ConditionResult {
  const { facts } = ctx;
  switch (c.type) {
    case 'channel': {
      const matched = c.in.includes(facts.channelType);
      return { matched, detail: `channel ${facts.channelType} ${matched ? '∈' : '∉'} ${list(c.in)}` };
    }
    case 'inbox': {
      const matched = c.in.includes(facts.inboxId);
      return { matched, detail: `inbox ${facts.inboxId} ${matched ? '∈' : '∉'} ${list(c.in)}` };
    }
    case 'attribute_equals': {
      const v = attribute(facts, c.key);
      const matched = scalarMatches(v, c.value);
      return { matched, detail: `attributes.${c.key} = ${show(v)}, ${matched ? 'equals' : 'not'} ${JSON.stringify(c.value)}` };
    }
    case 'attribute_in': {
      const v = attribute(facts, c.key);
      const matched = c.values.some((x) => scalarMatches(v, x));
      return { matched, detail: `attributes.${c.key} = ${show(v)} ${matched ? '∈' : '∉'} ${JSON.stringify(c.values)}` };
    }
    case 'attribute_exists': {
      const v = attribute(facts, c.key);
      const matched = present(v);
      return { matched, detail: `attributes.${c.key} ${matched ? 'is set' : 'is not set'}` };
    }
    case 'attribute_compare': {
      const v = attribute(facts, c.key);
      const n = toNumber(v);
      let matched = false;
      if (Number.isFinite(n)) {
        matched = c.op === 'gt' ? n > c.value : c.op === 'gte' ? n >= c.value : c.op === 'lt' ? n < c.value : n <= c.value;
      }
      const why = Number.isFinite(n) ? '' : ' (not a number)';
      return { matched, detail: `attributes.${c.key} = ${show(v)}${why}, ${matched ? '' : 'not '}${OP[c.op]} ${c.value}` };
    }
    case 'tag_has': {
      const matched = ctx.tags().has(fold(c.tag));
      return { matched, detail: `contact ${matched ? 'has' : 'does not have'} tag "${c.tag}"` };
    }
    case 'tag_has_any': {
      const hit = c.tags.find((t) => ctx.tags().has(fold(t)));
      return hit !== undefined
        ? { matched: true, detail: `contact has tag "${hit}" (one of ${list(c.tags)})` }
        : { matched: false, detail: `contact has none of the tags ${list(c.tags)}` };
    }
    case 'language': {
      const lang = facts.language;
      const matched = !!lang && c.in.some((p) => languageCovers(p, lang));
      return { matched, detail: lang ? `language ${lang} ${matched ? 'matches' : 'does not match'} ${list(c.in)}` : 'language unknown' };
    }
    case 'intent': {
      const intent = facts.intent;
      if (!intent) return { matched: false, detail: 'no intent detected' };
      const named = c.in.some((x) => fold(x) === fold(intent.name));
      const confident = intent.confidence >= c.minConfidence;
      const matched = named && confident;
      const detail = !named
        ? `intent "${intent.name}" ∉ ${list(c.in)}`
        : `intent "${intent.name}" with confidence ${intent.confidence} ${confident ? '≥' : '<'} ${c.minConfidence}`;
      return { matched, detail };
    }
    case 'business_hours': {
      const schedule = ctx.schedule(c.scheduleId);
      if (!schedule) return { matched: false, detail: `schedule ${c.scheduleId} not found` };
      const states = (ctx.scheduleStates ??= new Map());
      let st = states.get(c.scheduleId);
      if (!st) states.set(c.scheduleId, (st = scheduleState(schedule, ctx.now)));
      const matched = st.open === (c.state === 'inside');
      const why = st.open
        ? `open (shift ${st.shift ?? ''}${st.dayKind === 'special_day' ? `, special day${st.dayName ? ` ${st.dayName}` : ''}` : ''})`
        : st.dayKind === 'holiday'
          ? `closed (holiday${st.dayName ? ` ${st.dayName}` : ''})`
          : 'closed';
      return {
        matched,
        detail: `schedule ${c.scheduleId} is ${why} at ${st.local.date} ${st.local.time} ${schedule.timeZone}; wanted ${c.state} business hours`,
      };
    }
    case 'local_time': {
      const tz = facts.timeZone;
      if (!tz || !isValidTimeZone(tz)) return { matched: false, detail: tz ? `customer time zone "${tz}" is not valid` : 'customer time zone unknown' };
      const clocks = (ctx.localClocks ??= new Map());
      let local = clocks.get(tz);
      if (!local) clocks.set(tz, (local = wallClock(tz, ctx.now)));
      const from = minutes(c.from);
      const to = minutes(c.to);
      const inWindow = from < to ? local.minutes >= from && local.minutes < to : local.minutes >= from || local.minutes < to;
      const onDay = !c.days || c.days.includes(local.weekday);
      const matched = inWindow && onDay;
      const window = `${c.from}–${c.to}${c.days ? ` on ${c.days.join(',')}` : ''}`;
      return { matched, detail: `customer local time ${local.weekday} ${local.time} (${tz}) ${matched ? 'within' : 'outside'} ${window}` };
    }
    case 'keywords': {
      const text = ctx.text();
      const folded = foldedKeywords(c.any);
      const hit = c.any.find((_, i) => containsKeyword(text, folded[i]!));
      return hit !== undefined
        ? { matched: true, detail: `message contains "${hit}"` }
        : { matched: false, detail: `message contains none of ${list(c.any)}` };
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Static implication (for unreachable-rule detection). Sound, not complete: true only when every
// conversation satisfying `a` also satisfies `b`.
// ---------------------------------------------------------------------------------------------------------

const subset = <T>(a: readonly T[], b: readonly T[], eq: (x: T, y: T) => boolean = (x, y) => x === y) =>
  a.every((x) => b.some((y) => eq(x, y)));
const sameText = (x: string, y: string) => fold(x) === fold(y);
const sameScalar = (x: Scalar, y: Scalar) =>
  typeof x === typeof y && (typeof x === 'string' ? fold(x) === fold(y as string) : x === y);
const nonEmpty = (v: Scalar) => (typeof v === 'string' ? v.trim() !== '' : true);

export function conditionImplies(a: RuleCondition, b: RuleCondition): boolean {
  switch (b.type) {
    case 'channel':
      return a.type === 'channel' && subset(a.in, b.in);
    case 'inbox':
      return a.type === 'inbox' && subset(a.in, b.in);
    case 'language':
      return a.type === 'language' && a.in.every((x) => b.in.some((y) => languageCovers(y, x)));
    case 'intent':
      return a.type === 'intent' && subset(a.in, b.in, sameText) && a.minConfidence >= b.minConfidence;
    case 'keywords':
      return a.type === 'keywords' && subset(a.any, b.any, sameText);
    case 'tag_has':
      return a.type === 'tag_has' && sameText(a.tag, b.tag);
    case 'tag_has_any':
      return (a.type === 'tag_has' && b.tags.some((t) => sameText(t, a.tag))) || (a.type === 'tag_has_any' && subset(a.tags, b.tags, sameText));
    case 'attribute_equals':
      return (
        (a.type === 'attribute_equals' && a.key === b.key && sameScalar(a.value, b.value)) ||
        (a.type === 'attribute_in' && a.key === b.key && a.values.every((v) => sameScalar(v, b.value)))
      );
    case 'attribute_in':
      return (
        (a.type === 'attribute_equals' && a.key === b.key && b.values.some((v) => sameScalar(a.value, v))) ||
        (a.type === 'attribute_in' && a.key === b.key && subset(a.values, b.values, sameScalar))
      );
    case 'attribute_exists':
      if (!('key' in a) || a.key !== b.key) return false;
      return (
        a.type === 'attribute_exists' ||
        a.type === 'attribute_compare' ||
        (a.type === 'attribute_equals' && nonEmpty(a.value)) ||
        (a.type === 'attribute_in' && a.values.every(nonEmpty))
      );
    case 'attribute_compare': {
      if (!('key' in a) || a.key !== b.key) return false;
      const holds = (n: number) => (b.op === 'gt' ? n > b.value : b.op === 'gte' ? n >= b.value : b.op === 'lt' ? n < b.value : n <= b.value);
      if (a.type === 'attribute_equals') return typeof a.value === 'number' && holds(a.value);
      if (a.type !== 'attribute_compare') return false;
      const aLower = a.op === 'gt' || a.op === 'gte';
      const bLower = b.op === 'gt' || b.op === 'gte';
      if (aLower !== bLower) return false;
      if (a.value !== b.value) return bLower ? a.value > b.value : a.value < b.value;
      return a.op === b.op || a.op === 'gt' || a.op === 'lt'; // x > v implies x ≥ v
    }
    case 'business_hours':
      return a.type === 'business_hours' && a.scheduleId === b.scheduleId && a.state === b.state;
    case 'local_time':
      return (
        a.type === 'local_time' &&
        a.from === b.from &&
        a.to === b.to &&
        (b.days === undefined || (a.days !== undefined && subset(a.days, b.days)))
      );
  }
}
