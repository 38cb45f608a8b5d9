import { useCallback, useRef, useState } from 'react';
import { Avatar, Badge, Button, Flex, Input, Select, Space, Table, Tag, Tooltip, Typography } from 'antd';
import { CloseCircleFilled, LeftOutlined, PlusOutlined, RightOutlined, SearchOutlined, UploadOutlined } from '@ant-design/icons';
import { Route, Routes, useNavigate, useParams } from 'react-router';
import type { Contact } from '@huiliu/contracts';
import { api, qs } from '../lib/api.ts';
import { useI18n } from '../lib/i18n.tsx';
import { useSession } from '../lib/session.tsx';
import { AdminPage } from './shared/AdminPage.tsx';
import { errorText } from './shared/errors.ts';
import { rowAttrs } from './shared/table.ts';
import { useDebounced } from './shared/useDebounced.ts';
import { useLoad } from './shared/useLoad.ts';
import { formatDate } from './shared/users.ts';
import { attributeText, visibleAttributes } from './contacts/attributes.ts';
import { ContactDrawer } from './contacts/ContactDrawer.tsx';
import { ImportModal } from './contacts/ImportModal.tsx';

/**
 * `/contacts` and `/contacts/:id` (the drawer open on one contact, so the workbench can link to it).
 * Agents use this page too, so every action checks the viewer's permissions.
 */
export default function ContactsPage() {
  return (
    <Routes>
      <Route path=":id?" element={<ContactsView />} />
    </Routes>
  );
}

interface Page {
  items: Contact[];
  nextCursor: string | null;
}

