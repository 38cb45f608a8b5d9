import { WEEKDAYS, type Weekday } from '@huiliu/contracts/routing-rules';

/**
 * Wall-clock arithmetic in IANA time zones with nothing but Intl (no tz database of our own).
 *
 * The only primitive is "what does the wall clock in zone Z show at instant t" (Intl.DateTimeFormat). The
 * reverse — "at which instants does the wall clock show D HH:MM" — has 0 answers (in a DST gap: 02:30 on the
 * day New York springs forward), 1 answer, or 2 (in the repeated hour when it falls back); `instantsOf`
 * returns all of them, and for a gap the instant the clock jumps over it.
 */

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export interface WallClock {
  /** Days since 1970-01-01 of the local date. */
  day: number;
  /** Local date, YYYY-MM-DD. */
  date: string;
  weekday: Weekday;
  /** Minutes since local midnight (seconds dropped). */
  minutes: number;
  /** Local time, HH:MM. */
  time: string;
}

function wallMs(timeZone: string, t: number): number {
  let y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  for (const p of formatter(timeZone).formatToParts(t)) {
    switch (p.type) {
      case 'year': y = Number(p.value); break;
      case 'month': mo = Number(p.value); break;
      case 'day': d = Number(p.value); break;
      case 'hour': h = Number(p.value) % 24; break;
      case 'minute': mi = Number(p.value); break;
      case 'second': s = Number(p.value); break;
    }
  }
  const utc = new Date(0);
  utc.setUTCFullYear(y, mo - 1, d);
  utc.setUTCHours(h, mi, s, 0);
  return utc.getTime();
}

/** UTC offset of the zone at instant t, in ms (New York in winter: -5 h). */
export function offsetMs(timeZone: string, t: number): number {
  const whole = Math.floor(t / 1000) * 1000;
  return wallMs(timeZone, whole) - whole;
}

/** The local wall clock of `timeZone` at instant `at`. Throws RangeError for an unknown zone. */
export function wallClock(timeZone: string, at: Date | number): WallClock {
  const t = typeof at === 'number' ? at : at.getTime();
  const local = wallMs(timeZone, Math.floor(t / 1000) * 1000);
  const day = Math.floor(local / DAY_MS);
  const minutes = Math.floor((local - day * DAY_MS) / MINUTE_MS);
  const iso = new Date(local).toISOString();
  return { day, date: iso.slice(0, 10), weekday: weekdayOfDay(day), minutes, time: iso.slice(11, 16) };
}

/** Weekday of a day number (1970-01-01 was a Thursday). */
export function weekdayOfDay(day: number): Weekday {
  return WEEKDAYS[(((day + 3) % 7) + 7) % 7]!;
}

/**
 * The instants (ms, ascending) at which the wall clock of `timeZone` shows `minutes` past midnight of local
 * day `day`. Two in a repeated (fall-back) hour; in a skipped (spring-forward) hour, the one instant at which
 * the clock jumps past that time.
 */
export function instantsOf(timeZone: string, day: number, minutes: number): number[] {
  const guess = day * DAY_MS + minutes * MINUTE_MS; // the wall time read as if it were UTC
  const before = offsetMs(timeZone, guess - DAY_MS);
  const after = offsetMs(timeZone, guess + DAY_MS);
  const found = new Set<number>();
  for (const off of [before, after]) {
    const t = guess - off;
    if (offsetMs(timeZone, t) === off) found.add(t);
  }
  if (found.size > 0) return [...found].sort((a, b) => a - b);
  // A gap: the clock jumped from before `minutes` to after it. Find the jump (to the minute).
  let lo = guess - Math.max(before, after); // wall clock before the target
  let hi = guess - Math.min(before, after); // wall clock after the target
  lo = Math.floor(lo / MINUTE_MS);
  hi = Math.ceil(hi / MINUTE_MS);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetMs(timeZone, mid * MINUTE_MS) === before) lo = mid;
    else hi = mid;
  }
  return [hi * MINUTE_MS];
}
