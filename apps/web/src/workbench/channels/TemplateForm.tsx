import { useState } from 'react';
import { App, Button, Flex, Form, Input } from 'antd';
import { MinusCircleOutlined, PlusOutlined, SendOutlined } from '@ant-design/icons';
import { createClientId } from '@huiliu/client';
import type { Message } from '@huiliu/contracts';
import { api } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { applyApiError } from '../../admin/shared/errors.ts';

interface Values {
  name: string;
  language: string;
  variables: string[];
}

/**
 * A pre-approved template (WhatsApp outside the 24 h window): its name and language as registered with
 * the platform, and the values of its {{1}}, {{2}}… placeholders in order. Sent over REST with a clientId,
 * so a double click stores it once; the message then arrives in the timeline like any other.
 */
export function TemplateForm({ conversationId, onSent }: { conversationId: string; onSent: () => void }) {
  const { t, locale } = useI18n();
  const { message } = App.useApp();
  const [form] = Form.useForm<Values>();
  const [busy, setBusy] = useState(false);
  const [clientId, setClientId] = useState(createClientId);

  const send = async (v: Values) => {
    setBusy(true);
    try {
      await api<{ message: Message }>('POST', `/conversations/${conversationId}/messages`, {
        clientId,
        contentType: 'text',
        text: '',
        template: { name: v.name.trim(), language: v.language.trim(), variables: (v.variables ?? []).map((x) => x ?? '') },
      });
      form.resetFields();
      setClientId(createClientId());
      message.success(t('channels.template.sent'));
      onSent();
    } catch (err) {
      message.error(applyApiError(form, err) ?? t('admin.fixFields'));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Form<Values>
      form={form}
      className="wb-template-form"
      layout="vertical"
      size="small"
      initialValues={{ name: '', language: locale === 'zh-CN' ? 'zh_CN' : 'en_US', variables: [] }}
      onFinish={send}
      onValuesChange={() => setClientId(createClientId())}
      data-testid="template-form"
    >
      <Flex gap={8} wrap>
        <Form.Item name="name" label={t('channels.template.name')} rules={[{ required: true, whitespace: true, message: t('admin.required') }]} style={{ flex: '2 1 200px', marginBottom: 6 }}>
          <Input placeholder="order_update" data-testid="template-name" />
        </Form.Item>
        <Form.Item name="language" label={t('channels.template.language')} rules={[{ required: true, whitespace: true, message: t('admin.required') }]} style={{ flex: '1 1 100px', marginBottom: 6 }}>
          <Input placeholder="en_US" data-testid="template-language" />
        </Form.Item>
      </Flex>
      <Form.List name="variables">
        {(items, { add, remove }) => (
          <>
            {items.map((item, i) => (
              <Flex key={item.key} gap={6} align="center" style={{ marginBottom: 4 }}>
                <span style={{ width: 40, color: 'rgba(0,0,0,.45)', fontSize: 12, flex: 'none' }}>{`{{${i + 1}}}`}</span>
                <Form.Item name={item.name} style={{ flex: 1, marginBottom: 0 }}>
                  <Input data-testid="template-variable" />
                </Form.Item>
                <MinusCircleOutlined onClick={() => remove(item.name)} aria-label={t('channels.template.removeVariable')} />
              </Flex>
            ))}
            <Flex justify="space-between" align="center" style={{ marginTop: 4 }}>
              <Button size="small" type="dashed" icon={<PlusOutlined />} onClick={() => add('')} data-testid="template-add-variable">
                {t('channels.template.addVariable')}
              </Button>
              <Button size="small" type="primary" htmlType="submit" icon={<SendOutlined />} loading={busy} data-testid="template-send">
                {t('channels.template.send')}
              </Button>
            </Flex>
          </>
        )}
      </Form.List>
    </Form>
  );
}
