import { useEffect, useState } from 'react';
import { Alert, AutoComplete, Button, Drawer, Flex, Form, Input, Radio, Select, Space, Switch, Tabs, Typography } from 'antd';
import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { api } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { applyApiError } from '../../admin/shared/errors.ts';
import { Markdown } from './Markdown.tsx';
import { KB_LOCALES, type KbEntry } from './types.ts';

interface Values {
  kind: 'faq' | 'article';
  title: string;
  similarQuestions: string[];
  body: string;
  category: string;
  tags: string[];
  locale: string;
  enabled: boolean;
}

const blank: Values = { kind: 'faq', title: '', similarQuestions: [], body: '', category: '', tags: [], locale: 'zh-CN', enabled: true };

/**
 * Create or edit one knowledge entry. The answer is Markdown with a live preview drawn by our own safe
 * renderer (links and images, no raw HTML), so what the admin sees is what customers will see.
 */
export function EntryDrawer(props: { open: boolean; entry: KbEntry | null; categories: string[]; onClose: () => void; onSaved: (e: KbEntry) => void }) {
  const { t } = useI18n();
  const [form] = Form.useForm<Values>();
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const kind = Form.useWatch('kind', form) ?? 'faq';
  const body = Form.useWatch('body', form) ?? '';

  useEffect(() => {
    if (!props.open) return;
    setError(null);
    const e = props.entry;
    form.resetFields();
    form.setFieldsValue(
      e
        ? { kind: e.kind, title: e.title, similarQuestions: e.similarQuestions, body: e.body, category: e.category ?? '', tags: e.tags, locale: e.locale, enabled: e.enabled }
        : blank,
    );
  }, [props.open, props.entry, form]);

  const save = async () => {
    let v: Values;
    try {
      v = await form.validateFields();
    } catch {
      return;
    }
    setSaving(true);
    setError(null);
    const payload = {
      kind: v.kind,
      title: v.title.trim(),
      similarQuestions: v.kind === 'faq' ? (v.similarQuestions ?? []).map((q) => q?.trim()).filter(Boolean) : [],
      body: v.body,
      category: v.category?.trim() || null,
      tags: (v.tags ?? []).map((x) => x.trim()).filter(Boolean),
      locale: v.locale,
      enabled: v.enabled,
    };
    try {
      const saved = props.entry ? await api<KbEntry>('PATCH', `/kb/entries/${props.entry.id}`, payload) : await api<KbEntry>('POST', '/kb/entries', payload);
      props.onSaved(saved);
    } catch (err) {
      setError(applyApiError(form, err));
    } finally {
      setSaving(false);
    }
  };

  return (
    <Drawer
      open={props.open}
      size={760}
      title={props.entry ? t('bot.kb.edit') : t('bot.kb.new')}
      onClose={props.onClose}
      destroyOnHidden={false}
      extra={
        <Space>
          <Button onClick={props.onClose}>{t('common.cancel')}</Button>
          <Button type="primary" loading={saving} onClick={() => void save()} data-testid="kb-entry-save">{t('common.save')}</Button>
        </Space>
      }
      data-testid="kb-entry-drawer"
    >
      {error && <Alert type="error" showIcon title={error} style={{ marginBottom: 16 }} />}
      <Form form={form} layout="vertical" initialValues={blank}>
        <Flex gap={16} wrap>
          <Form.Item name="kind" label={t('bot.kb.kind')}>
            <Radio.Group optionType="button" options={[{ value: 'faq', label: t('bot.kb.kind.faq') }, { value: 'article', label: t('bot.kb.kind.article') }]} />
          </Form.Item>
          <Form.Item name="locale" label={t('bot.kb.locale')} rules={[{ pattern: /^[a-z]{2}(-[A-Z]{2})?$/, message: t('bot.kb.localeInvalid') }]}>
            <AutoComplete style={{ width: 120 }} options={KB_LOCALES.map((l) => ({ value: l }))} />
          </Form.Item>
          <Form.Item name="enabled" label={t('bot.kb.enabled')} valuePropName="checked">
            <Switch />
          </Form.Item>
        </Flex>
        <Form.Item name="title" label={kind === 'faq' ? t('bot.kb.question') : t('bot.kb.articleTitle')} rules={[{ required: true, whitespace: true, message: t('admin.required') }, { max: 500 }]}>
          <Input maxLength={500} data-testid="kb-entry-title" />
        </Form.Item>
        {kind === 'faq' && (
          <Form.Item label={t('bot.kb.similar')} tooltip={t('bot.kb.similarHint')}>
            <Form.List name="similarQuestions">
              {(fields, { add, remove }) => (
                <Flex vertical gap={6}>
                  {fields.map((f) => (
                    <Flex key={f.key} gap={6}>
                      <Form.Item name={f.name} noStyle rules={[{ required: true, whitespace: true, message: t('admin.required') }]}>
                        <Input maxLength={500} data-testid="kb-entry-similar" />
                      </Form.Item>
                      <Button icon={<DeleteOutlined />} onClick={() => remove(f.name)} aria-label={t('common.delete')} />
                    </Flex>
                  ))}
                  <Button type="dashed" icon={<PlusOutlined />} onClick={() => add('')} style={{ alignSelf: 'flex-start' }} data-testid="kb-entry-similar-add">
                    {t('bot.kb.similarAdd')}
                  </Button>
                </Flex>
              )}
            </Form.List>
          </Form.Item>
        )}
        <Form.Item label={kind === 'faq' ? t('bot.kb.answer') : t('bot.kb.articleBody')} required>
          <Tabs
            size="small"
            items={[
              {
                key: 'edit',
                label: t('bot.kb.write'),
                children: (
                  <Form.Item name="body" noStyle rules={[{ required: true, whitespace: true, message: t('admin.required') }]}>
                    <Input.TextArea autoSize={{ minRows: 8, maxRows: 24 }} placeholder={t('bot.kb.answerPlaceholder')} data-testid="kb-entry-body" style={{ fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace', fontSize: 13 }} />
                  </Form.Item>
                ),
              },
              {
                key: 'preview',
                label: t('bot.kb.preview'),
                children: (
                  <div style={{ border: '1px solid #f0f0f0', borderRadius: 6, padding: 12, minHeight: 160 }}>
                    {body.trim() ? <Markdown text={body} testId="kb-entry-preview" /> : <Typography.Text type="secondary">{t('bot.kb.previewEmpty')}</Typography.Text>}
                  </div>
                ),
              },
            ]}
          />
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>{t('bot.kb.markdownHint')}</Typography.Text>
        </Form.Item>
        <Flex gap={16}>
          <Form.Item name="category" label={t('bot.kb.category')} style={{ flex: 1 }} rules={[{ max: 100 }]}>
            <AutoComplete options={props.categories.map((c) => ({ value: c }))} filterOption={(input, o) => String(o?.value ?? '').includes(input)} allowClear />
          </Form.Item>
          <Form.Item name="tags" label={t('bot.kb.tags')} style={{ flex: 1 }}>
            <Select mode="tags" open={false} suffixIcon={null} tokenSeparators={[',', '，', ';', '；']} placeholder={t('bot.kb.tagsHint')} />
          </Form.Item>
        </Flex>
      </Form>
    </Drawer>
  );
}
