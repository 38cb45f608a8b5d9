import { useMemo, useState } from 'react';
import { Alert, App, Button, Card, Col, Flex, Form, Row, Space, Tag, Typography, type FormInstance } from 'antd';
import { ApiOutlined, CheckCircleOutlined, ExclamationCircleOutlined, SaveOutlined } from '@ant-design/icons';
import type { ChannelKindInfo, InboxChannel } from '@huiliu/contracts';
import { useI18n } from '../../lib/i18n.tsx';
import { useSession } from '../../lib/session.tsx';
import { CopyBox } from '../shared/CopyBox.tsx';
import { applyApiError, errorText } from '../shared/errors.ts';
import { checkInboxChannel, updateInboxChannel } from './channelApi.ts';
import { ConfigFields } from './ConfigFields.tsx';
import { configFields, configFromForm, initialConfig } from './configSchema.ts';
import { SecretField, secretsPatch, type SecretDraft } from './SecretField.tsx';

interface Values {
  config: Record<string, unknown>;
  secrets: Record<string, SecretDraft>;
}

/**
 * Errors the server put on a field stay until that field is validated again, and fields without rules of
 * their own never are: the admin's edit is what clears them.
 */
function clearServerErrors(form: FormInstance<Values>, changed: Partial<Values>): void {
  const touched = (name: (string | number)[]) => {
    let v: unknown = changed;
    for (const k of name) {
      if (typeof v !== 'object' || v === null || !(k in v)) return false;
      v = (v as Record<string | number, unknown>)[k];
    }
    return true;
  };
  const stale = form.getFieldsError().filter((f) => f.errors.length > 0 && touched(f.name));
  if (stale.length) form.setFields(stale.map((f) => ({ name: f.name, errors: [] })));
}

const keepAll = (channel: InboxChannel): Record<string, SecretDraft> => Object.fromEntries(channel.secrets.map((s) => [s.name, { mode: 'keep' } as SecretDraft]));

/**
 * The channel side of an inbox: is it working (ready, last error, test connection), where the platform
 * must send its webhooks, the settings drawn from the kind's JSON Schema, and the credentials (write-only).
 */
