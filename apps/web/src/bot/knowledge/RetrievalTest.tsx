import { useEffect, useState } from 'react';
import { Alert, Button, Card, Empty, Flex, Input, Progress, Select, Space, Tag, Tooltip, Typography } from 'antd';
import { SearchOutlined } from '@ant-design/icons';
import type { BotSettings } from '@huiliu/contracts';
import { api } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { errorText } from '../../admin/shared/errors.ts';
import { Markdown } from './Markdown.tsx';
import { KB_LOCALES, type KbEntry, type KbHit } from './types.ts';

/**
 * "Would the bot find the right answer?": asks POST /kb/search like a customer would and shows the hits
 * with their confidence, marked against the bot's answer threshold (bot settings) — a hit under it is one
 * the bot would not send.
 */
export function RetrievalTest({ onOpen }: { onOpen: (e: KbEntry) => void }) {
  const { t } = useI18n();
  const [query, setQuery] = useState('');
  const [locale, setLocale] = useState<string | undefined>(undefined);
  const [hits, setHits] = useState<KbHit[] | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [threshold, setThreshold] = useState<number | null>(null);

  useEffect(() => {
    api<BotSettings>('GET', '/bot/settings')
      .then((s) => setThreshold(s.knowledgeThreshold))
      .catch(() => undefined);
  }, []);

  const run = async () => {
    const q = query.trim();
    if (!q) return;
    setLoading(true);
    setError(null);
    try {
      setHits(await api<KbHit[]>('POST', '/kb/search', { query: q, limit: 5, ...(locale ? { locale } : {}) }));
    } catch (err) {
      setError(errorText(err));
      setHits(null);
    } finally {
      setLoading(false);
    }
  };

  return (
    <Card size="small" data-testid="kb-test">
      <Typography.Paragraph type="secondary">{t('bot.kb.test.hint')}</Typography.Paragraph>
      <Space.Compact style={{ width: '100%', maxWidth: 720, marginBottom: 16 }}>
        <Select allowClear placeholder={t('bot.kb.test.anyLocale')} value={locale} onChange={setLocale} style={{ width: 130 }} options={KB_LOCALES.map((l) => ({ value: l, label: l }))} />
        <Input
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          onPressEnter={() => void run()}
          placeholder={t('bot.kb.test.placeholder')}
          maxLength={1000}
          data-testid="kb-test-input"
        />
        <Button type="primary" icon={<SearchOutlined />} loading={loading} onClick={() => void run()} disabled={!query.trim()} data-testid="kb-test-run">
          {t('bot.kb.test.run')}
        </Button>
      </Space.Compact>
      {error && <Alert type="error" showIcon title={error} style={{ marginBottom: 12 }} />}
      {hits && hits.length === 0 && <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('bot.kb.test.none')} />}
      {hits && hits.length > 0 && (
        <Flex vertical gap={10} data-testid="kb-test-hits">
          {hits.map((h, i) => {
            const answers = threshold === null || h.confidence >= threshold;
            return (
              <div key={h.entry.id} data-testid="kb-test-hit" data-entry-id={h.entry.id} style={{ border: '1px solid #f0f0f0', borderRadius: 8, padding: '10px 14px', background: i === 0 && answers ? '#f6ffed' : '#fff' }}>
                <Flex justify="space-between" align="center" gap={12}>
                  <Space size={6} style={{ minWidth: 0 }}>
                    <Typography.Text type="secondary">#{i + 1}</Typography.Text>
                    <Tag color={h.entry.kind === 'faq' ? 'blue' : 'purple'}>{t(`bot.kb.kind.${h.entry.kind}`)}</Tag>
                    <Typography.Link strong onClick={() => onOpen(h.entry)} ellipsis style={{ maxWidth: 480 }}>{h.entry.title}</Typography.Link>
                    {h.entry.category && <Tag>{h.entry.category}</Tag>}
                  </Space>
                  <Tooltip title={t('bot.kb.test.score', { score: h.score.toFixed(3) })}>
                    <Flex align="center" gap={8} style={{ width: 220, flex: 'none' }}>
                      <Typography.Text type="secondary" style={{ fontSize: 12, whiteSpace: 'nowrap' }}>{t('bot.kb.test.confidence')}</Typography.Text>
                      <Progress percent={Math.round(h.confidence * 100)} size="small" strokeColor={answers ? '#52c41a' : '#faad14'} data-testid="kb-test-confidence" />
                    </Flex>
                  </Tooltip>
                </Flex>
                {threshold !== null && !answers && (
                  <Typography.Text type="warning" style={{ fontSize: 12 }}>{t('bot.kb.test.below', { threshold: Math.round(threshold * 100) })}</Typography.Text>
                )}
                <div style={{ marginTop: 6, fontSize: 13, color: 'rgba(0,0,0,.65)', maxHeight: 120, overflow: 'hidden' }}>
                  <Markdown text={h.snippet || h.entry.body.slice(0, 300)} />
                </div>
              </div>
            );
          })}
        </Flex>
      )}
    </Card>
  );
}