function ContactsView() {
  const { t, locale } = useI18n();
  const session = useSession();
  const navigate = useNavigate();
  const { id } = useParams();
  const manage = session.can('contact.manage');
  const [text, setText] = useState('');
  const q = useDebounced(text.trim(), 300);
  const [tag, setTag] = useState<string | null>(null);
  const [limit, setLimit] = useState(20);
  const [creating, setCreating] = useState(false);
  const [importOpen, setImportOpen] = useState(false);
  const [importBusy, setImportBusy] = useState(false);
  const [version, setVersion] = useState(0);

  // The API pages with an opaque cursor: remember the cursor of every page seen so "previous" works. The
  // trail belongs to one search; a new search, tag or page size starts again from the first page.
  const key = JSON.stringify([q, tag, limit]);
  const [trail, setTrail] = useState<{ key: string; cursors: (string | undefined)[]; index: number }>({ key, cursors: [undefined], index: 0 });
  const nav = trail.key === key ? trail : { key, cursors: [undefined], index: 0 };
  const pageIndex = nav.index;
  const cursor = nav.cursors[nav.index];
  const page = useLoad(() => api<Page>('GET', `/contacts${qs({ q, tag, limit, cursor })}`), [q, tag, limit, cursor, version]);

  // The pager sits under the table: a new page should be read from its first row, not its last.
  const top = useRef<HTMLDivElement>(null);
  const toTop = () => top.current?.scrollIntoView({ block: 'start' });
  const next = () => {
    const nextCursor = page.data?.nextCursor;
    if (nextCursor) setTrail({ key, cursors: [...nav.cursors.slice(0, nav.index + 1), nextCursor], index: nav.index + 1 });
    toTop();
  };
  const prev = () => {
    setTrail({ ...nav, index: Math.max(0, nav.index - 1) });
    toTop();
  };

  const drawerId = creating ? 'new' : (id ?? null);
  const closeDrawer = () => {
    setCreating(false);
    if (id) navigate('/contacts');
  };
  const onSaved = (c: Contact, created: boolean) => {
    if (created) {
      setCreating(false);
      // A new contact is the newest: it belongs on the first page.
      if (pageIndex === 0 && !q && !tag) page.setData((p) => p && { ...p, items: [c, ...p.items] });
      navigate(`/contacts/${c.id}`);
    } else {
      page.setData((p) => p && { ...p, items: p.items.map((x) => (x.id === c.id ? c : x)) });
    }
  };
  // Imported contacts are the newest: show the first page again, fetched afresh.
  const onImported = useCallback(() => {
    setTrail({ key, cursors: [undefined], index: 0 });
    setVersion((v) => v + 1);
  }, [key]);

  return (
    <AdminPage
      title={t('nav.contacts')}
      description={t('admin.contacts.description')}
      error={page.error ? errorText(page.error) : null}
      extra={
        manage && (
          <>
            <Badge dot={importBusy} status="processing">
              <Button icon={<UploadOutlined />} onClick={() => setImportOpen(true)} data-testid="contact-import">
                {t(importBusy ? 'admin.import.inProgress' : 'admin.import.button')}
              </Button>
            </Badge>
            <Button type="primary" icon={<PlusOutlined />} onClick={() => setCreating(true)} data-testid="contact-create">{t('admin.contacts.new')}</Button>
          </>
        )
      }
    >
      <Flex ref={top} gap={12} wrap align="center" style={{ marginBottom: 12, scrollMarginTop: 24 }}>
        <Input
          allowClear
          prefix={<SearchOutlined />}
          value={text}
          onChange={(e) => setText(e.target.value)}
          placeholder={t('admin.contacts.search')}
          style={{ width: 340 }}
          data-testid="contact-search"
        />
        {tag && (
          <Tag color="blue" closable closeIcon={<CloseCircleFilled />} onClose={() => setTag(null)}>
            {t('admin.contacts.tagFilter', { tag })}
          </Tag>
        )}
      </Flex>
      <Table<Contact>
        rowKey="id"
        loading={page.loading}
        dataSource={page.data?.items ?? []}
        pagination={false}
        locale={{ emptyText: t(q || tag ? 'admin.noMatch' : 'admin.contacts.empty') }}
        onRow={(c) => ({ ...rowAttrs({ 'data-testid': 'contact-row', 'data-contact-id': c.id }), onClick: () => navigate(`/contacts/${c.id}`), style: { cursor: 'pointer' } })}
        columns={[
          {
            title: t('admin.contacts.name'),
            key: 'name',
            render: (_, c) => (
              <Space>
                <Avatar size="small" style={{ background: '#87d068' }}>{(c.name ?? '?').slice(0, 1)}</Avatar>
                {c.name ? <Typography.Text strong>{c.name}</Typography.Text> : <Typography.Text type="secondary">{t('admin.contacts.unnamed')}</Typography.Text>}
              </Space>
            ),
          },
          { title: t('admin.contacts.email'), dataIndex: 'email', render: (v: string | null) => v ?? <Typography.Text type="secondary">—</Typography.Text> },
          { title: t('admin.contacts.phone'), dataIndex: 'phone', width: 170, render: (v: string | null) => v ?? <Typography.Text type="secondary">—</Typography.Text> },
          {
            title: t('admin.contacts.tags'),
            dataIndex: 'tags',
            render: (tags: string[]) => (
              <Space size={[4, 4]} wrap>
                {tags.map((x) => (
                  <Tooltip key={x} title={t('admin.contacts.filterByTag')}>
                    <Tag
                      style={{ cursor: 'pointer', marginInlineEnd: 0 }}
                      onClick={(e) => {
                        // Filter by the tag without opening the contact.
                        e.stopPropagation();
                        setTag(x);
                      }}
                    >
                      {x}
                    </Tag>
                  </Tooltip>
                ))}
              </Space>
            ),
          },
          {
            title: t('admin.contacts.attributes'),
            dataIndex: 'attributes',
            render: (a: Record<string, unknown>) => {
              const entries = visibleAttributes(a);
              if (entries.length === 0) return <Typography.Text type="secondary">—</Typography.Text>;
              const shown = entries.slice(0, 2).map(([k, v]) => `${k}: ${attributeText(v)}`).join(' · ');
              return (
                <Typography.Text type="secondary" ellipsis style={{ maxWidth: 240 }}>
                  {shown}
                  {entries.length > 2 && ` +${entries.length - 2}`}
                </Typography.Text>
              );
            },
          },
          { title: t('admin.createdAt'), dataIndex: 'createdAt', width: 120, render: (d: string) => formatDate(d, locale) },
        ]}
      />
      <Flex justify="flex-end" align="center" gap={8} style={{ marginTop: 12 }}>
        <Typography.Text type="secondary">{t('admin.contacts.page', { n: pageIndex + 1 })}</Typography.Text>
        <Button icon={<LeftOutlined />} disabled={pageIndex === 0 || page.loading} onClick={prev} data-testid="contact-prev">{t('admin.prev')}</Button>
        <Button disabled={!page.data?.nextCursor || page.loading} onClick={next} data-testid="contact-next">
          {t('admin.next')} <RightOutlined />
        </Button>
        <Select
          value={limit}
          onChange={setLimit}
          style={{ width: 120 }}
          options={[20, 50, 100].map((n) => ({ value: n, label: t('admin.perPage', { n }) }))}
        />
      </Flex>
      <ContactDrawer contactId={drawerId} onClose={closeDrawer} onSaved={onSaved} />
      <ImportModal open={importOpen} onClose={() => setImportOpen(false)} onImported={onImported} onBusyChange={setImportBusy} />
    </AdminPage>
  );
}
