import { useState } from 'react';
import { Button, Empty, Flex, Popconfirm, Switch, Tag, Tooltip, Typography } from 'antd';
import { ArrowDownOutlined, ArrowUpOutlined, CopyOutlined, DeleteOutlined, EditOutlined, ExperimentOutlined, HolderOutlined, WarningOutlined } from '@ant-design/icons';
import type { RuleSetWarning } from '@huiliu/contracts/routing-rules';
import { useI18n } from '../../lib/i18n.tsx';
import type { Issue } from '../shared/issues.ts';
import { unreachableText } from '../shared/serverText.ts';
import { ruleStops, type WorkingRule } from './ruleModel.ts';
import { ActionTags, conditionsText, type RuleContext } from './summary.tsx';

/** Human labels for a server path inside a rule: "actions.0.teamId" → "Action 1 · team". */
function whereText(path: string, t: (k: string, v?: Record<string, string | number>) => string): string {
  const m = /^(conditions)\.(\d+)\.conditions\.(\d+)|^(actions)\.(\d+)/.exec(path);
  if (!m) return path;
  if (m[1]) return t('routing.rules.whereCondition', { group: Number(m[2]) + 1, n: Number(m[3]) + 1 });
  return t('routing.rules.whereAction', { n: Number(m[5]) + 1 });
}

/**
 * The ordered rule list: first match wins for routing, so order is the main thing an admin edits — by
 * dragging a row (native HTML drag and drop: no extra dependency) or with the arrow buttons (keyboard and
 * touch friendly).
 */
