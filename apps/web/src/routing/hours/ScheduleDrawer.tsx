import { useEffect, useState } from 'react';
import { Alert, App, Button, Divider, Drawer, Dropdown, Flex, Form, Input, Radio, Typography } from 'antd';
import { DeleteOutlined, DownOutlined, PlusOutlined } from '@ant-design/icons';
import { BusinessScheduleBody, WEEKDAYS, type BusinessSchedule, type Weekday } from '@huiliu/contracts/routing-rules';
import { api } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { fieldStatus, fromZod, issuesUnder, localizeEmpty, relativeTo, splitApiError, type Issue } from '../shared/issues.ts';
import { localizeIssues } from '../shared/serverText.ts';
import { TimeZoneSelect } from '../shared/TimeZoneSelect.tsx';
import { ScheduleStatusLine } from './ScheduleStatusLine.tsx';
import { ShiftsEditor } from './ShiftsEditor.tsx';

/** Same order as the radio list: the default first. */
const OUTSIDE = ['offline_form', 'bot_only', 'ticket'] as const;

/** The request body (BusinessScheduleBody's input) with every list present, as the editor holds it. */
interface Draft {
  name: string;
  timeZone: string;
  weekly: Record<Weekday, { start: string; end: string }[]>;
  holidays: { date: string; until?: string; name?: string }[];
  specialDays: { date: string; name?: string; shifts: { start: string; end: string }[] }[];
  outsideHoursAction: (typeof OUTSIDE)[number];
}

const browserZone = () => {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch {
    return 'Asia/Shanghai';
  }
};

function emptyDraft(): Draft {
  const office = [{ start: '09:00', end: '18:00' }];
  return { name: '', timeZone: browserZone(), weekly: { mon: office, tue: office, wed: office, thu: office, fri: office, sat: [], sun: [] }, holidays: [], specialDays: [], outsideHoursAction: 'offline_form' };
}

function draftOf(s: BusinessSchedule): Draft {
  const { id: _id, ...rest } = s;
  return structuredClone(rest) as Draft;
}

/** Drops empty optional fields the inputs leave behind ("" names, no "until"). */
function toBody(d: Draft): Draft {
  return {
    ...d,
    name: d.name.trim(),
    holidays: d.holidays.map((h) => ({ date: h.date, ...(h.until ? { until: h.until } : {}), ...(h.name?.trim() ? { name: h.name.trim() } : {}) })),
    specialDays: d.specialDays.map((s) => ({ date: s.date, shifts: s.shifts, ...(s.name?.trim() ? { name: s.name.trim() } : {}) })),
  };
}

/** Paths shown next to a field; others go to the alert on top. */
const placed = (p: string) => /^(name|timeZone|outsideHoursAction|holidays|specialDays)$/.test(p) || /^weekly\.\w+(\.|$)/.test(p) || /^(holidays|specialDays)\.\d+(\.|$)/.test(p);

/**
 * One business-hours schedule: zone, weekly shifts (several per day), holidays (ranges), special days with
 * their own hours, and what happens outside hours. The contract checks it in the browser first (overlapping
 * shifts, end before start, duplicate holidays, unknown zones — same messages as the server).
 */
