import { useEffect, useState } from 'react';
import { Alert, App, Button, Card, Col, Flex, Form, Input, Popconfirm, Row, Segmented, Select, Skeleton, Space, Switch, Table, Tag, Typography } from 'antd';
import { ApiOutlined, CheckCircleFilled, CloseCircleFilled, DeleteOutlined, KeyOutlined, SaveOutlined } from '@ant-design/icons';
import type { z } from 'zod';
import type { LlmSettings, LlmUsageDay } from '@huiliu/contracts';
import { api, qs } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { applyApiError, errorText } from '../../admin/shared/errors.ts';
import { useLoad } from '../../admin/shared/useLoad.ts';

type Preset = LlmSettings['preset'];
type Features = LlmSettings['features'];
type Usage = z.infer<typeof LlmUsageDay>;

/**
 * Each preset's usual OpenAI-compatible endpoint and models, filled in when the admin picks it (they can
 * change every field). Doubao's "model" is the endpoint id (ep-…) created in the Volcano Ark console, so
 * it has no default. Local servers (Ollama, vLLM) listen on the machine itself.
 */
export const LLM_PRESETS: Record<Preset, { baseUrl: string; chatModel: string; embeddingModel: string }> = {
  deepseek: { baseUrl: 'https://api.deepseek.com/v1', chatModel: 'deepseek-chat', embeddingModel: '' },
  qwen: { baseUrl: 'https://dashscope.aliyuncs.com/compatible-mode/v1', chatModel: 'qwen-plus', embeddingModel: 'text-embedding-v3' },
  glm: { baseUrl: 'https://open.bigmodel.cn/api/paas/v4', chatModel: 'glm-4-flash', embeddingModel: 'embedding-3' },
  doubao: { baseUrl: 'https://ark.cn-beijing.volces.com/api/v3', chatModel: '', embeddingModel: '' },
  openai: { baseUrl: 'https://api.openai.com/v1', chatModel: 'gpt-4o-mini', embeddingModel: 'text-embedding-3-small' },
  ollama: { baseUrl: 'http://127.0.0.1:11434/v1', chatModel: 'qwen2.5:7b', embeddingModel: 'bge-m3' },
  vllm: { baseUrl: 'http://127.0.0.1:8000/v1', chatModel: '', embeddingModel: '' },
  custom: { baseUrl: '', chatModel: '', embeddingModel: '' },
};
const PRESETS = Object.keys(LLM_PRESETS) as Preset[];
const FEATURES: (keyof Features)[] = ['answers', 'intentFallback', 'summaries', 'suggestions', 'translation'];

interface Values {
  enabled: boolean;
  preset: Preset;
  baseUrl: string;
  chatModel: string;
  embeddingModel: string;
  apiKey: string;
  features: Features;
}

const toValues = (s: LlmSettings): Values => ({
  enabled: s.enabled,
  preset: s.preset,
  baseUrl: s.baseUrl ?? '',
  chatModel: s.chatModel ?? '',
  embeddingModel: s.embeddingModel ?? '',
  apiKey: '',
  features: s.features,
});

/**
 * The optional LLM provider (any OpenAI-compatible endpoint). The API key is write-only: the server only
 * says whether one is stored; typing a new one replaces it, "Clear" removes it. "Test connection" asks the
 * server to call the provider with the saved settings, so save first.
 */
