import { useState } from 'react';
import { Button, Select, Space, Tag, Tooltip, Typography } from 'antd';
import { CheckOutlined, ClockCircleOutlined, RedoOutlined, UserAddOutlined, UserDeleteOutlined } from '@ant-design/icons';
import type { Contact, Conversation, Priority } from '@huiliu/contracts';
import { api } from '../lib/api.ts';
import { formatTime } from '../lib/format.ts';
import { useI18n } from '../lib/i18n.tsx';
import { useSession } from '../lib/session.tsx';
import { ChannelIcon, PersonAvatar, priorityColor, StatusTag } from './bits.tsx';
import { useDirectory } from './hooks/useDirectory.tsx';
import { useToastError } from './hooks/useToastError.ts';
import { SnoozeButton } from './SnoozeButton.tsx';

const PRIORITIES: Priority[] = ['none', 'low', 'medium', 'high', 'urgent'];

interface Props {
  conversation: Conversation;
  contact: Contact | null;
  onChange: (c: Conversation) => void;
}

/**
 * Who and what the conversation is, and everything an agent does to it: take it, hand it on, resolve,
 * reopen, snooze, set team, priority and tags. Each action applies the server's answer at once; the
 * `conversation.updated` event brings the same state to every other open console.
 */
export function ConversationHeader({ conversation: c, contact, onChange }: Props) {
  const { t, locale } = useI18n();
  const { user, can } = useSession();
  const dir = useDirectory();
  const toastError = useToastError();
  const [busy, setBusy] = useState<string | null>(null);
  const inbox = dir.inboxById.get(c.inboxId);
  const canAssign = can('conversation.assign');
  const canManage = can('conversation.manage');

  const run = async (key: string, request: () => Promise<Conversation>) => {
    setBusy(key);
    try {
      onChange(await request());
    } catch (e) {
      toastError(e);
    } finally {
      setBusy(null);
    }
  };
  const assign = (assigneeId: string | null, key: string) => run(key, () => api<Conversation>('POST', `/conversations/${c.id}/assign`, { assigneeId }));
  const patch = (body: Record<string, unknown>, key: string) => run(key, () => api<Conversation>('PATCH', `/conversations/${c.id}`, body));

  const activeUsers = dir.users.filter((u) => u.status === 'active' || u.id === c.assigneeId);
  const assignee = c.assigneeId ? dir.userById.get(c.assigneeId) : undefined;

  return (
    <div className="wb-header" data-testid="conv-header" data-conversation-id={c.id}>
      <div className="wb-header-top">
        <Typography.Title level={5} className="wb-header-title" data-testid="conv-title" title={`#${c.displayId} ${contact?.name ?? ''}`}>
          <span style={{ color: 'rgba(0,0,0,.45)', marginRight: 6 }}>#{c.displayId}</span>
          {contact?.name ?? t('contact.anonymous')}
        </Typography.Title>
        <StatusTag status={c.status} testId="conv-status" />
        <div className="wb-header-actions">
          {canAssign && c.assigneeId !== user.id && (
            <Button size="small" icon={<UserAddOutlined />} loading={busy === 'me'} onClick={() => void assign(user.id, 'me')} data-testid="action-assign-me">
              {t('action.assignMe')}
            </Button>
          )}
          {canAssign && c.assigneeId && (
            <Button size="small" icon={<UserDeleteOutlined />} loading={busy === 'unassign'} onClick={() => void assign(null, 'unassign')} data-testid="action-unassign">
              {t('action.unassign')}
            </Button>
          )}
          {canManage && (c.status === 'open' || c.status === 'pending') && (
            <SnoozeButton disabled={busy !== null} loading={busy === 'snooze'} onSnooze={(until) => void patch({ status: 'snoozed', snoozedUntil: until.toISOString() }, 'snooze')} />
          )}
          {canManage && c.status !== 'open' && (
            <Button size="small" icon={<RedoOutlined />} loading={busy === 'reopen'} onClick={() => void patch({ status: 'open' }, 'reopen')} data-testid="action-reopen">
              {t('action.reopen')}
            </Button>
          )}
          {canManage && c.status !== 'resolved' && (
            <Button size="small" type="primary" icon={<CheckOutlined />} loading={busy === 'resolve'} onClick={() => void patch({ status: 'resolved' }, 'resolve')} data-testid="action-resolve">
              {t('action.resolve')}
            </Button>
          )}
        </div>
      </div>
      <div className="wb-header-controls">
        <Tooltip title={inbox ? `${t('header.inbox')}: ${inbox.name}` : undefined}>
          <Space size={4} className="wb-header-inbox">
            <ChannelIcon type={inbox?.channelType} />
            <span>{inbox?.name}</span>
          </Space>
        </Tooltip>
        {inbox && inbox.channelType !== 'web' && <Tag bordered={false} color="blue" style={{ marginInlineEnd: 0, fontSize: 11 }} data-testid="conv-channel" data-channel={inbox.channelType}>{t(`channel.${inbox.channelType}`)}</Tag>}
        {c.status === 'snoozed' && c.snoozedUntil && (
          <Typography.Text style={{ fontSize: 12, color: '#722ed1' }} data-testid="conv-snoozed-until">
            <ClockCircleOutlined /> {t('header.snoozedUntil', { time: formatTime(c.snoozedUntil, locale) })}
          </Typography.Text>
        )}
        <Tooltip title={t('header.assignee')}>
          <Select
            size="small"
            style={{ width: 150 }}
            value={c.assigneeId ?? undefined}
            placeholder={t('header.assignTo')}
            disabled={!canAssign}
            loading={busy === 'assign'}
            showSearch={{ optionFilterProp: 'search' }}
            onChange={(id: string) => void assign(id, 'assign')}
            data-testid="action-assign-select"
            aria-label={t('header.assignee')}
            options={activeUsers.map((u) => ({
              value: u.id,
              search: `${u.name} ${u.email}`,
              label: (
                <Space size={6}>
                  <PersonAvatar id={u.id} name={u.name} size={18} src={u.avatarUrl} />
                  {u.id === user.id ? t('header.me', { name: u.name }) : u.name}
                </Space>
              ),
            }))}
            labelRender={() =>
              assignee ? (
                <Space size={6}>
                  <PersonAvatar id={assignee.id} name={assignee.name} size={18} src={assignee.avatarUrl} />
                  {assignee.name}
                </Space>
              ) : (
                <span>{c.assigneeId ?? ''}</span>
              )
            }
          />
        </Tooltip>
        <Tooltip title={t('header.team')}>
          <Select
            size="small"
            style={{ width: 130 }}
            allowClear
            value={c.teamId ?? undefined}
            placeholder={t('header.noTeam')}
            disabled={!canManage}
            loading={busy === 'team'}
            onChange={(teamId?: string) => void patch({ teamId: teamId ?? null }, 'team')}
            options={dir.teams.map((tm) => ({ value: tm.id, label: tm.name }))}
            data-testid="action-team"
            aria-label={t('header.team')}
          />
        </Tooltip>
        <Tooltip title={t('header.priority')}>
          <Select<Priority>
            size="small"
            style={{ width: 100 }}
            value={c.priority}
            disabled={!canManage}
            loading={busy === 'priority'}
            onChange={(priority) => void patch({ priority }, 'priority')}
            data-testid="action-priority"
            aria-label={t('header.priority')}
            options={PRIORITIES.map((p) => ({ value: p, label: <span style={{ color: p === 'none' ? undefined : priorityColor(p) }}>{t(`priority.${p}`)}</span> }))}
          />
        </Tooltip>
        <Select
          size="small"
          mode="tags"
          style={{ flex: 1, minWidth: 140 }}
          value={c.tags}
          placeholder={t('header.tags')}
          disabled={!canManage}
          loading={busy === 'tags'}
          onChange={(tags: string[]) => void patch({ tags: tags.map((x) => x.trim()).filter(Boolean) }, 'tags')}
          tokenSeparators={[',', '，']}
          open={false}
          suffixIcon={null}
          data-testid="conv-tags"
          aria-label={t('header.tags')}
        />
      </div>
    </div>
  );
}