export function ScheduleDrawer(props: { open: boolean; schedule: BusinessSchedule | null; onClose: () => void; onSaved: (s: BusinessSchedule) => void }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [draft, setDraft] = useState<Draft>(emptyDraft);
  const [issues, setIssues] = useState<Issue[]>([]);
  const [other, setOther] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [savedAt, setSavedAt] = useState(0);

  useEffect(() => {
    if (!props.open) return;
    setDraft(props.schedule ? draftOf(props.schedule) : emptyDraft());
    setIssues([]);
    setOther(null);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.open]);

  const set = (patch: Partial<Draft>) => setDraft((d) => ({ ...d, ...patch }));
  const setDay = (day: Weekday, shifts: Draft['weekly'][Weekday]) => setDraft((d) => ({ ...d, weekly: { ...d.weekly, [day]: shifts } }));

  const presets = [
    { key: 'office', label: t('routing.hours.presetOffice'), weekly: { mon: [{ start: '09:00', end: '18:00' }], sat: [], sun: [] } },
    { key: 'split', label: t('routing.hours.presetSplit'), weekly: { mon: [{ start: '09:00', end: '12:00' }, { start: '13:30', end: '18:00' }], sat: [], sun: [] } },
    { key: 'always', label: t('routing.hours.presetAlways'), weekly: { mon: [{ start: '00:00', end: '24:00' }], sat: [{ start: '00:00', end: '24:00' }], sun: [{ start: '00:00', end: '24:00' }] } },
    { key: 'copy', label: t('routing.hours.presetCopyMonday'), weekly: null },
  ];
  const applyPreset = (key: string) => {
    const p = presets.find((x) => x.key === key);
    if (!p) return;
    const mon = p.weekly ? p.weekly.mon : draft.weekly.mon;
    const weekdays = Object.fromEntries((['mon', 'tue', 'wed', 'thu', 'fri'] as const).map((d) => [d, structuredClone(mon)]));
    set({ weekly: { ...draft.weekly, ...weekdays, ...(p.weekly ? { sat: p.weekly.sat, sun: p.weekly.sun } : {}) } as Draft['weekly'] });
  };

  const save = async () => {
    const body = toBody(draft);
    const parsed = BusinessScheduleBody.safeParse(body);
    if (!parsed.success) {
      setIssues(localizeIssues(localizeEmpty(fromZod(parsed.error), body, t), t));
      setOther(null);
      return;
    }
    setSaving(true);
    try {
      const saved = props.schedule
        ? await api<BusinessSchedule>('PUT', `/routing/schedules/${props.schedule.id}`, body)
        : await api<BusinessSchedule>('POST', '/routing/schedules', body);
      message.success(t('common.saved'));
      setIssues([]);
      setOther(null);
      setSavedAt(Date.now());
      props.onSaved(saved);
    } catch (err) {
      const { issues: server, rest } = splitApiError(err);
      setIssues(localizeIssues(server, t));
      setOther(rest);
    } finally {
      setSaving(false);
    }
  };

  const unplaced = issues.filter((i) => !placed(i.path));
  return (
    <Drawer
      open={props.open}
      onClose={props.onClose}
      size={760}
      title={props.schedule ? t('routing.hours.editTitle', { name: props.schedule.name }) : t('routing.hours.newTitle')}
      destroyOnHidden
      footer={
        <Flex justify="flex-end" gap={8}>
          <Button onClick={props.onClose}>{t('common.cancel')}</Button>
          <Button type="primary" loading={saving} onClick={() => void save()} data-testid="routing-schedule-save">{t('common.save')}</Button>
        </Flex>
      }
    >
      <Form layout="vertical" component="div" data-testid="routing-schedule-form">
        {props.schedule && (
          <Alert type="info" style={{ marginBottom: 16 }} title={<ScheduleStatusLine scheduleId={props.schedule.id} version={savedAt} />} />
        )}
        {(other || unplaced.length > 0) && (
          <Alert type="error" showIcon style={{ marginBottom: 16 }} title={[other, ...unplaced.map((i) => `${i.path}: ${i.message}`)].filter(Boolean).join('; ')} />
        )}
        <Flex gap={16} wrap>
          <Form.Item label={t('common.name')} required style={{ flex: '1 1 240px' }} {...fieldStatus(issues, 'name')}>
            <Input value={draft.name} onChange={(e) => set({ name: e.target.value })} maxLength={100} placeholder={t('routing.hours.namePlaceholder')} data-testid="routing-schedule-name" />
          </Form.Item>
          <Form.Item label={t('routing.hours.timeZone')} required style={{ flex: '1 1 300px' }} {...fieldStatus(issues, 'timeZone')}>
            <TimeZoneSelect value={draft.timeZone} onChange={(v) => set({ timeZone: v ?? '' })} status={issuesUnder(issues, 'timeZone').length ? 'error' : undefined} testId="routing-schedule-tz" />
          </Form.Item>
        </Flex>

        <Divider titlePlacement="start" style={{ marginTop: 0 }}>
          <Flex gap={12} align="center">
            {t('routing.hours.weekly')}
            <Dropdown menu={{ items: presets.map((p) => ({ key: p.key, label: p.label })), onClick: (e) => applyPreset(e.key) }}>
              <Button size="small" type="link">{t('routing.hours.presets')} <DownOutlined /></Button>
            </Dropdown>
          </Flex>
        </Divider>
        <Flex vertical gap={10}>
          {WEEKDAYS.map((day) => (
            <Flex key={day} gap={12} align="flex-start" data-testid="routing-schedule-day" data-day={day}>
              <Typography.Text strong style={{ width: 96, flex: 'none', paddingTop: 5 }}>{t(`routing.dayLong.${day}`)}</Typography.Text>
              <ShiftsEditor shifts={draft.weekly[day]} onChange={(s) => setDay(day, s)} issues={relativeTo(issues, `weekly.${day}`)} testId={`routing-shifts-${day}`} />
            </Flex>
          ))}
        </Flex>
        <Typography.Paragraph type="secondary" style={{ fontSize: 12, marginTop: 8 }}>{t('routing.hours.overnightHelp')}</Typography.Paragraph>

        <Divider titlePlacement="start">{t('routing.hours.holidays')}</Divider>
        {issuesUnder(issues, 'holidays').length > 0 && relativeTo(issues, 'holidays').filter((i) => i.path === '').map((i) => <Typography.Text key={i.message} type="danger">{i.message}</Typography.Text>)}
        <Flex vertical gap={8}>
          {draft.holidays.map((h, i) => {
            const hi = relativeTo(issues, `holidays.${i}`);
            const bad = (p: string) => (issuesUnder(hi, p).length ? 'error' : undefined);
            return (
              <div key={i} data-testid="routing-holiday">
                <Flex gap={8} align="center" wrap>
                  <Input type="date" value={h.date} onChange={(e) => set({ holidays: draft.holidays.map((x, j) => (j === i ? { ...x, date: e.target.value } : x)) })} status={bad('date')} style={{ width: 150 }} aria-label={t('routing.hours.from')} data-testid="routing-holiday-date" />
                  <Typography.Text type="secondary">–</Typography.Text>
                  <Input type="date" value={h.until ?? ''} onChange={(e) => set({ holidays: draft.holidays.map((x, j) => (j === i ? { ...x, until: e.target.value || undefined } : x)) })} status={bad('until')} style={{ width: 150 }} aria-label={t('routing.hours.until')} data-testid="routing-holiday-until" />
                  <Input value={h.name ?? ''} onChange={(e) => set({ holidays: draft.holidays.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)) })} status={bad('name')} placeholder={t('routing.hours.holidayName')} style={{ flex: 1, minWidth: 160 }} maxLength={100} data-testid="routing-holiday-name" />
                  <Button type="text" icon={<DeleteOutlined />} aria-label={t('common.delete')} onClick={() => set({ holidays: draft.holidays.filter((_, j) => j !== i) })} />
                </Flex>
                {hi.map((x, k) => <Typography.Text key={k} type="danger" style={{ display: 'block', fontSize: 13 }}>{x.message}</Typography.Text>)}
              </div>
            );
          })}
        </Flex>
        <Button type="dashed" size="small" icon={<PlusOutlined />} style={{ marginTop: 8 }} onClick={() => set({ holidays: [...draft.holidays, { date: '' }] })} data-testid="routing-holiday-add">{t('routing.hours.addHoliday')}</Button>
        <Typography.Paragraph type="secondary" style={{ fontSize: 12, marginTop: 6 }}>{t('routing.hours.holidaysHelp')}</Typography.Paragraph>

        <Divider titlePlacement="start">{t('routing.hours.specialDays')}</Divider>
        <Flex vertical gap={10}>
          {draft.specialDays.map((sd, i) => {
            const si = relativeTo(issues, `specialDays.${i}`);
            return (
              <div key={i} data-testid="routing-special-day">
                <Flex gap={8} align="flex-start" wrap>
                  <Input type="date" value={sd.date} onChange={(e) => set({ specialDays: draft.specialDays.map((x, j) => (j === i ? { ...x, date: e.target.value } : x)) })} status={issuesUnder(si, 'date').length ? 'error' : undefined} style={{ width: 150 }} />
                  <Input value={sd.name ?? ''} onChange={(e) => set({ specialDays: draft.specialDays.map((x, j) => (j === i ? { ...x, name: e.target.value } : x)) })} placeholder={t('routing.hours.specialName')} style={{ width: 180 }} maxLength={100} />
                  <ShiftsEditor shifts={sd.shifts} onChange={(s) => set({ specialDays: draft.specialDays.map((x, j) => (j === i ? { ...x, shifts: s } : x)) })} issues={relativeTo(si, 'shifts')} closedLabel={t('routing.hours.noShifts')} />
                  <Button type="text" icon={<DeleteOutlined />} aria-label={t('common.delete')} onClick={() => set({ specialDays: draft.specialDays.filter((_, j) => j !== i) })} />
                </Flex>
                {si.filter((x) => !x.path.startsWith('shifts')).map((x, k) => <Typography.Text key={k} type="danger" style={{ display: 'block', fontSize: 13 }}>{x.message}</Typography.Text>)}
              </div>
            );
          })}
        </Flex>
        <Button type="dashed" size="small" icon={<PlusOutlined />} style={{ marginTop: 8 }} onClick={() => set({ specialDays: [...draft.specialDays, { date: '', shifts: [{ start: '09:00', end: '18:00' }] }] })} data-testid="routing-special-add">{t('routing.hours.addSpecial')}</Button>
        <Typography.Paragraph type="secondary" style={{ fontSize: 12, marginTop: 6 }}>{t('routing.hours.specialHelp')}</Typography.Paragraph>

        <Divider titlePlacement="start">{t('routing.hours.outside')}</Divider>
        <Form.Item {...fieldStatus(issues, 'outsideHoursAction')}>
          <Radio.Group value={draft.outsideHoursAction ?? 'offline_form'} onChange={(e) => set({ outsideHoursAction: e.target.value as (typeof OUTSIDE)[number] })} data-testid="routing-schedule-outside">
            <Flex vertical gap={8}>
              {OUTSIDE.map((a) => (
                <Radio key={a} value={a}>
                  {t(`routing.outside.${a}`)}
                  <Typography.Text type="secondary" style={{ display: 'block', fontSize: 12 }}>{t(`routing.outside.${a}.help`)}</Typography.Text>
                </Radio>
              ))}
            </Flex>
          </Radio.Group>
        </Form.Item>
      </Form>
    </Drawer>
  );
}
