import { useMemo, useState } from 'react';
import { App, Avatar, Button, Flex, Input, Popconfirm, Segmented, Select, Space, Table, Tag, Tooltip, Typography } from 'antd';
import { KeyOutlined, SearchOutlined, StopOutlined, UndoOutlined, UserAddOutlined } from '@ant-design/icons';
import type { Role, User } from '@huiliu/contracts';
import { api } from '../lib/api.ts';
import { useI18n } from '../lib/i18n.tsx';
import { useSession } from '../lib/session.tsx';
import { AdminPage } from './shared/AdminPage.tsx';
import { errorText } from './shared/errors.ts';
import { rowAttrs } from './shared/table.ts';
import { useLoad } from './shared/useLoad.ts';
import { formatDate, roleLabel } from './shared/users.ts';
import { InviteModal } from './users/InviteModal.tsx';
import { TokenLink } from './users/TokenLink.tsx';

type StatusFilter = 'all' | User['status'];
const STATUS_COLOR: Record<User['status'], string> = { active: 'green', invited: 'gold', deactivated: 'default' };

/** The people of the workspace: invite, change role, deactivate / reactivate, issue a password reset link. */
export default function UsersPage() {
  const { t, locale } = useI18n();
  const session = useSession();
  const { message, modal } = App.useApp();
  const manage = session.can('user.manage');
  const users = useLoad(() => api<User[]>('GET', '/users'), []);
  const roles = useLoad(() => api<Role[]>('GET', '/roles'), []);
  const [inviteOpen, setInviteOpen] = useState(false);
  const [filter, setFilter] = useState<StatusFilter>('all');
  const [q, setQ] = useState('');
  const [busyId, setBusyId] = useState<string | null>(null);

  const replace = (u: User) => users.setData((list) => list?.map((x) => (x.id === u.id ? u : x)));

  /** Runs one row action, keeps the row's buttons busy meanwhile, and reports the server's refusal verbatim. */
  const act = async (user: User, run: () => Promise<void>) => {
    setBusyId(user.id);
    try {
      await run();
    } catch (err) {
      message.error(errorText(err));
    } finally {
      setBusyId(null);
    }
  };

  const changeRole = (user: User, role: string) =>
    modal.confirm({
      title: t('admin.users.role.confirm', { name: user.name, role: roleLabel(t, role) }),
      content: t(`admin.role.${role}.desc`) === `admin.role.${role}.desc` ? undefined : t(`admin.role.${role}.desc`),
      okText: t('admin.users.role.change'),
      cancelText: t('common.cancel'),
      onOk: () =>
        act(user, async () => {
          replace(await api<User>('PATCH', `/users/${user.id}`, { role }));
          message.success(t('common.saved'));
        }),
    });

  const setActive = (user: User, active: boolean) =>
    act(user, async () => {
      replace(await api<User>('POST', `/users/${user.id}/${active ? 'reactivate' : 'deactivate'}`));
      message.success(t(active ? 'admin.users.reactivated' : 'admin.users.deactivated', { name: user.name }));
    });

  const issueReset = (user: User) =>
    act(user, async () => {
      const r = await api<{ resetToken: string; expiresAt: string }>('POST', `/users/${user.id}/password-reset`);
      modal.info({
        title: t('admin.users.reset.title'),
        width: 560,
        icon: <KeyOutlined />,
        okText: t('admin.done'),
        content: <TokenLink kind="reset" token={r.resetToken} expiresAt={r.expiresAt} who={user.email} testId="user-reset-result" />,
      });
    });

  const rows = useMemo(() => {
    const needle = q.trim().toLowerCase();
    return (users.data ?? []).filter(
      (u) => (filter === 'all' || u.status === filter) && (!needle || u.name.toLowerCase().includes(needle) || u.email.toLowerCase().includes(needle)),
    );
  }, [users.data, filter, q]);

  const count = (s: User['status']) => (users.data ?? []).filter((u) => u.status === s).length;

  return (
    <AdminPage
      title={t('nav.users')}
      description={t('admin.users.description')}
      error={users.error ? errorText(users.error) : null}
      extra={
        manage && (
          <Button type="primary" icon={<UserAddOutlined />} onClick={() => setInviteOpen(true)} data-testid="user-invite">
            {t('admin.users.invite')}
          </Button>
        )
      }
    >
      <Flex gap={12} wrap style={{ marginBottom: 12 }}>
        <Input allowClear prefix={<SearchOutlined />} placeholder={t('admin.users.search')} style={{ width: 280 }} onChange={(e) => setQ(e.target.value)} data-testid="user-search" />
        <Segmented<StatusFilter>
          value={filter}
          onChange={setFilter}
          options={[
            { value: 'all', label: t('admin.all') },
            { value: 'active', label: `${t('admin.users.status.active')} ${count('active')}` },
            { value: 'invited', label: `${t('admin.users.status.invited')} ${count('invited')}` },
            { value: 'deactivated', label: `${t('admin.users.status.deactivated')} ${count('deactivated')}` },
          ]}
        />
      </Flex>
      <Table<User>
        rowKey="id"
        loading={users.loading}
        dataSource={rows}
        pagination={rows.length > 50 ? { pageSize: 50 } : false}
        onRow={(u) => rowAttrs({ 'data-testid': 'user-row', 'data-user-id': u.id, 'data-user-email': u.email })}
        columns={[
          {
            title: t('admin.users.name'),
            key: 'name',
            render: (_, u) => (
              <Space>
                <Avatar size="small" src={u.avatarUrl ?? undefined} style={{ background: u.status === 'deactivated' ? '#bfbfbf' : '#1677ff' }}>
                  {u.name.slice(0, 1)}
                </Avatar>
                <Typography.Text delete={u.status === 'deactivated'}>{u.name}</Typography.Text>
                {u.id === session.user.id && <Tag>{t('admin.users.you')}</Tag>}
              </Space>
            ),
            sorter: (a, b) => a.name.localeCompare(b.name, locale),
          },
          { title: t('admin.users.email'), dataIndex: 'email', sorter: (a, b) => a.email.localeCompare(b.email) },
          {
            title: t('admin.users.role'),
            key: 'role',
            width: 180,
            render: (_, u) =>
              // One's own role is not changed here: it is the quickest way to lock oneself out.
              manage && u.id !== session.user.id && u.status !== 'deactivated' ? (
                <Select
                  size="small"
                  value={u.role}
                  style={{ width: 150 }}
                  disabled={busyId === u.id}
                  onChange={(role) => changeRole(u, role)}
                  options={(roles.data ?? []).map((r) => ({ value: r.name, label: roleLabel(t, r.name) }))}
                  data-testid="user-role-select"
                />
              ) : (
                <Tag color={u.role === 'admin' ? 'blue' : undefined}>{roleLabel(t, u.role)}</Tag>
              ),
          },
          {
            title: t('admin.users.status'),
            dataIndex: 'status',
            width: 110,
            render: (s: User['status']) => <Tag color={STATUS_COLOR[s]}>{t(`admin.users.status.${s}`)}</Tag>,
          },
          { title: t('admin.createdAt'), dataIndex: 'createdAt', width: 120, render: (d: string) => formatDate(d, locale) },
          ...(manage
            ? [
                {
                  title: t('common.actions'),
                  key: 'actions',
                  width: 220,
                  render: (_: unknown, u: User) => <UserActions user={u} self={u.id === session.user.id} busy={busyId === u.id} onActive={setActive} onReset={issueReset} />,
                },
              ]
            : []),
        ]}
      />
      <InviteModal
        open={inviteOpen}
        roles={roles.data ?? []}
        onClose={() => setInviteOpen(false)}
        onInvited={(u) => users.setData((list) => [...(list ?? []), u])}
      />
    </AdminPage>
  );
}

