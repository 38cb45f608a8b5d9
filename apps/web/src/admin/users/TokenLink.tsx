import { Alert, Typography } from 'antd';
import { useI18n } from '../../lib/i18n.tsx';
import { CopyBox } from '../shared/CopyBox.tsx';
import { formatDate } from '../shared/users.ts';

/**
 * Invitation and reset tokens are shown exactly once by the server (it keeps only their hash), so the admin
 * gets the full link to hand over, ready to copy, and the expiry so they know how urgent it is.
 */
export function tokenLink(kind: 'invite' | 'reset', token: string): string {
  return `${location.origin}/${kind === 'invite' ? 'accept-invite' : 'reset-password'}?token=${encodeURIComponent(token)}`;
}

export function TokenLink(props: { kind: 'invite' | 'reset'; token: string; expiresAt: string; who: string; testId?: string }) {
  const { t, locale } = useI18n();
  const link = tokenLink(props.kind, props.token);
  return (
    <div data-testid={props.testId}>
      <Alert
        type="success"
        showIcon
        style={{ marginBottom: 16 }}
        title={t(props.kind === 'invite' ? 'admin.users.invite.done' : 'admin.users.reset.done', { who: props.who })}
        description={t('admin.users.link.once', { date: formatDate(props.expiresAt, locale, true) })}
      />
      <Typography.Text strong>{t('admin.users.link.label')}</Typography.Text>
      <CopyBox text={link} testId="token-link" style={{ margin: '4px 0 16px' }} />
      <Typography.Text type="secondary">{t('admin.users.link.token')}</Typography.Text>
      <CopyBox text={props.token} style={{ marginTop: 4 }} />
    </div>
  );
}
