import type { ReactNode } from 'react';
import { Alert, Flex, Result, Typography } from 'antd';
import { useI18n } from '../../lib/i18n.tsx';
import { useSession } from '../../lib/session.tsx';

/**
 * Frame of every routing page: title, one line on what the page is for, actions on the right. The nav only
 * shows these pages to holders of routing.manage, but a pasted link reaches them too, hence the check here
 * (the server refuses anyway; this just says so plainly instead of a wall of 403s).
 */
export function RoutingPage(props: { title: ReactNode; description?: ReactNode; extra?: ReactNode; error?: string | null; children: ReactNode; testId?: string; maxWidth?: number }) {
  const { t } = useI18n();
  const session = useSession();
  if (!session.can('routing.manage')) {
    return <Result status="403" title={t('routing.forbidden.title')} subTitle={t('routing.forbidden.text')} />;
  }
  return (
    <div style={{ padding: 24, maxWidth: props.maxWidth ?? 1400, margin: '0 auto' }} data-testid={props.testId}>
      <Flex justify="space-between" align="flex-start" gap={16} wrap style={{ marginBottom: 16 }}>
        <div style={{ minWidth: 0 }}>
          <Typography.Title level={4} style={{ margin: 0 }}>{props.title}</Typography.Title>
          {props.description && <Typography.Text type="secondary">{props.description}</Typography.Text>}
        </div>
        {props.extra && <Flex gap={8} wrap align="center">{props.extra}</Flex>}
      </Flex>
      {props.error && <Alert type="error" showIcon title={props.error} style={{ marginBottom: 16 }} />}
      {props.children}
    </div>
  );
}
