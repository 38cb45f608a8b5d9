import { App, Button, Popconfirm, Result, Spin, Tabs, Tag } from 'antd';
import { ArrowLeftOutlined, CheckCircleOutlined, DeleteOutlined, ExclamationCircleOutlined } from '@ant-design/icons';
import { Link, useNavigate, useSearchParams } from 'react-router';
import type { Inbox } from '@huiliu/contracts';
import { api } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { useSession } from '../../lib/session.tsx';
import { AdminPage } from '../shared/AdminPage.tsx';
import { errorText } from '../shared/errors.ts';
import { useLoad } from '../shared/useLoad.ts';
import { getInboxChannel } from './channelApi.ts';
import { ChannelSettings } from './ChannelSettings.tsx';
import { DeliveryLog } from './DeliveryLog.tsx';
import { InboxGeneral } from './InboxGeneral.tsx';
import { useChannelKinds } from './useChannelKinds.ts';

const TABS = ['channel', 'general', 'deliveries'] as const;
type Tab = (typeof TABS)[number];

/**
 * `/admin/inboxes/:id` for an inbox on an external channel (everything but the web widget): the
 * channel's settings and status, name and members, and the delivery log — one tab each, the tab in the
 * URL (`?tab=deliveries`) so a link can point at the log.
 */
export function ChannelInboxPage({ inbox, onSaved }: { inbox: Inbox; onSaved: (i: Inbox) => void }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const manage = useSession().can('inbox.manage');
  const [search, setSearch] = useSearchParams();
  const tab: Tab = (TABS as readonly string[]).includes(search.get('tab') ?? '') ? (search.get('tab') as Tab) : 'channel';
  const kinds = useChannelKinds();
  const channel = useLoad(() => getInboxChannel(inbox.id), [inbox.id]);
  const kind = kinds.data?.find((k) => k.kind === inbox.channelType);

  const remove = async () => {
    try {
      await api('DELETE', `/inboxes/${inbox.id}`);
      message.success(t('admin.deleted'));
      navigate('/admin/inboxes');
    } catch (err) {
      message.error(errorText(err));
    }
  };

  let settings;
  if (kinds.error || channel.error) {
    settings = <Result status="warning" title={errorText(kinds.error ?? channel.error)} extra={<Button onClick={() => void Promise.all([kinds.reload(), channel.reload()])}>{t('channels.reload')}</Button>} />;
  } else if (!kinds.data || !channel.data) {
    settings = <Spin style={{ display: 'block', margin: 60 }} />;
  } else if (!kind) {
    settings = <Result status="info" title={t('channels.unavailable', { kind: t(`admin.channel.${inbox.channelType}`) })} subTitle={t('channels.unavailableHint')} />;
  } else {
    settings = <ChannelSettings key={channel.data.inboxId} inboxId={inbox.id} kind={kind} channel={channel.data} onSaved={(c) => channel.setData(() => c)} />;
  }

  return (
    <AdminPage
      stickyHeader
      testId="channel-inbox-page"
      title={
        <span>
          <Link to="/admin/inboxes" style={{ marginRight: 12 }} aria-label={t('admin.inboxes.back')}><ArrowLeftOutlined /></Link>
          {inbox.name}
          <Tag color="blue" style={{ marginLeft: 12, verticalAlign: 'middle' }}>{t(`admin.channel.${inbox.channelType}`)}</Tag>
          {channel.data &&
            (channel.data.ready ? (
              <Tag color="success" icon={<CheckCircleOutlined />} style={{ verticalAlign: 'middle' }}>{t('channels.status.ready')}</Tag>
            ) : (
              <Tag color="warning" icon={<ExclamationCircleOutlined />} style={{ verticalAlign: 'middle' }}>{t('channels.status.notReady')}</Tag>
            ))}
        </span>
      }
      description={t('channels.page.description')}
      extra={
        manage && (
          <Popconfirm
            title={t('admin.inboxes.deleteConfirm', { name: inbox.name })}
            description={t('admin.inboxes.deleteHint')}
            onConfirm={remove}
            okText={t('common.delete')}
            okButtonProps={{ danger: true }}
            cancelText={t('common.cancel')}
          >
            <Button danger icon={<DeleteOutlined />} data-testid="inbox-delete">{t('common.delete')}</Button>
          </Popconfirm>
        )
      }
    >
      <Tabs
        activeKey={tab}
        onChange={(k) => setSearch(k === 'channel' ? {} : { tab: k }, { replace: true })}
        destroyOnHidden={false}
        items={[
          { key: 'channel', label: <span data-testid="tab-channel">{t('channels.tab.channel')}</span>, children: settings },
          { key: 'general', label: <span data-testid="tab-general">{t('channels.tab.general')}</span>, children: <InboxGeneral inbox={inbox} onSaved={onSaved} /> },
          { key: 'deliveries', label: <span data-testid="tab-deliveries">{t('channels.tab.deliveries')}</span>, children: tab === 'deliveries' ? <DeliveryLog inboxId={inbox.id} /> : null },
        ]}
      />
    </AdminPage>
  );
}
