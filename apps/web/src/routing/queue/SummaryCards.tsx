import { Card, Col, Row, Statistic, Typography } from 'antd';
import { ClockCircleOutlined, InboxOutlined, TeamOutlined, ThunderboltOutlined } from '@ant-design/icons';
import { useI18n } from '../../lib/i18n.tsx';
import { formatDuration } from '../shared/format.ts';
import type { AgentPresence, QueueItem } from '../shared/types.ts';
import { waitedSeconds } from './QueueTable.tsx';

export function SummaryCards(props: { items: QueueItem[] | undefined; agents: AgentPresence[] | undefined; skewMs: number; now: number }) {
  const { t, locale } = useI18n();
  const items = props.items ?? [];
  const agents = props.agents ?? [];
  const longest = items.reduce((m, i) => Math.max(m, waitedSeconds(i, props.now, props.skewMs)), -1);
  const online = agents.filter((a) => a.status === 'online');
  const busy = agents.filter((a) => a.status === 'busy').length;
  // Only online agents receive conversations automatically, so only their room counts.
  const free = online.reduce((sum, a) => sum + Math.max(0, a.capacity - a.load), 0);
  const loading = props.items === undefined;
  const cards = [
    { key: 'waiting', icon: <InboxOutlined />, title: t('routing.summary.waiting'), value: items.length, suffix: undefined, danger: items.length > 0 && free === 0 },
    { key: 'longest', icon: <ClockCircleOutlined />, title: t('routing.summary.longest'), value: longest < 0 ? '—' : formatDuration(longest, locale) },
    { key: 'online', icon: <TeamOutlined />, title: t('routing.summary.online'), value: online.length, suffix: `/ ${agents.length}`, note: busy ? t('routing.summary.busy', { n: busy }) : undefined },
    { key: 'free', icon: <ThunderboltOutlined />, title: t('routing.summary.free'), value: free, danger: free === 0 && props.agents !== undefined, note: free === 0 && props.agents !== undefined ? t('routing.summary.noRoom') : undefined },
  ];
  return (
    <Row gutter={[16, 16]} style={{ marginBottom: 16 }}>
      {cards.map((c) => (
        <Col key={c.key} xs={12} lg={6} style={{ display: 'flex' }}>
          <Card size="small" style={{ flex: 1 }} loading={loading && c.key !== 'online' && c.key !== 'free'} data-testid={`routing-summary-${c.key}`}>
            <Statistic
              title={<span>{c.icon} {c.title}</span>}
              value={c.value}
              suffix={c.suffix}
              styles={{ content: { color: c.danger ? '#cf1322' : undefined, fontVariantNumeric: 'tabular-nums' } }}
            />
            <Typography.Text type="secondary" ellipsis={{ tooltip: c.note }} style={{ fontSize: 12, minHeight: 20, display: 'block' }}>{c.note ?? '\u00a0'}</Typography.Text>
          </Card>
        </Col>
      ))}
    </Row>
  );
}
