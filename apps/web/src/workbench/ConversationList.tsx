import { useMemo, useRef } from 'react';
import { Alert, Button, Empty, Select, Skeleton, Tabs, Tooltip } from 'antd';
import { LockOutlined } from '@ant-design/icons';
import type { ConversationStatus } from '@huiliu/contracts';
import { draftConversationIds } from '../lib/drafts.ts';
import { formatRelative } from '../lib/format.ts';
import { useI18n } from '../lib/i18n.tsx';
import { useSession } from '../lib/session.tsx';
import { ChannelIcon, PersonAvatar, PriorityFlag, StatusTag, useNow } from './bits.tsx';
import { useDirectory } from './hooks/useDirectory.tsx';
import type { ConversationList as ListState, Preview } from './hooks/useConversationList.ts';
import type { AssigneeTab, Filters, ListItem } from './types.ts';

const STATUSES: Array<ConversationStatus | 'all'> = ['open', 'pending', 'snoozed', 'resolved', 'all'];

interface Props {
  list: ListState;
  filters: Filters;
  onFilters: (f: Filters) => void;
  openId: string | null;
  onOpen: (id: string) => void;
}

export function ConversationList({ list, filters, onFilters, openId, onOpen }: Props) {
  const { t } = useI18n();
  const { user } = useSession();
  const dir = useDirectory();
  const now = useNow();
  const scroller = useRef<HTMLDivElement>(null);

  // Drafts live in localStorage; re-read whenever the agent switches conversation (they type in the open one).
  const drafts = useMemo(() => draftConversationIds(user.id), [user.id, openId, list.items]);

  // Tags to filter by: the ones seen on loaded conversations, plus the active one.
  const tagOptions = useMemo(() => {
    const tags = new Set<string>(list.items.flatMap((c) => c.tags));
    if (filters.tag) tags.add(filters.tag);
    return [...tags].sort().map((tag) => ({ value: tag, label: tag }));
  }, [list.items, filters.tag]);

  const set = (patch: Partial<Filters>) => onFilters({ ...filters, ...patch });
  const TEST_ID: Record<AssigneeTab, string> = { me: 'filter-mine', unassigned: 'filter-unassigned', any: 'filter-all' };
  const tab = (key: AssigneeTab, label: string) => ({ key, label: <span data-testid={TEST_ID[key]}>{label}</span> });

  const onScroll = () => {
    const el = scroller.current;
    if (el && list.hasMore && !list.loadingMore && el.scrollTop + el.clientHeight > el.scrollHeight - 120) list.loadMore();
  };

  return (
    <>
      <div className="wb-list-head">
        <Tabs
          size="small"
          activeKey={filters.assignee}
          onChange={(k) => set({ assignee: k as AssigneeTab })}
          items={[tab('me', t('filter.mine')), tab('unassigned', t('filter.unassigned')), tab('any', t('filter.all'))]}
        />
      </div>
      <div className="wb-filters">
        <Select<ConversationStatus | 'all'>
          size="small"
          value={filters.status}
          onChange={(status) => set({ status })}
          options={STATUSES.map((s) => ({ value: s, label: t(s === 'all' ? 'filter.anyStatus' : `status.${s}`) }))}
          data-testid="filter-status"
          aria-label={t('filter.status')}
        />
        <Select
          size="small"
          allowClear
          placeholder={t('filter.inbox')}
          value={filters.inboxId}
          onChange={(inboxId?: string) => set({ inboxId })}
          options={dir.inboxes.map((i) => ({ value: i.id, label: i.name }))}
          data-testid="filter-inbox"
          popupMatchSelectWidth={false}
        />
        <Select
          size="small"
          allowClear
          placeholder={t('filter.team')}
          value={filters.teamId}
          onChange={(teamId?: string) => set({ teamId })}
          options={dir.teams.map((tm) => ({ value: tm.id, label: tm.name }))}
          data-testid="filter-team"
          popupMatchSelectWidth={false}
        />
        <Select
          size="small"
          allowClear
          showSearch
          placeholder={t('filter.tag')}
          value={filters.tag}
          onChange={(tag?: string) => set({ tag })}
          options={tagOptions}
          notFoundContent={t('filter.noTags')}
          data-testid="filter-tag"
          popupMatchSelectWidth={false}
        />
      </div>
      <div className="wb-list" data-testid="conv-list" ref={scroller} onScroll={onScroll} aria-busy={list.loading}>
        {list.error && (
          <Alert type="error" showIcon style={{ margin: 12 }} title={list.error} action={<Button size="small" onClick={list.reload}>{t('action.retry')}</Button>} />
        )}
        {list.loading && list.items.length === 0 && <Skeleton active avatar paragraph={{ rows: 2 }} style={{ padding: 16 }} />}
        {!list.loading && !list.error && list.items.length === 0 && (
          <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t(filters.assignee === 'me' ? 'list.emptyMine' : 'list.empty')} style={{ marginTop: 48 }} />
        )}
        {list.items.map((c) => (
          <Row key={c.id} c={c} open={c.id === openId} now={now} preview={list.previews.get(c.id)} draft={c.id !== openId && drafts.has(c.id)} showStatus={filters.status === 'all'} onOpen={onOpen} />
        ))}
        {list.hasMore && (
          <div style={{ textAlign: 'center', padding: 12 }}>
            <Button size="small" loading={list.loadingMore} onClick={list.loadMore}>{t('list.loadMore')}</Button>
          </div>
        )}
      </div>
    </>
  );
}

