import { Card, Form, Input, InputNumber, Select, Switch, type FormRule } from 'antd';
import type { Translate } from '../../lib/i18n.tsx';
import { useI18n } from '../../lib/i18n.tsx';
import { humanize, type ConfigField } from './configSchema.ts';

/**
 * The form fields of a channel's settings, drawn from its JSON Schema (see configSchema.ts), under the
 * form name `config`. Labels are translated where the console knows the setting (`channels.field.<key>`),
 * else the schema's title, else the key made readable; the schema's description is the help line. The
 * choices of a dropdown are translated the same way (`channels.option.<kind>.<path>.<value>`), else shown
 * as the raw value the server stores.
 */
export function ConfigFields({ fields, kind }: { fields: ConfigField[]; kind: string }) {
  return (
    <>
      {fields.map((f) => (
        <FieldItem key={f.path.join('.')} f={f} kind={kind} />
      ))}
    </>
  );
}

export function fieldLabel(t: Translate, kind: string, f: Pick<ConfigField, 'key' | 'path' | 'title'>): string {
  for (const key of [`channels.field.${kind}.${f.path.join('.')}`, `channels.field.${f.path.join('.')}`, `channels.field.${f.key}`]) {
    const text = t(key);
    if (text !== key) return text;
  }
  return f.title ?? humanize(f.key);
}

/** Help lines differ per kind (apiBaseUrl of Telegram is not that of an SMS provider): `channels.help.<kind>.<path>`. */
function fieldHelp(t: Translate, kind: string, f: ConfigField): string | undefined {
  const key = `channels.help.${kind}.${f.path.join('.')}`;
  const text = t(key);
  return text !== key ? text : (f.description ?? undefined);
}

/** An enum value in the admin's language: the raw value ('safe', 'servicer') means nothing in the Chinese UI. */
function optionLabel(t: Translate, kind: string, f: ConfigField, value: string | number): string {
  const key = `channels.option.${kind}.${f.path.join('.')}.${value}`;
  const text = t(key);
  return text !== key ? text : String(value);
}

function isHttpUrl(v: string): boolean {
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

function rules(t: Translate, f: ConfigField): FormRule[] {
  const out: FormRule[] = [];
  if (f.required && f.kind !== 'boolean' && f.kind !== 'group') {
    out.push({ required: true, whitespace: true, message: t('admin.required') });
  }
  if (f.kind === 'string') {
    // new URL() rather than antd's url rule: that one refuses loopback and private hosts, which are
    // legitimate here (a self-hosted platform, a test fake) once the workspace allowlists them.
    if (f.format === 'uri' || f.format === 'url') out.push({ validator: async (_, v: unknown) => { if (typeof v === 'string' && v.trim() !== '' && !isHttpUrl(v.trim())) throw new Error(); }, message: t('channels.form.url') });
    if (f.format === 'email') out.push({ type: 'email', message: t('channels.form.email') });
    if (f.maxLength !== null) out.push({ max: f.maxLength, message: t('channels.form.maxLength', { n: f.maxLength }) });
    if (f.minLength !== null && f.minLength > 1) out.push({ min: f.minLength, message: t('channels.form.minLength', { n: f.minLength }) });
  }
  if (f.kind === 'json') {
    out.push({
      validator: async (_, v: unknown) => {
        if (typeof v !== 'string' || v.trim() === '') return;
        JSON.parse(v);
      },
      message: t('channels.form.json'),
    });
  }
  return out;
}

function FieldItem({ f, kind }: { f: ConfigField; kind: string }) {
  const { t } = useI18n();
  const name = ['config', ...f.path];
  const label = fieldLabel(t, kind, f);
  const help = fieldHelp(t, kind, f);
  const testId = `channel-config-${f.path.join('.')}`;

  if (f.kind === 'group') {
    return (
      <Card size="small" type="inner" title={label} style={{ marginBottom: 16 }} data-testid={testId}>
        {help && <div style={{ color: 'rgba(0,0,0,.45)', marginBottom: 12 }}>{help}</div>}
        <ConfigFields fields={f.fields} kind={kind} />
      </Card>
    );
  }
  if (f.kind === 'boolean') {
    return (
      <Form.Item name={name} label={label} extra={help} valuePropName="checked">
        <Switch data-testid={testId} />
      </Form.Item>
    );
  }

  let control;
  switch (f.kind) {
    case 'enum':
      control = <Select style={{ maxWidth: 340 }} allowClear={!f.required} options={f.options.map((o) => ({ value: o, label: optionLabel(t, kind, f, o) }))} data-testid={testId} />;
      break;
    case 'number':
      control = <InputNumber style={{ width: 200 }} min={f.minimum ?? undefined} max={f.maximum ?? undefined} precision={f.integer ? 0 : undefined} data-testid={testId} />;
      break;
    case 'list':
      control = <Select mode="tags" open={false} suffixIcon={null} tokenSeparators={[',', '，', ' ']} placeholder={t('channels.form.listHint')} data-testid={testId} />;
      break;
    case 'json':
      control = <Input.TextArea autoSize={{ minRows: 3, maxRows: 12 }} style={{ fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace' }} data-testid={testId} />;
      break;
    default:
      control = f.multiline ? (
        <Input.TextArea autoSize={{ minRows: 2, maxRows: 8 }} maxLength={f.maxLength ?? undefined} data-testid={testId} />
      ) : f.secretLike ? (
        <Input.Password autoComplete="new-password" maxLength={f.maxLength ?? undefined} data-testid={testId} />
      ) : (
        <Input
          maxLength={f.maxLength ?? undefined}
          placeholder={f.format === 'uri' || f.format === 'url' ? 'https://' : f.format === 'email' ? 'name@example.com' : undefined}
          data-testid={testId}
        />
      );
  }
  return (
    <Form.Item name={name} label={label} extra={help} rules={rules(t, f)} required={f.required}>
      {control}
    </Form.Item>
  );
}
