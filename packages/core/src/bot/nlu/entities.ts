import * as chrono from 'chrono-node';

/**
 * Entity / slot extraction for the offline language engine: built-in extractors (order numbers, phones,
 * e-mails, amounts, dates and times, Chinese resident ID numbers) plus workspace-defined enums and regexes.
 * Pure functions of the text, the options and the clock passed in; no network, no model weights.
 *
 * Every extractor proposes candidate spans; overlaps are then resolved by priority (see PRIORITY), so an
 * ID number is never also read as a phone or an order number, and the digits of an e-mail are not a phone.
 */

export type BuiltinEntity = 'order_number' | 'phone' | 'email' | 'amount' | 'datetime' | 'cn_id';
export type EntityDefinition =
  | { name: string; kind: 'enum'; values: Array<{ value: string; synonyms: string[] }> }
  | { name: string; kind: 'regex'; pattern: string };
export interface ExtractedEntity {
  entity: string; // builtin name or custom name
  value: string | number;
  text: string;
  start: number;
  end: number;
  currency?: string;
  iso?: string; // datetime
}
export interface EntityExtractorOptions {
  orderPatterns?: string[];
  custom?: EntityDefinition[];
  timeZone?: string; // IANA, default Asia/Shanghai
  now?: () => Date;
}

export const BUILTIN_ENTITIES: readonly BuiltinEntity[] = ['order_number', 'phone', 'email', 'amount', 'datetime', 'cn_id'];

/** Only this much of a message is scanned: bounds the work any pattern (ours or a workspace's) can do. */
export const MAX_SCAN_CHARS = 4_000;
/** Workspace regexes longer than this are refused; long patterns are where accidental blow-ups hide. */
export const MAX_PATTERN_CHARS = 200;
/** A custom regex match longer than this is ignored: a slot value is short, a runaway `.*` is not one. */
export const MAX_MATCH_CHARS = 200;
const MAX_ENUM_VALUES = 1_000;
const MAX_SYNONYMS = 100;

// Higher wins an overlap. Workspace regexes beat the generic order-number guess because they are the
// workspace's own, more specific, definition of a token.
const PRIORITY: Record<string, number> = {
  cn_id: 100,
  email: 95,
  phone: 90,
  custom_regex: 85,
  order_number: 80,
  amount: 70,
  datetime: 60,
  custom_enum: 50,
};

interface Candidate extends ExtractedEntity {
  priority: number;
}

// ---------------------------------------------------------------------------------------------------------
// Chinese resident ID (GB 11643-1999): 17 digits + check character, ISO 7064 MOD 11-2.

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = '10X98765432';

/** Checksum, a real birth date (1900..today) and a plausible region code (first digit 1–8). */
export function isValidChineseId(id: string): boolean {
  if (!/^[1-8]\d{16}[\dXx]$/.test(id)) return false;
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(id[i]) * ID_WEIGHTS[i]!;
  if (ID_CHECK[sum % 11] !== id[17]!.toUpperCase()) return false;
  const y = Number(id.slice(6, 10));
  const m = Number(id.slice(10, 12));
  const d = Number(id.slice(12, 14));
  if (y < 1900 || m < 1 || m > 12 || d < 1) return false;
  const birth = new Date(Date.UTC(y, m - 1, d));
  return birth.getUTCDate() === d && birth.getTime() <= Date.now();
}

// ---------------------------------------------------------------------------------------------------------
// Chinese numerals ("两百", "三千五", "一万二", "十一") → numbers.

const CN_DIGIT: Record<string, number> = { 零: 0, 〇: 0, 一: 1, 二: 2, 两: 2, 俩: 2, 三: 3, 四: 4, 五: 5, 六: 6, 七: 7, 八: 8, 九: 9 };
const CN_UNIT: Record<string, number> = { 十: 10, 拾: 10, 百: 100, 佰: 100, 千: 1000, 仟: 1000 };
const CN_BIG: Record<string, number> = { 万: 10_000, 亿: 100_000_000 };
export const CN_NUM_CHARS = '零〇一二两俩三四五六七八九十拾百佰千仟万亿';

/**
 * Value of a Chinese numeral, or undefined. Colloquial abbreviations count: 一万二 = 12000, 三千五 = 3500,
 * 两百五 = 250 (a trailing digit after a unit means the next lower unit).
 */
export function parseChineseNumber(s: string): number | undefined {
  if (!s || ![...s].every((c) => c in CN_DIGIT || c in CN_UNIT || c in CN_BIG)) return undefined;
  let total = 0;
  let section = 0;
  let digit: number | undefined;
  let lastUnit = 0;
  for (const c of s) {
    if (c in CN_DIGIT) {
      if (digit !== undefined) digit = digit * 10 + CN_DIGIT[c]!; // 二〇二六 style
      else digit = CN_DIGIT[c]!;
    } else if (c in CN_UNIT) {
      const u = CN_UNIT[c]!;
      section += (digit ?? 1) * u;
      digit = undefined;
      lastUnit = u;
    } else {
      const u = CN_BIG[c]!;
      section += digit ?? 0;
      total += (section || 1) * u;
      section = 0;
      digit = undefined;
      lastUnit = u;
    }
  }
  if (digit !== undefined) {
    // A lone trailing digit right after a unit is the colloquial abbreviation (一万二 = 一万二千).
    if (lastUnit >= 100 && digit < 10 && /[百佰千仟万亿]$/.test(s.slice(0, -1))) section += digit * (lastUnit / 10);
    else section += digit;
  }
  return total + section;
}

