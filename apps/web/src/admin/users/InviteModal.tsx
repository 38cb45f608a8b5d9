import { useState } from 'react';
import { App, Button, Form, Input, Modal, Select } from 'antd';
import type { Role, User } from '@huiliu/contracts';
import { api } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { applyApiError } from '../shared/errors.ts';
import { roleLabel } from '../shared/users.ts';
import { RoleHint } from './RoleHint.tsx';
import { TokenLink } from './TokenLink.tsx';

interface InviteResult {
  user: User;
  inviteToken: string;
  expiresAt: string;
}
interface Values {
  email: string;
  name?: string;
  role: string;
}

/** Invite one person: email, optional name, role. Afterwards the same dialog shows the link to send them. */
export function InviteModal(props: { open: boolean; roles: Role[]; onClose: () => void; onInvited: (user: User) => void }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [form] = Form.useForm<Values>();
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<InviteResult | null>(null);
  const role = Form.useWatch('role', form);

  const close = () => {
    form.resetFields();
    setResult(null);
    props.onClose();
  };

  const submit = async (v: Values) => {
    setBusy(true);
    try {
      // The API wants a name; until the person picks their own when accepting, the address's local part
      // is a better placeholder than nothing.
      const email = v.email.trim();
      const name = v.name?.trim() || email.split('@')[0] || email;
      const r = await api<InviteResult>('POST', '/users/invite', { email, name, role: v.role });
      setResult(r);
      props.onInvited(r.user);
    } catch (err) {
      const text = applyApiError(form, err, { conflictField: 'email' });
      if (text) message.error(text);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      open={props.open}
      title={t('admin.users.invite.title')}
      onCancel={close}
      destroyOnHidden
      footer={
        result
          ? [<Button key="close" type="primary" onClick={close}>{t('admin.done')}</Button>]
          : [
              <Button key="cancel" onClick={close}>{t('common.cancel')}</Button>,
              <Button key="ok" type="primary" loading={busy} onClick={() => form.submit()} data-testid="user-invite-submit">{t('admin.users.invite.submit')}</Button>,
            ]
      }
    >
      {result ? (
        <TokenLink kind="invite" token={result.inviteToken} expiresAt={result.expiresAt} who={result.user.email} testId="user-invite-result" />
      ) : (
        <Form form={form} layout="vertical" onFinish={submit} initialValues={{ role: 'agent' }} requiredMark="optional">
          <Form.Item name="email" label={t('admin.users.email')} rules={[{ required: true, type: 'email', message: t('admin.users.emailInvalid') }]}>
            <Input autoFocus placeholder="name@example.com" data-testid="user-invite-email" />
          </Form.Item>
          <Form.Item name="name" label={t('admin.users.name')} extra={t('admin.users.invite.nameHint')} rules={[{ max: 100 }]}>
            <Input data-testid="user-invite-name" />
          </Form.Item>
          <Form.Item name="role" label={t('admin.users.role')} rules={[{ required: true }]} extra={<RoleHint role={role} roles={props.roles} />}>
            <Select
              data-testid="user-invite-role"
              options={props.roles.map((r) => ({ value: r.name, label: roleLabel(t, r.name) }))}
            />
          </Form.Item>
        </Form>
      )}
    </Modal>
  );
}
