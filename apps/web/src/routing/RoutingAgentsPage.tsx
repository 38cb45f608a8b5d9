import { useCallback, useMemo, useState } from 'react';
import { Avatar, Button, Input, Select, Table, Tag, Typography } from 'antd';
import { EditOutlined, SearchOutlined } from '@ant-design/icons';
import type { ServerPayload } from '@huiliu/client';
import { api } from '../lib/api.ts';
import { colorFor, initials } from '../lib/format.ts';
import { useI18n } from '../lib/i18n.tsx';
import { useServerEvent } from '../lib/realtime.ts';
import { AgentDrawer } from './agents/AgentDrawer.tsx';
import { useUsers } from './shared/directory.ts';
import { splitApiError } from './shared/issues.ts';
import { LoadBar, StatusBadge } from './shared/presence.tsx';
import { RoutingPage } from './shared/RoutingPage.tsx';
import { STATUS_ORDER, type AgentPresence, type PresenceStatus } from './shared/types.ts';
import { useLoad } from './shared/useLoad.ts';

/** Capacity and skills decide who routing may pick; this page is where a supervisor sets them. */
export default function RoutingAgentsPage() {
  const { t, locale } = useI18n();
  const agents = useLoad(() => api<AgentPresence[]>('GET', '/presence'), []);
  const users = useUsers();
  const [editing, setEditing] = useState<AgentPresence | null>(null);
  const [query, setQuery] = useState('');
  const [status, setStatus] = useState<PresenceStatus | undefined>(undefined);

  // Status and load change while the page is open; keep the table honest without reloading it.
  const onPresence = useCallback(
    (p: ServerPayload<'presence.updated'>) => {
      agents.setData((list) => list?.map((a) => (a.userId === p.userId ? { ...a, status: p.status, capacity: p.capacity, load: p.load } : a)));
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [agents.setData],
  );
  useServerEvent('presence.updated', onPresence);

  const emails = useMemo(() => new Map((users.data ?? []).map((u) => [u.id, u])), [users.data]);
  const knownSkills = useMemo(() => [...new Set((agents.data ?? []).flatMap((a) => Object.keys(a.skills)))].sort(), [agents.data]);
  const rows = useMemo(() => {
    const q = query.trim().toLowerCase();
    return (agents.data ?? [])
      .filter((a) => !status || a.status === status)
      .filter((a) => !q || a.name.toLowerCase().includes(q) || (emails.get(a.userId)?.email ?? '').toLowerCase().includes(q) || Object.keys(a.skills).some((s) => s.toLowerCase().includes(q)))
      .sort((a, b) => STATUS_ORDER[a.status] - STATUS_ORDER[b.status] || a.name.localeCompare(b.name, locale));
  }, [agents.data, query, status, emails, locale]);

  return (
    <RoutingPage
      title={t('nav.routingAgents')}
      description={t('routing.agents.description')}
      error={agents.error ? splitApiError(agents.error).rest : null}
      extra={
        <>
          <Input allowClear prefix={<SearchOutlined />} placeholder={t('routing.agents.search')} value={query} onChange={(e) => setQuery(e.target.value)} style={{ width: 240 }} data-testid="routing-agent-search" />
          <Select<PresenceStatus>
            allowClear
            placeholder={t('routing.agents.anyStatus')}
            value={status}
            onChange={setStatus}
            style={{ width: 140 }}
            options={(['online', 'busy', 'away', 'offline'] as const).map((s) => ({ value: s, label: <StatusBadge status={s} /> }))}
          />
        </>
      }
    >
      <Table<AgentPresence>
        rowKey="userId"
        loading={agents.loading && !agents.data}
        dataSource={rows}
        pagination={rows.length > 50 ? { pageSize: 50 } : false}
        onRow={(a) => ({ 'data-testid': 'routing-agent-row', 'data-user-id': a.userId }) as React.HTMLAttributes<HTMLElement>}
        columns={[
          {
            title: t('routing.agents.agent'),
            key: 'agent',
            render: (_, a) => {
              const u = emails.get(a.userId);
              return (
                <span style={{ display: 'flex', alignItems: 'center', gap: 10 }}>
                  <Avatar size="small" style={{ background: colorFor(a.userId) }}>{initials(a.name)}</Avatar>
                  <span>
                    <Typography.Text strong>{a.name}</Typography.Text>
                    {u && u.status !== 'active' && <Tag style={{ marginInlineStart: 8 }}>{t('routing.agents.deactivated')}</Tag>}
                    {u && <div><Typography.Text type="secondary" style={{ fontSize: 12 }}>{u.email}</Typography.Text></div>}
                  </span>
                </span>
              );
            },
          },
          { title: t('routing.agents.status'), dataIndex: 'status', width: 110, render: (s: PresenceStatus) => <StatusBadge status={s} /> },
          { title: t('routing.agents.load'), key: 'load', width: 180, render: (_, a) => <LoadBar load={a.load} capacity={a.capacity} /> },
          {
            title: t('routing.agents.channelCaps'),
            dataIndex: 'channelCapacities',
            render: (c: Record<string, number>) =>
              Object.keys(c).length === 0 ? (
                <Typography.Text type="secondary">—</Typography.Text>
              ) : (
                <span style={{ display: 'inline-flex', flexWrap: 'wrap', gap: 4 }}>
                  {Object.entries(c).map(([ch, n]) => <Tag key={ch} style={{ marginInlineEnd: 0 }}>{t(`routing.channel.${ch}`)} ≤ {n}</Tag>)}
                </span>
              ),
          },
          {
            title: t('routing.agents.skills'),
            dataIndex: 'skills',
            render: (s: Record<string, number>) =>
              Object.keys(s).length === 0 ? (
                <Typography.Text type="secondary">{t('routing.agents.noSkills')}</Typography.Text>
              ) : (
                <span style={{ display: 'inline-flex', flexWrap: 'wrap', gap: 4 }} data-testid="routing-agent-skills">
                  {Object.entries(s)
                    .sort((a, b) => b[1] - a[1])
                    .map(([skill, level]) => (
                      <Tag key={skill} color="blue" style={{ marginInlineEnd: 0 }}>{skill} · {level}</Tag>
                    ))}
                </span>
              ),
          },
          {
            title: t('common.actions'),
            key: 'actions',
            width: 100,
            render: (_, a) => <Button size="small" type="link" icon={<EditOutlined />} onClick={() => setEditing(a)} data-testid="routing-agent-edit">{t('common.edit')}</Button>,
          },
        ]}
      />
      <AgentDrawer
        agent={editing}
        knownSkills={knownSkills}
        onClose={() => setEditing(null)}
        onSaved={(saved) => {
          agents.setData((list) => list?.map((a) => (a.userId === saved.userId ? saved : a)));
          setEditing(null);
        }}
      />
    </RoutingPage>
  );
}
