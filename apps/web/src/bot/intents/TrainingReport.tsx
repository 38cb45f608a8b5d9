import { Alert, Card, Col, Empty, Flex, Row, Statistic, Table, Tag, Tooltip, Typography } from 'antd';
import { ArrowRightOutlined } from '@ant-design/icons';
import { useI18n } from '../../lib/i18n.tsx';
import { formatDate } from '../../admin/shared/users.ts';
import { rowAttrs } from '../../admin/shared/table.ts';
import { pct, taggedIssues, WEAK_F1, type BotTrainingReport } from './types.ts';

/** How the report names "no intent" (the evaluation's label for out-of-scope rows). */
const OUT_OF_SCOPE = new Set(['oos', '__oos__', 'none']);

type Quality = BotTrainingReport['perIntent'][number];
type Miss = BotTrainingReport['misses'][number];

/**
 * How well the model does on the workspace's own examples (k-fold cross-validation): the overall figures,
 * each intent worst first (red under 0.8 F1), which intents get mixed up, the examples it got wrong, and
 * the problems found in the training set, each with the intent it names (click to fix it).
 */
export function TrainingReport({ report, onOpenIntent }: { report: BotTrainingReport; onOpenIntent: (name: string) => void }) {
  const { t, locale } = useI18n();
  const issues = taggedIssues(report);
  const perIntent = [...report.perIntent].sort((a, b) => a.f1 - b.f1 || a.intent.localeCompare(b.intent));
  const intentLink = (name: string | null | undefined) =>
    name && !OUT_OF_SCOPE.has(name) ? (
      <Typography.Link onClick={() => onOpenIntent(name)}>{name}</Typography.Link>
    ) : (
      <Typography.Text type="secondary">{t('bot.intents.outOfScope')}</Typography.Text>
    );
  const quality = (x: number) => <span style={{ color: x < WEAK_F1 ? '#cf1322' : undefined, fontWeight: x < WEAK_F1 ? 600 : undefined }}>{x.toFixed(2)}</span>;

  return (
    <div data-testid="training-report" data-status={report.status}>
      {report.status === 'failed' && <Alert type="error" showIcon title={t('bot.report.failed')} style={{ marginBottom: 12 }} />}
      {report.status === 'untrained' && issues.length === 0 && <Alert type="info" showIcon title={t('bot.report.untrained')} style={{ marginBottom: 12 }} />}
      {issues.length > 0 && (
        <Card size="small" title={t('bot.report.issues', { n: issues.length })} style={{ marginBottom: 16 }} data-testid="training-issues">
          <Flex vertical gap={6}>
            {issues.map((i, n) => (
              <Alert
                key={n}
                type={i.severity}
                showIcon
                data-testid="training-issue"
                data-severity={i.severity}
                title={
                  <span>
                    {i.intent && <Tag color={i.severity === 'error' ? 'red' : 'orange'} style={{ cursor: 'pointer' }} onClick={() => onOpenIntent(i.intent!)}>{i.intent}</Tag>}
                    {i.message}
                    {i.text && <Typography.Text type="secondary"> — “{i.text}”</Typography.Text>}
                  </span>
                }
              />
            ))}
          </Flex>
        </Card>
      )}
      {report.status !== 'untrained' && (report.status === 'trained' || report.perIntent.length > 0) && (
        <>
          <Card size="small" style={{ marginBottom: 16 }}>
            <Row gutter={[16, 12]}>
              <Col xs={12} md={4}>
                <Statistic title={t('bot.report.accuracy')} value={pct(report.accuracy)} styles={{ content: { color: report.accuracy !== null && report.accuracy < WEAK_F1 ? '#cf1322' : '#389e0d' } }} data-testid="report-accuracy" />
              </Col>
              <Col xs={12} md={4}>
                <Statistic title={t('bot.report.macroF1')} value={report.macroF1 === null ? '—' : report.macroF1.toFixed(3)} data-testid="report-macro-f1" />
              </Col>
              <Col xs={12} md={4}>
                <Statistic title={t('bot.report.intents')} value={report.intents} />
              </Col>
              <Col xs={12} md={4}>
                <Statistic title={t('bot.report.examples')} value={report.examples} />
              </Col>
              <Col xs={12} md={4}>
                <Statistic title={t('bot.report.threshold')} value={report.threshold === null ? '—' : report.threshold.toFixed(2)} />
              </Col>
              <Col xs={12} md={4}>
                <Statistic title={t('bot.report.trainSeconds')} value={report.trainSeconds === null ? '—' : `${report.trainSeconds.toFixed(1)} s`} />
              </Col>
            </Row>
            {report.trainedAt && <Typography.Text type="secondary" style={{ fontSize: 12 }}>{t('bot.report.trainedAt', { date: formatDate(report.trainedAt, locale, true) })} · {t('bot.report.cv')}</Typography.Text>}
          </Card>
          <Row gutter={16}>
            <Col xs={24} xl={14}>
              <Card size="small" title={t('bot.report.perIntent')} style={{ marginBottom: 16 }}>
                <Table<Quality>
                  size="small"
                  rowKey="intent"
                  dataSource={perIntent}
                  pagination={perIntent.length > 15 ? { pageSize: 15, size: 'small' } : false}
                  data-testid="report-per-intent"
                  onRow={(q) => rowAttrs({ 'data-testid': 'report-intent-row', 'data-intent': q.intent, 'data-weak': String(q.f1 < WEAK_F1) })}
                  locale={{ emptyText: t('bot.report.noIntents') }}
                  columns={[
                    { title: t('bot.intents.name'), dataIndex: 'intent', render: (n: string) => intentLink(n) },
                    { title: t('bot.report.precision'), dataIndex: 'precision', width: 90, align: 'right', render: quality },
                    { title: t('bot.report.recall'), dataIndex: 'recall', width: 90, align: 'right', render: quality },
                    { title: 'F1', dataIndex: 'f1', width: 80, align: 'right', render: quality },
                    { title: t('bot.report.support'), dataIndex: 'support', width: 80, align: 'right' },
                  ]}
                />
              </Card>
            </Col>
            <Col xs={24} xl={10}>
              <Card size="small" title={t('bot.report.confusions')} style={{ marginBottom: 16 }} data-testid="report-confusions">
                {report.confusions.length === 0 ? (
                  <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('bot.report.noConfusions')} />
                ) : (
                  <Flex vertical gap={6}>
                    {report.confusions.slice(0, 15).map((c) => (
                      <Flex key={`${c.expected}>${c.predicted}`} align="center" gap={8} data-testid="report-confusion">
                        {intentLink(c.expected)}
                        <ArrowRightOutlined style={{ color: 'rgba(0,0,0,.35)' }} />
                        {intentLink(c.predicted)}
                        <Tag color="volcano" style={{ marginInlineStart: 'auto' }}>×{c.count}</Tag>
                      </Flex>
                    ))}
                  </Flex>
                )}
              </Card>
            </Col>
          </Row>
          <Card size="small" title={t('bot.report.misses', { n: report.misses.length })}>
            <Table<Miss>
              size="small"
              rowKey={(m) => `${m.expected}:${m.text}`}
              dataSource={report.misses}
              pagination={report.misses.length > 10 ? { pageSize: 10, size: 'small' } : false}
              locale={{ emptyText: t('bot.report.noMisses') }}
              data-testid="report-misses"
              columns={[
                { title: t('bot.report.text'), dataIndex: 'text' },
                { title: t('bot.report.expected'), dataIndex: 'expected', width: 160, render: (n: string) => intentLink(n) },
                { title: t('bot.report.predicted'), dataIndex: 'predicted', width: 160, render: (n: string | null) => intentLink(n) },
                {
                  title: t('bot.report.confidence'),
                  dataIndex: 'confidence',
                  width: 100,
                  align: 'right',
                  render: (c: number) => (
                    <Tooltip title={report.threshold !== null && c < report.threshold ? t('bot.report.belowThreshold') : undefined}>
                      {pct(c, 0)}
                    </Tooltip>
                  ),
                },
              ]}
            />
          </Card>
        </>
      )}
    </div>
  );
}
