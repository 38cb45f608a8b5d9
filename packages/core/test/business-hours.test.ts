import { BusinessSchedule, type BusinessScheduleBody, type ScheduleTimes } from '@huiliu/contracts/routing-rules';
import { describe, expect, it } from 'vitest';
import {
  instantsOf,
  isOpen,
  nextOpening,
  scheduleState,
  validateSchedule,
  wallClock,
} from '../src/routing/business-hours/index.ts';
import { issuesOf } from './helpers/issues.ts';

const at = (iso: string) => new Date(iso);
const day = (date: string) => Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10))) / 86_400_000;


/** A Chinese customer-service desk: split weekday shifts, a Saturday, 国庆 closed, make-up working days (调休). */
const shanghai: BusinessScheduleBody = validateSchedule({
  name: '上海客服中心',
  timeZone: 'Asia/Shanghai',
  weekly: {
    mon: [{ start: '09:00', end: '12:00' }, { start: '13:30', end: '18:00' }],
    tue: [{ start: '09:00', end: '12:00' }, { start: '13:30', end: '18:00' }],
    wed: [{ start: '09:00', end: '12:00' }, { start: '13:30', end: '18:00' }],
    thu: [{ start: '09:00', end: '12:00' }, { start: '13:30', end: '18:00' }],
    fri: [{ start: '13:30', end: '18:00' }, { start: '09:00', end: '12:00' }], // order does not matter
    sat: [{ start: '10:00', end: '16:00' }],
  },
  holidays: [
    { date: '2026-10-01', until: '2026-10-07', name: '国庆节' },
    { date: '2026-09-25', name: '中秋节' },
  ],
  specialDays: [
    { date: '2026-09-27', name: '调休上班', shifts: [{ start: '09:00', end: '18:00' }] }, // a Sunday
    { date: '2026-10-10', name: '调休上班', shifts: [{ start: '09:00', end: '18:00' }] }, // a Saturday
  ],
  outsideHoursAction: 'offline_form',
});

const newYork: ScheduleTimes = validateSchedule({
  name: 'NY desk',
  timeZone: 'America/New_York',
  weekly: {
    mon: [{ start: '09:00', end: '17:00' }],
    tue: [{ start: '09:00', end: '17:00' }],
    wed: [{ start: '09:00', end: '17:00' }],
    thu: [{ start: '09:00', end: '17:00' }],
    fri: [{ start: '09:00', end: '17:00' }],
  },
  outsideHoursAction: 'ticket',
});

describe('wall clock helpers', () => {
  it('reads the local wall clock (Shanghai is UTC+8 all year)', () => {
    expect(wallClock('Asia/Shanghai', at('2026-01-15T01:30:00Z'))).toMatchObject({ date: '2026-01-15', time: '09:30', weekday: 'thu' });
    expect(wallClock('Asia/Shanghai', at('2026-07-15T01:30:00Z'))).toMatchObject({ date: '2026-07-15', time: '09:30', weekday: 'wed' });
    expect(wallClock('Asia/Shanghai', at('2026-09-30T16:00:00Z'))).toMatchObject({ date: '2026-10-01', time: '00:00' });
  });

  it('maps wall times to instants across New York DST changes', () => {
    // an ordinary time: one instant
    expect(instantsOf('America/New_York', day('2026-03-09'), 9 * 60)).toEqual([Date.parse('2026-03-09T13:00:00Z')]);
    // 02:30 on 2026-03-08 does not exist: the clock jumps 02:00 EST → 03:00 EDT at 07:00Z
    expect(instantsOf('America/New_York', day('2026-03-08'), 2 * 60 + 30)).toEqual([Date.parse('2026-03-08T07:00:00Z')]);
    // 01:30 on 2026-11-01 happens twice (EDT, then EST)
    expect(instantsOf('America/New_York', day('2026-11-01'), 90)).toEqual([
      Date.parse('2026-11-01T05:30:00Z'),
      Date.parse('2026-11-01T06:30:00Z'),
    ]);
    // Shanghai has no DST: always one instant
    expect(instantsOf('Asia/Shanghai', day('2026-03-08'), 2 * 60 + 30)).toEqual([Date.parse('2026-03-07T18:30:00Z')]);
  });
});

