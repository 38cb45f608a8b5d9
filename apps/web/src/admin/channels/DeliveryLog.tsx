import { useCallback, useEffect, useRef, useState } from 'react';
import { Alert, Button, Flex, Segmented, Table, Tag, Typography } from 'antd';
import { ReloadOutlined } from '@ant-design/icons';
import { Link } from 'react-router';
import type { DeliveryAttempt } from '@huiliu/contracts';
import { useI18n } from '../../lib/i18n.tsx';
import { errorText } from '../shared/errors.ts';
import { rowAttrs } from '../shared/table.ts';
import { formatDate } from '../shared/users.ts';
import { listDeliveries, type DeliveryOutcome } from './channelApi.ts';

const PAGE = 50;
export const OUTCOME_COLOR: Record<DeliveryOutcome, string> = { sent: 'success', retry: 'warning', failed: 'error' };

/**
 * Every attempt to deliver this inbox's outgoing messages, newest first: what the platform answered and
 * how long it took. "Load more" pages back by id (`beforeId`), so new attempts never shift the pages.
 */
export function DeliveryLog({ inboxId }: { inboxId: string }) {
  const { t, locale } = useI18n();
  const [outcome, setOutcome] = useState<DeliveryOutcome | 'all'>('all');
  const [rows, setRows] = useState<DeliveryAttempt[]>([]);
  const [loading, setLoading] = useState(true);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const seq = useRef(0);

  const load = useCallback(
    async (beforeId?: number) => {
      const mine = ++seq.current;
      setLoading(true);
      try {
        const page = await listDeliveries(inboxId, { outcome: outcome === 'all' ? undefined : outcome, limit: PAGE, beforeId });
        if (mine !== seq.current) return;
        setRows((prev) => (beforeId === undefined ? page : [...prev, ...page]));
        setMore(page.length === PAGE);
        setError(null);
      } catch (e) {
        if (mine === seq.current) setError(errorText(e));
      } finally {
        if (mine === seq.current) setLoading(false);
      }
    },
    [inboxId, outcome],
  );

  useEffect(() => {
    void load();
    return () => {
      seq.current++;
    };
  }, [load]);

  return (
    <div data-testid="delivery-log">
      <Flex justify="space-between" align="center" gap={12} wrap style={{ marginBottom: 12 }}>
        <Segmented<DeliveryOutcome | 'all'>
          value={outcome}
          onChange={setOutcome}
          options={(['all', 'sent', 'retry', 'failed'] as const).map((o) => ({ value: o, label: t(o === 'all' ? 'admin.all' : `channels.outcome.${o}`) }))}
          data-testid="delivery-outcome-filter"
        />
        <Button icon={<ReloadOutlined />} onClick={() => void load()} loading={loading && rows.length === 0} data-testid="delivery-reload">
          {t('channels.deliveries.reload')}
        </Button>
      </Flex>
      {error && <Alert type="error" showIcon title={error} style={{ marginBottom: 12 }} />}
      <Table<DeliveryAttempt>
        rowKey="id"
        size="middle"
        loading={loading && rows.length === 0}
        dataSource={rows}
        pagination={false}
        scroll={{ x: 860 }}
        locale={{ emptyText: t('channels.deliveries.empty') }}
        onRow={(r) => rowAttrs({ 'data-testid': 'delivery-row', 'data-outcome': r.outcome, 'data-message-id': r.messageId })}
        columns={[
          { title: t('channels.deliveries.time'), dataIndex: 'createdAt', width: 180, render: (d: string) => formatDate(d, locale, true) },
          {
            title: t('channels.deliveries.message'),
            key: 'message',
            width: 160,
            render: (_, r) => (
              <Link to={`/conversations/${r.conversationId}`} data-testid="delivery-message-link">
                {t('channels.deliveries.open')}
              </Link>
            ),
          },
          { title: t('channels.deliveries.attempt'), dataIndex: 'attempt', width: 90, align: 'right' },
          {
            title: t('channels.deliveries.outcome'),
            dataIndex: 'outcome',
            width: 110,
            render: (o: DeliveryOutcome) => <Tag color={OUTCOME_COLOR[o]} data-testid="delivery-outcome">{t(`channels.outcome.${o}`)}</Tag>,
          },
          {
            title: t('channels.deliveries.error'),
            key: 'error',
            render: (_, r) =>
              r.error ? (
                <Typography.Text type="danger" style={{ fontSize: 13 }}>
                  {r.errorCode && <Typography.Text code style={{ fontSize: 12 }}>{r.errorCode}</Typography.Text>} {r.error}
                </Typography.Text>
              ) : r.externalId ? (
                <Typography.Text type="secondary" style={{ fontSize: 12 }} title={t('channels.deliveries.externalId')}>{r.externalId}</Typography.Text>
              ) : null,
          },
          { title: t('channels.deliveries.duration'), dataIndex: 'durationMs', width: 110, align: 'right', render: (ms: number) => t('channels.deliveries.ms', { n: ms.toLocaleString() }) },
        ]}
      />
      {more && (
        <div style={{ textAlign: 'center', marginTop: 12 }}>
          <Button loading={loading && rows.length > 0} onClick={() => void load(rows.at(-1)?.id)} data-testid="delivery-more">
            {t('channels.deliveries.more')}
          </Button>
        </div>
      )}
    </div>
  );
}
