import { useState } from 'react';
import { Alert, Button, Card, Form, Input, Result, Segmented, Typography } from 'antd';
import { LockOutlined, UserOutlined } from '@ant-design/icons';
import { api, setToken } from '../../lib/api.ts';
import { useI18n, type Locale } from '../../lib/i18n.tsx';
import { applyApiError } from '../shared/errors.ts';

interface Values {
  name?: string;
  password: string;
  confirm: string;
}

/**
 * Where the links from the Users page lead, for someone who is not signed in:
 *  - `/accept-invite?token=…`: choose a name and password; the server answers with a session, so the new
 *    agent lands in the workbench signed in;
 *  - `/reset-password?token=…`: choose a new password, then sign in.
 * Needs two routes in App.tsx's signed-out branch (see the admin report).
 */
export default function TokenPasswordPage({ mode }: { mode: 'invite' | 'reset' }) {
  const { t, locale, setLocale } = useI18n();
  const [form] = Form.useForm<Values>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const token = new URLSearchParams(location.search).get('token') ?? '';

  const submit = async (v: Values) => {
    setBusy(true);
    setError(null);
    try {
      if (mode === 'invite') {
        const r = await api<{ token: string }>('POST', '/auth/accept-invite', { token, name: v.name?.trim() ?? '', password: v.password });
        setToken(r.token);
        // A full load lets the session provider start from the stored token, like any returning agent.
        location.assign('/conversations');
        return;
      }
      await api('POST', '/auth/reset-password', { token, password: v.password });
      setDone(true);
    } catch (err) {
      setError(applyApiError(form, err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div style={{ minHeight: '100vh', display: 'flex', alignItems: 'center', justifyContent: 'center', background: 'linear-gradient(135deg,#e6f4ff,#f9f0ff)' }}>
      <Card style={{ width: 400, maxWidth: '92vw' }}>
        <div style={{ display: 'flex', justifyContent: 'space-between', alignItems: 'center', marginBottom: 16 }}>
          <Typography.Title level={3} style={{ margin: 0 }}>{t('app.name')}</Typography.Title>
          <Segmented<Locale> size="small" value={locale} onChange={setLocale} options={[{ label: '中文', value: 'zh-CN' }, { label: 'EN', value: 'en' }]} />
        </div>
        {done ? (
          <Result status="success" title={t('admin.public.resetDone')} extra={<Button type="primary" href="/login">{t('auth.login')}</Button>} />
        ) : !token ? (
          <Alert type="error" showIcon title={t('admin.public.noToken')} />
        ) : (
          <>
            <Typography.Paragraph type="secondary">{t(mode === 'invite' ? 'admin.public.inviteIntro' : 'admin.public.resetIntro')}</Typography.Paragraph>
            {error && <Alert type="error" showIcon title={error} style={{ marginBottom: 16 }} />}
            <Form form={form} layout="vertical" onFinish={submit} requiredMark={false}>
              {mode === 'invite' && (
                <Form.Item name="name" label={t('admin.users.name')} rules={[{ required: true, whitespace: true, message: t('admin.required') }, { max: 100 }]}>
                  <Input prefix={<UserOutlined />} autoComplete="name" autoFocus />
                </Form.Item>
              )}
              <Form.Item name="password" label={t('admin.public.password')} rules={[{ required: true, min: 10, message: t('admin.public.passwordRule') }, { max: 200 }]}>
                <Input.Password prefix={<LockOutlined />} placeholder={t('admin.public.passwordRule')} autoComplete="new-password" autoFocus={mode === 'reset'} />
              </Form.Item>
              <Form.Item
                name="confirm"
                label={t('admin.public.confirm')}
                dependencies={['password']}
                rules={[
                  { required: true, message: t('admin.public.mismatch') },
                  ({ getFieldValue }) => ({
                    validator: (_, value: string) => (!value || value === getFieldValue('password') ? Promise.resolve() : Promise.reject(new Error(t('admin.public.mismatch')))),
                  }),
                ]}
              >
                <Input.Password prefix={<LockOutlined />} autoComplete="new-password" />
              </Form.Item>
              <Button type="primary" htmlType="submit" block loading={busy}>
                {t(mode === 'invite' ? 'admin.public.join' : 'admin.public.setPassword')}
              </Button>
            </Form>
          </>
        )}
      </Card>
    </div>
  );
}
