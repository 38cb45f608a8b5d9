import { useState } from 'react';
import { App, Button, Space, Table, Tag, Tooltip, Typography } from 'antd';
import { ReloadOutlined, RedoOutlined } from '@ant-design/icons';
import { Link } from 'react-router';
import type { FailedDelivery } from '@huiliu/contracts';
import { useI18n } from '../../lib/i18n.tsx';
import { AdminPage } from '../shared/AdminPage.tsx';
import { errorText } from '../shared/errors.ts';
import { rowAttrs } from '../shared/table.ts';
import { useLoad } from '../shared/useLoad.ts';
import { formatDate } from '../shared/users.ts';
import { listFailedDeliveries, retryDelivery } from './channelApi.ts';

/**
 * `/admin/failed-deliveries`: messages no channel would take after every retry (dead letters). Retry
 * queues one again (it leaves the list: it is pending now); Copy hands the text over for another way of
 * reaching the customer.
 */
export default function FailedDeliveriesPage() {
  const { t, locale } = useI18n();
  const { message } = App.useApp();
  const failed = useLoad(() => listFailedDeliveries(), []);
  const [retrying, setRetrying] = useState<string | null>(null);

  const retry = async (f: FailedDelivery) => {
    setRetrying(f.messageId);
    try {
      await retryDelivery(f.conversationId, f.messageId);
      failed.setData((rows) => rows?.filter((r) => r.messageId !== f.messageId));
      message.success(t('channels.failed.retried'));
    } catch (err) {
      message.error(errorText(err));
    } finally {
      setRetrying(null);
    }
  };

  return (
    <AdminPage
      title={t('nav.failedDeliveries')}
      description={t('channels.failed.description')}
      error={failed.error ? errorText(failed.error) : null}
      testId="failed-deliveries-page"
      extra={<Button icon={<ReloadOutlined />} onClick={() => void failed.reload()} loading={failed.loading}>{t('channels.deliveries.reload')}</Button>}
    >
      <Table<FailedDelivery>
        rowKey="messageId"
        loading={failed.loading && !failed.data}
        dataSource={failed.data ?? []}
        pagination={{ pageSize: 50, hideOnSinglePage: true }}
        scroll={{ x: 980 }}
        locale={{ emptyText: t('channels.failed.empty') }}
        onRow={(f) => rowAttrs({ 'data-testid': 'failed-row', 'data-message-id': f.messageId })}
        columns={[
          { title: t('channels.failed.at'), dataIndex: 'failedAt', width: 170, render: (d: string) => formatDate(d, locale, true) },
          {
            title: t('channels.failed.conversation'),
            key: 'conversation',
            width: 140,
            render: (_, f) => <Link to={`/conversations/${f.conversationId}`} data-testid="failed-conversation-link">#{f.conversationDisplayId}</Link>,
          },
          { title: t('admin.inboxes.channel'), dataIndex: 'channelType', width: 130, render: (c: string) => <Tag color="blue">{t(`admin.channel.${c}`)}</Tag> },
          {
            title: t('channels.failed.text'),
            dataIndex: 'text',
            render: (text: string) => (
              <Typography.Paragraph ellipsis={{ rows: 2, tooltip: text }} style={{ margin: 0, maxWidth: 360 }}>{text || '—'}</Typography.Paragraph>
            ),
          },
          {
            title: t('channels.deliveries.error'),
            key: 'error',
            render: (_, f) => (
              <Typography.Text type="danger" style={{ fontSize: 13 }} data-testid="failed-error">
                {f.errorCode && <Typography.Text code style={{ fontSize: 12 }}>{f.errorCode}</Typography.Text>} {f.error}
              </Typography.Text>
            ),
          },
          { title: t('channels.failed.attempts'), dataIndex: 'attempts', width: 110, align: 'right' },
          {
            title: '',
            key: 'actions',
            width: 190,
            fixed: 'right',
            render: (_, f) => (
              <Space size={4}>
                <Tooltip title={t('channels.failed.retryHint')}>
                  <Button size="small" icon={<RedoOutlined />} loading={retrying === f.messageId} onClick={() => void retry(f)} data-testid="failed-retry">
                    {t('action.retry')}
                  </Button>
                </Tooltip>
                <Typography.Text copyable={{ text: f.text, tooltips: [t('channels.copyText'), t('admin.copied')] }} data-testid="failed-copy">
                  {t('channels.copy')}
                </Typography.Text>
              </Space>
            ),
          },
        ]}
      />
    </AdminPage>
  );
}
