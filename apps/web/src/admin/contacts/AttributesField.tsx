import { Button, Form, Input, Space, Typography } from 'antd';
import { DeleteOutlined, PlusOutlined } from '@ant-design/icons';
import { useI18n } from '../../lib/i18n.tsx';

/** Key/value rows for a contact's custom attributes (order id, plan, city…), inside the drawer's form. */
export function AttributesField({ disabled }: { disabled?: boolean }) {
  const { t } = useI18n();
  return (
    <Form.List name="attributes">
      {(fields, { add, remove }, { errors }) => (
        <>
          {fields.length === 0 && <Typography.Paragraph type="secondary" style={{ marginBottom: 8 }}>{t('admin.contacts.noAttributes')}</Typography.Paragraph>}
          {fields.map((field) => (
            <Space key={field.key} align="start" style={{ display: 'flex', marginBottom: 0 }}>
              <Form.Item
                name={[field.name, 'key']}
                style={{ marginBottom: 8 }}
                rules={[
                  { required: true, whitespace: true, message: t('admin.contacts.attrKeyRequired') },
                  { max: 100 },
                  ({ getFieldValue }) => ({
                    validator(_, value: string) {
                      const rows = (getFieldValue('attributes') as { key: string }[] | undefined) ?? [];
                      const same = rows.filter((r) => r?.key?.trim() && r.key.trim() === value?.trim()).length;
                      return same > 1 ? Promise.reject(new Error(t('admin.contacts.attrKeyDuplicate'))) : Promise.resolve();
                    },
                  }),
                ]}
              >
                <Input placeholder={t('admin.contacts.attrKey')} style={{ width: 150 }} disabled={disabled} data-testid="contact-attr-key" />
              </Form.Item>
              <Form.Item name={[field.name, 'value']} style={{ marginBottom: 8 }}>
                <Input placeholder={t('admin.contacts.attrValue')} style={{ width: 230 }} disabled={disabled} data-testid="contact-attr-value" />
              </Form.Item>
              {!disabled && <Button type="text" icon={<DeleteOutlined />} onClick={() => remove(field.name)} aria-label={t('common.delete')} />}
            </Space>
          ))}
          {/* Where the server's complaints about the whole set (e.g. larger than 16 KB) appear. */}
          <Form.ErrorList errors={errors} />
          {!disabled && (
            <Button type="dashed" size="small" icon={<PlusOutlined />} onClick={() => add({ key: '', value: '' })} data-testid="contact-attr-add">
              {t('admin.contacts.addAttribute')}
            </Button>
          )}
        </>
      )}
    </Form.List>
  );
}