export function ChannelSettings({ inboxId, kind, channel, onSaved }: { inboxId: string; kind: ChannelKindInfo; channel: InboxChannel; onSaved: (c: InboxChannel) => void }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const manage = useSession().can('inbox.manage');
  const [form] = Form.useForm<Values>();
  const fields = useMemo(() => configFields(kind.configSchema), [kind.configSchema]);
  const [busy, setBusy] = useState(false);
  const [dirty, setDirty] = useState(false);
  const [checking, setChecking] = useState(false);
  const [check, setCheck] = useState<{ ok: boolean; message: string | null } | null>(null);
  const initial = useMemo<Values>(() => ({ config: initialConfig(fields, channel.config), secrets: keepAll(channel) }), [fields, channel]);

  const save = async (v: Values) => {
    setBusy(true);
    try {
      const secrets = secretsPatch(v.secrets ?? {});
      const saved = await updateInboxChannel(inboxId, { config: configFromForm(fields, v.config), ...(secrets ? { secrets } : {}) });
      // The stored values are the truth now: secrets back to "keep" (the password inputs close, empty).
      form.setFieldsValue({ config: initialConfig(fields, saved.config), secrets: keepAll(saved) });
      setDirty(false);
      setCheck(null);
      onSaved(saved);
      message.success(t('common.saved'));
    } catch (err) {
      const text = applyApiError(form, err);
      message.error(text ?? t('admin.fixFields'));
    } finally {
      setBusy(false);
    }
  };

  const test = async () => {
    setChecking(true);
    setCheck(null);
    try {
      setCheck(await checkInboxChannel(inboxId));
    } catch (err) {
      setCheck({ ok: false, message: errorText(err) });
    } finally {
      setChecking(false);
    }
  };

  const missing = channel.secrets.filter((s) => s.required && !s.set);

  return (
    <Row gutter={[24, 24]}>
      <Col xs={24} xl={10}>
        <Card title={t('channels.status.title')} style={{ marginBottom: 16 }} data-testid="channel-status-card">
          <Space orientation="vertical" size={12} style={{ width: '100%' }}>
            <div>
              {channel.ready ? (
                <Tag color="success" icon={<CheckCircleOutlined />} data-testid="channel-ready" data-ready="true">{t('channels.status.ready')}</Tag>
              ) : (
                <Tag color="warning" icon={<ExclamationCircleOutlined />} data-testid="channel-ready" data-ready="false">{t('channels.status.notReady')}</Tag>
              )}
              {!channel.ready && (
                <Typography.Text type="secondary" style={{ fontSize: 13 }}>
                  {missing.length
                    ? t('channels.status.missing', { names: missing.map((s) => secretLabel(t, kind.kind, s)).join(t('channels.listSep')) })
                    : t('channels.status.notReadyHint')}
                </Typography.Text>
              )}
            </div>
            {channel.lastError && <Alert type="error" showIcon title={t('channels.status.lastError')} description={channel.lastError} data-testid="channel-last-error" />}
            {kind.inbound === 'webhook' ? (
              <div>
                <Typography.Text strong>{t('channels.webhook.title')}</Typography.Text>
                <Typography.Paragraph type="secondary" style={{ margin: '2px 0 8px', fontSize: 13 }}>{t(`channels.webhook.hint.${kind.kind}`) === `channels.webhook.hint.${kind.kind}` ? t('channels.webhook.hint') : t(`channels.webhook.hint.${kind.kind}`)}</Typography.Paragraph>
                <CopyBox text={channel.webhookUrl} testId="channel-webhook-url" copyTestId="channel-webhook-copy" />
              </div>
            ) : (
              <Typography.Text type="secondary" style={{ fontSize: 13 }}>{t('channels.poll.hint')}</Typography.Text>
            )}
            <Flex gap={12} align="center" wrap>
              <Button icon={<ApiOutlined />} loading={checking} onClick={() => void test()} disabled={dirty} data-testid="channel-check">
                {t('channels.check')}
              </Button>
              {dirty && <Typography.Text type="secondary" style={{ fontSize: 12 }}>{t('channels.check.saveFirst')}</Typography.Text>}
            </Flex>
            {check && (
              <Alert
                type={check.ok ? 'success' : 'error'}
                showIcon
                title={t(check.ok ? 'channels.check.ok' : 'channels.check.failed')}
                description={check.message}
                data-testid="channel-check-result"
                data-ok={String(check.ok)}
              />
            )}
          </Space>
        </Card>
        <Card title={t('channels.caps.title')} size="small">
          <Capabilities channel={channel} />
        </Card>
      </Col>
      <Col xs={24} xl={14}>
        <Form<Values>
          form={form}
          layout="vertical"
          initialValues={initial}
          onFinish={save}
          onFinishFailed={() => message.error(t('admin.fixFields'))}
          onValuesChange={(changed: Partial<Values>) => {
            setDirty(true);
            clearServerErrors(form, changed);
          }}
          disabled={!manage}
          scrollToFirstError
          data-testid="channel-form"
        >
          <Card title={t('channels.settings.title')} style={{ marginBottom: 16 }}>
            {fields.length ? <ConfigFields fields={fields} kind={kind.kind} /> : <Typography.Text type="secondary">{t('channels.settings.none')}</Typography.Text>}
          </Card>
          {channel.secrets.length > 0 && (
            <Card title={t('channels.secrets.title')} style={{ marginBottom: 16 }}>
              <Typography.Paragraph type="secondary" style={{ fontSize: 13 }}>{t('channels.secrets.hint')}</Typography.Paragraph>
              {channel.secrets.map((s) => (
                <Form.Item key={s.name} name={['secrets', s.name]} label={secretLabel(t, kind.kind, s)} required={s.required}>
                  <SecretField info={s} />
                </Form.Item>
              ))}
            </Card>
          )}
          {manage && (
            <Flex justify="flex-end" gap={12} align="center">
              {dirty && <Tag color="orange">{t('admin.unsaved')}</Tag>}
              <Button type="primary" htmlType="submit" icon={<SaveOutlined />} loading={busy} data-testid="channel-save">
                {t('channels.settings.save')}
              </Button>
            </Flex>
          )}
        </Form>
      </Col>
    </Row>
  );
}

/** The console's words for a kind's credential (`channels.secret.<kind>.<name>`), else the adapter's label. */
function secretLabel(t: (k: string) => string, kind: string, s: { name: string; label: string }): string {
  const key = `channels.secret.${kind}.${s.name}`;
  const text = t(key);
  return text !== key ? text : s.label;
}

function Capabilities({ channel }: { channel: InboxChannel }) {
  const { t } = useI18n();
  const c = channel.capabilities;
  const mb = (n: number) => `${Math.round((n / 1024 / 1024) * 10) / 10} MB`;
  const rows: [string, string][] = [
    [t('channels.caps.content'), c.contentTypes.map((x) => t(`channels.content.${x}`)).join(t('channels.listSep'))],
    [t('channels.caps.maxText'), t('channels.caps.chars', { n: c.maxTextLength.toLocaleString() })],
    [t('channels.caps.maxMedia'), mb(c.maxMediaBytes)],
    [
      t('channels.caps.window'),
      c.sendWindow
        ? t(c.sendWindow.outside === 'templates' ? 'channels.caps.windowTemplates' : 'channels.caps.windowBlocked', { hours: c.sendWindow.hours }) +
          (c.sendWindow.maxMessages ? t('channels.caps.windowMax', { n: c.sendWindow.maxMessages }) : '')
        : t('channels.caps.noWindow'),
    ],
  ];
  const flags = (['typing', 'readReceipts', 'deliveryReports', 'templates'] as const).filter((k) => c[k]);
  return (
    <div style={{ fontSize: 13 }} data-testid="channel-capabilities">
      {rows.map(([k, v]) => (
        <Flex key={k} gap={12} style={{ padding: '3px 0' }}>
          <Typography.Text type="secondary" style={{ width: 110, flex: 'none' }}>{k}</Typography.Text>
          <span>{v}</span>
        </Flex>
      ))}
      {flags.length > 0 && (
        <div style={{ marginTop: 6 }}>
          {flags.map((f) => <Tag key={f}>{t(`channels.caps.${f}`)}</Tag>)}
        </div>
      )}
    </div>
  );
}