function UserActions(props: { user: User; self: boolean; busy: boolean; onActive: (u: User, active: boolean) => void; onReset: (u: User) => void }) {
  const { t } = useI18n();
  const { user: u } = props;
  return (
    <Space size={4}>
      {/* An invited person has no password yet: the invitation link is how they set one. */}
      <Tooltip title={u.status === 'invited' ? t('admin.users.reset.invited') : undefined}>
        <Button size="small" type="link" icon={<KeyOutlined />} disabled={props.busy || u.status !== 'active'} onClick={() => props.onReset(u)} data-testid="user-reset">
          {t('admin.users.reset')}
        </Button>
      </Tooltip>
      {u.status === 'deactivated' ? (
        <Popconfirm title={t('admin.users.reactivate.confirm', { name: u.name })} onConfirm={() => props.onActive(u, true)} okText={t('admin.users.reactivate')} cancelText={t('common.cancel')}>
          <Button size="small" type="link" icon={<UndoOutlined />} disabled={props.busy} data-testid="user-reactivate">{t('admin.users.reactivate')}</Button>
        </Popconfirm>
      ) : (
        !props.self && (
          <Popconfirm
            title={t('admin.users.deactivate.confirm', { name: u.name })}
            description={t('admin.users.deactivate.hint')}
            onConfirm={() => props.onActive(u, false)}
            okText={t('admin.users.deactivate')}
            okButtonProps={{ danger: true }}
            cancelText={t('common.cancel')}
          >
            <Button size="small" type="link" danger icon={<StopOutlined />} disabled={props.busy} data-testid="user-deactivate">{t('admin.users.deactivate')}</Button>
          </Popconfirm>
        )
      )}
    </Space>
  );
}
