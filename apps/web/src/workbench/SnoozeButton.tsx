import { useState } from 'react';
import { Button, DatePicker, Dropdown, Modal } from 'antd';
import { ClockCircleOutlined } from '@ant-design/icons';
import { useI18n } from '../lib/i18n.tsx';

/** Preset wake-up times are computed in the agent's local time zone, then sent as UTC. */
export function snoozePresets(now: Date = new Date()): Record<'hour' | 'tomorrow' | 'nextWeek', Date> {
  const tomorrow = new Date(now);
  tomorrow.setDate(now.getDate() + 1);
  tomorrow.setHours(9, 0, 0, 0);
  const nextWeek = new Date(now);
  nextWeek.setDate(now.getDate() + (((8 - now.getDay()) % 7) || 7)); // next Monday
  nextWeek.setHours(9, 0, 0, 0);
  return { hour: new Date(now.getTime() + 3600_000), tomorrow, nextWeek };
}

export function SnoozeButton({ disabled, loading, onSnooze }: { disabled: boolean; loading: boolean; onSnooze: (until: Date) => void }) {
  const { t } = useI18n();
  const [custom, setCustom] = useState(false);
  const [picked, setPicked] = useState<Date | null>(null);
  const presets = snoozePresets();
  const item = (key: keyof typeof presets, label: string) => ({
    key,
    label: <span data-testid={`snooze-${key}`}>{label}</span>,
    onClick: () => onSnooze(presets[key]),
  });

  return (
    <>
      <Dropdown
        trigger={['click']}
        disabled={disabled}
        menu={{
          items: [
            item('hour', t('snooze.hour')),
            item('tomorrow', t('snooze.tomorrow')),
            item('nextWeek', t('snooze.nextWeek')),
            { type: 'divider' as const },
            { key: 'custom', label: <span data-testid="snooze-custom">{t('snooze.custom')}</span>, onClick: () => setCustom(true) },
          ],
        }}
      >
        <Button size="small" icon={<ClockCircleOutlined />} loading={loading} data-testid="action-snooze">
          {t('action.snooze')}
        </Button>
      </Dropdown>
      <Modal
        open={custom}
        title={t('snooze.customTitle')}
        okText={t('action.snooze')}
        okButtonProps={{ disabled: !picked || picked.getTime() <= Date.now(), ...({ 'data-testid': 'snooze-confirm' } as object) }}
        onOk={() => {
          if (picked) onSnooze(picked);
          setCustom(false);
        }}
        onCancel={() => setCustom(false)}
        destroyOnHidden
      >
        <DatePicker
          showTime={{ format: 'HH:mm' }}
          format="YYYY-MM-DD HH:mm"
          style={{ width: '100%' }}
          // dayjs values: only their own methods are used, so dayjs is not imported here.
          disabledDate={(d) => d.endOf('day').valueOf() < Date.now()}
          onChange={(d) => setPicked(d ? d.toDate() : null)}
          data-testid="snooze-date"
        />
      </Modal>
    </>
  );
}
