import { Alert, Button, Flex, Typography } from 'antd';
import { ExportOutlined } from '@ant-design/icons';
import { useI18n } from '../../lib/i18n.tsx';
import { CopyBox } from '../shared/CopyBox.tsx';

export const embedSnippet = (publicId: string) => `<script src="${location.origin}/widget.js" data-inbox="${publicId}" async></script>`;

/**
 * What the admin pastes into their site, and a page that already has it. The demo page is served by this
 * server, so it only works when this origin may embed the widget — say so instead of letting it fail.
 */
export function EmbedSnippet({ publicId, allowedOrigins, onAllowHere }: { publicId: string; allowedOrigins: string[]; onAllowHere?: (origin: string) => void }) {
  const { t } = useI18n();
  const snippet = embedSnippet(publicId);
  const demoBlocked = allowedOrigins.length > 0 && !allowedOrigins.includes('*') && !allowedOrigins.some((o) => o.toLowerCase().replace(/\/$/, '') === location.origin.toLowerCase());
  return (
    <div>
      <Typography.Paragraph type="secondary">{t('admin.inboxes.embed.hint')}</Typography.Paragraph>
      <CopyBox text={snippet} dark testId="inbox-embed-snippet" copyTestId="inbox-embed-copy" />
      <Flex gap={8} wrap style={{ marginTop: 8 }}>
        <Button type="link" style={{ paddingInline: 0 }} href={`/demo/${encodeURIComponent(publicId)}`} target="_blank" rel="noopener" icon={<ExportOutlined />} data-testid="inbox-demo-link">
          {t('admin.inboxes.embed.demo')}
        </Button>
      </Flex>
      {demoBlocked && (
        <Alert
          style={{ marginTop: 12 }}
          type="warning"
          showIcon
          title={t('admin.inboxes.embed.demoBlocked', { origin: location.origin })}
          action={onAllowHere && <Button size="small" onClick={() => onAllowHere(location.origin)} data-testid="inbox-allow-here">{t('admin.inboxes.embed.allowHere')}</Button>}
        />
      )}
    </div>
  );
}
