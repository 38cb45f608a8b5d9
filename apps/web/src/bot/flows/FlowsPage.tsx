import { useState } from 'react';
import { App, Button, Dropdown, Form, Input, Modal, Popconfirm, Result, Space, Switch, Table, Tag, Typography } from 'antd';
import { DeleteOutlined, DownOutlined, FileAddOutlined, PlusOutlined, ShoppingOutlined } from '@ant-design/icons';
import { Route, Routes, useNavigate } from 'react-router';
import type { BotFlow, FlowDocument } from '@huiliu/contracts/bot';
import { api } from '../../lib/api.ts';
import { formatDateTime } from '../../lib/format.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { useSession } from '../../lib/session.tsx';
import { AdminPage } from '../../admin/shared/AdminPage.tsx';
import { applyApiError, errorText } from '../../admin/shared/errors.ts';
import { rowAttrs } from '../../admin/shared/table.ts';
import { useLoad } from '../../admin/shared/useLoad.ts';
import { FlowEditor } from './FlowEditor.tsx';
import { blankDocument, orderTemplate, sameDocument } from './flowModel.ts';

/** `/admin/bot/flows/*`: the list of flows and one flow's editor by id. */
export default function FlowsPage() {
  const { t } = useI18n();
  const session = useSession();
  // The nav only offers these pages with bot.manage; a pasted link gets a plain answer instead of 403s.
  if (!session.can('bot.manage')) return <Result status="403" title={t('flows.forbidden.title')} subTitle={t('flows.forbidden.text')} />;
  return (
    <Routes>
      <Route index element={<FlowList />} />
      <Route path=":id" element={<FlowEditor />} />
    </Routes>
  );
}

/** Published, published with unpublished changes, or never published. */
export function FlowState({ flow }: { flow: BotFlow }) {
  const { t } = useI18n();
  if (!flow.published) return <Tag data-testid="flow-state" data-state="draft">{t('flows.state.draft')}</Tag>;
  if (!sameDocument(flow.draft, flow.published)) return <Tag color="orange" data-testid="flow-state" data-state="changed">{t('flows.state.changed')}</Tag>;
  return <Tag color="green" data-testid="flow-state" data-state="published">{t('flows.state.published')}</Tag>;
}