/** A number written with Arabic digits (commas allowed) or Chinese numerals. */
function parseAnyNumber(s: string): number | undefined {
  const t = s.replace(/[,，]/g, '');
  if (/^\d+(?:\.\d+)?$/.test(t)) return Number(t);
  return parseChineseNumber(t);
}

// ---------------------------------------------------------------------------------------------------------
// Amounts.

const NUM = String.raw`(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?`;
// Starts at the beginning of a numeral run and is bounded, so a long run costs linear time, not quadratic.
const CN_NUM = `(?<![${CN_NUM_CHARS}])[${CN_NUM_CHARS}]{1,12}`;
const SCALE = '(?:万|千|百万|亿|[kK](?![a-zA-Z]))';
// Currency symbols and words, mapped to ISO 4217. ¥ is read as yuan: this is a Chinese product.
const PREFIX_CURRENCY: Array<[string, string]> = [
  ['US$', 'USD'], ['HK$', 'HKD'], ['USD', 'USD'], ['RMB', 'CNY'], ['CNY', 'CNY'], ['EUR', 'EUR'], ['HKD', 'HKD'],
  ['GBP', 'GBP'], ['JPY', 'JPY'], ['¥', 'CNY'], ['￥', 'CNY'], ['$', 'USD'], ['€', 'EUR'], ['£', 'GBP'],
];
const SUFFIX_CURRENCY: Array<[string, string]> = [
  ['块钱', 'CNY'], ['元', 'CNY'], ['块', 'CNY'], ['人民币', 'CNY'], ['RMB', 'CNY'], ['CNY', 'CNY'], ['rmb', 'CNY'],
  ['yuan', 'CNY'], ['美元', 'USD'], ['美金', 'USD'], ['USD', 'USD'], ['dollars', 'USD'], ['dollar', 'USD'],
  ['bucks', 'USD'], ['欧元', 'EUR'], ['EUR', 'EUR'], ['euros', 'EUR'], ['euro', 'EUR'], ['港币', 'HKD'], ['港元', 'HKD'],
  ['HKD', 'HKD'], ['英镑', 'GBP'], ['GBP', 'GBP'], ['pounds', 'GBP'], ['日元', 'JPY'], ['JPY', 'JPY'],
];
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const byLength = (a: [string, string], b: [string, string]) => b[0].length - a[0].length;
const PREFIX_RE = PREFIX_CURRENCY.slice().sort(byLength).map(([s]) => esc(s)).join('|');
const SUFFIX_RE = SUFFIX_CURRENCY.slice().sort(byLength).map(([s]) => esc(s)).join('|');
const currencyOf = (table: Array<[string, string]>, sym: string) =>
  table.find(([s]) => s.toLowerCase() === sym.toLowerCase())?.[1] ?? 'CNY';

const AMOUNT_PREFIXED = new RegExp(String.raw`(?<![A-Za-z])(${PREFIX_RE})\s?(${NUM})(${SCALE})?`, 'g');
// Suffix form: 100元, 3.5万元, 两百元, 三块五, 50 bucks. The trailing 毛/角 digit handles 三块五 / 三块五毛.
const AMOUNT_SUFFIXED = new RegExp(
  String.raw`(?<![\dA-Za-z.])(${NUM}|${CN_NUM})\s?(${SCALE})?\s?(${SUFFIX_RE})(?![A-Za-z])([一二三四五六七八九\d](?:毛|角)?)?`,
  'gi',
);
// Bare scaled amounts such as 3.5万 (the issue's example); not when a counting word follows (3.5万步, 2万人).
const AMOUNT_BARE_SCALED = /(?<![\dA-Za-z.])(\d+(?:\.\d+)?)(万|千)(?![元块人步次件个台份公里米字条名张])/g;

function scaleOf(s: string | undefined): number {
  if (!s) return 1;
  if (s === '万') return 10_000;
  if (s === '千' || s.toLowerCase() === 'k') return 1_000;
  if (s === '百万') return 1_000_000;
  if (s === '亿') return 100_000_000;
  return 1;
}
const round2 = (n: number) => Math.round(n * 100) / 100;

