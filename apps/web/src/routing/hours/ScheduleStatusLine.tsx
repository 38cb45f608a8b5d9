import { useEffect } from 'react';
import { Badge, Space, Typography } from 'antd';
import { api } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { formatIn, formatInZone } from '../shared/format.ts';
import type { ScheduleStatus } from '../shared/types.ts';
import { useLoad } from '../shared/useLoad.ts';

/** Re-read every minute: "open now" flips at shift boundaries without anyone touching the page. */
const REFRESH_MS = 60_000;

/** "Open now (09:00–12:00)" or "Closed · opens Mon 09:00 (in 2 days)", from GET /routing/schedules/:id/status. */
export function ScheduleStatusLine({ scheduleId, version, compact }: { scheduleId: string; version?: unknown; compact?: boolean }) {
  const { t, locale } = useI18n();
  const status = useLoad(() => api<ScheduleStatus>('GET', `/routing/schedules/${scheduleId}/status`), [scheduleId, version]);
  useEffect(() => {
    const timer = setInterval(() => void status.reload(), REFRESH_MS);
    return () => clearInterval(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [scheduleId]);
  const s = status.data;
  if (!s) return status.error ? <Typography.Text type="secondary">—</Typography.Text> : null;
  const why = s.dayKind === 'holiday' ? t('routing.hours.statusHoliday', { name: s.dayName ?? '' }) : s.dayKind === 'special_day' ? t('routing.hours.statusSpecial', { name: s.dayName ?? '' }) : null;
  return (
    <Space orientation={compact ? 'vertical' : 'horizontal'} size={compact ? 0 : 8} wrap data-testid="routing-schedule-status" data-open={String(s.open)}>
      <Badge status={s.open ? 'success' : 'default'} text={s.open ? (s.shift ? t('routing.hours.openNowShift', { shift: s.shift }) : t('routing.hours.openNow')) : t('routing.hours.closedNow')} />
      {!s.open && s.nextOpening && (
        <Typography.Text type="secondary" style={{ fontSize: compact ? 12 : undefined }}>
          {t('routing.hours.nextOpening', { time: formatInZone(s.nextOpening, s.timeZone, locale), rel: formatIn(s.nextOpening, locale) })}
        </Typography.Text>
      )}
      {!s.open && !s.nextOpening && <Typography.Text type="secondary">{t('routing.hours.neverOpens')}</Typography.Text>}
      {why && <Typography.Text type="secondary" style={{ fontSize: compact ? 12 : undefined }}>{why}</Typography.Text>}
      {!compact && <Typography.Text type="secondary">{t('routing.hours.localTime', { time: s.localTime, zone: s.timeZone })}</Typography.Text>}
    </Space>
  );
}
