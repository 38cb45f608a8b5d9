import { Empty, Table, Tag, Tooltip, Typography } from 'antd';
import type { Priority } from '@huiliu/contracts';
import { Link } from 'react-router';
import { useI18n } from '../../lib/i18n.tsx';
import { formatDuration, formatEstimate } from '../shared/format.ts';
import type { QueueItem } from '../shared/types.ts';

export const PRIORITY_COLOR: Record<Priority, string | undefined> = { urgent: 'red', high: 'orange', medium: 'gold', low: 'blue', none: undefined };

/**
 * Rough cues for the eye, not an SLA (SLA policies are a later module): orange after 3 minutes, red after
 * 10 — long enough that a normal queue stays calm, short enough that a stuck one stands out.
 */
const WAIT_WARN_S = 180;
const WAIT_ALERT_S = 600;

export function PriorityTag({ priority }: { priority: Priority }) {
  const { t } = useI18n();
  return <Tag color={PRIORITY_COLOR[priority]}>{t(`routing.priority.${priority}`)}</Tag>;
}

export function SkillTags({ skills }: { skills: Record<string, number> }) {
  const entries = Object.entries(skills);
  if (entries.length === 0) return <Typography.Text type="secondary">—</Typography.Text>;
  return (
    <span style={{ display: 'inline-flex', flexWrap: 'wrap', gap: 4 }}>
      {entries.map(([skill, level]) => (
        <Tag key={skill} style={{ marginInlineEnd: 0 }}>
          {skill} <Typography.Text type="secondary" style={{ fontSize: 12 }}>≥{level}</Typography.Text>
        </Tag>
      ))}
    </span>
  );
}

/** Short headers stay on one line: a wrapped "所需技能" / "Required skills" looks broken. */
function nowrapHeaders<T extends object>(columns: T[]): T[] {
  return columns.map((c) => ({ ...c, onHeaderCell: () => ({ style: { whiteSpace: 'nowrap' } }) }));
}

/** Seconds a conversation has waited, on the server's clock (see LiveQueue.skewMs). */
export const waitedSeconds = (item: QueueItem, now: number, skewMs: number) => Math.max(item.waitingSeconds, (now - skewMs - Date.parse(item.queuedAt)) / 1000);

export function QueueTable(props: { items: QueueItem[] | undefined; skewMs: number; now: number; teamNames: Map<string, string>; inboxNames: Map<string, string> }) {
  const { t, locale } = useI18n();
  const waited = (item: QueueItem) => waitedSeconds(item, props.now, props.skewMs);
  return (
    <div data-testid="routing-queue-table">
      <Table<QueueItem>
        rowKey="conversationId"
        size="middle"
        loading={props.items === undefined}
        dataSource={props.items ?? []}
        pagination={(props.items?.length ?? 0) > 50 ? { pageSize: 50, showSizeChanger: false } : false}
        onRow={(item) => ({ 'data-testid': 'routing-queue-row', 'data-conversation-id': item.conversationId }) as React.HTMLAttributes<HTMLElement>}
        locale={{ emptyText: <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('routing.queue.empty')} /> }}
        columns={nowrapHeaders([
          {
            title: t('routing.queue.conversation'),
            key: 'conversation',
            render: (_, item) => (
              <div>
                <Link to={`/conversations/${item.conversationId}`} data-testid="routing-queue-link">#{item.displayId}</Link>
                <div><Typography.Text type="secondary" ellipsis={{ tooltip: true }} style={{ fontSize: 12, maxWidth: 160 }}>{props.inboxNames.get(item.inboxId) ?? '—'}</Typography.Text></div>
              </div>
            ),
          },
          { title: t('routing.queue.priority'), dataIndex: 'priority', width: 100, render: (p: Priority) => <PriorityTag priority={p} /> },
          {
            title: t('routing.queue.team'),
            dataIndex: 'teamId',
            render: (teamId: string | null) =>
              teamId ? <Typography.Text ellipsis={{ tooltip: true }} style={{ maxWidth: 180, whiteSpace: 'nowrap' }}>{props.teamNames.get(teamId) ?? teamId}</Typography.Text> : <Typography.Text type="secondary" style={{ whiteSpace: 'nowrap' }}>{t('routing.queue.noTeam')}</Typography.Text>,
          },
          { title: t('routing.queue.skills'), dataIndex: 'requiredSkills', render: (s: Record<string, number>) => <SkillTags skills={s} /> },
          {
            title: t('routing.queue.waiting'),
            key: 'waiting',
            width: 130,
            render: (_, item) => {
              const s = waited(item);
              return (
                <Tooltip title={t('routing.queue.since', { time: new Date(item.queuedAt).toLocaleTimeString(locale) })}>
                  <Typography.Text type={s >= WAIT_ALERT_S ? 'danger' : s >= WAIT_WARN_S ? 'warning' : undefined} strong={s >= WAIT_WARN_S} style={{ fontVariantNumeric: 'tabular-nums' }} data-testid="routing-queue-waiting">
                    {formatDuration(s, locale)}
                  </Typography.Text>
                </Tooltip>
              );
            },
          },
          {
            title: <Tooltip title={t('routing.queue.positionHint')}>{t('routing.queue.position')}</Tooltip>,
            dataIndex: 'position',
            width: 90,
            render: (p: number) => <span style={{ fontVariantNumeric: 'tabular-nums' }}>{p}</span>,
          },
          {
            title: t('routing.queue.estimate'),
            dataIndex: 'estimatedWaitSeconds',
            width: 130,
            render: (s: number) => <Typography.Text type="secondary" style={{ whiteSpace: 'nowrap' }}>{formatEstimate(s, locale)}</Typography.Text>,
          },
        ])}
      />
    </div>
  );
}