function extractAmounts(text: string, out: Candidate[]): void {
  for (const m of text.matchAll(AMOUNT_PREFIXED)) {
    const n = parseAnyNumber(m[2]!);
    if (n === undefined) continue;
    out.push(cand('amount', round2(n * scaleOf(m[3])), m[0], m.index!, { currency: currencyOf(PREFIX_CURRENCY, m[1]!) }));
  }
  for (const m of text.matchAll(AMOUNT_SUFFIXED)) {
    let n = parseAnyNumber(m[1]!);
    if (n === undefined) continue;
    n *= scaleOf(m[2]);
    const unit = m[3]!;
    if (m[4] && (unit === '块' || unit === '块钱' || unit === '元')) {
      const tenth = parseAnyNumber(m[4].replace(/[毛角]$/, ''));
      if (tenth !== undefined && tenth < 10) n += tenth / 10;
    }
    const t = m[4] && !(unit === '块' || unit === '块钱' || unit === '元') ? m[0].slice(0, -m[4].length) : m[0];
    out.push(cand('amount', round2(n), t, m.index!, { currency: currencyOf(SUFFIX_CURRENCY, unit) }));
  }
  for (const m of text.matchAll(AMOUNT_BARE_SCALED)) {
    out.push(cand('amount', round2(Number(m[1]) * scaleOf(m[2])), m[0], m.index!, { currency: 'CNY' }));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Phones, e-mails, ID numbers.

// CN mobile: 1[3-9] + 9 digits, written plain, 3-4-4 spaced or dashed, with an optional +86 / 0086 / 86-.
const CN_MOBILE = /(?<![\d+])(?:(?:\+|00)86[\s-]?|86-)?(1[3-9]\d)([\s-]?)(\d{4})\2(\d{4})(?!\d)/g;
// E.164: "+" then 7–15 digits, groups separated by one space, dash or dot, optional (area) group.
// One digit per repetition, so a long run of digits cannot be split in exponentially many ways.
const E164 = /\+[1-9](?:[\s.-]?\(?\d\)?){6,16}(?!\d)/g;
const EMAIL = /(?<![\w.%+-])[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9])/g;
const CN_ID = /(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])/g;

