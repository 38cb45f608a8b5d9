export {
  DEFAULT_HORIZON_DAYS,
  isOpen,
  nextOpening,
  scheduleState,
  validateSchedule,
  type DayKind,
  type ScheduleState,
} from './schedule.ts';
export { instantsOf, offsetMs, wallClock, weekdayOfDay, type WallClock } from './time-zone.ts';
