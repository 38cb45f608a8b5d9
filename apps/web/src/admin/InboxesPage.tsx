import { Button, Space, Table, Tag, Typography } from 'antd';
import { PlusOutlined } from '@ant-design/icons';
import { Route, Routes, useNavigate } from 'react-router';
import type { Inbox } from '@huiliu/contracts';
import { api } from '../lib/api.ts';
import { useI18n } from '../lib/i18n.tsx';
import { useSession } from '../lib/session.tsx';
import { AdminPage } from './shared/AdminPage.tsx';
import { errorText } from './shared/errors.ts';
import { rowAttrs } from './shared/table.ts';
import { useLoad } from './shared/useLoad.ts';
import { formatDate } from './shared/users.ts';
import { InboxEditor } from './inboxes/InboxEditor.tsx';

/** `/admin/inboxes/*`: the list, `new`, and one inbox by id. */
export default function InboxesPage() {
  return (
    <Routes>
      <Route index element={<InboxList />} />
      <Route path="new" element={<InboxEditor />} />
      <Route path=":id" element={<InboxEditor />} />
    </Routes>
  );
}

function InboxList() {
  const { t, locale } = useI18n();
  const navigate = useNavigate();
  const session = useSession();
  const inboxes = useLoad(() => api<Inbox[]>('GET', '/inboxes'), []);

  return (
    <AdminPage
      title={t('nav.inboxes')}
      description={t('admin.inboxes.description')}
      error={inboxes.error ? errorText(inboxes.error) : null}
      extra={
        session.can('inbox.manage') && (
          <Button type="primary" icon={<PlusOutlined />} onClick={() => navigate('/admin/inboxes/new')} data-testid="inbox-create">
            {t('admin.inboxes.new')}
          </Button>
        )
      }
    >
      <Table<Inbox>
        rowKey="id"
        loading={inboxes.loading}
        dataSource={inboxes.data ?? []}
        pagination={false}
        locale={{ emptyText: t('admin.inboxes.empty') }}
        onRow={(inbox) => ({ ...rowAttrs({ 'data-testid': 'inbox-row', 'data-inbox-id': inbox.id }), onClick: () => navigate(`/admin/inboxes/${inbox.id}`), style: { cursor: 'pointer' } })}
        columns={[
          {
            title: t('common.name'),
            key: 'name',
            render: (_, i) => (
              <Space>
                <span style={{ display: 'inline-block', width: 12, height: 12, borderRadius: 3, background: i.widget.color }} />
                <Typography.Text strong>{i.name}</Typography.Text>
              </Space>
            ),
          },
          { title: t('admin.inboxes.channel'), dataIndex: 'channelType', width: 150, render: (c: string) => <Tag color="blue">{t(`admin.channel.${c}`)}</Tag> },
          { title: t('admin.inboxes.publicId'), dataIndex: 'publicId', render: (p: string) => <Typography.Text code>{p}</Typography.Text> },
          {
            title: t('admin.inboxes.origins'),
            dataIndex: 'allowedOrigins',
            render: (o: string[], i: Inbox) => (i.channelType !== 'web' ? <Typography.Text type="secondary">—</Typography.Text> : o.length === 0 ? <Typography.Text type="secondary">{t('admin.inboxes.anySite')}</Typography.Text> : <Typography.Text ellipsis style={{ maxWidth: 260 }}>{o.join(', ')}</Typography.Text>),
          },
          { title: t('admin.members'), dataIndex: 'memberIds', width: 90, render: (m: string[]) => m.length },
          { title: t('admin.createdAt'), dataIndex: 'createdAt', width: 120, render: (d: string) => formatDate(d, locale) },
        ]}
      />
    </AdminPage>
  );
}