function extractContacts(text: string, out: Candidate[]): void {
  for (const m of text.matchAll(CN_ID)) {
    if (isValidChineseId(m[0])) out.push(cand('cn_id', m[0].toUpperCase(), m[0], m.index!));
  }
  for (const m of text.matchAll(EMAIL)) {
    const [local, domain] = [m[0].slice(0, m[0].lastIndexOf('@')), m[0].slice(m[0].lastIndexOf('@') + 1)];
    out.push(cand('email', `${local}@${domain.toLowerCase()}`, m[0], m.index!));
  }
  // CN mobiles are given as the 11-digit national number: what Chinese order and CRM systems store.
  for (const m of text.matchAll(CN_MOBILE)) out.push(cand('phone', `${m[1]}${m[3]}${m[4]}`, m[0], m.index!));
  // Other international numbers in E.164 form (+ and digits only).
  for (const m of text.matchAll(E164)) {
    const raw = m[0].replace(/[\s.)-]+$/, '');
    const digits = raw.replace(/\D/g, '');
    if (digits.length < 8 || digits.length > 15) continue;
    if (digits.startsWith('86') && /^861[3-9]\d{9}$/.test(digits)) continue; // the CN rule above has it
    out.push(cand('phone', `+${digits}`, raw, m.index!));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Order numbers.

// Words that announce an order / waybill / ticket number, in both languages. A bare run of digits is only
// an order number after one of these (or when the whole message is that number, the typical reply to
// "请提供订单号"): otherwise every bank card or long count would become one.
const ORDER_CONTEXT = /(订单号?|单号|运单|快递单|物流单|工单|流水号|交易号|order(?:\s*(?:number|no\.?|id|#))?|tracking(?:\s*(?:number|no\.?|#))?|waybill|ticket|reference|ref\.?|#)\s*$/i;
const ORDER_TOKEN = /(?<![A-Za-z0-9-])#?([A-Za-z0-9](?:[A-Za-z0-9-]{4,38})[A-Za-z0-9])(?![A-Za-z0-9-])/g;

function isDefaultOrderToken(token: string, text: string, start: number): boolean {
  const digits = (token.match(/\d/g) ?? []).length;
  const letters = (token.match(/[A-Za-z]/g) ?? []).length;
  if (/^\d+$/.test(token)) {
    if (token.length < 8 || token.length > 20) return false;
    const before = text.slice(Math.max(0, start - 16), start).replace(/[:：\s是为的=#]+$/u, '');
    const alone = text.trim().replace(/^#/, '') === token;
    return (token.length >= 10 && alone) || ORDER_CONTEXT.test(before + ' ') || ORDER_CONTEXT.test(before);
  }
  // Letters + digits, at least 8 characters, mostly digits: SF1402938475, CZ20261120889, 1Z999AA10123456784.
  // "iPhone15" or "GPT4o" are not: too few digits.
  return token.length >= 8 && letters >= 1 && digits >= 6 && digits >= token.replace(/-/g, '').length / 2;
}

function extractOrders(text: string, patterns: RegExp[] | undefined, out: Candidate[]): void {
  if (patterns) {
    const head = text.length > MAX_CUSTOM_SCAN_CHARS ? text.slice(0, MAX_CUSTOM_SCAN_CHARS) : text;
    for (const re of patterns) {
      for (const m of head.matchAll(re)) {
        if (!m[0] || m[0].length > MAX_MATCH_CHARS) continue;
        out.push(cand('order_number', m[0], m[0], m.index!));
      }
    }
    return;
  }
  for (const m of text.matchAll(ORDER_TOKEN)) {
    const token = m[1]!;
    const start = m.index! + (m[0].length - token.length);
    if (isDefaultOrderToken(token, text, start)) out.push(cand('order_number', token.toUpperCase(), token, start));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Dates and times. chrono-node does most of the work; a small Chinese grammar first covers what chrono.zh
// misses or gets wrong (大后天, 5号, 下个月5号, 上周三, 3点一刻, 两点半 meaning 14:30, 星期日下午).

interface Wall {
  y: number;
  mo: number; // 1..12
  d: number;
  h: number;
  mi: number;
}

const partsFormatters = new Map<string, Intl.DateTimeFormat>();
function wallClock(instant: Date, timeZone: string): Wall & { s: number } {
  let f = partsFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    partsFormatters.set(timeZone, f);
  }
  const p: Record<string, number> = {};
  for (const part of f.formatToParts(instant)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return { y: p.year!, mo: p.month!, d: p.day!, h: p.hour! % 24, mi: p.minute!, s: p.second! };
}

/** Offset of `timeZone` from UTC, in minutes, at the instant whose wall clock there is `w`. */
function offsetAt(w: Wall, timeZone: string): number {
  const asUtc = Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi);
  let guess = asUtc;
  for (let i = 0; i < 2; i++) {
    const back = wallClock(new Date(guess), timeZone);
    const off = (Date.UTC(back.y, back.mo - 1, back.d, back.h, back.mi) - guess) / 60_000;
    guess = asUtc - off * 60_000;
  }
  const back = wallClock(new Date(guess), timeZone);
  return Math.round((Date.UTC(back.y, back.mo - 1, back.d, back.h, back.mi) - guess) / 60_000);
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
function isoOf(w: Wall, withTime: boolean, timeZone: string): string {
  const date = `${pad(w.y, 4)}-${pad(w.mo)}-${pad(w.d)}`;
  if (!withTime) return date;
  const off = offsetAt(w, timeZone);
  const sign = off < 0 ? '-' : '+';
  return `${date}T${pad(w.h)}:${pad(w.mi)}:00${sign}${pad(Math.floor(Math.abs(off) / 60))}:${pad(Math.abs(off) % 60)}`;
}

/** Calendar arithmetic on wall dates, done in UTC so the process time zone never matters. */
function addDays(w: Wall, days: number): Wall {
  const t = new Date(Date.UTC(w.y, w.mo - 1, w.d + days));
  return { ...w, y: t.getUTCFullYear(), mo: t.getUTCMonth() + 1, d: t.getUTCDate() };
}
const weekday = (w: Wall) => new Date(Date.UTC(w.y, w.mo - 1, w.d)).getUTCDay(); // 0 = Sunday
const daysInMonth = (y: number, mo: number) => new Date(Date.UTC(y, mo, 0)).getUTCDate();

const NUMTOK = `(?:\\d{1,2}|[${CN_NUM_CHARS}]{1,3})`;
const WEEKDAY_CHARS = '一二三四五六日天末1234567';
const ZH_DAY = [
  `(?<rel>大后天|后天|明天|明日|今天|今日|昨天|昨日|前天|大前天)`,
  `(?<week>(?:下下|上上|上|下|这|本)?(?:个)?(?:周|星期|礼拜|週)[${WEEKDAY_CHARS}])`,
  `(?:(?<mprefix>下个?月|本月|这个?月|上个?月)?(?<dom>${NUMTOK})[号日])`,
  `(?:(?:(?<year>\\d{4}|[〇零一二三四五六七八九]{4})年)?(?<month>${NUMTOK})月(?<mday>${NUMTOK})[号日]?)`,
].join('|');
const ZH_MERIDIEM = '(?<mer>凌晨|清晨|早上|早晨|上午|中午|下午|傍晚|晚上|夜里|今晚|明早|明晚)';
const ZH_TIME = `(?:(?<hour>${NUMTOK})(?:点|時|时)(?:(?<frac>半|一刻|三刻|整|钟)|(?<min>${NUMTOK})分?)?|(?<hh>\\d{1,2})[:：](?<mm>\\d{2}))`;
const ZH_DATETIME = new RegExp(`(?:(?:${ZH_DAY})\\s?)?(?:${ZH_MERIDIEM}\\s?)?(?:${ZH_TIME})?`, 'g');
// What may follow a bare hour written in Chinese numerals for it to be a time: 一点 is also "a little"
// (有一点问题, 一点都不好), 三点 also "three points".
const BARE_HOUR_FOLLOW = /^(?:钟|整|前|以前|之前|后|以后|之后|左右|到|至|[-~～]|送|来|去|发|上门|能|可以|吧|见|[,，。.!！?？]|\s*$)/;
const RANGE_GAP = /^\s*(?:到|至|[-~～]|或者?|or|to)\s*$/;

interface DateHit {
  start: number;
  end: number;
  wall: Wall;
  withTime: boolean;
}

function zhWeekdayIndex(c: string): number {
  if (c === '日' || c === '天' || c === '7') return 0;
  if (c === '末') return 6;
  return /\d/.test(c) ? Number(c) : '一二三四五六'.indexOf(c) + 1;
}

type Groups = Record<string, string | undefined>;

function parseZhDay(g: Groups, today: Wall): Wall | undefined | null {
  if (g.rel) {
    const rel: Record<string, number> = { 大后天: 3, 后天: 2, 明天: 1, 明日: 1, 今天: 0, 今日: 0, 昨天: -1, 昨日: -1, 前天: -2, 大前天: -3 };
    return addDays(today, rel[g.rel]!);
  }
  if (g.week) {
    const target = zhWeekdayIndex(g.week.slice(-1));
    const prefix = g.week.replace(/(?:个)?(?:周|星期|礼拜|週).$/, '');
    // Weeks start on Monday in China: 下周一 is the Monday of next week, 上周三 the Wednesday of last week.
    const mondayThisWeek = addDays(today, -((weekday(today) + 6) % 7));
    const offsetInWeek = (target + 6) % 7;
    const weeks: Record<string, number> = { 下下: 2, 上上: -2, 上: -1, 下: 1, 这: 0, 本: 0 };
    if (prefix in weeks) return addDays(mondayThisWeek, weeks[prefix]! * 7 + offsetInWeek);
    // A bare 周五: the next one from today (today included).
    return addDays(today, (target - weekday(today) + 7) % 7);
  }
  if (g.dom) {
    const day = parseAnyNumber(g.dom);
    if (day === undefined || day < 1 || day > 31) return null;
    let { y, mo } = today;
    const p = g.mprefix ?? '';
    if (p.startsWith('下')) mo += 1;
    else if (p.startsWith('上')) mo -= 1;
    else if (!p && day < today.d) mo += 1; // a bare 5号 said on the 21st means next month's 5th
    if (mo > 12) [y, mo] = [y + 1, mo - 12];
    if (mo < 1) [y, mo] = [y - 1, mo + 12];
    if (day > daysInMonth(y, mo)) return null;
    return { ...today, y, mo, d: day };
  }
  if (g.month) {
    const mo = parseAnyNumber(g.month);
    const day = parseAnyNumber(g.mday!);
    if (mo === undefined || day === undefined || mo < 1 || mo > 12 || day < 1) return null;
    let y = today.y;
    if (g.year) y = /^\d+$/.test(g.year) ? Number(g.year) : Number([...g.year].map((c) => CN_DIGIT[c]).join(''));
    // Month-day without a year: the next such date (a customer talks about deliveries, not the past).
    else if (mo < today.mo || (mo === today.mo && day < today.d)) y += 1;
    if (day > daysInMonth(y, mo)) return null;
    return { ...today, y, mo, d: day };
  }
  return undefined;
}

function parseZhDates(text: string, now: Wall): DateHit[] {
  const hits: DateHit[] = [];
  for (const m of text.matchAll(ZH_DATETIME)) {
    if (!m[0].trim()) continue;
    const g = m.groups as Groups;
    const hasDay = Boolean(g.rel || g.week || g.dom || g.month);
    const meridiem = g.mer;
    const hourText = g.hour ?? g.hh;
    const start = m.index! + (m[0].length - m[0].trimStart().length);
    const end = m.index! + m[0].trimEnd().length;
    if (!hasDay && !hourText) continue; // a meridiem alone (上午) is too vague to be a slot value
    if (!hasDay && !meridiem && g.hour && !/\d/.test(g.hour) && !g.frac && !g.min && !BARE_HOUR_FOLLOW.test(text.slice(end))) continue;
    let day = parseZhDay(g, now);
    if (day === null) continue;
    // The end of a range (明天下午三点到五点) shares the day and the half of the day of its start.
    const prev = hits.at(-1);
    const inRange = prev && RANGE_GAP.test(text.slice(prev.end, start));
    if (!day && inRange) day = { ...prev.wall };
    let withTime = false;
    let h = 0;
    let mi = 0;
    if (hourText) {
      const hour = parseAnyNumber(hourText);
      if (hour === undefined || hour > 24) continue;
      h = hour;
      if (g.frac === '半') mi = 30;
      else if (g.frac === '一刻') mi = 15;
      else if (g.frac === '三刻') mi = 45;
      else if (g.min) mi = parseAnyNumber(g.min) ?? -1;
      else if (g.mm) mi = Number(g.mm);
      if (mi < 0 || mi > 59) continue;
      withTime = true;
      if (meridiem && /下午|傍晚|晚上|夜里|今晚|明晚/.test(meridiem) && h < 12) h += 12;
      else if (meridiem === '中午' && h < 6) h += 12;
      else if (!meridiem && inRange && prev.wall.h >= 12 && h < 12) h += 12; // 下午三点到五点
      else if (!meridiem && h >= 1 && h <= 6 && !g.hh) h += 12; // 两点半 in service talk means 14:30
      if (h === 24) h = 0;
      // A bare time that has already passed today means tomorrow.
      if (!day) day = h < now.h || (h === now.h && mi <= now.mi) ? addDays(now, 1) : now;
    }
    if (meridiem === '今晚' && !hasDay) day = now;
    if ((meridiem === '明早' || meridiem === '明晚') && !hasDay) day = addDays(now, 1);
    if (!hourText && meridiem) {
      // 明天下午: a day with a part of it; keep the day, give a representative hour.
      const typical: Record<string, number> = { 凌晨: 3, 清晨: 7, 早上: 8, 早晨: 8, 上午: 9, 中午: 12, 下午: 15, 傍晚: 18, 晚上: 20, 夜里: 22, 今晚: 20, 明早: 8, 明晚: 20 };
      h = typical[meridiem] ?? 9;
      withTime = true;
    }
    if (!day) continue;
    hits.push({ start, end, wall: { y: day.y, mo: day.mo, d: day.d, h, mi }, withTime });
  }
  return hits;
}

function parseChrono(parser: Pick<chrono.Chrono, 'parse'>, text: string, now: Wall & { s: number }, lang: 'zh' | 'en'): DateHit[] {
  // chrono reads and writes wall clocks in the process's time zone; handing it the wall clock of the
  // workspace's zone as a "local" Date and reading components back keeps the process TZ out of it.
  const ref = new Date(now.y, now.mo - 1, now.d, now.h, now.mi, now.s);
  const hits: DateHit[] = [];
  for (const r of parser.parse(text, ref, { forwardDate: true })) {
    const s = r.start;
    let h = s.get('hour') ?? 12;
    const withTime = s.isCertain('hour');
    // "at 5" / "5点" in customer service is 5 pm: nobody books a delivery at 5 am.
    if (withTime && !s.isCertain('meridiem') && h >= 1 && h <= 6 && lang === 'en' && !/:\d\d/.test(r.text)) h += 12;
    if (/^(may|march|sun|sat|second|now)$/i.test(r.text.trim())) continue; // "May I ask", "now" is not a slot
    hits.push({
      start: r.index,
      end: r.index + r.text.length,
      wall: { y: s.get('year')!, mo: s.get('month')!, d: s.get('day')!, h, mi: withTime ? (s.get('minute') ?? 0) : 0 },
      withTime,
    });
  }
  return hits;
}

const HAN = /\p{Script=Han}/u;
const BARE_CN_HOUR = new RegExp(`^[\\s，,。.、]*[${CN_NUM_CHARS}]{1,3}点$`);
// chrono reads a bare duration as "now + duration": "waiting three weeks", "down for two hours", "24小时内".
// Those are lengths of time, not slot values; "in 3 days", "after two days" and 三天后 stay dates.
const EN_DURATION = /^(?:for\s+|about\s+|over\s+)?(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten|a few|few|several|\d+)\s+(?:second|minute|min|hour|day|week|month|year)s?$/i;
const ZH_DURATION = new RegExp(`^(?:\\d+|[${CN_NUM_CHARS}]+)(?:个)?(?:秒|分钟|小时|钟头|天|日|周|星期|礼拜|月|年)(?:内|以内|之内)?$`);

/** Dates are looked for in the first 1,000 characters only: chrono is far from linear on long inputs. */
const MAX_DATE_SCAN_CHARS = 1_000;
// Long runs of digits, letters+digits or Chinese numerals are never part of a date (order numbers, IDs,
// phones); blanking them keeps chrono from spending hundreds of ms on "+1222…", and keeps offsets intact.
const NOT_A_DATE_RUN = new RegExp(`[A-Za-z0-9]*\\d{9,}[A-Za-z0-9]*|[${CN_NUM_CHARS}]{9,}`, 'g');

function extractDates(input: string, timeZone: string, now: Date, out: Candidate[]): void {
  const text = input.slice(0, MAX_DATE_SCAN_CHARS).replace(NOT_A_DATE_RUN, (run) => ' '.repeat(run.length));
  const wall = wallClock(now, timeZone);
  const hits: DateHit[] = [];
  if (HAN.test(text)) {
    const own = parseZhDates(text, wall);
    hits.push(...own);
    for (const h of parseChrono(chrono.zh, text, wall, 'zh')) {
      if (own.some((o) => o.start < h.end && h.start < o.end)) continue;
      // Our grammar refused this bare 一点 / 三点 on purpose (有一点问题); chrono would take it as a time.
      if (BARE_CN_HOUR.test(text.slice(h.start, h.end))) continue;
      if (ZH_DURATION.test(text.slice(h.start, h.end))) continue;
      hits.push(h);
    }
  }
  for (const h of parseChrono(chrono.en, text, wall, 'en')) if (!EN_DURATION.test(text.slice(h.start, h.end))) hits.push(h);
  for (const h of hits) {
    const iso = isoOf(h.wall, h.withTime, timeZone);
    out.push(cand('datetime', iso, text.slice(h.start, h.end), h.start, { iso }));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Workspace-defined entities.

const NAME_RE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
// A quantified group that itself contains a quantifier, e.g. (a+)+, (\d*)*, (x|y+){2,}: the classic shape of
// catastrophic backtracking. Refused outright; the scan length cap bounds whatever slips through.
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*(?:[+*]|\{\d+,\d*\})(?:[^()\\]|\\.)*\)\s*(?:[+*]|\{\d+,\d*\})/;

// Unbounded repetitions: *, + and {n,}. Three of them in a row (\d*\d*\d*x) already take cubic time on a long
// run of digits — 20 s on 500 characters — so a pattern may have at most two (still enough for \S+@\S+).
const UNBOUNDED = /(?<!\\)(?:[*+]|\{\d+,\})/g;
const MAX_UNBOUNDED = 2;
/** Workspace patterns run on a customer message's first characters only (polynomial patterns stay bounded). */
export const MAX_CUSTOM_SCAN_CHARS = 1_000;

/**
 * Whether a workspace pattern (entity regex, order-number pattern, a flow's ask pattern) may run on customer
 * text: null when it may, else what is wrong and how to fix it.
 */
export function customPatternProblem(pattern: string): string | null {
  return compileCustom(pattern).error ?? null;
}

function compileCustom(pattern: string): { re?: RegExp; error?: string } {
  if (typeof pattern !== 'string' || pattern.length === 0) return { error: 'pattern must be a non-empty string' };
  if (pattern.length > MAX_PATTERN_CHARS) return { error: `pattern is longer than ${MAX_PATTERN_CHARS} characters` };
  if (NESTED_QUANTIFIER.test(pattern)) return { error: 'pattern nests quantifiers (like (a+)+), which can take exponential time' };
  if ((pattern.match(UNBOUNDED) ?? []).length > MAX_UNBOUNDED) {
    return { error: `pattern has more than ${MAX_UNBOUNDED} unbounded repetitions (*, +, {n,}), which can take polynomial time on long messages; use bounded counts like \d{6,20}` };
  }
  if (/\\[1-9]/.test(pattern)) return { error: 'back-references are not allowed' };
  let re: RegExp;
  try {
    re = new RegExp(pattern, 'gu');
  } catch (err) {
    return { error: `pattern does not compile: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (new RegExp(`^(?:${pattern})$`, 'u').test('')) return { error: 'pattern matches the empty string' };
  return { re };
}

/**
 * Validates workspace entity definitions (as saved from the console). Returns every problem with a dotted
 * path (`2.pattern`, `0.values.1.synonyms.3`) and the definitions that passed, so a caller can refuse the
 * save or, at run time, keep going with the good ones.
 */
export function checkEntityDefinitions(defs: unknown): { issues: Array<{ path: string; message: string }>; definitions: EntityDefinition[] } {
  const issues: Array<{ path: string; message: string }> = [];
  const definitions: EntityDefinition[] = [];
  if (!Array.isArray(defs)) return { issues: [{ path: '', message: 'entity definitions must be a list' }], definitions };
  const names = new Set<string>();
  defs.forEach((raw, i) => {
    const before = issues.length;
    const add = (path: string, message: string) => issues.push({ path: path ? `${i}.${path}` : String(i), message });
    if (!raw || typeof raw !== 'object') return add('', 'must be an object');
    const d = raw as Record<string, unknown>;
    const name = d.name;
    if (typeof name !== 'string' || !NAME_RE.test(name)) add('name', 'name must start with a letter and use only letters, digits and _ (at most 64)');
    else if ((BUILTIN_ENTITIES as readonly string[]).includes(name)) add('name', `"${name}" is a built-in entity`);
    else if (names.has(name.toLowerCase())) add('name', `duplicate entity name "${name}"`);
    else names.add(name.toLowerCase());
    if (d.kind === 'regex') {
      const { error } = compileCustom(d.pattern as string);
      if (error) add('pattern', error);
      if (issues.length === before) definitions.push({ name: name as string, kind: 'regex', pattern: d.pattern as string });
    } else if (d.kind === 'enum') {
      const values = d.values;
      if (!Array.isArray(values) || values.length === 0) return add('values', 'an enum needs at least one value');
      if (values.length > MAX_ENUM_VALUES) return add('values', `at most ${MAX_ENUM_VALUES} values`);
      const seen = new Map<string, string>(); // phrase (lower case) → value that owns it
      const clean: Array<{ value: string; synonyms: string[] }> = [];
      values.forEach((v: unknown, j: number) => {
        const vv = v as { value?: unknown; synonyms?: unknown };
        if (!vv || typeof vv.value !== 'string' || !vv.value.trim()) return add(`values.${j}.value`, 'value must be a non-empty string');
        const syns = vv.synonyms ?? [];
        if (!Array.isArray(syns)) return add(`values.${j}.synonyms`, 'synonyms must be a list of strings');
        if (syns.length > MAX_SYNONYMS) return add(`values.${j}.synonyms`, `at most ${MAX_SYNONYMS} synonyms`);
        const phrases: string[] = [];
        for (const [k, s] of [vv.value, ...syns].entries()) {
          const path = k === 0 ? `values.${j}.value` : `values.${j}.synonyms.${k - 1}`;
          if (typeof s !== 'string' || !s.trim()) {
            add(path, 'must be a non-empty string');
            continue;
          }
          const key = s.trim().toLowerCase();
          const owner = seen.get(key);
          if (owner !== undefined && owner !== vv.value) add(path, `"${s}" is already a synonym of "${owner}"`);
          seen.set(key, vv.value);
          if (k > 0) phrases.push(s.trim());
        }
        clean.push({ value: vv.value, synonyms: phrases });
      });
      if (issues.length === before) definitions.push({ name: name as string, kind: 'enum', values: clean });
    } else add('kind', 'kind must be "enum" or "regex"');
  });
  return { issues, definitions };
}

interface CompiledEnum {
  name: string;
  re: RegExp;
  valueOf: Map<string, string>;
}

function compileEnum(def: Extract<EntityDefinition, { kind: 'enum' }>): CompiledEnum | undefined {
  const valueOf = new Map<string, string>();
  for (const v of def.values) for (const p of [v.value, ...v.synonyms]) if (p.trim()) valueOf.set(p.trim().toLowerCase(), v.value);
  if (valueOf.size === 0) return undefined;
  // Longest phrase first so "iPhone 15 Pro" wins over "iPhone 15"; Latin phrases only match whole words
  // ("red" is not inside "credited"), CJK phrases anywhere (no spaces between words in Chinese).
  const alts = [...valueOf.keys()]
    .sort((a, b) => b.length - a.length)
    .map((p) => {
      const head = /^[\p{L}\p{N}]/u.test(p) && !HAN.test(p[0]!) ? '(?<![\\p{L}\\p{N}])' : '';
      const tail = /[\p{L}\p{N}]$/u.test(p) && !HAN.test(p.at(-1)!) ? '(?![\\p{L}\\p{N}])' : '';
      return `${head}${esc(p)}${tail}`;
    });
  return { name: def.name, re: new RegExp(alts.join('|'), 'giu'), valueOf };
}

// ---------------------------------------------------------------------------------------------------------

function cand(entity: string, value: string | number, text: string, start: number, extra: Partial<ExtractedEntity> = {}, priority?: number): Candidate {
  return { entity, value, text, start, end: start + text.length, ...extra, priority: priority ?? PRIORITY[entity] ?? 0 };
}

/** Highest priority first, then the longer span, then the earlier one; accepted spans never overlap. */
function resolveOverlaps(cands: Candidate[]): ExtractedEntity[] {
  const sorted = cands.slice().sort((a, b) => b.priority - a.priority || b.end - b.start - (a.end - a.start) || a.start - b.start);
  const taken: Candidate[] = [];
  for (const c of sorted) {
    if (c.end <= c.start) continue;
    if (taken.some((t) => t.start < c.end && c.start < t.end)) continue;
    taken.push(c);
  }
  return taken.sort((a, b) => a.start - b.start).map(({ priority: _p, ...e }) => e);
}

export function createEntityExtractor(options: EntityExtractorOptions = {}): { extract(text: string): ExtractedEntity[] } {
  const timeZone = options.timeZone ?? 'Asia/Shanghai';
  wallClock(new Date(0), timeZone); // throws RangeError now, at configuration time, for an unknown zone
  const now = options.now ?? (() => new Date());
  const orderPatterns = options.orderPatterns?.map((p, i) => {
    const { re, error } = compileCustom(p);
    if (!re) throw new RangeError(`orderPatterns.${i}: ${error}`);
    return re;
  });
  const { issues, definitions } = checkEntityDefinitions(options.custom ?? []);
  if (issues.length) throw new RangeError(`custom.${issues[0]!.path}: ${issues[0]!.message}`);
  const regexes = definitions.flatMap((d) => (d.kind === 'regex' ? [{ name: d.name, re: compileCustom(d.pattern).re! }] : []));
  const enums = definitions.flatMap((d) => (d.kind === 'enum' ? [compileEnum(d)].filter((e): e is CompiledEnum => !!e) : []));

  return {
    extract(input: string): ExtractedEntity[] {
      const text = input.length > MAX_SCAN_CHARS ? input.slice(0, MAX_SCAN_CHARS) : input;
      const out: Candidate[] = [];
      extractContacts(text, out);
      extractOrders(text, orderPatterns, out);
      extractAmounts(text, out);
      extractDates(text, timeZone, now(), out);
      const head = text.length > MAX_CUSTOM_SCAN_CHARS ? text.slice(0, MAX_CUSTOM_SCAN_CHARS) : text;
      for (const { name, re } of regexes) {
        for (const m of head.matchAll(re)) {
          if (!m[0] || m[0].length > MAX_MATCH_CHARS) continue; // zero-length or runaway matches are no value
          out.push(cand(name, m[0], m[0], m.index!, {}, PRIORITY.custom_regex));
        }
      }
      for (const e of enums) {
        for (const m of text.matchAll(e.re)) {
          out.push(cand(e.name, e.valueOf.get(m[0].toLowerCase()) ?? m[0], m[0], m.index!, {}, PRIORITY.custom_enum));
        }
      }
      return resolveOverlaps(out);
    },
  };
}