function FlowList() {
  const { t, locale } = useI18n();
  const { message } = App.useApp();
  const navigate = useNavigate();
  const flows = useLoad(() => api<BotFlow[]>('GET', '/bot/flows'), []);
  const [creating, setCreating] = useState<'order' | 'blank' | null>(null);

  const toggle = async (flow: BotFlow, enabled: boolean) => {
    try {
      const updated = await api<BotFlow>('PATCH', `/bot/flows/${flow.id}`, { enabled });
      flows.setData((list) => list?.map((f) => (f.id === updated.id ? updated : f)));
    } catch (err) {
      message.error(errorText(err));
    }
  };
  const remove = async (flow: BotFlow) => {
    try {
      await api('DELETE', `/bot/flows/${flow.id}`);
      flows.setData((list) => list?.filter((f) => f.id !== flow.id));
    } catch (err) {
      message.error(errorText(err));
    }
  };

  return (
    <AdminPage
      title={t('nav.botFlows')}
      description={t('flows.description')}
      error={flows.error ? errorText(flows.error) : null}
      testId="flows-page"
      extra={
        <Dropdown
          trigger={['click']}
          menu={{
            items: [
              { key: 'order', icon: <ShoppingOutlined />, label: <span data-testid="flow-new-order">{t('flows.new.order')}</span> },
              { key: 'blank', icon: <FileAddOutlined />, label: <span data-testid="flow-new-blank">{t('flows.new.blank')}</span> },
            ],
            onClick: (e) => setCreating(e.key as 'order' | 'blank'),
          }}
        >
          <Button type="primary" icon={<PlusOutlined />} data-testid="flow-new">
            <Space size={4}>{t('flows.new')}<DownOutlined /></Space>
          </Button>
        </Dropdown>
      }
    >
      <Table<BotFlow>
        rowKey="id"
        loading={flows.loading}
        dataSource={flows.data ?? []}
        pagination={false}
        locale={{ emptyText: t('flows.empty') }}
        onRow={(flow) => ({ ...rowAttrs({ 'data-testid': 'flow-row', 'data-flow-id': flow.id }), onClick: () => navigate(`/admin/bot/flows/${flow.id}`), style: { cursor: 'pointer' } })}
        columns={[
          {
            title: t('common.name'),
            key: 'name',
            render: (_, f) => (
              <div>
                <Typography.Text strong>{f.name}</Typography.Text>
                {f.description && <div><Typography.Text type="secondary" style={{ fontSize: 12 }}>{f.description}</Typography.Text></div>}
              </div>
            ),
          },
          {
            title: t('flows.triggers'),
            key: 'triggers',
            render: (_, f) => (
              <Space size={[4, 4]} wrap>
                {f.draft.triggers.intents.map((i) => <Tag key={`i:${i}`} color="purple">{i}</Tag>)}
                {f.draft.triggers.phrases.slice(0, 4).map((p) => <Tag key={`p:${p}`}>{p}</Tag>)}
              </Space>
            ),
          },
          { title: t('flows.version'), key: 'version', width: 90, render: (_, f) => (f.version > 0 ? `v${f.version}` : '—') },
          { title: t('flows.state'), key: 'state', width: 130, render: (_, f) => <FlowState flow={f} /> },
          {
            title: t('flows.enabled'),
            key: 'enabled',
            width: 90,
            render: (_, f) => (
              <span onClick={(e) => e.stopPropagation()}>
                <Switch size="small" checked={f.enabled} onChange={(v) => void toggle(f, v)} data-testid="flow-enabled" />
              </span>
            ),
          },
          { title: t('flows.updatedAt'), dataIndex: 'updatedAt', width: 170, render: (d: string) => formatDateTime(d, locale) },
          {
            title: t('common.actions'),
            key: 'actions',
            width: 80,
            render: (_, f) => (
              <span onClick={(e) => e.stopPropagation()}>
                <Popconfirm title={t('flows.confirmDelete', { name: f.name })} onConfirm={() => void remove(f)}>
                  <Button size="small" type="text" danger icon={<DeleteOutlined />} aria-label={t('common.delete')} />
                </Popconfirm>
              </span>
            ),
          },
        ]}
      />
      <CreateFlowModal
        kind={creating}
        onClose={() => setCreating(null)}
        onCreated={(flow) => {
          setCreating(null);
          navigate(`/admin/bot/flows/${flow.id}`);
        }}
      />
    </AdminPage>
  );
}

function CreateFlowModal(props: { kind: 'order' | 'blank' | null; onClose: () => void; onCreated: (flow: BotFlow) => void }) {
  const { t, locale } = useI18n();
  const [form] = Form.useForm<{ name: string; description: string }>();
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (values: { name: string; description?: string }) => {
    setSaving(true);
    setError(null);
    const intents = props.kind === 'order' ? await api<{ name: string }[]>('GET', '/bot/intents').catch(() => []) : [];
    const draft: FlowDocument = props.kind === 'order' ? orderTemplate(locale === 'zh-CN', intents.some((i) => i.name === 'query_order')) : blankDocument();
    try {
      props.onCreated(await api<BotFlow>('POST', '/bot/flows', { name: values.name, description: values.description ?? '', draft }));
      form.resetFields();
    } catch (err) {
      setError(applyApiError(form, err));
    } finally {
      setSaving(false);
    }
  };

  return (
    <Modal
      open={props.kind !== null}
      title={props.kind === 'order' ? t('flows.new.order') : t('flows.new.blank')}
      okText={t('common.create')}
      confirmLoading={saving}
      onOk={() => form.submit()}
      onCancel={props.onClose}
      destroyOnHidden
      okButtonProps={{ 'data-testid': 'flow-create-ok' }}
    >
      {props.kind === 'order' && <Typography.Paragraph type="secondary">{t('flows.template.orderHint')}</Typography.Paragraph>}
      <Form form={form} layout="vertical" onFinish={(v) => void submit(v)} initialValues={{ name: props.kind === 'order' ? t('flows.template.orderName') : '' }}>
        <Form.Item name="name" label={t('common.name')} rules={[{ required: true, whitespace: true, message: t('flows.nameRequired') }]}>
          <Input maxLength={100} data-testid="flow-create-name" autoFocus />
        </Form.Item>
        <Form.Item name="description" label={t('flows.descriptionField')}>
          <Input.TextArea maxLength={500} autoSize={{ minRows: 2, maxRows: 4 }} />
        </Form.Item>
      </Form>
      {error && <Typography.Text type="danger">{error}</Typography.Text>}
    </Modal>
  );
}
