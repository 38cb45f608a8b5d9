import { Button, Flex, Space, Typography } from 'antd';
import { CloseOutlined, PlusOutlined } from '@ant-design/icons';
import type { Shift } from '@huiliu/contracts/routing-rules';
import { useI18n } from '../../lib/i18n.tsx';
import { ClockInput } from '../shared/ClockInput.tsx';
import { issuesUnder, type Issue } from '../shared/issues.ts';

/**
 * The opening ranges of one day. Split shifts (09:00–12:00 and 13:30–18:00) are simply several ranges; a new
 * range starts an hour after the last one ends, which is what people usually add next. `issues` are relative
 * to the day's array (`1.start`: overlap of the second range), as the contract reports them.
 */
export function ShiftsEditor(props: { shifts: Shift[]; onChange: (s: Shift[]) => void; issues: Issue[]; testId?: string; closedLabel?: string }) {
  const { t } = useI18n();
  const addShift = () => {
    const last = props.shifts[props.shifts.length - 1];
    if (!last) return props.onChange([{ start: '09:00', end: '18:00' }]);
    const h = Number(last.end.slice(0, 2));
    const start = Number.isFinite(h) && h <= 22 ? `${String(h + 1).padStart(2, '0')}:00` : '';
    const end = start && h + 1 <= 20 ? `${String(Math.min(24, h + 4)).padStart(2, '0')}:00` : '';
    props.onChange([...props.shifts, { start, end }]);
  };
  const set = (i: number, patch: Partial<Shift>) => props.onChange(props.shifts.map((s, j) => (j === i ? { ...s, ...patch } : s)));
  return (
    <div style={{ flex: 1, minWidth: 0 }} data-testid={props.testId}>
      <Flex wrap gap={8} align="center">
        {props.shifts.length === 0 && <Typography.Text type="secondary" style={{ minWidth: 60 }}>{props.closedLabel ?? t('routing.hours.closed')}</Typography.Text>}
        {props.shifts.map((s, i) => {
          return (
            <Space.Compact key={i} data-testid="routing-shift">
              <ClockInput value={s.start} onChange={(v) => set(i, { start: v })} status={issuesUnder(props.issues, `${i}.start`).length ? 'error' : undefined} testId="routing-shift-start" width={80} />
              <Space.Addon>–</Space.Addon>
              <ClockInput value={s.end} onChange={(v) => set(i, { end: v })} status={issuesUnder(props.issues, `${i}.end`).length ? 'error' : undefined} end testId="routing-shift-end" width={80} />
              <Button icon={<CloseOutlined />} aria-label={t('common.delete')} onClick={() => props.onChange(props.shifts.filter((_, j) => j !== i))} />
            </Space.Compact>
          );
        })}
        <Button size="small" type="dashed" icon={<PlusOutlined />} onClick={addShift} data-testid="routing-shift-add">
          {props.shifts.length ? t('routing.hours.splitShift') : t('routing.hours.addShift')}
        </Button>
      </Flex>
      {props.issues.length > 0 && (
        <div style={{ marginTop: 4 }} data-testid="routing-shift-error">
          {props.issues.map((i) => i.message).map((m, k) => (
            <Typography.Text key={k} type="danger" style={{ display: 'block', fontSize: 13 }}>{m}</Typography.Text>
          ))}
        </div>
      )}
    </div>
  );
}