describe('isOpen — Chinese public-holiday style schedule (Asia/Shanghai)', () => {
  it('follows weekday split shifts', () => {
    expect(isOpen(shanghai, at('2026-09-28T00:59:00Z'))).toBe(false); // Mon 08:59
    expect(isOpen(shanghai, at('2026-09-28T01:00:00Z'))).toBe(true); // Mon 09:00
    expect(isOpen(shanghai, at('2026-09-28T03:59:59Z'))).toBe(true); // 11:59:59
    expect(isOpen(shanghai, at('2026-09-28T04:00:00Z'))).toBe(false); // 12:00 lunch
    expect(isOpen(shanghai, at('2026-09-28T05:29:00Z'))).toBe(false); // 13:29
    expect(isOpen(shanghai, at('2026-09-28T05:30:00Z'))).toBe(true); // 13:30
    expect(isOpen(shanghai, at('2026-09-28T10:00:00Z'))).toBe(false); // 18:00
    expect(isOpen(shanghai, at('2026-09-18T01:30:00Z'))).toBe(true); // Fri 09:30 (shifts given out of order)
  });

  it('Saturday hours, Sunday closed', () => {
    expect(isOpen(shanghai, at('2026-09-19T01:30:00Z'))).toBe(false); // Sat 09:30
    expect(isOpen(shanghai, at('2026-09-19T03:00:00Z'))).toBe(true); // Sat 11:00
    expect(isOpen(shanghai, at('2026-09-20T03:00:00Z'))).toBe(false); // Sun 11:00
  });

  it('closed through 国庆 2026-10-01..07, a single-day holiday too', () => {
    for (let d = 1; d <= 7; d++) {
      const iso = `2026-10-0${d}T03:00:00Z`; // 11:00 local
      expect(isOpen(shanghai, at(iso)), iso).toBe(false);
    }
    expect(isOpen(shanghai, at('2026-10-08T03:00:00Z'))).toBe(true); // Thu after the holiday
    expect(isOpen(shanghai, at('2026-09-25T03:00:00Z'))).toBe(false); // 中秋节, a Friday
    // the holiday is a local date: 2026-09-30T16:00Z is already 10-01 00:00 in Shanghai
    expect(scheduleState(shanghai, at('2026-09-30T16:30:00Z'))).toMatchObject({ open: false, dayKind: 'holiday', dayName: '国庆节' });
  });

  it('opens on make-up working days (调休) with their own hours', () => {
    expect(isOpen(shanghai, at('2026-09-27T01:30:00Z'))).toBe(true); // Sun 09:30, special day
    expect(isOpen(shanghai, at('2026-10-10T01:30:00Z'))).toBe(true); // Sat 09:30 — weekly Saturday opens at 10:00
    expect(isOpen(shanghai, at('2026-10-10T09:30:00Z'))).toBe(true); // Sat 17:30 — weekly Saturday closes at 16:00
    expect(scheduleState(shanghai, at('2026-10-10T01:30:00Z'))).toMatchObject({
      open: true,
      dayKind: 'special_day',
      dayName: '调休上班',
      shift: '09:00–18:00',
      local: { date: '2026-10-10', time: '09:30', weekday: 'sat' },
    });
  });
});

