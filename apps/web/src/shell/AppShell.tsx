import { useEffect, useRef, useState } from 'react';
import { Avatar, Badge, Dropdown, Layout, Menu, Segmented, Select, Space, Tooltip, Typography } from 'antd';
import { BranchesOutlined, ClusterOutlined, DashboardOutlined, FieldTimeOutlined, PartitionOutlined, ScheduleOutlined, ApiOutlined, ContactsOutlined, MessageOutlined, SettingOutlined, TeamOutlined, UserOutlined, InboxOutlined, ThunderboltOutlined, LogoutOutlined, WarningOutlined, RobotOutlined, NodeIndexOutlined, AimOutlined, ReadOutlined, ControlOutlined } from '@ant-design/icons';
import { Outlet, useLocation, useNavigate } from 'react-router';
import { api } from '../lib/api.ts';
import { useI18n, type Locale } from '../lib/i18n.tsx';
import { useSession } from '../lib/session.tsx';
import { useConnectionStatus } from '../lib/realtime.ts';
import type { Permission } from '@huiliu/contracts';

type Presence = 'online' | 'busy' | 'away' | 'offline';

/**
 * Idle timeout: an online agent with no keyboard, mouse or touch input for the workspace's
 * `agentIdleAwayMinutes` is set away (so routing stops sending them conversations), and online again on
 * their next input — only when it was this timer that set them away, never after a manual choice.
 */
function useIdleAway(minutes: number, presence: Presence, change: (p: Presence) => Promise<void>) {
  const auto = useRef(false);
  const last = useRef(Date.now());
  const state = useRef({ presence, change });
  state.current = { presence, change };
  useEffect(() => {
    if (!minutes) return;
    const onInput = () => {
      last.current = Date.now();
      if (auto.current && state.current.presence === 'away') {
        auto.current = false;
        void state.current.change('online');
      }
    };
    const events = ['keydown', 'mousemove', 'mousedown', 'touchstart', 'wheel'] as const;
    for (const e of events) window.addEventListener(e, onInput, { passive: true });
    const timer = setInterval(() => {
      if (state.current.presence === 'online' && Date.now() - last.current > minutes * 60_000) {
        auto.current = true;
        void state.current.change('away');
      }
    }, 15_000);
    return () => {
      for (const e of events) window.removeEventListener(e, onInput);
      clearInterval(timer);
    };
  }, [minutes]);
  // A manual change clears the automatic flag.
  useEffect(() => {
    if (presence !== 'away') auto.current = false;
  }, [presence]);
}
const PRESENCE_COLOR: Record<Presence, string> = { online: '#52c41a', busy: '#faad14', away: '#bfbfbf', offline: '#ff4d4f' };

