import { useState } from 'react';
import { App, Button, Popconfirm, Space, Table, Tag, Tooltip, Typography } from 'antd';
import { DeleteOutlined, EditOutlined, PlusOutlined } from '@ant-design/icons';
import { WEEKDAYS, type BusinessSchedule, type Weekday } from '@huiliu/contracts/routing-rules';
import { api } from '../lib/api.ts';
import { useI18n, type Translate } from '../lib/i18n.tsx';
import { ScheduleDrawer } from './hours/ScheduleDrawer.tsx';
import { ScheduleStatusLine } from './hours/ScheduleStatusLine.tsx';
import { useSchedules } from './shared/directory.ts';
import { zoneOffset } from './shared/format.ts';
import { splitApiError } from './shared/issues.ts';
import { RoutingPage } from './shared/RoutingPage.tsx';

/** "Mon–Fri 09:00–12:00, 13:30–18:00 · Sat 10:00–16:00": consecutive days with the same hours collapse. */
function weeklySummary(s: BusinessSchedule, t: Translate): { days: string; hours: string[] }[] {
  const key = (d: Weekday) => s.weekly[d].map((x) => `${x.start}–${x.end}`).join(',');
  const runs: { from: Weekday; to: Weekday; hours: string }[] = [];
  for (const d of WEEKDAYS) {
    const hours = key(d);
    const last = runs[runs.length - 1];
    if (last && last.hours === hours) last.to = d;
    else runs.push({ from: d, to: d, hours });
  }
  return runs
    .filter((r) => r.hours)
    .map((r) => ({ days: `${t(`routing.day.${r.from}`)}${r.from === r.to ? '' : `–${t(`routing.day.${r.to}`)}`}`, hours: r.hours.split(',') }));
}

/** Business hours: when teams are open, what happens outside, holidays and one-off days. */
export default function RoutingBusinessHoursPage() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const schedules = useSchedules();
  // undefined: closed; null: creating; a schedule: editing it.
  const [editing, setEditing] = useState<BusinessSchedule | null | undefined>(undefined);
  // Bumped after a save so status lines re-read "open now".
  const [version, setVersion] = useState(0);

  const remove = async (s: BusinessSchedule) => {
    try {
      await api('DELETE', `/routing/schedules/${s.id}`);
      schedules.setData((list) => list?.filter((x) => x.id !== s.id));
      message.success(t('routing.hours.deleted'));
    } catch (err) {
      // 409 while a rule uses it: the server's text says which.
      message.error(splitApiError(err).rest ?? String(err));
    }
  };

  return (
    <RoutingPage
      title={t('nav.routingHours')}
      description={t('routing.hours.description')}
      error={schedules.error ? splitApiError(schedules.error).rest : null}
      extra={<Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing(null)} data-testid="routing-schedule-new">{t('routing.hours.new')}</Button>}
    >
      <Table<BusinessSchedule>
        rowKey="id"
        loading={schedules.loading && !schedules.data}
        dataSource={schedules.data ?? []}
        pagination={false}
        onRow={(s) => ({ 'data-testid': 'routing-schedule-row', 'data-schedule-id': s.id }) as React.HTMLAttributes<HTMLElement>}
        locale={{ emptyText: t('routing.hours.empty') }}
        columns={[
          {
            title: t('common.name'),
            key: 'name',
            width: 220,
            render: (_, s) => (
              <div>
                <Typography.Link strong onClick={() => setEditing(s)}>{s.name}</Typography.Link>
                <div><Typography.Text type="secondary" style={{ fontSize: 12, whiteSpace: 'nowrap' }}>{s.timeZone} (UTC{zoneOffset(s.timeZone)})</Typography.Text></div>
              </div>
            ),
          },
          {
            title: t('routing.hours.weekly'),
            key: 'weekly',
            width: 300,
            render: (_, s) => {
              const lines = weeklySummary(s, t);
              if (!lines.length) return <Typography.Text type="secondary">{t('routing.hours.neverOpen')}</Typography.Text>;
              return lines.map((l) => (
                <div key={l.days} style={{ display: 'flex', gap: 8, fontVariantNumeric: 'tabular-nums' }}>
                  <Typography.Text strong style={{ flex: 'none', width: 72 }}>{l.days}</Typography.Text>
                  <span>{l.hours.map((h, i) => <span key={h} style={{ whiteSpace: 'nowrap' }}>{h}{i < l.hours.length - 1 ? ', ' : ''}</span>)}</span>
                </div>
              ));
            },
          },
          {
            title: t('routing.hours.calendar'),
            key: 'calendar',
            width: 150,
            onHeaderCell: () => ({ style: { whiteSpace: 'nowrap' } }),
            render: (_, s) => (
              <Space orientation="vertical" size={0}>
                <Tooltip title={s.holidays.map((h) => `${h.date}${h.until ? ` – ${h.until}` : ''} ${h.name ?? ''}`).join('\n') || undefined}>
                  <Typography.Text type={s.holidays.length ? undefined : 'secondary'} style={{ whiteSpace: 'nowrap' }}>{t('routing.hours.holidayCount', { n: s.holidays.length })}</Typography.Text>
                </Tooltip>
                <Tooltip title={s.specialDays.map((d) => `${d.date} ${d.name ?? ''} ${d.shifts.map((x) => `${x.start}–${x.end}`).join(', ')}`).join('\n') || undefined}>
                  <Typography.Text type={s.specialDays.length ? undefined : 'secondary'} style={{ whiteSpace: 'nowrap' }}>{t('routing.hours.specialCount', { n: s.specialDays.length })}</Typography.Text>
                </Tooltip>
              </Space>
            ),
          },
          { title: t('routing.hours.outside'), dataIndex: 'outsideHoursAction', width: 130, render: (a: string) => <Tag>{t(`routing.outside.${a}`)}</Tag> },
          { title: t('routing.hours.status'), key: 'status', width: 260, render: (_, s) => <ScheduleStatusLine scheduleId={s.id} version={version} compact /> },
          {
            title: t('common.actions'),
            key: 'actions',
            width: 170,
            render: (_, s) => (
              <Space size={4}>
                <Button size="small" type="link" icon={<EditOutlined />} onClick={() => setEditing(s)} data-testid="routing-schedule-edit">{t('common.edit')}</Button>
                <Popconfirm title={t('routing.hours.deleteConfirm', { name: s.name })} description={t('routing.hours.deleteHint')} onConfirm={() => void remove(s)} okText={t('common.delete')} okButtonProps={{ danger: true }} cancelText={t('common.cancel')}>
                  <Button size="small" type="link" danger icon={<DeleteOutlined />} data-testid="routing-schedule-delete">{t('common.delete')}</Button>
                </Popconfirm>
              </Space>
            ),
          },
        ]}
      />
      <ScheduleDrawer
        open={editing !== undefined}
        schedule={editing ?? null}
        onClose={() => setEditing(undefined)}
        onSaved={(saved) => {
          schedules.setData((list) => (list?.some((x) => x.id === saved.id) ? list.map((x) => (x.id === saved.id ? saved : x)) : [...(list ?? []), saved]));
          setVersion((v) => v + 1);
          // A new schedule stays open in the editor (now with its status line); an edited one closes.
          setEditing(editing ? undefined : saved);
        }}
      />
    </RoutingPage>
  );
}
