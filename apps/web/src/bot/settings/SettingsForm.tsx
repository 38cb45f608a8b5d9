import { useEffect, useState } from 'react';
import { Alert, App, Button, Card, Col, Flex, Form, Input, InputNumber, Radio, Row, Select, Skeleton, Slider, Space, Switch, Typography } from 'antd';
import { SaveOutlined } from '@ant-design/icons';
import type { BotSettings, Inbox } from '@huiliu/contracts';
import { api } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { applyApiError, errorText } from '../../admin/shared/errors.ts';

/** The form's view of BotSettings: nullable numbers become a switch / radio plus a number. */
interface Values {
  inboxIds: string[];
  name: string;
  greetingOn: boolean;
  greeting: string;
  fallbackMessage: string;
  handoffMessage: string;
  intentAuto: 'auto' | 'fixed';
  intentThreshold: number;
  lowConfidenceTurns: number;
  sentimentOn: boolean;
  negativeSentimentThreshold: number;
  vipTags: string[];
  knowledgeThreshold: number;
  flowTimeoutMinutes: number;
  orderNumberPatterns: string;
}

function toValues(s: BotSettings): Values {
  return {
    inboxIds: s.inboxIds,
    name: s.name,
    greetingOn: s.greeting !== null,
    greeting: s.greeting ?? '',
    fallbackMessage: s.fallbackMessage,
    handoffMessage: s.handoffMessage,
    intentAuto: s.intentThreshold === null ? 'auto' : 'fixed',
    intentThreshold: s.intentThreshold ?? 0.5,
    lowConfidenceTurns: s.lowConfidenceTurns,
    sentimentOn: s.negativeSentimentThreshold !== null,
    negativeSentimentThreshold: s.negativeSentimentThreshold ?? -0.6,
    vipTags: s.vipTags,
    knowledgeThreshold: s.knowledgeThreshold,
    flowTimeoutMinutes: s.flowTimeoutMinutes,
    orderNumberPatterns: s.orderNumberPatterns.join('\n'),
  };
}

function toBody(v: Values): BotSettings {
  return {
    inboxIds: v.inboxIds,
    name: v.name.trim(),
    greeting: v.greetingOn && v.greeting.trim() ? v.greeting : null,
    fallbackMessage: v.fallbackMessage,
    handoffMessage: v.handoffMessage,
    intentThreshold: v.intentAuto === 'auto' ? null : v.intentThreshold,
    lowConfidenceTurns: v.lowConfidenceTurns,
    negativeSentimentThreshold: v.sentimentOn ? v.negativeSentimentThreshold : null,
    vipTags: v.vipTags.map((x) => x.trim()).filter(Boolean),
    knowledgeThreshold: v.knowledgeThreshold,
    flowTimeoutMinutes: v.flowTimeoutMinutes,
    orderNumberPatterns: v.orderNumberPatterns.split(/\r?\n/).map((l) => l.trim()).filter(Boolean),
  };
}

/**
 * Where and how the bot answers, and when it hands over. Saved as one PATCH of the whole settings; the
 * server's field issues land under the fields (nullable ones are renamed to their form fields).
 */
