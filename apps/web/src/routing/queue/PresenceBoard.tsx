import { useMemo, useState } from 'react';
import { Avatar, Card, Empty, Flex, Segmented, Spin, Typography } from 'antd';
import { colorFor, formatRelative, initials } from '../../lib/format.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { LoadBar, StatusBadge } from '../shared/presence.tsx';
import { STATUS_ORDER, type AgentPresence } from '../shared/types.ts';

/**
 * Who can take work right now: available agents first, then by how full they are — the order a supervisor
 * scans when the queue grows ("who has room?").
 */
export function PresenceBoard({ agents, now }: { agents: AgentPresence[] | undefined; now: number }) {
  const { t, locale } = useI18n();
  const [filter, setFilter] = useState<'all' | 'active'>('all');
  const sorted = useMemo(
    () =>
      [...(agents ?? [])]
        .filter((a) => filter === 'all' || a.status !== 'offline')
        .sort((a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || a.load / Math.max(1, a.capacity) - b.load / Math.max(1, b.capacity) || a.name.localeCompare(b.name, locale)),
    [agents, filter, locale],
  );
  return (
    <Card
      title={t('routing.board.title')}
      size="small"
      extra={
        <Segmented<'all' | 'active'>
          size="small"
          value={filter}
          onChange={setFilter}
          options={[{ value: 'all', label: t('routing.board.all') }, { value: 'active', label: t('routing.board.active') }]}
        />
      }
    >
      <div data-testid="routing-presence-board">
        {agents === undefined ? (
          <Flex justify="center" style={{ padding: 24 }}><Spin /></Flex>
        ) : sorted.length === 0 ? (
          <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('routing.board.empty')} />
        ) : (
          <Flex vertical gap={2}>
            {sorted.map((a) => (
              <Flex key={a.userId} align="center" gap={10} style={{ padding: '8px 4px', borderBottom: '1px solid #f5f5f5' }} data-testid="routing-presence-agent" data-user-id={a.userId} data-status={a.status}>
                <Avatar size="small" style={{ background: colorFor(a.userId), flex: 'none', opacity: a.status === 'offline' ? 0.5 : 1 }}>{initials(a.name)}</Avatar>
                <div style={{ flex: 1, minWidth: 0 }}>
                  <Typography.Text ellipsis style={{ display: 'block' }}>{a.name}</Typography.Text>
                  <span style={{ fontSize: 12 }}>
                    <StatusBadge status={a.status} />
                    {a.statusChangedAt && (
                      <Typography.Text type="secondary" style={{ fontSize: 12 }}> · {formatRelative(a.statusChangedAt, locale, now)}</Typography.Text>
                    )}
                  </span>
                </div>
                <LoadBar load={a.load} capacity={a.capacity} width={130} />
              </Flex>
            ))}
          </Flex>
        )}
      </div>
    </Card>
  );
}
