import { useEffect, useMemo, useState } from 'react';
import { Alert, Button, Drawer, Empty, Flex, Form, Input, Segmented, Space, Tag, Typography } from 'antd';
import { CloseOutlined, PlusOutlined } from '@ant-design/icons';
import { api } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { applyApiError } from '../../admin/shared/errors.ts';
import { duplicates, exampleLines, INTENT_NAME_RE, type BotIntent, type TaggedIssue } from './types.ts';

const MAX_EXAMPLES = 2000;

/**
 * One intent: name, description and its example utterances. Examples are edited either as a list (add one,
 * remove one) or as text, one per line, which is how people paste a column from a spreadsheet. The
 * training report's errors and warnings about this intent are shown on top so the fix is made right here.
 */
export function IntentDrawer(props: { open: boolean; intent: BotIntent | null; issues: TaggedIssue[]; onClose: () => void; onSaved: (i: BotIntent) => void }) {
  const { t } = useI18n();
  const [form] = Form.useForm<{ name: string; description: string }>();
  const [text, setText] = useState('');
  const [mode, setMode] = useState<'list' | 'text'>('list');
  const [adding, setAdding] = useState('');
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!props.open) return;
    form.resetFields();
    form.setFieldsValue({ name: props.intent?.name ?? '', description: props.intent?.description ?? '' });
    setText((props.intent?.examples ?? []).join('\n'));
    setMode(props.intent ? 'list' : 'text');
    setAdding('');
    setError(null);
  }, [props.open, props.intent, form]);

  const lines = useMemo(() => exampleLines(text), [text]);
  const dups = useMemo(() => duplicates(lines), [lines]);
  const tooLong = lines.filter((l) => l.length > 500);

  const add = () => {
    // Several lines pasted into the one-line box are several examples.
    const more = exampleLines(adding);
    if (more.length === 0) return;
    setText((prev) => [...more, ...exampleLines(prev)].join('\n'));
    setAdding('');
  };
  const removeAt = (index: number) => setText(lines.filter((_, i) => i !== index).join('\n'));

  const save = async () => {
    let v: { name: string; description: string };
    try {
      v = await form.validateFields();
    } catch {
      return;
    }
    if (tooLong.length || lines.length > MAX_EXAMPLES) return;
    setSaving(true);
    setError(null);
    const body = { name: v.name.trim(), description: v.description ?? '', examples: lines };
    try {
      const saved = props.intent ? await api<BotIntent>('PATCH', `/bot/intents/${props.intent.id}`, body) : await api<BotIntent>('POST', '/bot/intents', body);
      props.onSaved(saved);
    } catch (err) {
      // Issues on examples.N are not form fields: they come back as text, with the example quoted.
      const rest = applyApiError(form, err);
      setError(rest && rest.replace(/examples\.(\d+)/g, (_m, n: string) => `“${lines[Number(n)] ?? n}”`));
    } finally {
      setSaving(false);
    }
  };

  return (
    <Drawer
      open={props.open}
      size={640}
      title={props.intent ? t('bot.intents.edit', { name: props.intent.name }) : t('bot.intents.new')}
      onClose={props.onClose}
      extra={
        <Space>
          <Button onClick={props.onClose}>{t('common.cancel')}</Button>
          <Button type="primary" loading={saving} onClick={() => void save()} disabled={tooLong.length > 0 || lines.length > MAX_EXAMPLES} data-testid="intent-save">
            {t('common.save')}
          </Button>
        </Space>
      }
      data-testid="intent-drawer"
    >
      {props.issues.map((i, n) => (
        <Alert key={n} type={i.severity} showIcon style={{ marginBottom: 8 }} title={i.message} description={i.text ? `“${i.text}”` : undefined} />
      ))}
      {error && <Alert type="error" showIcon title={error} style={{ marginBottom: 12 }} data-testid="intent-error" />}
      <Form form={form} layout="vertical" requiredMark="optional">
        <Form.Item
          name="name"
          label={t('bot.intents.name')}
          extra={t('bot.intents.nameHint')}
          rules={[{ required: true, message: t('admin.required') }, { pattern: INTENT_NAME_RE, message: t('bot.intents.nameInvalid') }]}
        >
          <Input maxLength={64} placeholder="退货 / order.status" data-testid="intent-name" />
        </Form.Item>
        <Form.Item name="description" label={t('admin.description')} rules={[{ max: 500 }]}>
          <Input maxLength={500} />
        </Form.Item>
      </Form>
      <Flex justify="space-between" align="center" style={{ marginBottom: 8 }}>
        <Typography.Text strong>
          {t('bot.intents.examples')} <Tag style={{ marginInlineStart: 4 }} data-testid="intent-example-count">{lines.length}</Tag>
        </Typography.Text>
        <Segmented<'list' | 'text'>
          size="small"
          value={mode}
          onChange={setMode}
          options={[{ value: 'list', label: t('bot.intents.asList') }, { value: 'text', label: <span data-testid="intent-mode-text">{t('bot.intents.asText')}</span> }]}
        />
      </Flex>
      {mode === 'text' ? (
        <>
          <Input.TextArea
            value={text}
            onChange={(e) => setText(e.target.value)}
            autoSize={{ minRows: 12, maxRows: 30 }}
            placeholder={t('bot.intents.examplesPlaceholder')}
            data-testid="intent-examples"
          />
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>{t('bot.intents.examplesHint')}</Typography.Text>
        </>
      ) : (
        <>
          <Space.Compact style={{ width: '100%', marginBottom: 8 }}>
            <Input value={adding} onChange={(e) => setAdding(e.target.value)} onPressEnter={add} placeholder={t('bot.intents.addPlaceholder')} maxLength={5000} data-testid="intent-example-add" />
            <Button icon={<PlusOutlined />} onClick={add} disabled={!adding.trim()}>{t('bot.intents.add')}</Button>
          </Space.Compact>
          {lines.length === 0 ? (
            <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('bot.intents.noExamples')} />
          ) : (
            <div style={{ border: '1px solid #f0f0f0', borderRadius: 6, maxHeight: 460, overflowY: 'auto' }}>
              {lines.map((l, i) => (
                <Flex key={`${i}:${l}`} justify="space-between" align="center" gap={8} style={{ padding: '5px 10px', borderBottom: '1px solid #fafafa', background: l.length > 500 ? '#fff1f0' : dups.includes(l) ? '#fffbe6' : undefined }} data-testid="intent-example">
                  <span style={{ wordBreak: 'break-word' }}>{l}</span>
                  <Button size="small" type="text" icon={<CloseOutlined />} onClick={() => removeAt(i)} aria-label={t('common.delete')} />
                </Flex>
              ))}
            </div>
          )}
        </>
      )}
      {lines.length > 0 && lines.length < 5 && <Alert type="info" showIcon style={{ marginTop: 12 }} title={t('bot.intents.fewExamples')} />}
      {dups.length > 0 && <Alert type="warning" showIcon style={{ marginTop: 12 }} title={t('bot.intents.duplicates', { list: dups.slice(0, 5).join('、') })} />}
      {tooLong.length > 0 && <Alert type="error" showIcon style={{ marginTop: 12 }} title={t('bot.intents.tooLong', { n: tooLong.length })} />}
      {lines.length > MAX_EXAMPLES && <Alert type="error" showIcon style={{ marginTop: 12 }} title={t('bot.intents.tooMany', { max: MAX_EXAMPLES })} />}
    </Drawer>
  );
}