describe('nextOpening', () => {
  it('is `at` itself while open', () => {
    const t = at('2026-09-28T02:00:00Z');
    expect(nextOpening(shanghai, t)?.toISOString()).toBe(t.toISOString());
  });

  it('after lunch, the next morning, over the weekend', () => {
    expect(nextOpening(shanghai, at('2026-09-28T04:30:00Z'))?.toISOString()).toBe('2026-09-28T05:30:00.000Z'); // 12:30 → 13:30
    expect(nextOpening(shanghai, at('2026-09-28T11:00:00Z'))?.toISOString()).toBe('2026-09-29T01:00:00.000Z'); // 19:00 → Tue 09:00
    expect(nextOpening(shanghai, at('2026-09-28T20:00:00Z'))?.toISOString()).toBe('2026-09-29T01:00:00.000Z'); // 04:00 Tue → 09:00
    expect(nextOpening(shanghai, at('2026-09-19T09:00:00Z'))?.toISOString()).toBe('2026-09-21T01:00:00.000Z'); // Sat 17:00 → Mon
  });

  it('skips the National Day holiday, and finds make-up days', () => {
    // Wed 09-30 18:30 → holiday Thu 10-01 … Wed 10-07 → Thu 10-08 09:00
    expect(nextOpening(shanghai, at('2026-09-30T10:30:00Z'))?.toISOString()).toBe('2026-10-08T01:00:00.000Z');
    // Sat 09-26 17:00 → Sun 09-27 09:00 (make-up day)
    expect(nextOpening(shanghai, at('2026-09-26T09:00:00Z'))?.toISOString()).toBe('2026-09-27T01:00:00.000Z');
    // Fri 10-09 19:00 → Sat 10-10 09:00 (make-up day hours, not the weekly 10:00)
    expect(nextOpening(shanghai, at('2026-10-09T11:00:00Z'))?.toISOString()).toBe('2026-10-10T01:00:00.000Z');
    // Thu 09-24 19:00 → Fri 09-25 is 中秋 → Sat 09-26 10:00
    expect(nextOpening(shanghai, at('2026-09-24T11:00:00Z'))?.toISOString()).toBe('2026-09-26T02:00:00.000Z');
  });

  it('keeps 09:00 local across the March DST change in New York', () => {
    // Fri 2026-03-06 09:00 EST = 14:00Z; Mon 2026-03-09 09:00 EDT = 13:00Z
    expect(isOpen(newYork, at('2026-03-06T14:00:00Z'))).toBe(true);
    expect(isOpen(newYork, at('2026-03-06T13:30:00Z'))).toBe(false); // 08:30 EST
    expect(nextOpening(newYork, at('2026-03-06T23:00:00Z'))?.toISOString()).toBe('2026-03-09T13:00:00.000Z');
    expect(isOpen(newYork, at('2026-03-09T13:30:00Z'))).toBe(true); // 09:30 EDT
    expect(isOpen(newYork, at('2026-03-09T21:30:00Z'))).toBe(false); // 17:30 EDT
    expect(isOpen(newYork, at('2026-03-09T20:30:00Z'))).toBe(true); // 16:30 EDT
  });

  it('keeps 09:00 local across the November DST change in New York', () => {
    // Fri 2026-10-30 09:00 EDT = 13:00Z; Mon 2026-11-02 09:00 EST = 14:00Z
    expect(isOpen(newYork, at('2026-10-30T13:00:00Z'))).toBe(true);
    expect(nextOpening(newYork, at('2026-10-30T21:00:00Z'))?.toISOString()).toBe('2026-11-02T14:00:00.000Z');
    expect(isOpen(newYork, at('2026-11-02T13:30:00Z'))).toBe(false); // 08:30 EST
    expect(isOpen(newYork, at('2026-11-02T21:30:00Z'))).toBe(true); // 16:30 EST
  });

  it('handles shifts inside the skipped and the repeated hour', () => {
    const night = (sun: { start: string; end: string }[]): ScheduleTimes =>
      validateSchedule({ name: 'night', timeZone: 'America/New_York', weekly: { sun } });
    // 02:30–04:00 on the spring-forward Sunday opens when the clock jumps to 03:00 EDT (07:00Z)
    const a = night([{ start: '02:30', end: '04:00' }]);
    expect(nextOpening(a, at('2026-03-07T12:00:00Z'))?.toISOString()).toBe('2026-03-08T07:00:00.000Z');
    expect(isOpen(a, at('2026-03-08T06:59:00Z'))).toBe(false); // 01:59 EST
    expect(isOpen(a, at('2026-03-08T07:00:00Z'))).toBe(true); // 03:00 EDT
    // 02:00–03:00 never happens that Sunday: next opening is the Sunday after (02:00 EDT = 06:00Z)
    const b = night([{ start: '02:00', end: '03:00' }]);
    expect(nextOpening(b, at('2026-03-07T12:00:00Z'))?.toISOString()).toBe('2026-03-15T06:00:00.000Z');
    // 01:00–01:30 on the fall-back Sunday happens twice
    const c = night([{ start: '01:00', end: '01:30' }]);
    expect(isOpen(c, at('2026-11-01T05:15:00Z'))).toBe(true); // 01:15 EDT
    expect(isOpen(c, at('2026-11-01T05:45:00Z'))).toBe(false); // 01:45 EDT
    expect(isOpen(c, at('2026-11-01T06:15:00Z'))).toBe(true); // 01:15 EST
    expect(nextOpening(c, at('2026-11-01T05:45:00Z'))?.toISOString()).toBe('2026-11-01T06:00:00.000Z'); // 01:00 EST
    expect(nextOpening(c, at('2026-11-01T06:45:00Z'))?.toISOString()).toBe('2026-11-08T06:00:00.000Z'); // next Sunday 01:00 EST
  });

  it('Asia/Shanghai has no DST: the same UTC time all year', () => {
    const s: ScheduleTimes = validateSchedule({ name: 's', timeZone: 'Asia/Shanghai', weekly: { sun: [{ start: '02:30', end: '03:00' }] } });
    expect(nextOpening(s, at('2026-03-07T00:00:00Z'))?.toISOString()).toBe('2026-03-07T18:30:00.000Z');
    expect(nextOpening(s, at('2026-10-31T00:00:00Z'))?.toISOString()).toBe('2026-10-31T18:30:00.000Z');
  });

  it('overnight hours as two shifts that touch at midnight stay open across it', () => {
    const s: ScheduleTimes = validateSchedule({
      name: 'late',
      timeZone: 'Asia/Shanghai',
      weekly: { fri: [{ start: '22:00', end: '24:00' }], sat: [{ start: '00:00', end: '06:00' }] },
    });
    expect(isOpen(s, at('2026-09-18T13:59:00Z'))).toBe(false); // Fri 21:59
    expect(isOpen(s, at('2026-09-18T14:00:00Z'))).toBe(true); // Fri 22:00
    expect(isOpen(s, at('2026-09-18T15:59:59Z'))).toBe(true); // Fri 23:59:59
    expect(isOpen(s, at('2026-09-18T16:00:00Z'))).toBe(true); // Sat 00:00
    expect(isOpen(s, at('2026-09-18T21:59:00Z'))).toBe(true); // Sat 05:59
    expect(isOpen(s, at('2026-09-18T22:00:00Z'))).toBe(false); // Sat 06:00
    expect(nextOpening(s, at('2026-09-18T22:00:00Z'))?.toISOString()).toBe('2026-09-25T14:00:00.000Z');
  });

  it('is null when the schedule never opens within the horizon', () => {
    const closed: ScheduleTimes = validateSchedule({ name: 'closed', timeZone: 'UTC', weekly: {} });
    expect(nextOpening(closed, at('2026-01-01T00:00:00Z'))).toBeNull();
    const once: ScheduleTimes = validateSchedule({
      name: 'once',
      timeZone: 'UTC',
      weekly: {},
      specialDays: [{ date: '2026-06-01', shifts: [{ start: '10:00', end: '11:00' }] }],
    });
    expect(nextOpening(once, at('2026-01-01T00:00:00Z'))?.toISOString()).toBe('2026-06-01T10:00:00.000Z');
    expect(nextOpening(once, at('2026-01-01T00:00:00Z'), 30)).toBeNull();
  });
});

