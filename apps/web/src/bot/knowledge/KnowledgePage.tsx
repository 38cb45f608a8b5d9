import { useState } from 'react';
import { App, Button, Flex, Input, Popconfirm, Select, Space, Switch, Table, Tabs, Tag, Typography } from 'antd';
import { DeleteOutlined, EditOutlined, PlusOutlined, SearchOutlined, UploadOutlined } from '@ant-design/icons';
import { api, qs } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { AdminPage } from '../../admin/shared/AdminPage.tsx';
import { errorText } from '../../admin/shared/errors.ts';
import { rowAttrs } from '../../admin/shared/table.ts';
import { useDebounced } from '../../admin/shared/useDebounced.ts';
import { useLoad } from '../../admin/shared/useLoad.ts';
import { formatDate } from '../../admin/shared/users.ts';
import { EntryDrawer } from './EntryDrawer.tsx';
import { KbImportModal } from './KbImportModal.tsx';
import { RetrievalTest } from './RetrievalTest.tsx';
import type { KbEntry, KbImport, KbPage } from './types.ts';

const PAGE_SIZE = 20;

/**
 * The knowledge base the bot answers from: FAQ pairs and articles, searchable and filterable, edited in a
 * drawer, imported from sheets and documents, and a retrieval test to check what a question finds.
 */
