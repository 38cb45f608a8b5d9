import { useEffect, useState } from 'react';
import { App, Form, Input, Modal, Select } from 'antd';
import type { Team, User } from '@huiliu/contracts';
import { api } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { applyApiError } from '../shared/errors.ts';
import { memberOptions } from '../shared/users.ts';

interface Values {
  name: string;
  description: string;
  memberIds: string[];
}

const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));

/**
 * Create or edit a team, members included. The API keeps the team and its member list apart (PATCH and
 * PUT /members); the admin sees one form, and only what changed is sent.
 */
export function TeamModal(props: { open: boolean; team: Team | null; users: User[] | undefined; onClose: () => void; onSaved: (team: Team) => void }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [form] = Form.useForm<Values>();
  const [busy, setBusy] = useState(false);
  const editing = props.team;

  useEffect(() => {
    if (!props.open) return;
    form.resetFields();
    form.setFieldsValue(editing ? { name: editing.name, description: editing.description, memberIds: editing.memberIds } : { name: '', description: '', memberIds: [] });
  }, [props.open, editing, form]);

  const submit = async (v: Values) => {
    setBusy(true);
    try {
      let team: Team;
      if (editing) {
        team = editing;
        if (v.name !== editing.name || v.description !== editing.description) {
          team = await api<Team>('PATCH', `/teams/${editing.id}`, { name: v.name, description: v.description ?? '' });
        }
      } else {
        team = await api<Team>('POST', '/teams', { name: v.name, description: v.description ?? '' });
      }
      if (!sameSet(v.memberIds ?? [], team.memberIds)) {
        team = await api<Team>('PUT', `/teams/${team.id}/members`, { userIds: v.memberIds ?? [] });
      }
      message.success(t('common.saved'));
      props.onSaved(team);
    } catch (err) {
      const text = applyApiError(form, err, { rename: { userIds: 'memberIds' } });
      if (text) message.error(text);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      open={props.open}
      title={t(editing ? 'admin.teams.edit' : 'admin.teams.new')}
      okText={t('common.save')}
      cancelText={t('common.cancel')}
      confirmLoading={busy}
      onOk={() => form.submit()}
      onCancel={props.onClose}
      okButtonProps={{ 'data-testid': 'team-save' }}
      forceRender
    >
      <Form form={form} layout="vertical" onFinish={submit}>
        <Form.Item name="name" label={t('common.name')} rules={[{ required: true, whitespace: true, message: t('admin.required') }, { max: 100 }]}>
          <Input placeholder={t('admin.teams.namePlaceholder')} data-testid="team-name-input" />
        </Form.Item>
        <Form.Item name="description" label={t('admin.description')} rules={[{ max: 500 }]}>
          <Input.TextArea autoSize={{ minRows: 2, maxRows: 5 }} placeholder={t('admin.teams.descriptionPlaceholder')} />
        </Form.Item>
        <Form.Item name="memberIds" label={t('admin.members')} extra={t('admin.teams.membersHint')}>
          <Select
            mode="multiple"
            allowClear
            optionFilterProp="label"
            placeholder={t('admin.pickMembers')}
            options={memberOptions(props.users, editing?.memberIds, t)}
            data-testid="team-members-select"
          />
        </Form.Item>
      </Form>
    </Modal>
  );
}
