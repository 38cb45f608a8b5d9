import { useState } from 'react';
import { Alert, Card, Col, Empty, Flex, Progress, Row, Segmented, Skeleton, Statistic, Table, Typography } from 'antd';
import type { BotAnalytics } from '@huiliu/contracts';
import { api, qs } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { errorText } from '../../admin/shared/errors.ts';
import { useLoad } from '../../admin/shared/useLoad.ts';

/** A handoff reason in words when we know it (BotHandoffReason), the server's text otherwise. */
export function handoffReasonText(t: (k: string) => string, reason: string): string {
  const key = `bot.reason.${reason}`;
  const s = t(key);
  return s === key ? reason : s;
}

/**
 * How the bot is doing over the last N days: conversations it answered first, how many it resolved
 * without a human (containment), why it handed over, and what customers asked about most.
 */
export function BotAnalyticsPanel() {
  const { t } = useI18n();
  const [days, setDays] = useState(30);
  const data = useLoad(() => api<BotAnalytics>('GET', `/bot/analytics${qs({ days })}`), [days]);
  const a = data.data;
  const maxReason = Math.max(1, ...(a?.handoffReasons ?? []).map((r) => r.count));

  return (
    <Flex vertical gap={16} style={{ maxWidth: 1100 }} data-testid="bot-analytics">
      <Flex justify="flex-end">
        <Segmented<number> value={days} onChange={setDays} options={[7, 30, 90].map((d) => ({ value: d, label: t('bot.days', { n: d }) }))} />
      </Flex>
      {data.error && <Alert type="error" showIcon title={errorText(data.error)} />}
      {!a && !data.error && <Skeleton active />}
      {a && (
        <>
          <Card size="small">
            <Row gutter={[16, 16]}>
              <Col xs={12} md={4}><Statistic title={t('bot.analytics.conversations')} value={a.conversations} /></Col>
              <Col xs={12} md={4}>
                <Statistic title={t('bot.analytics.containment')} value={a.containmentRate === null ? '—' : `${(a.containmentRate * 100).toFixed(1)}%`} styles={{ content: { color: '#389e0d' } }} />
              </Col>
              <Col xs={12} md={4}><Statistic title={t('bot.analytics.contained')} value={a.contained} /></Col>
              <Col xs={12} md={4}><Statistic title={t('bot.analytics.handedOff')} value={a.handedOff} /></Col>
              <Col xs={12} md={4}><Statistic title={t('bot.analytics.knowledge')} value={a.knowledgeAnswers} /></Col>
              <Col xs={12} md={4}><Statistic title={t('bot.analytics.fallbacks')} value={a.fallbacks} /></Col>
            </Row>
          </Card>
          <Row gutter={16}>
            <Col xs={24} md={12}>
              <Card size="small" title={t('bot.analytics.reasons')} style={{ height: '100%' }}>
                {a.handoffReasons.length === 0 ? (
                  <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('bot.analytics.noHandoffs')} />
                ) : (
                  <Flex vertical gap={8}>
                    {[...a.handoffReasons].sort((x, y) => y.count - x.count).map((r) => (
                      <div key={r.reason}>
                        <Flex justify="space-between"><span>{handoffReasonText(t, r.reason)}</span><Typography.Text strong>{r.count}</Typography.Text></Flex>
                        <Progress percent={(r.count / maxReason) * 100} showInfo={false} size="small" strokeColor="#fa8c16" />
                      </div>
                    ))}
                  </Flex>
                )}
              </Card>
            </Col>
            <Col xs={24} md={12}>
              <Card size="small" title={t('bot.analytics.topIntents')} style={{ height: '100%' }}>
                <Table
                  size="small"
                  rowKey="intent"
                  pagination={false}
                  dataSource={a.topIntents.slice(0, 10)}
                  locale={{ emptyText: t('bot.analytics.noIntents') }}
                  columns={[
                    { title: t('bot.intents.name'), dataIndex: 'intent' },
                    { title: t('bot.analytics.count'), dataIndex: 'count', align: 'right', width: 100 },
                  ]}
                />
              </Card>
            </Col>
          </Row>
        </>
      )}
    </Flex>
  );
}
