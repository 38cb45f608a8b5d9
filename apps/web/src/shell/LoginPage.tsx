import { useState } from 'react';
import { Alert, Button, Card, Form, Input, Segmented, Typography } from 'antd';
import { LockOutlined, MailOutlined } from '@ant-design/icons';
import { ApiError } from '../lib/api.ts';
import { useI18n, type Locale } from '../lib/i18n.tsx';
import { useSessionState } from '../lib/session.tsx';

export function LoginPage({ expired }: { expired: boolean }) {
  const { login } = useSessionState();
  const { t, locale, setLocale } = useI18n();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (v: { email: string; password: string }) => {
    setBusy(true);
    setError(null);
    try {
      await login(v.email.trim(), v.password);
    } catch (e) {
      setError(e instanceof ApiError && e.code === 'invalid_credentials' ? t('auth.badCredentials') : e instanceof ApiError && e.code === 'rate_limited' ? t('auth.tooMany') : e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div style={{ minHeight: '100vh', display: 'flex', alignItems: 'center', justifyContent: 'center', background: 'linear-gradient(135deg,#e6f4ff,#f9f0ff)' }}>
      <Card style={{ width: 380, maxWidth: '92vw' }}>
        <div style={{ display: 'flex', justifyContent: 'space-between', alignItems: 'center', marginBottom: 16 }}>
          <Typography.Title level={3} style={{ margin: 0 }}>{t('app.name')}</Typography.Title>
          <Segmented<Locale> size="small" value={locale} onChange={setLocale} options={[{ label: '中文', value: 'zh-CN' }, { label: 'EN', value: 'en' }]} />
        </div>
        <Typography.Paragraph type="secondary">{t('auth.subtitle')}</Typography.Paragraph>
        {expired && <Alert type="warning" showIcon message={t('auth.expired')} style={{ marginBottom: 16 }} data-testid="session-expired" />}
        {error && <Alert type="error" showIcon message={error} style={{ marginBottom: 16 }} />}
        <Form layout="vertical" onFinish={submit} requiredMark={false}>
          <Form.Item name="email" label={t('auth.email')} rules={[{ required: true, type: 'email', message: t('auth.emailRequired') }]}>
            <Input prefix={<MailOutlined />} autoComplete="username" autoFocus />
          </Form.Item>
          <Form.Item name="password" label={t('auth.password')} rules={[{ required: true, message: t('auth.passwordRequired') }]}>
            <Input.Password prefix={<LockOutlined />} autoComplete="current-password" />
          </Form.Item>
          <Button type="primary" htmlType="submit" block loading={busy}>{t('auth.login')}</Button>
        </Form>
      </Card>
    </div>
  );
}
