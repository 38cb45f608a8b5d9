import { useEffect, useRef, useState } from 'react';
import { App, Form, Input, Modal, Space, Tag, Typography } from 'antd';
import type { TextAreaRef } from 'antd/es/input/TextArea';
import type { CannedResponse } from '@huiliu/contracts';
import { api } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { useSession } from '../../lib/session.tsx';
import { applyApiError } from '../shared/errors.ts';
import { CANNED_VARIABLES, renderExample } from './variables.ts';

interface Values {
  shortCode: string;
  content: string;
}
/** Mirrors CreateCannedBody.shortCode in packages/contracts. */
const SHORT_CODE = /^[\p{L}\p{N}_-]+$/u;

/** Create or edit one canned response; clicking a variable inserts it where the cursor is. */
export function CannedModal(props: { open: boolean; canned: CannedResponse | null; onClose: () => void; onSaved: (c: CannedResponse) => void }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const session = useSession();
  const [form] = Form.useForm<Values>();
  const [busy, setBusy] = useState(false);
  const textarea = useRef<TextAreaRef>(null);
  const content = Form.useWatch('content', form) ?? '';
  const shortCode = Form.useWatch('shortCode', form) ?? '';

  useEffect(() => {
    if (!props.open) return;
    form.resetFields();
    form.setFieldsValue(props.canned ? { shortCode: props.canned.shortCode, content: props.canned.content } : { shortCode: '', content: '' });
  }, [props.open, props.canned, form]);

  const insert = (variable: string) => {
    const el = textarea.current?.resizableTextArea?.textArea;
    const current = (form.getFieldValue('content') as string | undefined) ?? '';
    const at = el ? el.selectionStart : current.length;
    const end = el ? el.selectionEnd : current.length;
    const piece = `{{${variable}}}`;
    const next = current.slice(0, at) + piece + current.slice(end);
    form.setFieldValue('content', next);
    // Put the cursor after the inserted variable, where the admin will keep typing — unless they already
    // typed on (the frame can come late), in which case moving the cursor would scatter their text.
    requestAnimationFrame(() => {
      if (!el || el.value !== next) return;
      el.focus();
      el.setSelectionRange(at + piece.length, at + piece.length);
    });
  };

  const submit = async (v: Values) => {
    setBusy(true);
    try {
      const body = { shortCode: v.shortCode.trim().replace(/^\//, ''), content: v.content };
      const saved = props.canned
        ? await api<CannedResponse>('PATCH', `/canned-responses/${props.canned.id}`, body)
        : await api<CannedResponse>('POST', '/canned-responses', body);
      message.success(t('common.saved'));
      props.onSaved(saved);
    } catch (err) {
      const text = applyApiError(form, err, { conflictField: 'shortCode' });
      if (text) message.error(text);
    } finally {
      setBusy(false);
    }
  };

  const examples: Record<string, string> = {
    'contact.name': t('admin.canned.example.contact'),
    'contact.email': 'customer@example.com',
    'agent.name': session.user.name,
    'conversation.displayId': '1024',
  };

  return (
    <Modal
      open={props.open}
      width={640}
      title={t(props.canned ? 'admin.canned.edit' : 'admin.canned.new')}
      okText={t('common.save')}
      cancelText={t('common.cancel')}
      confirmLoading={busy}
      onOk={() => form.submit()}
      onCancel={props.onClose}
      forceRender
    >
      <Form form={form} layout="vertical" onFinish={submit}>
        <Form.Item
          name="shortCode"
          label={t('admin.canned.shortCode')}
          extra={t('admin.canned.shortCodeHint', { code: shortCode || 'refund' })}
          normalize={(v: string) => v.replace(/^\//, '')}
          rules={[{ required: true, message: t('admin.required') }, { max: 50 }, { pattern: SHORT_CODE, message: t('admin.canned.shortCodeInvalid') }]}
        >
          <Input prefix="/" placeholder="refund" data-testid="canned-shortcode-input" />
        </Form.Item>
        <Form.Item name="content" label={t('admin.canned.content')} rules={[{ required: true, message: t('admin.required') }, { max: 5000 }]} style={{ marginBottom: 8 }}>
          <Input.TextArea ref={textarea} autoSize={{ minRows: 4, maxRows: 12 }} showCount maxLength={5000} data-testid="canned-content-input" />
        </Form.Item>
        <Space size={[6, 6]} wrap style={{ marginBottom: 16 }}>
          <Typography.Text type="secondary">{t('admin.canned.insert')}</Typography.Text>
          {CANNED_VARIABLES.map((v) => (
            <Tag
              key={v}
              color="blue"
              style={{ cursor: 'pointer', userSelect: 'none' }}
              // Keep the focus (and the cursor position) in the text while clicking a variable.
              onMouseDown={(e) => e.preventDefault()}
              onClick={() => insert(v)}
              data-testid="canned-variable"
            >
              {`{{${v}}}`} · {t(`admin.canned.var.${v}`)}
            </Tag>
          ))}
        </Space>
        {content && (
          <div>
            <Typography.Text type="secondary">{t('admin.canned.previewLabel')}</Typography.Text>
            <div style={{ marginTop: 4, background: '#f5f5f5', borderRadius: 8, padding: '8px 12px', whiteSpace: 'pre-wrap', wordBreak: 'break-word' }} data-testid="canned-preview">
              {renderExample(content, examples)}
            </div>
          </div>
        )}
      </Form>
    </Modal>
  );
}
