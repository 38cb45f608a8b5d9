import {
  BusinessScheduleBody,
  dayNumber,
  minutesOfDay,
  WEEKDAYS,
  type ScheduleTimes,
  type Weekday,
} from '@huiliu/contracts/routing-rules';
import { parseWithPaths } from '../rules/zod-issues.ts';
import { instantsOf, wallClock, weekdayOfDay, type WallClock } from './time-zone.ts';

/**
 * Business hours: is a schedule open at an instant, and when does it open next.
 *
 * A schedule lives in its own IANA time zone; shifts, holidays and special days are local wall-clock times
 * and local dates, so "09:00" is 09:00 on the clocks of that city before and after a DST change. In the
 * skipped hour of a spring-forward day nothing is open (the hour does not exist); in the repeated hour of a
 * fall-back day the wall clock shows 01:xx twice and both are judged by the wall clock.
 *
 * For one local date the hours are, in this order: a holiday (closed all day), else a special day (its own
 * shifts replace the weekly ones, e.g. a make-up working Saturday), else the weekly shifts of that weekday.
 * Overnight shifts are two shifts (22:00–24:00, then 00:00–06:00 on the next day); shifts that touch across
 * midnight are continuously open.
 *
 * Schedules are treated as immutable values: their compiled form is cached per object.
 */

interface Interval { start: number; end: number }
interface Compiled {
  timeZone: string;
  weekly: Record<Weekday, Interval[]>;
  holidays: Map<number, string>; // day → name ('' when unnamed)
  special: Map<number, { name: string; shifts: Interval[] }>;
}

const compiledCache = new WeakMap<object, Compiled>();

function intervals(shifts: readonly { start: string; end: string }[]): Interval[] {
  return shifts
    .map((s) => ({ start: minutesOfDay(s.start), end: minutesOfDay(s.end) }))
    .filter((s) => s.end > s.start)
    .sort((a, b) => a.start - b.start);
}

function compile(schedule: ScheduleTimes): Compiled {
  let c = compiledCache.get(schedule);
  if (c) return c;
  const weekly = {} as Record<Weekday, Interval[]>;
  for (const d of WEEKDAYS) weekly[d] = intervals(schedule.weekly[d] ?? []);
  const holidays = new Map<number, string>();
  for (const h of schedule.holidays ?? []) {
    const from = dayNumber(h.date);
    const to = h.until === undefined ? from : dayNumber(h.until);
    for (let d = from; d <= to; d++) holidays.set(d, h.name ?? '');
  }
  const special = new Map<number, { name: string; shifts: Interval[] }>();
  for (const s of schedule.specialDays ?? []) special.set(dayNumber(s.date), { name: s.name ?? '', shifts: intervals(s.shifts) });
  c = { timeZone: schedule.timeZone, weekly, holidays, special };
  compiledCache.set(schedule, c);
  return c;
}

export type DayKind = 'holiday' | 'special_day' | 'weekly';

/** The opening intervals (minutes of the day) of one local day and where they come from. */
function hoursOfDay(c: Compiled, day: number, weekday: Weekday): { kind: DayKind; name: string; shifts: Interval[] } {
  const holiday = c.holidays.get(day);
  if (holiday !== undefined) return { kind: 'holiday', name: holiday, shifts: [] };
  const special = c.special.get(day);
  if (special) return { kind: 'special_day', name: special.name, shifts: special.shifts };
  return { kind: 'weekly', name: '', shifts: c.weekly[weekday] };
}

export interface ScheduleState {
  open: boolean;
  /** Local date / time / weekday in the schedule's zone. */
  local: WallClock;
  /** Why: a holiday, a special day, or the weekly hours. */
  dayKind: DayKind;
  /** Name of the holiday or special day, when it has one. */
  dayName?: string;
  /** The shift that is open now, as HH:MM–HH:MM. */
  shift?: string;
}

const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;

/** Open or closed at `at`, with the reason (for routing explanations and the console). */
export function scheduleState(schedule: ScheduleTimes, at: Date | number): ScheduleState {
  const c = compile(schedule);
  const local = wallClock(c.timeZone, at);
  const hours = hoursOfDay(c, local.day, local.weekday);
  const shift = hours.shifts.find((s) => s.start <= local.minutes && local.minutes < s.end);
  return {
    open: shift !== undefined,
    local,
    dayKind: hours.kind,
    ...(hours.name ? { dayName: hours.name } : {}),
    ...(shift ? { shift: `${hhmm(shift.start)}–${hhmm(shift.end)}` } : {}),
  };
}

/** Whether the schedule is open at `at`. */
export function isOpen(schedule: ScheduleTimes, at: Date | number): boolean {
  const c = compile(schedule);
  const local = wallClock(c.timeZone, at);
  const { shifts } = hoursOfDay(c, local.day, local.weekday);
  for (const s of shifts) if (s.start <= local.minutes && local.minutes < s.end) return true;
  return false;
}

export const DEFAULT_HORIZON_DAYS = 400;

/**
 * The earliest instant ≥ `at` at which the schedule is open: `at` itself when open now, null when it does not
 * open within `horizonDays` local days (e.g. no shifts at all). Use it for "we open again at …" (format it in
 * `schedule.timeZone`) and for wait estimates.
 */
export function nextOpening(schedule: ScheduleTimes, at: Date | number, horizonDays = DEFAULT_HORIZON_DAYS): Date | null {
  const c = compile(schedule);
  const t0 = typeof at === 'number' ? at : at.getTime();
  if (isOpen(schedule, t0)) return new Date(t0);
  const firstDay = wallClock(c.timeZone, t0).day;
  for (let day = firstDay; day <= firstDay + horizonDays; day++) {
    const { shifts } = hoursOfDay(c, day, weekdayOfDay(day));
    for (const s of shifts) {
      // A shift starting inside a skipped DST hour opens when the clock jumps; one in a repeated hour at
      // its first occurrence that is still ahead of `at`. Verify, because e.g. 02:00–03:00 on a
      // spring-forward day never happens at all.
      for (const t of instantsOf(c.timeZone, day, s.start)) {
        if (t >= t0 && isOpen(schedule, t)) return new Date(t);
      }
    }
  }
  return null;
}

/**
 * Checks a schedule as sent by the console / API (the BusinessScheduleBody contract) and returns it parsed
 * with defaults. Every problem is reported at once in an AppError('validation_failed') whose issues name
 * the field, e.g. `body.timeZone`, `body.weekly.mon.1.start` (overlap), `body.weekly.sat.0.end` (end ≤
 * start), `body.holidays.3.date` (duplicate).
 */
export function validateSchedule(input: unknown, path = 'body'): BusinessScheduleBody {
  return parseWithPaths(BusinessScheduleBody, input, path, 'the business-hours schedule is not valid');
}
