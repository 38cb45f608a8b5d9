import { useState } from 'react';
import { App, Button, Card, Col, Form, Input, Popconfirm, Radio, Result, Row, Select, Spin, Switch, Tag, Typography } from 'antd';
import { ArrowLeftOutlined, DeleteOutlined, SaveOutlined } from '@ant-design/icons';
import { Link, useNavigate, useParams } from 'react-router';
import type { ChannelType, Inbox, WidgetSettings } from '@huiliu/contracts';
import { api } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { useSession } from '../../lib/session.tsx';
import { AdminPage } from '../shared/AdminPage.tsx';
import { applyApiError, errorText } from '../shared/errors.ts';
import { useLoad } from '../shared/useLoad.ts';
import { memberOptions, useWorkspaceUsers } from '../shared/users.ts';
import { HEX_COLOR } from './color.ts';
import { ColorField } from './ColorField.tsx';
import { EmbedSnippet } from './EmbedSnippet.tsx';
import { OriginsField } from './OriginsField.tsx';
import { WidgetPreview } from './WidgetPreview.tsx';
import { ChannelInboxPage } from '../channels/ChannelInboxPage.tsx';
import { channelTypeOptions, useChannelKinds } from '../channels/useChannelKinds.ts';

interface Values {
  name: string;
  channelType: ChannelType;
  allowedOrigins: string[];
  memberIds: string[];
  widget: WidgetSettings;
}

/** The defaults of WidgetSettings in packages/contracts, so a new inbox previews what the server will store. */
const DEFAULT_WIDGET: WidgetSettings = { color: '#1677ff', greeting: '', position: 'right', preChatForm: false, locale: 'auto' };
/** Every channel type; those the server has no adapter for yet are listed as coming. */
const CHANNELS: ChannelType[] = ['web', 'api', 'email', 'telegram', 'whatsapp', 'wechat_oa', 'wecom_kf', 'douyin', 'weibo', 'sms'];

const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));

/** `/admin/inboxes/new` and `/admin/inboxes/:id`: settings on the left, live widget preview and embed code on the right. */
export function InboxEditor() {
  const { id } = useParams();
  const creating = !id || id === 'new';
  const inbox = useLoad(() => (creating ? Promise.resolve(null) : api<Inbox>('GET', `/inboxes/${id}`)), [id]);
  const { t } = useI18n();

  if (inbox.error) {
    return (
      <Result
        status="warning"
        title={errorText(inbox.error)}
        extra={<Link to="/admin/inboxes"><Button>{t('admin.inboxes.back')}</Button></Link>}
      />
    );
  }
  if (inbox.loading && inbox.data === undefined) return <Spin style={{ display: 'block', margin: 80 }} />;
  // External channels have their own page (settings from the channel's schema, credentials, delivery log).
  if (inbox.data && inbox.data.channelType !== 'web') return <ChannelInboxPage key={inbox.data.id} inbox={inbox.data} onSaved={(i) => inbox.setData(() => i)} />;
  // Keyed by id: moving from "new" to the created inbox starts a fresh form with the saved values.
  return <InboxForm key={inbox.data?.id ?? 'new'} inbox={inbox.data ?? null} onSaved={(i) => inbox.setData(() => i)} />;
}