export function LlmCard() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [form] = Form.useForm<Values>();
  const [settings, setSettings] = useState<LlmSettings | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [dirty, setDirty] = useState(false);
  const [testing, setTesting] = useState(false);
  const [test, setTest] = useState<{ ok: boolean; latencyMs: number | null; error: string | null } | null>(null);
  const [days, setDays] = useState(30);
  const usage = useLoad(() => api<Usage[]>('GET', `/bot/llm/usage${qs({ days })}`), [days]);
  const enabled = Form.useWatch('enabled', form);

  useEffect(() => {
    api<LlmSettings>('GET', '/bot/llm')
      .then((s) => {
        setSettings(s);
        form.setFieldsValue(toValues(s));
      })
      .catch((e: unknown) => setError(errorText(e)));
  }, [form]);

  const onPreset = (preset: Preset) => {
    const d = LLM_PRESETS[preset];
    const current = form.getFieldsValue();
    // Replace the fields that are empty or still hold another preset's default; keep what the admin typed.
    const isDefault = (field: 'baseUrl' | 'chatModel' | 'embeddingModel') => !current[field] || PRESETS.some((p) => LLM_PRESETS[p][field] === current[field]);
    form.setFieldsValue({
      ...(isDefault('baseUrl') ? { baseUrl: d.baseUrl } : {}),
      ...(isDefault('chatModel') ? { chatModel: d.chatModel } : {}),
      ...(isDefault('embeddingModel') ? { embeddingModel: d.embeddingModel } : {}),
    });
  };

  const save = async (extra: Record<string, unknown> = {}) => {
    let v: Values;
    try {
      v = await form.validateFields();
    } catch {
      return;
    }
    setSaving(true);
    setError(null);
    try {
      const s = await api<LlmSettings>('PATCH', '/bot/llm', {
        enabled: v.enabled,
        preset: v.preset,
        baseUrl: v.baseUrl.trim() || null,
        chatModel: v.chatModel.trim() || null,
        embeddingModel: v.embeddingModel.trim() || null,
        ...(v.apiKey.trim() ? { apiKey: v.apiKey.trim() } : {}),
        features: v.features,
        ...extra,
      });
      setSettings(s);
      form.setFieldsValue(toValues(s));
      setDirty(false);
      setTest(null);
      message.success(t('bot.saved'));
    } catch (err) {
      setError(applyApiError(form, err));
    } finally {
      setSaving(false);
    }
  };

  const clearKey = async () => {
    try {
      const s = await api<LlmSettings>('PATCH', '/bot/llm', { apiKey: null });
      setSettings(s);
      form.setFieldValue('apiKey', '');
      message.success(t('bot.llm.keyCleared'));
    } catch (err) {
      message.error(errorText(err));
    }
  };

  const runTest = async () => {
    setTesting(true);
    setTest(null);
    try {
      setTest(await api<{ ok: boolean; latencyMs: number | null; error: string | null }>('POST', '/bot/llm/test'));
    } catch (err) {
      setTest({ ok: false, latencyMs: null, error: errorText(err) });
    } finally {
      setTesting(false);
    }
  };

  if (!settings && !error) return <Skeleton active />;
  if (!settings) return <Alert type="error" showIcon title={error} />;

  const totals = (usage.data ?? []).reduce((a, u) => ({ requests: a.requests + u.requests, tokens: a.tokens + u.promptTokens + u.completionTokens }), { requests: 0, tokens: 0 });

  return (
    <Flex vertical gap={16} style={{ maxWidth: 1100 }}>
      <Card
        size="small"
        title={<Space><ApiOutlined />{t('bot.llm.title')}</Space>}
        extra={<Tag color={settings.enabled ? 'green' : 'default'}>{t(settings.enabled ? 'bot.llm.on' : 'bot.llm.off')}</Tag>}
        data-testid="llm-card"
      >
        <Typography.Paragraph type="secondary">{t('bot.llm.hint')}</Typography.Paragraph>
        {error && <Alert type="error" showIcon title={error} style={{ marginBottom: 12 }} />}
        <Form form={form} layout="vertical" onValuesChange={() => setDirty(true)}>
          <Row gutter={16}>
            <Col xs={24} md={6}>
              <Form.Item name="enabled" label={t('bot.llm.enabled')} valuePropName="checked">
                <Switch data-testid="llm-enabled" />
              </Form.Item>
            </Col>
            <Col xs={24} md={8}>
              <Form.Item name="preset" label={t('bot.llm.preset')}>
                <Select onChange={onPreset} options={PRESETS.map((p) => ({ value: p, label: t(`bot.llm.preset.${p}`) }))} data-testid="llm-preset" />
              </Form.Item>
            </Col>
            <Col xs={24} md={10}>
              <Form.Item name="baseUrl" label={t('bot.llm.baseUrl')} rules={[{ required: enabled, message: t('admin.required') }, { type: 'url', message: t('bot.llm.baseUrlInvalid') }]}>
                <Input placeholder="https://api.deepseek.com/v1" data-testid="llm-base-url" />
              </Form.Item>
            </Col>
            <Col xs={24} md={8}>
              <Form.Item name="chatModel" label={t('bot.llm.chatModel')} rules={[{ required: enabled, message: t('admin.required') }]}>
                <Input placeholder="deepseek-chat" data-testid="llm-chat-model" />
              </Form.Item>
            </Col>
            <Col xs={24} md={8}>
              <Form.Item name="embeddingModel" label={t('bot.llm.embeddingModel')} extra={t('bot.llm.embeddingHint')}>
                <Input placeholder="text-embedding-v3" />
              </Form.Item>
            </Col>
            <Col xs={24} md={8}>
              <Form.Item
                label={
                  <Space size={6}>
                    {t('bot.llm.apiKey')}
                    {settings.hasApiKey && <Tag icon={<KeyOutlined />} color="green" data-testid="llm-key-stored">{t('bot.llm.keyStored')}</Tag>}
                  </Space>
                }
                extra={settings.hasApiKey ? t('bot.llm.keyReplace') : t('bot.llm.keyHint')}
              >
                <Space.Compact style={{ width: '100%' }}>
                  <Form.Item name="apiKey" noStyle>
                    <Input.Password autoComplete="new-password" placeholder={settings.hasApiKey ? '••••••••' : 'sk-…'} visibilityToggle={false} data-testid="llm-api-key" />
                  </Form.Item>
                  {settings.hasApiKey && (
                    <Popconfirm title={t('bot.llm.clearConfirm')} onConfirm={() => void clearKey()} okText={t('bot.llm.clear')} okButtonProps={{ danger: true }} cancelText={t('common.cancel')}>
                      <Button icon={<DeleteOutlined />} data-testid="llm-key-clear">{t('bot.llm.clear')}</Button>
                    </Popconfirm>
                  )}
                </Space.Compact>
              </Form.Item>
            </Col>
          </Row>
          <Typography.Text strong>{t('bot.llm.features')}</Typography.Text>
          <Row gutter={[16, 4]} style={{ marginTop: 8 }}>
            {FEATURES.map((f) => (
              <Col xs={24} md={12} key={f}>
                <Flex gap={8} align="center">
                  <Form.Item name={['features', f]} valuePropName="checked" noStyle>
                    <Switch size="small" />
                  </Form.Item>
                  <span>{t(`bot.llm.feature.${f}`)}</span>
                </Flex>
              </Col>
            ))}
          </Row>
        </Form>
        <Flex gap={8} align="center" wrap style={{ marginTop: 16 }}>
          <Button type="primary" icon={<SaveOutlined />} loading={saving} onClick={() => void save()} data-testid="llm-save">{t('common.save')}</Button>
          <Button loading={testing} onClick={() => void runTest()} disabled={dirty} data-testid="llm-test">{t('bot.llm.test')}</Button>
          {dirty && <Typography.Text type="secondary">{t('bot.llm.saveFirst')}</Typography.Text>}
          {test && (
            <span data-testid="llm-test-result" data-ok={String(test.ok)}>
              {test.ok ? (
                <Typography.Text type="success"><CheckCircleFilled /> {t('bot.llm.testOk', { ms: Math.round(test.latencyMs ?? 0) })}</Typography.Text>
              ) : (
                <Typography.Text type="danger"><CloseCircleFilled /> {t('bot.llm.testFailed', { error: test.error ?? '' })}</Typography.Text>
              )}
            </span>
          )}
        </Flex>
      </Card>
      <Card
        size="small"
        title={t('bot.llm.usage')}
        extra={<Segmented<number> size="small" value={days} onChange={setDays} options={[7, 30, 90].map((d) => ({ value: d, label: t('bot.days', { n: d }) }))} />}
      >
        {usage.error ? (
          <Alert type="error" showIcon title={errorText(usage.error)} />
        ) : (
          <>
            <Typography.Paragraph type="secondary">{t('bot.llm.usageTotals', { requests: totals.requests, tokens: totals.tokens.toLocaleString() })}</Typography.Paragraph>
            <Table<Usage>
              size="small"
              rowKey={(u) => `${u.day}:${u.purpose}`}
              loading={usage.loading}
              dataSource={usage.data ?? []}
              pagination={(usage.data?.length ?? 0) > 15 ? { pageSize: 15, size: 'small' } : false}
              locale={{ emptyText: t('bot.llm.noUsage') }}
              columns={[
                { title: t('bot.llm.day'), dataIndex: 'day', width: 120 },
                { title: t('bot.llm.purpose'), dataIndex: 'purpose', render: (p: string) => { const k = `bot.llm.feature.${p}`; const s = t(k); return s === k ? p : s; } },
                { title: t('bot.llm.requests'), dataIndex: 'requests', align: 'right', width: 90 },
                { title: t('bot.llm.failures'), dataIndex: 'failures', align: 'right', width: 90, render: (n: number) => <span style={{ color: n ? '#cf1322' : undefined }}>{n}</span> },
                { title: t('bot.llm.promptTokens'), dataIndex: 'promptTokens', align: 'right', width: 120, render: (n: number) => n.toLocaleString() },
                { title: t('bot.llm.completionTokens'), dataIndex: 'completionTokens', align: 'right', width: 120, render: (n: number) => n.toLocaleString() },
                { title: t('bot.llm.latency'), dataIndex: 'avgLatencyMs', align: 'right', width: 110, render: (n: number) => `${Math.round(n)} ms` },
              ]}
            />
          </>
        )}
      </Card>
    </Flex>
  );
}
