import type { Locale } from '../../lib/i18n.tsx';

/** A short duration for queue times: "45 秒", "3 分 05 秒", "1 小时 20 分" / "45s", "3m 05s", "1h 20m". */
export function formatDuration(totalSeconds: number, locale: Locale): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (locale === 'zh-CN') {
    if (h > 0) return `${h} 小时 ${pad(m)} 分`;
    if (m > 0) return `${m} 分 ${pad(sec)} 秒`;
    return `${sec} 秒`;
  }
  if (h > 0) return `${h}h ${pad(m)}m`;
  if (m > 0) return `${m}m ${pad(sec)}s`;
  return `${sec}s`;
}

/** A moment shown in a given IANA zone, e.g. the next opening of a schedule in the schedule's own zone. */
export function formatInZone(iso: string, timeZone: string, locale: Locale): string {
  try {
    return new Intl.DateTimeFormat(locale, { timeZone, weekday: 'short', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso));
  } catch {
    return iso;
  }
}

/** Every IANA zone the browser knows; "UTC" is added because some engines list only geographic zones. */
export function timeZones(): string[] {
  let zones: string[] = [];
  try {
    zones = Intl.supportedValuesOf('timeZone');
  } catch {
    zones = ['Asia/Shanghai', 'Asia/Hong_Kong', 'Asia/Taipei', 'Asia/Tokyo', 'Asia/Singapore', 'Europe/London', 'Europe/Berlin', 'America/New_York', 'America/Los_Angeles'];
  }
  return zones.includes('UTC') ? zones : [...zones, 'UTC'];
}

/** Current UTC offset of a zone as "+08:00" (shown next to the zone name so "which one is mine" is easy). */
export function zoneOffset(timeZone: string, at: Date = new Date()): string {
  try {
    const part = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' }).formatToParts(at).find((p) => p.type === 'timeZoneName')?.value ?? '';
    const m = /GMT([+-]\d{2}:\d{2})?/.exec(part);
    return m ? (m[1] ?? '+00:00') : '';
  } catch {
    return '';
  }
}

/** "in 3 hours" / "3 小时后", in the largest unit that is at least 1 (minutes at the least). */
export function formatIn(iso: string, locale: Locale, now: number = Date.now()): string {
  const seconds = (new Date(iso).getTime() - now) / 1000;
  const rtf = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  const abs = Math.abs(seconds);
  if (abs >= 86_400) return rtf.format(Math.round(seconds / 86_400), 'day');
  if (abs >= 3600) return rtf.format(Math.round(seconds / 3600), 'hour');
  return rtf.format(Math.max(1, Math.round(seconds / 60)), 'minute');
}

/** An estimate in whole minutes ("≈ 5 分钟" / "≈ 5 min"): seconds would claim a precision it does not have. */
export function formatEstimate(totalSeconds: number, locale: Locale): string {
  const minutes = Math.round(totalSeconds / 60);
  if (minutes < 1) return locale === 'zh-CN' ? '< 1 分钟' : '< 1 min';
  if (minutes < 60) return locale === 'zh-CN' ? `≈ ${minutes} 分钟` : `≈ ${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return locale === 'zh-CN' ? `≈ ${h} 小时${m ? ` ${m} 分钟` : ''}` : `≈ ${h} h${m ? ` ${m} min` : ''}`;
}
