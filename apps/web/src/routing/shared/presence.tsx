import { Badge, Progress, Tooltip } from 'antd';
import { useI18n } from '../../lib/i18n.tsx';
import type { PresenceStatus } from './types.ts';

/** Same colours as the shell's own presence switch, so "online" looks the same everywhere. */
export const STATUS_COLOR: Record<PresenceStatus, string> = { online: '#52c41a', busy: '#faad14', away: '#bfbfbf', offline: '#ff4d4f' };

export function StatusBadge({ status }: { status: PresenceStatus }) {
  const { t } = useI18n();
  return <Badge color={STATUS_COLOR[status]} text={t(`presence.${status}`)} />;
}

/**
 * Load against capacity: green with room, orange when nearly full, red at (or above — capacity may have been
 * lowered under the current load) capacity.
 */
export function LoadBar({ load, capacity, width = 140 }: { load: number; capacity: number; width?: number }) {
  const { t } = useI18n();
  const ratio = capacity > 0 ? load / capacity : 1;
  const color = ratio >= 1 ? '#ff4d4f' : ratio >= 0.8 ? '#fa8c16' : '#52c41a';
  return (
    <Tooltip title={t('routing.load.tooltip', { load, capacity })}>
      <div style={{ display: 'flex', alignItems: 'center', gap: 8, width }} data-testid="routing-load-bar">
        <Progress percent={Math.min(100, Math.round(ratio * 100))} showInfo={false} strokeColor={color} size="small" style={{ flex: 1, margin: 0 }} />
        <span style={{ fontVariantNumeric: 'tabular-nums', whiteSpace: 'nowrap', fontSize: 12 }}>{load} / {capacity}</span>
      </div>
    </Tooltip>
  );
}
