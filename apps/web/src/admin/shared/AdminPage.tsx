import type { ReactNode } from 'react';
import { Alert, Flex, Typography } from 'antd';

/** The frame every admin page shares: title, one line saying what the page is for, actions on the right. */
export function AdminPage(props: { title: ReactNode; description?: ReactNode; extra?: ReactNode; error?: string | null; children: ReactNode; testId?: string; stickyHeader?: boolean }) {
  return (
    <div style={{ padding: props.stickyHeader ? '0 24px 24px' : 24, maxWidth: 1400, margin: '0 auto' }} data-testid={props.testId}>
      {/* Long editors keep their title and Save button in view while scrolling. */}
      <Flex
        justify="space-between"
        align="flex-start"
        gap={16}
        wrap
        style={props.stickyHeader ? { position: 'sticky', top: 0, zIndex: 10, background: '#f5f5f5', padding: '24px 0 16px', marginBottom: 0 } : { marginBottom: 16 }}
      >
        <div style={{ minWidth: 0 }}>
          <Typography.Title level={4} style={{ margin: 0 }}>{props.title}</Typography.Title>
          {props.description && <Typography.Text type="secondary">{props.description}</Typography.Text>}
        </div>
        {props.extra && <Flex gap={8} wrap>{props.extra}</Flex>}
      </Flex>
      {props.error && <Alert type="error" showIcon title={props.error} style={{ marginBottom: 16 }} />}
      {props.children}
    </div>
  );
}