export default function KnowledgePage() {
  const { t, locale } = useI18n();
  const { message } = App.useApp();
  const [tab, setTab] = useState('entries');
  const [text, setText] = useState('');
  const q = useDebounced(text.trim(), 250);
  const [kind, setKind] = useState<'faq' | 'article' | undefined>(undefined);
  const [category, setCategory] = useState<string | undefined>(undefined);
  const [page, setPage] = useState(1);
  const [editing, setEditing] = useState<KbEntry | null | undefined>(undefined);
  const [importing, setImporting] = useState(false);

  const list = useLoad(
    () => api<KbPage>('GET', `/kb/entries${qs({ q, kind, category, limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE })}`),
    [q, kind, category, page],
  );
  const categories = useLoad(() => api<string[]>('GET', '/kb/categories'), []);
  const imports = useLoad(() => (tab === 'imports' ? api<KbImport[]>('GET', '/kb/imports') : Promise.resolve(undefined as KbImport[] | undefined)), [tab]);

  const filter = <T,>(set: (v: T) => void) => (v: T) => {
    set(v);
    setPage(1);
  };

  const refresh = () => {
    void list.reload();
    void categories.reload();
    if (tab === 'imports') void imports.reload();
  };

  const remove = async (e: KbEntry) => {
    try {
      await api('DELETE', `/kb/entries/${e.id}`);
      message.success(t('admin.deleted'));
      void list.reload();
    } catch (err) {
      message.error(errorText(err));
    }
  };

  const toggle = async (e: KbEntry, enabled: boolean) => {
    try {
      const saved = await api<KbEntry>('PATCH', `/kb/entries/${e.id}`, { enabled });
      list.setData((p) => p && { ...p, items: p.items.map((x) => (x.id === saved.id ? saved : x)) });
    } catch (err) {
      message.error(errorText(err));
    }
  };

  const saved = (e: KbEntry) => {
    setEditing(undefined);
    message.success(t('bot.saved'));
    list.setData((p) => p && { ...p, items: p.items.some((x) => x.id === e.id) ? p.items.map((x) => (x.id === e.id ? e : x)) : [e, ...p.items], total: p.items.some((x) => x.id === e.id) ? p.total : p.total + 1 });
    void categories.reload();
  };

  const entries = (
    <>
      <Flex gap={8} wrap style={{ marginBottom: 12 }}>
        <Input allowClear prefix={<SearchOutlined />} placeholder={t('bot.kb.search')} style={{ width: 300 }} value={text} onChange={(e) => filter(setText)(e.target.value)} data-testid="kb-search" />
        <Select
          allowClear
          placeholder={t('bot.kb.kind')}
          style={{ width: 140 }}
          value={kind}
          onChange={filter(setKind)}
          options={[{ value: 'faq', label: t('bot.kb.kind.faq') }, { value: 'article', label: t('bot.kb.kind.article') }]}
          data-testid="kb-filter-kind"
        />
        <Select
          allowClear
          showSearch
          placeholder={t('bot.kb.category')}
          style={{ width: 200 }}
          value={category}
          onChange={filter(setCategory)}
          options={(categories.data ?? []).map((c) => ({ value: c, label: c }))}
          data-testid="kb-filter-category"
        />
      </Flex>
      <Table<KbEntry>
        rowKey="id"
        size="middle"
        loading={list.loading}
        dataSource={list.data?.items ?? []}
        locale={{ emptyText: t(q || kind || category ? 'admin.noMatch' : 'bot.kb.empty') }}
        onRow={(e) => rowAttrs({ 'data-testid': 'kb-row', 'data-entry-id': e.id })}
        pagination={{
          current: page,
          pageSize: PAGE_SIZE,
          total: list.data?.total ?? 0,
          showSizeChanger: false,
          onChange: setPage,
          showTotal: (n) => t('bot.kb.total', { n }),
        }}
        columns={[
          {
            title: t('bot.kb.kind'),
            dataIndex: 'kind',
            width: 80,
            render: (k: KbEntry['kind']) => <Tag color={k === 'faq' ? 'blue' : 'purple'}>{t(`bot.kb.kind.${k}`)}</Tag>,
          },
          {
            title: t('bot.kb.titleCol'),
            dataIndex: 'title',
            render: (title: string, e) => (
              <div style={{ minWidth: 0 }}>
                <Typography.Link onClick={() => setEditing(e)} data-testid="kb-row-title">{title}</Typography.Link>
                {e.similarQuestions.length > 0 && (
                  <div><Typography.Text type="secondary" style={{ fontSize: 12 }}>{t('bot.kb.similarCount', { n: e.similarQuestions.length })}</Typography.Text></div>
                )}
              </div>
            ),
          },
          { title: t('bot.kb.category'), dataIndex: 'category', width: 140, render: (c: string | null) => c ?? <Typography.Text type="secondary">—</Typography.Text> },
          {
            title: t('bot.kb.tags'),
            dataIndex: 'tags',
            width: 200,
            render: (tags: string[]) => (
              <Space size={[4, 4]} wrap>
                {tags.map((x) => (
                  <Tag key={x} style={{ marginInlineEnd: 0 }}>{x}</Tag>
                ))}
              </Space>
            ),
          },
          { title: t('bot.kb.locale'), dataIndex: 'locale', width: 80 },
          { title: t('admin.updatedAt'), dataIndex: 'updatedAt', width: 120, render: (d: string) => formatDate(d, locale) },
          {
            title: t('bot.kb.enabled'),
            dataIndex: 'enabled',
            width: 80,
            render: (on: boolean, e) => <Switch size="small" checked={on} onChange={(v) => void toggle(e, v)} aria-label={t('bot.kb.enabled')} />,
          },
          {
            title: t('common.actions'),
            key: 'actions',
            width: 150,
            render: (_: unknown, e) => (
              <Space size={0}>
                <Button size="small" type="link" icon={<EditOutlined />} onClick={() => setEditing(e)}>{t('common.edit')}</Button>
                <Popconfirm title={t('bot.kb.deleteConfirm', { title: e.title.slice(0, 40) })} onConfirm={() => remove(e)} okText={t('common.delete')} okButtonProps={{ danger: true }} cancelText={t('common.cancel')}>
                  <Button size="small" type="link" danger icon={<DeleteOutlined />}>{t('common.delete')}</Button>
                </Popconfirm>
              </Space>
            ),
          },
        ]}
      />
    </>
  );

  const history = (
    <Table<KbImport>
      rowKey="id"
      size="small"
      loading={imports.loading}
      dataSource={imports.data ?? []}
      locale={{ emptyText: t('bot.kb.imports.empty') }}
      pagination={(imports.data?.length ?? 0) > 20 ? { pageSize: 20 } : false}
      columns={[
        { title: t('bot.kb.imports.file'), dataIndex: 'fileName' },
        { title: t('bot.kb.imports.format'), dataIndex: 'format', width: 90, render: (f: string) => <Tag>{f.toUpperCase()}</Tag> },
        {
          title: t('bot.kb.imports.status'),
          dataIndex: 'status',
          width: 110,
          render: (s: KbImport['status']) => <Tag color={s === 'done' ? 'green' : s === 'failed' ? 'red' : 'processing'}>{t(`bot.kb.imports.status.${s}`)}</Tag>,
        },
        { title: t('admin.import.created'), dataIndex: 'created', width: 80 },
        { title: t('admin.import.updated'), dataIndex: 'updated', width: 80 },
        { title: t('bot.kb.import.problems'), key: 'errors', width: 80, render: (_: unknown, i) => i.errors.length },
        { title: t('admin.createdAt'), dataIndex: 'createdAt', width: 180, render: (d: string) => formatDate(d, locale, true) },
      ]}
    />
  );

  return (
    <AdminPage
      title={t('nav.botKnowledge')}
      description={t('bot.kb.description')}
      error={list.error ? errorText(list.error) : null}
      testId="kb-page"
      extra={
        <>
          <Button icon={<UploadOutlined />} onClick={() => setImporting(true)} data-testid="kb-import">{t('bot.kb.import')}</Button>
          <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing(null)} data-testid="kb-create">{t('bot.kb.new')}</Button>
        </>
      }
    >
      <Tabs
        activeKey={tab}
        onChange={setTab}
        items={[
          { key: 'entries', label: t('bot.kb.tab.entries'), children: entries },
          { key: 'test', label: <span data-testid="kb-tab-test">{t('bot.kb.tab.test')}</span>, children: <RetrievalTest onOpen={(e) => setEditing(e)} /> },
          { key: 'imports', label: t('bot.kb.tab.imports'), children: history },
        ]}
      />
      <EntryDrawer open={editing !== undefined} entry={editing ?? null} categories={categories.data ?? []} onClose={() => setEditing(undefined)} onSaved={saved} />
      <KbImportModal open={importing} onClose={() => setImporting(false)} onImported={refresh} />
    </AdminPage>
  );
}