export function RuleList(props: {
  rules: WorkingRule[];
  ctx: RuleContext;
  issues: Map<string, Issue[]>;
  warnings: Map<string, RuleSetWarning>;
  matched: Set<string>;
  onMove: (from: number, to: number) => void;
  onToggle: (key: string, enabled: boolean) => void;
  onEdit: (key: string) => void;
  onDuplicate: (key: string) => void;
  onDelete: (key: string) => void;
  onTest: (key: string) => void;
}) {
  const { t } = useI18n();
  const [dragging, setDragging] = useState<number | null>(null);
  const [over, setOver] = useState<number | null>(null);

  if (props.rules.length === 0) {
    return <Empty style={{ padding: 32, background: '#fff', borderRadius: 8, margin: 0 }} description={t('routing.rules.empty')} />;
  }
  return (
    <Flex vertical gap={8} data-testid="routing-rule-list">
      {props.rules.map(({ key, rule }, index) => {
        const issues = props.issues.get(key) ?? [];
        const warning = props.warnings.get(key);
        const enabled = rule.enabled ?? true;
        const isOver = over === index && dragging !== null && dragging !== index;
        return (
          <div
            key={key}
            data-testid="routing-rule-row"
            data-rule-id={rule.id}
            data-index={index}
            draggable
            onDragStart={(e) => {
              setDragging(index);
              e.dataTransfer.effectAllowed = 'move';
              e.dataTransfer.setData('text/plain', String(index));
            }}
            onDragOver={(e) => {
              e.preventDefault();
              if (over !== index) setOver(index);
            }}
            onDragEnd={() => {
              setDragging(null);
              setOver(null);
            }}
            onDrop={(e) => {
              e.preventDefault();
              if (dragging !== null && dragging !== index) props.onMove(dragging, index);
              setDragging(null);
              setOver(null);
            }}
            style={{
              background: '#fff',
              borderRadius: 8,
              padding: '10px 12px',
              border: `1px solid ${issues.length ? '#ff4d4f' : props.matched.has(key) ? '#52c41a' : '#f0f0f0'}`,
              boxShadow: isOver ? `0 ${dragging! < index ? 3 : -3}px 0 0 #1677ff` : props.matched.has(key) ? '0 0 0 2px rgba(82,196,26,.2)' : undefined,
              opacity: dragging === index ? 0.5 : enabled ? 1 : 0.65,
            }}
          >
            <Flex gap={10} align="flex-start">
              <Flex vertical align="center" gap={2} style={{ paddingTop: 2 }}>
                <HolderOutlined style={{ cursor: 'grab', color: '#8c8c8c' }} aria-label={t('routing.rules.drag')} />
                <Typography.Text type="secondary" style={{ fontVariantNumeric: 'tabular-nums', fontSize: 12 }}>{index + 1}</Typography.Text>
              </Flex>
              <Switch size="small" checked={enabled} onChange={(v) => props.onToggle(key, v)} style={{ marginTop: 3 }} aria-label={t('routing.rules.enabled')} data-testid="routing-rule-enabled" />
              <div style={{ flex: 1, minWidth: 0 }}>
                <Flex gap={8} align="center" wrap>
                  <Typography.Text strong>{rule.name || t('routing.rules.unnamed')}</Typography.Text>
                  <Typography.Text type="secondary" style={{ fontSize: 12 }} code>{rule.id}</Typography.Text>
                  {!enabled && <Tag>{t('routing.rules.disabled')}</Tag>}
                  <Tooltip title={t('routing.rules.stopHelp')}>
                    <Tag color={ruleStops(rule) ? 'purple' : undefined}>{t(ruleStops(rule) ? 'routing.rules.stops' : 'routing.rules.continues')}</Tag>
                  </Tooltip>
                  {warning && (
                    <Tooltip title={unreachableText(warning.message, t)}>
                      <Tag color="warning" icon={<WarningOutlined />} data-testid="routing-rule-warning">{t('routing.rules.unreachable')}</Tag>
                    </Tooltip>
                  )}
                  {props.matched.has(key) && <Tag color="success" data-testid="routing-rule-matched">{t('routing.rules.matchedTag')}</Tag>}
                </Flex>
                <div style={{ marginTop: 4 }}>
                  <Typography.Text type="secondary">{t('routing.rules.whenShort')} </Typography.Text>
                  <Typography.Text>{conditionsText(rule, props.ctx, t)}</Typography.Text>
                </div>
                <Flex gap={6} align="baseline" style={{ marginTop: 4 }}>
                  <Typography.Text type="secondary" style={{ flex: 'none' }}>{t('routing.rules.thenShort')}</Typography.Text>
                  <ActionTags rule={rule} ctx={props.ctx} t={t} />
                </Flex>
                {warning && <Typography.Text type="warning" style={{ display: 'block', marginTop: 4, fontSize: 13 }} data-testid="routing-rule-warning-text">{unreachableText(warning.message, t)}</Typography.Text>}
                {issues.length > 0 && (
                  <div style={{ marginTop: 6 }} data-testid="routing-rule-error">
                    {issues.map((i, n) => (
                      <Typography.Text key={n} type="danger" style={{ display: 'block', fontSize: 13 }}>
                        {i.path ? `${whereText(i.path, t)}: ` : ''}{i.message}
                      </Typography.Text>
                    ))}
                  </div>
                )}
              </div>
              <Flex gap={2} style={{ flex: 'none' }}>
                <Tooltip title={t('routing.rules.up')}><Button size="small" type="text" icon={<ArrowUpOutlined />} disabled={index === 0} onClick={() => props.onMove(index, index - 1)} data-testid="routing-rule-up" /></Tooltip>
                <Tooltip title={t('routing.rules.down')}><Button size="small" type="text" icon={<ArrowDownOutlined />} disabled={index === props.rules.length - 1} onClick={() => props.onMove(index, index + 1)} data-testid="routing-rule-down" /></Tooltip>
                <Tooltip title={t('routing.rules.testThis')}><Button size="small" type="text" icon={<ExperimentOutlined />} onClick={() => props.onTest(key)} data-testid="routing-rule-test-this" /></Tooltip>
                <Tooltip title={t('common.edit')}><Button size="small" type="text" icon={<EditOutlined />} onClick={() => props.onEdit(key)} data-testid="routing-rule-edit" /></Tooltip>
                <Tooltip title={t('routing.rules.duplicate')}><Button size="small" type="text" icon={<CopyOutlined />} onClick={() => props.onDuplicate(key)} /></Tooltip>
                <Popconfirm title={t('routing.rules.deleteConfirm', { name: rule.name })} onConfirm={() => props.onDelete(key)} okText={t('common.delete')} okButtonProps={{ danger: true }} cancelText={t('common.cancel')}>
                  <Tooltip title={t('common.delete')}><Button size="small" type="text" danger icon={<DeleteOutlined />} data-testid="routing-rule-delete" /></Tooltip>
                </Popconfirm>
              </Flex>
            </Flex>
          </div>
        );
      })}
    </Flex>
  );
}