/** Left navigation, the language switch, the agent's presence and account menu around every page. */
export function AppShell() {
  const session = useSession();
  const { t, locale, setLocale } = useI18n();
  const navigate = useNavigate();
  const location = useLocation();
  const status = useConnectionStatus();
  const [presence, setPresence] = useState<Presence>('offline');

  useEffect(() => {
    api<{ status: Presence }>('GET', '/presence/me')
      .then((p) => setPresence(p.status))
      .catch(() => undefined);
  }, [session.user.id]);

  const changePresence = async (status: Presence) => {
    setPresence(status);
    await api('PUT', '/presence', { status }).catch(() => undefined);
  };
  useIdleAway(session.workspace.settings.agentIdleAwayMinutes, presence, changePresence);

  const admin = ['workspace.manage', 'user.manage', 'team.manage', 'inbox.manage', 'canned.manage'].some((p) => session.can(p as Permission));
  const items = [
    { key: '/conversations', icon: <MessageOutlined />, label: t('nav.conversations') },
    { key: '/contacts', icon: <ContactsOutlined />, label: t('nav.contacts') },
    ...(session.can('routing.manage')
      ? [
          {
            key: 'routing', icon: <PartitionOutlined />, label: t('nav.routing'),
            children: [
              { key: '/routing/queue', icon: <FieldTimeOutlined />, label: t('nav.routingQueue') },
              { key: '/routing/agents', icon: <DashboardOutlined />, label: t('nav.routingAgents') },
              { key: '/routing/teams', icon: <ClusterOutlined />, label: t('nav.routingTeams') },
              { key: '/routing/rules', icon: <BranchesOutlined />, label: t('nav.routingRules') },
              { key: '/routing/hours', icon: <ScheduleOutlined />, label: t('nav.routingHours') },
            ],
          },
        ]
      : []),
    ...(session.can('bot.manage')
      ? [
          {
            key: 'bot', icon: <RobotOutlined />, label: t('nav.bot'),
            children: [
              { key: '/admin/bot/intents', icon: <AimOutlined />, label: t('nav.botIntents') },
              { key: '/admin/bot/flows', icon: <NodeIndexOutlined />, label: t('nav.botFlows') },
              { key: '/admin/bot/knowledge', icon: <ReadOutlined />, label: t('nav.botKnowledge') },
              { key: '/admin/bot/settings', icon: <ControlOutlined />, label: t('nav.botSettings') },
            ],
          },
        ]
      : []),
    ...(admin
      ? [
          {
            key: 'admin', icon: <SettingOutlined />, label: t('nav.admin'),
            children: [
              ...(session.can('user.manage') ? [{ key: '/admin/users', icon: <UserOutlined />, label: t('nav.users') }] : []),
              ...(session.can('team.manage') ? [{ key: '/admin/teams', icon: <TeamOutlined />, label: t('nav.teams') }] : []),
              ...(session.can('inbox.manage') ? [{ key: '/admin/inboxes', icon: <InboxOutlined />, label: t('nav.inboxes') }] : []),
              ...(session.can('canned.manage') ? [{ key: '/admin/canned-responses', icon: <ThunderboltOutlined />, label: t('nav.canned') }] : []),
              ...(session.can('inbox.manage') ? [{ key: '/admin/failed-deliveries', icon: <WarningOutlined />, label: t('nav.failedDeliveries') }] : []),
            ],
          },
        ]
      : []),
  ];
  const selected = items.flatMap((i) => ('children' in i && i.children ? i.children : [i])).map((i) => i.key).filter((k) => location.pathname.startsWith(k));

  return (
    <Layout style={{ height: '100vh' }}>
      <Layout.Sider width={200} theme="light" breakpoint="lg" collapsedWidth={56} style={{ borderRight: '1px solid #f0f0f0', overflowY: 'auto' }}>
        <div style={{ padding: '16px 20px', fontWeight: 600, fontSize: 18, whiteSpace: 'nowrap', overflow: 'hidden' }}>
          <ApiOutlined style={{ color: '#1677ff' }} /> {t('app.name')}
        </div>
        <Menu mode="inline" selectedKeys={selected} defaultOpenKeys={['routing', 'bot', 'admin']} items={items} onClick={(e) => navigate(e.key)} style={{ borderInlineEnd: 0 }} />
      </Layout.Sider>
      <Layout>
        <Layout.Header style={{ background: '#fff', padding: '0 16px', height: 52, lineHeight: '52px', borderBottom: '1px solid #f0f0f0', display: 'flex', alignItems: 'center', justifyContent: 'space-between' }}>
          <Typography.Text type="secondary" ellipsis>{session.workspace.name}</Typography.Text>
          <Space size="middle">
            {status !== 'online' && (
              <Typography.Text type="warning" data-testid="connection-status">{t(status === 'connecting' ? 'conn.reconnecting' : 'conn.offline')}</Typography.Text>
            )}
            <Segmented<Locale>
              size="small"
              value={locale}
              onChange={setLocale}
              options={[{ label: '中文', value: 'zh-CN' }, { label: 'EN', value: 'en' }]}
              data-testid="locale-switch"
            />
            <Tooltip title={t('presence.tooltip')}>
              <Select<Presence>
                size="small"
                value={presence}
                onChange={changePresence}
                style={{ width: 110 }}
                data-testid="presence-select"
                options={(['online', 'busy', 'away', 'offline'] as const).map((p) => ({ value: p, label: <Badge color={PRESENCE_COLOR[p]} text={t(`presence.${p}`)} /> }))}
              />
            </Tooltip>
            <Dropdown
              menu={{ items: [{ key: 'logout', icon: <LogoutOutlined />, label: t('auth.logout'), onClick: () => void session.logout() }] }}
            >
              <Space style={{ cursor: 'pointer' }} data-testid="user-menu">
                <Avatar size="small" src={session.user.avatarUrl ?? undefined}>{session.user.name.slice(0, 1)}</Avatar>
                <span>{session.user.name}</span>
              </Space>
            </Dropdown>
          </Space>
        </Layout.Header>
        <Layout.Content style={{ overflow: 'auto', background: '#f5f5f5' }}>
          <Outlet />
        </Layout.Content>
      </Layout>
    </Layout>
  );
}
