import { useState } from 'react';
import { App, Button, Card, Input, Popconfirm, Space, Table, Tag, Typography } from 'antd';
import { DeleteOutlined, EditOutlined, PlusOutlined, SearchOutlined } from '@ant-design/icons';
import type { CannedResponse } from '@huiliu/contracts';
import { api, qs } from '../lib/api.ts';
import { useI18n } from '../lib/i18n.tsx';
import { useSession } from '../lib/session.tsx';
import { AdminPage } from './shared/AdminPage.tsx';
import { errorText } from './shared/errors.ts';
import { rowAttrs } from './shared/table.ts';
import { useDebounced } from './shared/useDebounced.ts';
import { useLoad } from './shared/useLoad.ts';
import { CannedContent } from './canned/CannedContent.tsx';
import { CannedModal } from './canned/CannedModal.tsx';
import { CANNED_VARIABLES } from './canned/variables.ts';

/** Saved replies agents insert by typing `/shortcut` in the composer. */
export default function CannedResponsesPage() {
  const { t } = useI18n();
  const session = useSession();
  const { message } = App.useApp();
  const manage = session.can('canned.manage');
  const [text, setText] = useState('');
  const q = useDebounced(text.trim(), 250);
  const list = useLoad(() => api<CannedResponse[]>('GET', `/canned-responses${qs({ q })}`), [q]);
  // undefined: closed; null: creating; a response: editing it.
  const [editing, setEditing] = useState<CannedResponse | null | undefined>(undefined);

  const remove = async (c: CannedResponse) => {
    try {
      await api('DELETE', `/canned-responses/${c.id}`);
      list.setData((l) => l?.filter((x) => x.id !== c.id));
      message.success(t('admin.deleted'));
    } catch (err) {
      message.error(errorText(err));
    }
  };

  const saved = (c: CannedResponse) => {
    list.setData((l) => {
      const rest = (l ?? []).filter((x) => x.id !== c.id);
      return [...rest, c].sort((a, b) => a.shortCode.localeCompare(b.shortCode));
    });
    setEditing(undefined);
  };

  return (
    <AdminPage
      title={t('nav.canned')}
      description={t('admin.canned.description')}
      error={list.error ? errorText(list.error) : null}
      extra={manage && <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing(null)} data-testid="canned-create">{t('admin.canned.new')}</Button>}
    >
      <Card size="small" style={{ marginBottom: 16 }}>
        <Space wrap size={[6, 6]}>
          <Typography.Text type="secondary">{t('admin.canned.variables')}</Typography.Text>
          {CANNED_VARIABLES.map((v) => (
            <Tag key={v}><Typography.Text code>{`{{${v}}}`}</Typography.Text> {t(`admin.canned.var.${v}`)}</Tag>
          ))}
        </Space>
      </Card>
      <Input allowClear prefix={<SearchOutlined />} placeholder={t('admin.canned.search')} style={{ width: 320, marginBottom: 12 }} value={text} onChange={(e) => setText(e.target.value)} data-testid="canned-search" />
      <Table<CannedResponse>
        rowKey="id"
        loading={list.loading}
        dataSource={list.data ?? []}
        pagination={(list.data?.length ?? 0) > 50 ? { pageSize: 50 } : false}
        locale={{ emptyText: t(q ? 'admin.noMatch' : 'admin.canned.empty') }}
        onRow={(c) => rowAttrs({ 'data-testid': 'canned-row', 'data-canned-id': c.id })}
        columns={[
          { title: t('admin.canned.shortCode'), dataIndex: 'shortCode', width: 180, render: (s: string) => <Typography.Text code strong>/{s}</Typography.Text> },
          { title: t('admin.canned.content'), dataIndex: 'content', render: (c: string) => <CannedContent content={c} /> },
          ...(manage
            ? [
                {
                  title: t('common.actions'),
                  key: 'actions',
                  width: 170,
                  render: (_: unknown, c: CannedResponse) => (
                    <Space size={4}>
                      <Button size="small" type="link" icon={<EditOutlined />} onClick={() => setEditing(c)}>{t('common.edit')}</Button>
                      <Popconfirm title={t('admin.canned.deleteConfirm', { code: c.shortCode })} onConfirm={() => remove(c)} okText={t('common.delete')} okButtonProps={{ danger: true }} cancelText={t('common.cancel')}>
                        <Button size="small" type="link" danger icon={<DeleteOutlined />}>{t('common.delete')}</Button>
                      </Popconfirm>
                    </Space>
                  ),
                },
              ]
            : []),
        ]}
      />
      <CannedModal open={editing !== undefined} canned={editing ?? null} onClose={() => setEditing(undefined)} onSaved={saved} />
    </AdminPage>
  );
}