export function SettingsForm() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [form] = Form.useForm<Values>();
  const [loaded, setLoaded] = useState<BotSettings | null>(null);
  const [inboxes, setInboxes] = useState<Inbox[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const greetingOn = Form.useWatch('greetingOn', form);
  const intentAuto = Form.useWatch('intentAuto', form);
  const sentimentOn = Form.useWatch('sentimentOn', form);
  const sentimentValue = Form.useWatch('negativeSentimentThreshold', form);
  const knowledgeValue = Form.useWatch('knowledgeThreshold', form);

  useEffect(() => {
    api<BotSettings>('GET', '/bot/settings')
      .then((s) => {
        setLoaded(s);
        form.setFieldsValue(toValues(s));
      })
      .catch((e: unknown) => setError(errorText(e)));
    api<Inbox[]>('GET', '/inboxes')
      .then(setInboxes)
      .catch(() => undefined);
  }, [form]);

  const save = async () => {
    let v: Values;
    try {
      v = await form.validateFields();
    } catch {
      return;
    }
    setSaving(true);
    setError(null);
    try {
      const s = await api<BotSettings>('PATCH', '/bot/settings', toBody(v));
      setLoaded(s);
      form.setFieldsValue(toValues(s));
      message.success(t('bot.saved'));
    } catch (err) {
      setError(applyApiError(form, err));
    } finally {
      setSaving(false);
    }
  };

  if (!loaded && !error) return <Skeleton active paragraph={{ rows: 10 }} />;
  if (!loaded) return <Alert type="error" showIcon title={error} />;

  const patternRule = {
    validator: async (_: unknown, text: string) => {
      for (const line of (text ?? '').split(/\r?\n/).map((l) => l.trim()).filter(Boolean)) {
        try {
          new RegExp(line, 'u');
        } catch (e) {
          throw new Error(t('bot.settings.badPattern', { pattern: line, error: errorText(e) }));
        }
      }
    },
  };

  return (
    <Form form={form} layout="vertical" data-testid="bot-settings-form" style={{ maxWidth: 1100 }}>
      {error && <Alert type="error" showIcon title={error} style={{ marginBottom: 16 }} />}
      <Card size="small" title={t('bot.settings.where')} style={{ marginBottom: 16 }}>
        <Form.Item name="inboxIds" label={t('bot.settings.inboxes')} extra={t('bot.settings.inboxesHint')}>
          <Select mode="multiple" allowClear placeholder={t('bot.settings.inboxesNone')} options={inboxes.map((i) => ({ value: i.id, label: `${i.name} · ${t(`admin.channel.${i.channelType}`)}` }))} optionFilterProp="label" data-testid="bot-inboxes" />
        </Form.Item>
        <Form.Item name="name" label={t('bot.settings.name')} extra={t('bot.settings.nameHint')} rules={[{ required: true, whitespace: true, message: t('admin.required') }, { max: 40 }]}>
          <Input maxLength={40} style={{ maxWidth: 320 }} />
        </Form.Item>
      </Card>
      <Card size="small" title={t('bot.settings.messages')} style={{ marginBottom: 16 }}>
        <Form.Item label={t('bot.settings.greeting')} extra={t('bot.settings.greetingHint')}>
          <Flex gap={12} align="center">
            <Form.Item name="greetingOn" valuePropName="checked" noStyle>
              <Switch />
            </Form.Item>
            <div style={{ flex: 1 }}>
              <Form.Item name="greeting" noStyle rules={[{ max: 1000 }]}>
                <Input.TextArea autoSize={{ minRows: 1, maxRows: 4 }} disabled={!greetingOn} maxLength={1000} />
              </Form.Item>
            </div>
          </Flex>
        </Form.Item>
        <Row gutter={16}>
          <Col xs={24} md={12}>
            <Form.Item name="fallbackMessage" label={t('bot.settings.fallback')} extra={t('bot.settings.fallbackHint')} rules={[{ required: true, whitespace: true, message: t('admin.required') }, { max: 1000 }]}>
              <Input.TextArea autoSize={{ minRows: 2, maxRows: 5 }} maxLength={1000} />
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <Form.Item name="handoffMessage" label={t('bot.settings.handoff')} extra={t('bot.settings.handoffHint')} rules={[{ required: true, whitespace: true, message: t('admin.required') }, { max: 1000 }]}>
              <Input.TextArea autoSize={{ minRows: 2, maxRows: 5 }} maxLength={1000} />
            </Form.Item>
          </Col>
        </Row>
      </Card>
      <Card size="small" title={t('bot.settings.understanding')} style={{ marginBottom: 16 }}>
        <Row gutter={24}>
          <Col xs={24} md={12}>
            <Form.Item label={t('bot.settings.intentThreshold')} extra={t('bot.settings.intentThresholdHint')}>
              <Space>
                <Form.Item name="intentAuto" noStyle>
                  <Radio.Group optionType="button" options={[{ value: 'auto', label: t('bot.settings.auto') }, { value: 'fixed', label: t('bot.settings.fixed') }]} />
                </Form.Item>
                <Form.Item name="intentThreshold" noStyle>
                  <InputNumber min={0} max={1} step={0.05} disabled={intentAuto !== 'fixed'} style={{ width: 100 }} />
                </Form.Item>
              </Space>
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <Form.Item label={t('bot.settings.knowledgeThreshold')} extra={t('bot.settings.knowledgeThresholdHint')}>
              <Flex gap={16} align="center">
                <div style={{ flex: 1 }}>
                  <Form.Item name="knowledgeThreshold" noStyle>
                    <Slider min={0} max={1} step={0.05} marks={{ 0: '0', 0.5: '0.5', 1: '1' }} />
                  </Form.Item>
                </div>
                <Typography.Text strong style={{ width: 44, textAlign: 'right' }}>{(knowledgeValue ?? 0).toFixed(2)}</Typography.Text>
              </Flex>
            </Form.Item>
          </Col>
        </Row>
        <Form.Item name="orderNumberPatterns" label={t('bot.settings.orderPatterns')} extra={t('bot.settings.orderPatternsHint')} rules={[patternRule]}>
          <Input.TextArea autoSize={{ minRows: 2, maxRows: 6 }} placeholder={'^[A-Z]{2}\\d{10}$\nE\\d{12}'} style={{ fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace', fontSize: 13 }} />
        </Form.Item>
      </Card>
      <Card size="small" title={t('bot.settings.handoffRules')} style={{ marginBottom: 16 }}>
        <Row gutter={24}>
          <Col xs={24} md={12}>
            <Form.Item name="lowConfidenceTurns" label={t('bot.settings.lowTurns')} extra={t('bot.settings.lowTurnsHint')}>
              <InputNumber min={0} max={10} precision={0} style={{ width: 120 }} />
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <Form.Item label={t('bot.settings.sentiment')} extra={t('bot.settings.sentimentHint')}>
              <Flex gap={16} align="center">
                <Form.Item name="sentimentOn" valuePropName="checked" noStyle>
                  <Switch />
                </Form.Item>
                <div style={{ flex: 1 }}>
                  <Form.Item name="negativeSentimentThreshold" noStyle>
                    <Slider min={-1} max={0} step={0.05} disabled={!sentimentOn} marks={{ [-1]: '-1', [-0.5]: '-0.5', 0: '0' }} />
                  </Form.Item>
                </div>
                <Typography.Text strong style={{ width: 44, textAlign: 'right' }}>{sentimentOn ? (sentimentValue ?? 0).toFixed(2) : '—'}</Typography.Text>
              </Flex>
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <Form.Item name="vipTags" label={t('bot.settings.vipTags')} extra={t('bot.settings.vipTagsHint')}>
              <Select mode="tags" open={false} suffixIcon={null} tokenSeparators={[',', '，']} placeholder="VIP" />
            </Form.Item>
          </Col>
          <Col xs={24} md={12}>
            <Form.Item name="flowTimeoutMinutes" label={t('bot.settings.flowTimeout')} extra={t('bot.settings.flowTimeoutHint')}>
              <InputNumber min={1} max={7 * 24 * 60} precision={0} style={{ width: 160 }} suffix={t('bot.settings.minutes')} />
            </Form.Item>
          </Col>
        </Row>
      </Card>
      <Space>
        <Button type="primary" icon={<SaveOutlined />} loading={saving} onClick={() => void save()} data-testid="bot-settings-save">{t('common.save')}</Button>
        <Button onClick={() => form.setFieldsValue(toValues(loaded))}>{t('bot.settings.revert')}</Button>
        <Typography.Text type="secondary">{t('bot.settings.saveHint')}</Typography.Text>
      </Space>
    </Form>
  );
}
