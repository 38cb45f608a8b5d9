import { Button, Flex, Form, Input, Typography } from 'antd';
import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import type { Rule } from 'antd/es/form';
import { useI18n } from '../../lib/i18n.tsx';

/** Mirrors `Origin` in packages/contracts/src/api.ts: scheme, host, optional port — or `*`. */
export const ORIGIN = /^(https?:\/\/[a-z0-9.-]+(:\d{1,5})?|\*)$/i;

/** People paste whole URLs ("https://shop.com/products/1"); the origin is what the browser sends. */
export function toOrigin(input: string): string {
  const v = input.trim();
  if (v === '*' || ORIGIN.test(v)) return v.replace(/\/$/, '');
  try {
    const u = new URL(v);
    if (u.protocol === 'http:' || u.protocol === 'https:') return u.origin;
  } catch {
    /* not a URL: leave it for the validator to explain */
  }
  return v;
}

/** The list of sites allowed to embed this inbox's widget. Empty means any site. */
export function OriginsField() {
  const { t } = useI18n();
  const form = Form.useFormInstance();
  const rules: Rule[] = [
    { required: true, whitespace: true, message: t('admin.inboxes.origin.empty') },
    { pattern: ORIGIN, message: t('admin.inboxes.origin.invalid') },
    ({ getFieldValue }) => ({
      validator(_, value: string) {
        const all = (getFieldValue('allowedOrigins') as string[] | undefined) ?? [];
        const dupes = all.filter((o) => o && value && o.toLowerCase() === value.toLowerCase()).length;
        return dupes > 1 ? Promise.reject(new Error(t('admin.inboxes.origin.duplicate'))) : Promise.resolve();
      },
    }),
  ];
  return (
    <Form.List name="allowedOrigins">
      {(fields, { add, remove }, { errors }) => (
        <>
          {fields.length === 0 && (
            <Typography.Paragraph type="secondary" style={{ marginBottom: 8 }}>{t('admin.inboxes.origin.none')}</Typography.Paragraph>
          )}
          {fields.map((field) => (
            <Flex key={field.key} align="flex-start" gap={8} style={{ maxWidth: 480 }}>
              <Form.Item name={field.name} rules={rules} validateTrigger={['onChange', 'onBlur']} style={{ marginBottom: 8, flex: 1 }}>
                <Input
                  placeholder="https://shop.example.com"
                  data-testid="inbox-origin-input"
                  onBlur={(e) => {
                    const clean = toOrigin(e.target.value);
                    if (clean !== e.target.value) form.setFieldValue(['allowedOrigins', field.name], clean);
                  }}
                />
              </Form.Item>
              <Button type="text" icon={<DeleteOutlined />} onClick={() => remove(field.name)} aria-label={t('common.delete')} data-testid="inbox-origin-remove" />
            </Flex>
          ))}
          <Form.ErrorList errors={errors} />
          <Button type="dashed" icon={<PlusOutlined />} onClick={() => add('')} disabled={fields.length >= 50} data-testid="inbox-origin-add">
            {t('admin.inboxes.origin.add')}
          </Button>
        </>
      )}
    </Form.List>
  );
}