function Row({ c, open, now, preview, draft, showStatus, onOpen }: { c: ListItem; open: boolean; now: number; preview: Preview | undefined; draft: boolean; showStatus: boolean; onOpen: (id: string) => void }) {
  const { t, locale } = useI18n();
  const dir = useDirectory();
  const inbox = dir.inboxById.get(c.inboxId);
  const assignee = c.assigneeId ? dir.userById.get(c.assigneeId) : undefined;
  const name = c.contact.name ?? t('contact.anonymous');
  return (
    <div
      className={`wb-item${open ? ' is-open' : ''}${c.unreadCount > 0 ? ' has-unread' : ''}`}
      data-testid="conv-item"
      data-conversation-id={c.id}
      data-display-id={c.displayId}
      data-status={c.status}
      role="button"
      tabIndex={0}
      aria-current={open ? 'true' : undefined}
      onClick={() => onOpen(c.id)}
      onKeyDown={(e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          onOpen(c.id);
        }
      }}
    >
      <PersonAvatar id={c.contactId} name={c.contact.name} size={36} />
      <div className="wb-item-body">
        <div className="wb-item-row">
          <span className="wb-item-name" title={name}>{name}</span>
          <span className="wb-item-time" title={new Date(c.lastActivityAt).toLocaleString(locale)}>{formatRelative(c.lastActivityAt, locale, now)}</span>
        </div>
        <div className="wb-item-row">
          <span className="wb-item-preview">
            {draft && <span className="wb-draft-mark">[{t('list.draft')}]</span>}
            {preview ? (
              <>
                {preview.private && <LockOutlined style={{ marginRight: 4, color: '#ad6800' }} />}
                {!preview.incoming && !preview.private && <span>{t('list.you')}</span>}
                {preview.text}
              </>
            ) : (
              inbox?.name ?? ''
            )}
          </span>
          {c.unreadCount > 0 && (
            <span className="wb-badge" data-testid="conv-unread" aria-label={t('list.unread', { count: c.unreadCount })}>
              {c.unreadCount > 99 ? '99+' : c.unreadCount}
            </span>
          )}
        </div>
        <div className="wb-item-row wb-item-meta">
          <span>#{c.displayId}</span>
          <ChannelIcon type={inbox?.channelType} />
          <PriorityFlag priority={c.priority} />
          {showStatus && <StatusTag status={c.status} />}
          <span style={{ flex: 1 }} />
          {assignee ? (
            <Tooltip title={t('list.assignedTo', { name: assignee.name })}>
              <span data-testid="conv-assignee" data-user-id={assignee.id}>
                <PersonAvatar id={assignee.id} name={assignee.name} size={18} src={assignee.avatarUrl} />
              </span>
            </Tooltip>
          ) : (
            c.assigneeId === null && <span style={{ fontSize: 12 }}>{t('list.unassigned')}</span>
          )}
        </div>
      </div>
    </div>
  );
}