describe('validateSchedule', () => {
  const base = { name: 'x', timeZone: 'Asia/Shanghai', weekly: {} };

  it('fills defaults', () => {
    expect(validateSchedule(base)).toEqual({
      ...base,
      weekly: { mon: [], tue: [], wed: [], thu: [], fri: [], sat: [], sun: [] },
      holidays: [],
      specialDays: [],
      outsideHoursAction: 'offline_form',
    });
  });

  it('rejects an unknown time zone naming the field', () => {
    const issues = issuesOf(() => validateSchedule({ ...base, timeZone: 'Mars/Olympus_Mons' }));
    expect(issues).toEqual([{ path: 'body.timeZone', message: expect.stringContaining('IANA time zone') }]);
    expect(issuesOf(() => validateSchedule({ ...base, timeZone: 'Asia/Shanghai ' }))[0]?.path).toBe('body.timeZone');
    expect(issuesOf(() => validateSchedule({ ...base, timeZone: '' }))[0]?.path).toBe('body.timeZone');
  });

  it('rejects times that are not HH:MM', () => {
    const issues = issuesOf(() =>
      validateSchedule({ ...base, weekly: { mon: [{ start: '9:00', end: '12:00' }, { start: '13:00', end: '18:60' }], tue: [{ start: '24:00', end: '24:00' }] } }),
    );
    expect(issues.map((i) => i.path)).toEqual(['body.weekly.mon.0.start', 'body.weekly.mon.1.end', 'body.weekly.tue.0.start']);
    expect(issues[0]?.message).toMatch(/HH:MM/);
  });

  it('rejects end ≤ start and explains overnight shifts', () => {
    const issues = issuesOf(() =>
      validateSchedule({ ...base, weekly: { sat: [{ start: '22:00', end: '06:00' }], sun: [{ start: '10:00', end: '10:00' }] } }),
    );
    expect(issues.map((i) => i.path)).toEqual(['body.weekly.sat.0.end', 'body.weekly.sun.0.end']);
    expect(issues[0]?.message).toMatch(/22:00–24:00 and 00:00–06:00/);
  });

  it('rejects overlapping shifts on the same day (touching is fine)', () => {
    const issues = issuesOf(() =>
      validateSchedule({
        ...base,
        weekly: {
          mon: [{ start: '09:00', end: '12:00' }, { start: '11:30', end: '18:00' }],
          tue: [{ start: '13:00', end: '18:00' }, { start: '09:00', end: '13:00' }],
          wed: [{ start: '09:00', end: '18:00' }, { start: '10:00', end: '11:00' }],
        },
      }),
    );
    expect(issues).toEqual([
      { path: 'body.weekly.mon.1.start', message: expect.stringContaining('overlaps the shift 09:00–12:00') },
      { path: 'body.weekly.wed.1.start', message: expect.stringContaining('overlaps') },
    ]);
  });

  it('rejects duplicate or overlapping holidays, bad dates, and special days that are holidays', () => {
    const issues = issuesOf(() =>
      validateSchedule({
        ...base,
        holidays: [
          { date: '2026-10-01', until: '2026-10-07', name: '国庆节' },
          { date: '2026-10-03', name: 'again' },
          { date: '2026-02-30' },
          { date: '2026-05-05', until: '2026-05-01' },
          { date: '2026-01-01' },
          { date: '2026-01-01', name: '元旦' },
        ],
        specialDays: [
          { date: '2026-10-05', shifts: [{ start: '09:00', end: '18:00' }] },
          { date: '2026-10-10', shifts: [{ start: '09:00', end: '18:00' }] },
          { date: '2026-10-10', shifts: [{ start: '09:00', end: '12:00' }] },
          { date: '2026-10-11', shifts: [] },
        ],
      }),
    );
    expect(issues.map((i) => i.path)).toEqual([
      'body.holidays.2.date',
      'body.holidays.3.until',
      'body.specialDays.3.shifts',
      'body.holidays.1.date',
      'body.holidays.5.date',
      'body.specialDays.0.date',
      'body.specialDays.2.date',
    ]);
    const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]));
    expect(byPath['body.holidays.1.date']).toMatch(/duplicate holiday: 2026-10-03 is already covered by holidays.0/);
    expect(byPath['body.holidays.5.date']).toMatch(/duplicate holiday/);
    expect(byPath['body.specialDays.0.date']).toMatch(/both a special opening day and a holiday/);
    expect(byPath['body.specialDays.2.date']).toMatch(/duplicate special day/);
    expect(byPath['body.specialDays.3.shifts']).toMatch(/add a holiday instead/);
  });

  it('rejects unknown fields and bad actions, with a custom path prefix', () => {
    const issues = issuesOf(() => validateSchedule({ ...base, outsideHoursAction: 'email', extra: 1 }, 'body.schedule'));
    expect(issues.map((i) => i.path).sort()).toEqual(['body.schedule.extra', 'body.schedule.outsideHoursAction']);
  });

  it('the stored-schedule contract has an id', () => {
    const stored = BusinessSchedule.parse({ ...base, id: '0b5e1a52-5c1d-4e8a-9d1e-0b2f3c4d5e6f' });
    expect(isOpen(stored, at('2026-01-01T00:00:00Z'))).toBe(false);
  });
});
