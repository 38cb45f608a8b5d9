import { useState } from 'react';
import { App, Button, Card, Flex, Form, Input, Select, Tag } from 'antd';
import { SaveOutlined } from '@ant-design/icons';
import type { Inbox } from '@huiliu/contracts';
import { api } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { useSession } from '../../lib/session.tsx';
import { applyApiError } from '../shared/errors.ts';
import { memberOptions, useWorkspaceUsers } from '../shared/users.ts';

interface Values {
  name: string;
  memberIds: string[];
}

const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));

/** Name and agents of a channel inbox (the widget's origins and appearance do not apply to it). */
export function InboxGeneral({ inbox, onSaved }: { inbox: Inbox; onSaved: (i: Inbox) => void }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const manage = useSession().can('inbox.manage');
  const users = useWorkspaceUsers();
  const [form] = Form.useForm<Values>();
  const [busy, setBusy] = useState(false);
  const [dirty, setDirty] = useState(false);

  const save = async (v: Values) => {
    setBusy(true);
    try {
      let saved = inbox;
      if (v.name !== inbox.name) saved = await api<Inbox>('PATCH', `/inboxes/${inbox.id}`, { name: v.name });
      if (!sameSet(v.memberIds ?? [], saved.memberIds)) saved = await api<Inbox>('PUT', `/inboxes/${inbox.id}/members`, { userIds: v.memberIds ?? [] });
      setDirty(false);
      onSaved(saved);
      message.success(t('common.saved'));
    } catch (err) {
      message.error(applyApiError(form, err, { rename: { userIds: 'memberIds' } }) ?? t('admin.fixFields'));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Card style={{ maxWidth: 760 }}>
      <Form<Values>
        form={form}
        layout="vertical"
        initialValues={{ name: inbox.name, memberIds: inbox.memberIds }}
        onFinish={save}
        onValuesChange={() => setDirty(true)}
        disabled={!manage}
      >
        <Form.Item name="name" label={t('common.name')} rules={[{ required: true, whitespace: true, message: t('admin.required') }, { max: 100 }]}>
          <Input data-testid="inbox-name-input" />
        </Form.Item>
        <Form.Item name="memberIds" label={t('admin.inboxes.members')} extra={t('admin.inboxes.membersHint')}>
          <Select mode="multiple" allowClear optionFilterProp="label" placeholder={t('admin.pickMembers')} options={memberOptions(users.data, inbox.memberIds, t)} data-testid="inbox-members-select" />
        </Form.Item>
        {manage && (
          <Flex justify="flex-end" gap={12} align="center">
            {dirty && <Tag color="orange">{t('admin.unsaved')}</Tag>}
            <Button type="primary" htmlType="submit" icon={<SaveOutlined />} loading={busy} data-testid="inbox-save">
              {t('common.save')}
            </Button>
          </Flex>
        )}
      </Form>
    </Card>
  );
}
