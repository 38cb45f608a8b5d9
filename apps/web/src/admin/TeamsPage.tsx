import { useState } from 'react';
import { App, Avatar, Button, Popconfirm, Space, Table, Tooltip, Typography } from 'antd';
import { DeleteOutlined, EditOutlined, PlusOutlined } from '@ant-design/icons';
import type { Team } from '@huiliu/contracts';
import { api } from '../lib/api.ts';
import { useI18n } from '../lib/i18n.tsx';
import { useSession } from '../lib/session.tsx';
import { AdminPage } from './shared/AdminPage.tsx';
import { errorText } from './shared/errors.ts';
import { rowAttrs } from './shared/table.ts';
import { useLoad } from './shared/useLoad.ts';
import { formatDate, useWorkspaceUsers } from './shared/users.ts';
import { TeamModal } from './teams/TeamModal.tsx';

/** Teams group agents for routing and transfers ("send this to After-sales"). */
export default function TeamsPage() {
  const { t, locale } = useI18n();
  const session = useSession();
  const { message } = App.useApp();
  const manage = session.can('team.manage');
  const teams = useLoad(() => api<Team[]>('GET', '/teams'), []);
  const users = useWorkspaceUsers();
  // undefined: closed; null: creating; a team: editing it.
  const [editing, setEditing] = useState<Team | null | undefined>(undefined);

  const byId = new Map((users.data ?? []).map((u) => [u.id, u]));

  const remove = async (team: Team) => {
    try {
      await api('DELETE', `/teams/${team.id}`);
      teams.setData((list) => list?.filter((x) => x.id !== team.id));
      message.success(t('admin.deleted'));
    } catch (err) {
      message.error(errorText(err));
    }
  };

  const saved = (team: Team) => {
    teams.setData((list) => (list?.some((x) => x.id === team.id) ? list.map((x) => (x.id === team.id ? team : x)) : [...(list ?? []), team]));
    setEditing(undefined);
  };

  return (
    <AdminPage
      title={t('nav.teams')}
      description={t('admin.teams.description')}
      error={teams.error ? errorText(teams.error) : null}
      extra={manage && <Button type="primary" icon={<PlusOutlined />} onClick={() => setEditing(null)} data-testid="team-create">{t('admin.teams.new')}</Button>}
    >
      <Table<Team>
        rowKey="id"
        loading={teams.loading}
        dataSource={teams.data ?? []}
        pagination={false}
        onRow={(team) => rowAttrs({ 'data-testid': 'team-row', 'data-team-id': team.id })}
        locale={{ emptyText: t('admin.teams.empty') }}
        columns={[
          { title: t('common.name'), dataIndex: 'name', render: (name: string) => <Typography.Text strong>{name}</Typography.Text> },
          { title: t('admin.description'), dataIndex: 'description', render: (d: string) => d || <Typography.Text type="secondary">—</Typography.Text> },
          {
            title: t('admin.members'),
            key: 'members',
            render: (_, team) =>
              team.memberIds.length === 0 ? (
                <Typography.Text type="secondary">{t('admin.noMembers')}</Typography.Text>
              ) : (
                <Space>
                  <Avatar.Group max={{ count: 5 }} size="small">
                    {team.memberIds.map((id) => (
                      <Tooltip key={id} title={byId.get(id)?.name ?? id}>
                        <Avatar>{byId.get(id)?.name.slice(0, 1) ?? '?'}</Avatar>
                      </Tooltip>
                    ))}
                  </Avatar.Group>
                  <Typography.Text type="secondary">{t('admin.memberCount', { n: team.memberIds.length })}</Typography.Text>
                </Space>
              ),
          },
          { title: t('admin.createdAt'), dataIndex: 'createdAt', width: 120, render: (d: string) => formatDate(d, locale) },
          ...(manage
            ? [
                {
                  title: t('common.actions'),
                  key: 'actions',
                  width: 170,
                  render: (_: unknown, team: Team) => (
                    <Space size={4}>
                      <Button size="small" type="link" icon={<EditOutlined />} onClick={() => setEditing(team)} data-testid="team-edit">{t('common.edit')}</Button>
                      <Popconfirm
                        title={t('admin.teams.deleteConfirm', { name: team.name })}
                        description={t('admin.teams.deleteHint')}
                        onConfirm={() => remove(team)}
                        okText={t('common.delete')}
                        okButtonProps={{ danger: true }}
                        cancelText={t('common.cancel')}
                      >
                        <Button size="small" type="link" danger icon={<DeleteOutlined />} data-testid="team-delete">{t('common.delete')}</Button>
                      </Popconfirm>
                    </Space>
                  ),
                },
              ]
            : []),
        ]}
      />
      <TeamModal open={editing !== undefined} team={editing ?? null} users={users.data} onClose={() => setEditing(undefined)} onSaved={saved} />
    </AdminPage>
  );
}