function InboxForm({ inbox, onSaved }: { inbox: Inbox | null; onSaved: (inbox: Inbox) => void }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const session = useSession();
  const manage = session.can('inbox.manage');
  const users = useWorkspaceUsers();
  const [form] = Form.useForm<Values>();
  const [busy, setBusy] = useState(false);
  const [dirty, setDirty] = useState(false);
  const name = Form.useWatch('name', form) ?? '';
  const widget = Form.useWatch('widget', form);
  const origins = Form.useWatch('allowedOrigins', form) ?? inbox?.allowedOrigins ?? [];
  const kinds = useChannelKinds();
  const channelType = Form.useWatch('channelType', form) ?? inbox?.channelType ?? 'web';
  const isWeb = channelType === 'web';

  const initial: Values = inbox
    ? { name: inbox.name, channelType: inbox.channelType, allowedOrigins: inbox.allowedOrigins, memberIds: inbox.memberIds, widget: { ...DEFAULT_WIDGET, ...inbox.widget } }
    : { name: '', channelType: 'web', allowedOrigins: [], memberIds: [], widget: DEFAULT_WIDGET };

  const save = async (v: Values) => {
    setBusy(true);
    try {
      const allowedOrigins = (v.allowedOrigins ?? []).map((o) => o.trim()).filter(Boolean);
      let saved: Inbox;
      if (inbox) {
        saved = await api<Inbox>('PATCH', `/inboxes/${inbox.id}`, { name: v.name, allowedOrigins, widget: v.widget });
      } else {
        saved = await api<Inbox>('POST', '/inboxes', v.channelType === 'web' ? { name: v.name, channelType: v.channelType, allowedOrigins, widget: v.widget } : { name: v.name, channelType: v.channelType });
      }
      if (!sameSet(v.memberIds ?? [], saved.memberIds)) {
        saved = await api<Inbox>('PUT', `/inboxes/${saved.id}/members`, { userIds: v.memberIds ?? [] });
      }
      setDirty(false);
      if (inbox) {
        onSaved(saved);
        message.success(t('common.saved'));
      } else {
        message.success(t(saved.channelType === 'web' ? 'admin.inboxes.created' : 'channels.create.done'));
        navigate(`/admin/inboxes/${saved.id}`, { replace: true });
      }
    } catch (err) {
      const text = applyApiError(form, err, { rename: { userIds: 'memberIds' } });
      message.error(text ?? t('admin.fixFields'));
    } finally {
      setBusy(false);
    }
  };

  const remove = async () => {
    if (!inbox) return;
    try {
      await api('DELETE', `/inboxes/${inbox.id}`);
      message.success(t('admin.deleted'));
      navigate('/admin/inboxes');
    } catch (err) {
      message.error(errorText(err));
    }
  };

  return (
    <AdminPage
      stickyHeader
      title={
        <span>
          <Link to="/admin/inboxes" style={{ marginRight: 12 }} aria-label={t('admin.inboxes.back')}><ArrowLeftOutlined /></Link>
          {inbox ? inbox.name : t('admin.inboxes.new')}
          {dirty && <Tag color="orange" style={{ marginLeft: 12, verticalAlign: 'middle' }}>{t('admin.unsaved')}</Tag>}
        </span>
      }
      description={inbox ? <>{t('admin.inboxes.publicId')}: <Typography.Text code copyable>{inbox.publicId}</Typography.Text></> : t('admin.inboxes.embed.afterCreate')}
      extra={
        <>
          {inbox && manage && (
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
          )}
          {manage && (
            <Button type="primary" icon={<SaveOutlined />} loading={busy} onClick={() => form.submit()} data-testid="inbox-save">
              {t(inbox ? 'common.save' : 'admin.inboxes.createSubmit')}
            </Button>
          )}
        </>
      }
    >
      <Row gutter={[24, 24]}>
        <Col xs={24} xl={13}>
          <Form
            form={form}
            layout="vertical"
            initialValues={initial}
            onFinish={save}
            onFinishFailed={() => message.error(t('admin.fixFields'))}
            onValuesChange={() => setDirty(true)}
            disabled={!manage}
            scrollToFirstError
          >
            {/* Once the inbox exists, installing it is what the admin came for: the snippet goes first. */}
            {inbox && (
              <Card title={t('admin.inboxes.embed')} style={{ marginBottom: 16 }}>
                <EmbedSnippet
                  publicId={inbox.publicId}
                  allowedOrigins={origins.filter(Boolean)}
                  onAllowHere={(origin) => {
                    form.setFieldValue('allowedOrigins', [...origins, origin]);
                    setDirty(true);
                  }}
                />
              </Card>
            )}
            <Card title={t('admin.inboxes.general')} style={{ marginBottom: 16 }}>
              <Form.Item name="name" label={t('common.name')} rules={[{ required: true, whitespace: true, message: t('admin.required') }, { max: 100 }]}>
                <Input placeholder={t('admin.inboxes.namePlaceholder')} data-testid="inbox-name-input" />
              </Form.Item>
              <Form.Item name="channelType" label={t('admin.inboxes.channel')} extra={inbox ? t('admin.inboxes.channelFixed') : undefined}>
                <Select
                  disabled={!!inbox}
                  style={{ maxWidth: 340 }}
                  data-testid="inbox-channel-select"
                  options={[
                    ...channelTypeOptions(kinds.data, t),
                    ...CHANNELS.filter((c) => c !== 'web' && !kinds.data?.some((k) => k.kind === c)).map((c) => ({ value: c, disabled: true, label: `${t(`admin.channel.${c}`)} · ${t('admin.soon')}` })),
                  ]}
                />
              </Form.Item>
              <Form.Item name="memberIds" label={t('admin.inboxes.members')} extra={t('admin.inboxes.membersHint')}>
                <Select mode="multiple" allowClear optionFilterProp="label" placeholder={t('admin.pickMembers')} options={memberOptions(users.data, inbox?.memberIds, t)} data-testid="inbox-members-select" />
              </Form.Item>
            </Card>
            {!isWeb && <Typography.Paragraph type="secondary" data-testid="inbox-channel-next">{t('channels.create.next')}</Typography.Paragraph>}
            {isWeb && <>
            <Card title={t('admin.inboxes.origins')} style={{ marginBottom: 16 }}>
              <Typography.Paragraph type="secondary">{t('admin.inboxes.originsHint')}</Typography.Paragraph>
              <OriginsField />
            </Card>
            <Card title={t('admin.inboxes.widget')}>
              <Form.Item name={['widget', 'color']} label={t('admin.inboxes.widget.color')} rules={[{ required: true, pattern: HEX_COLOR, message: t('admin.inboxes.widget.colorInvalid') }]}>
                <ColorField />
              </Form.Item>
              <Form.Item name={['widget', 'greeting']} label={t('admin.inboxes.widget.greeting')} extra={t('admin.inboxes.widget.greetingHint')} rules={[{ max: 500 }]}>
                <Input.TextArea autoSize={{ minRows: 2, maxRows: 6 }} showCount maxLength={500} placeholder={t('admin.inboxes.widget.greetingPlaceholder')} data-testid="widget-greeting" />
              </Form.Item>
              <Row gutter={16}>
                <Col span={12}>
                  <Form.Item name={['widget', 'position']} label={t('admin.inboxes.widget.position')}>
                    <Radio.Group optionType="button" options={[{ value: 'left', label: t('admin.inboxes.widget.left') }, { value: 'right', label: t('admin.inboxes.widget.right') }]} data-testid="widget-position" />
                  </Form.Item>
                </Col>
                <Col span={12}>
                  <Form.Item name={['widget', 'locale']} label={t('admin.inboxes.widget.locale')}>
                    <Select
                      data-testid="widget-locale"
                      options={[
                        { value: 'auto', label: t('admin.inboxes.widget.localeAuto') },
                        { value: 'zh-CN', label: '简体中文' },
                        { value: 'en', label: 'English' },
                      ]}
                    />
                  </Form.Item>
                </Col>
              </Row>
              <Form.Item name={['widget', 'preChatForm']} label={t('admin.inboxes.widget.preChat')} valuePropName="checked" extra={t('admin.inboxes.widget.preChatHint')} style={{ marginBottom: 0 }}>
                <Switch data-testid="widget-prechat" />
              </Form.Item>
            </Card>
            </>}
          </Form>
        </Col>
        {isWeb && <Col xs={24} xl={11}>
          {/* Stays in view (below the sticky page header) while the admin scrolls to the widget settings. */}
          <div style={{ position: 'sticky', top: 90 }}>
            <Card title={t('admin.inboxes.preview')} styles={{ body: { paddingBottom: 8 } }}>
              <WidgetPreview name={name} widget={widget ?? initial.widget} />
            </Card>
          </div>
        </Col>}
      </Row>
    </AdminPage>
  );
}
