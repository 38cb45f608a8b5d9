import { useState } from 'react';
import { Alert, Button, Drawer, Empty, Flex, List, Popconfirm, Space, Tag, Typography } from 'antd';
import { EyeOutlined, RollbackOutlined } from '@ant-design/icons';
import type { FlowDocument } from '@huiliu/contracts/bot';

/** The contract's BotFlowVersion (it exports the schema only). */
interface BotFlowVersion {
  version: number;
  document: FlowDocument;
  publishedAt: string;
  publishedBy: string | null;
}
import { api } from '../../lib/api.ts';
import { formatDateTime } from '../../lib/format.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { errorText } from '../../admin/shared/errors.ts';
import { useLoad } from '../../admin/shared/useLoad.ts';

/**
 * Published versions, newest first. Any of them can be looked at or copied back into the draft (restoring
 * changes only the draft; customers keep the published version until the next publish).
 */
export function VersionsDrawer(props: { flowId: string; open: boolean; current: number; onClose: () => void; onRestore: (doc: FlowDocument, version: number) => void }) {
  const { t, locale } = useI18n();
  const versions = useLoad(() => (props.open ? api<BotFlowVersion[]>('GET', `/bot/flows/${props.flowId}/versions`) : Promise.resolve(undefined)), [props.open, props.flowId, props.current]);
  const [viewing, setViewing] = useState<number | null>(null);
  const list = [...(versions.data ?? [])].sort((a, b) => b.version - a.version);
  return (
    <Drawer open={props.open} onClose={props.onClose} title={t('flows.versions.title')} size={520} data-testid="flow-versions">
      {versions.error && <Alert type="error" showIcon title={errorText(versions.error)} />}
      {list.length === 0 && !versions.loading ? (
        <Empty description={t('flows.versions.empty')} />
      ) : (
        <List
          loading={versions.loading}
          dataSource={list}
          renderItem={(v) => (
            <List.Item data-testid="flow-version" data-version={v.version} style={{ display: 'block' }}>
              <Flex justify="space-between" align="center">
                <Space>
                  <Typography.Text strong>v{v.version}</Typography.Text>
                  {v.version === props.current && <Tag color="green">{t('flows.versions.live')}</Tag>}
                  <Typography.Text type="secondary" style={{ fontSize: 12 }}>{formatDateTime(v.publishedAt, locale)}</Typography.Text>
                </Space>
                <Space size={4}>
                  <Button size="small" icon={<EyeOutlined />} onClick={() => setViewing(viewing === v.version ? null : v.version)}>{t('flows.versions.view')}</Button>
                  <Popconfirm title={t('flows.versions.restoreConfirm', { version: v.version })} onConfirm={() => props.onRestore(v.document, v.version)}>
                    <Button size="small" icon={<RollbackOutlined />}>{t('flows.versions.restore')}</Button>
                  </Popconfirm>
                </Space>
              </Flex>
              {viewing === v.version && (
                <pre style={{ marginTop: 8, maxHeight: 360, overflow: 'auto', background: '#fafafa', padding: 8, fontSize: 12, borderRadius: 6 }}>{JSON.stringify(v.document, null, 2)}</pre>
              )}
            </List.Item>
          )}
        />
      )}
    </Drawer>
  );
}
