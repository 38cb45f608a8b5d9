import { useEffect, useState } from 'react';
import { App, Button, Descriptions, Divider, Drawer, Form, Input, Skeleton, Space, Tag, Tooltip, Typography } from 'antd';
import { LockOutlined } from '@ant-design/icons';
import type { Contact, ContactIdentity } from '@huiliu/contracts';
import { api } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { useSession } from '../../lib/session.tsx';
import { applyApiError, errorText } from '../shared/errors.ts';
import { formatDate } from '../shared/users.ts';
import { AttributesField } from './AttributesField.tsx';
import { toPatch, toRows, type AttributeRow } from './attributes.ts';
import { TagsField } from './TagsField.tsx';

interface Values {
  name: string;
  email: string;
  phone: string;
  tags: string[];
  attributes: AttributeRow[];
}

/** Mirrors CreateContactBody.phone in packages/contracts. */
const PHONE = /^\+?[0-9 ()-]{5,20}$/;
const orNull = (s: string | undefined) => (s?.trim() ? s.trim() : null);

/**
 * One contact: view and edit, or create a new one (`contactId` = 'new'). Email and phone arrive masked for
 * people without `contact.pii`; the server refuses to let them overwrite what they cannot read, so those
 * fields are read-only for them and are only sent when actually changed.
 */
export function ContactDrawer(props: { contactId: string | null; onClose: () => void; onSaved: (c: Contact, created: boolean) => void }) {
  const { t, locale } = useI18n();
  const { message } = App.useApp();
  const session = useSession();
  const manage = session.can('contact.manage');
  const pii = session.can('contact.pii');
  const [form] = Form.useForm<Values>();
  const [contact, setContact] = useState<Contact | null>(null);
  const [identities, setIdentities] = useState<ContactIdentity[]>([]);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const creating = props.contactId === 'new';
  const open = props.contactId !== null;

  useEffect(() => {
    setContact(null);
    setIdentities([]);
    setLoadError(null);
    form.resetFields();
    if (!props.contactId) return;
    if (creating) {
      form.setFieldsValue({ name: '', email: '', phone: '', tags: [], attributes: [] });
      return;
    }
    let live = true;
    Promise.all([api<Contact>('GET', `/contacts/${props.contactId}`), api<ContactIdentity[]>('GET', `/contacts/${props.contactId}/identities`).catch(() => [])])
      .then(([c, ids]) => {
        if (!live) return;
        setContact(c);
        setIdentities(ids);
        form.setFieldsValue({ name: c.name ?? '', email: c.email ?? '', phone: c.phone ?? '', tags: c.tags, attributes: toRows(c.attributes) });
      })
      .catch((err) => live && setLoadError(errorText(err)));
    return () => {
      live = false;
    };
  }, [props.contactId, creating, form]);

  const submit = async (v: Values) => {
    setBusy(true);
    try {
      let saved: Contact;
      if (creating) {
        saved = await api<Contact>('POST', '/contacts', {
          name: orNull(v.name),
          email: orNull(v.email),
          phone: orNull(v.phone),
          tags: v.tags ?? [],
          attributes: toPatch(v.attributes ?? [], {}),
        });
      } else {
        if (!contact) return;
        const body: Record<string, unknown> = { name: orNull(v.name), tags: v.tags ?? [], attributes: toPatch(v.attributes ?? [], contact.attributes) };
        if (pii && orNull(v.email) !== contact.email) body.email = orNull(v.email);
        if (pii && orNull(v.phone) !== contact.phone) body.phone = orNull(v.phone);
        saved = await api<Contact>('PATCH', `/contacts/${contact.id}`, body);
        setContact(saved);
      }
      message.success(t('common.saved'));
      props.onSaved(saved, creating);
    } catch (err) {
      const text = applyApiError(form, err);
      message.error(text ?? t('admin.fixFields'));
    } finally {
      setBusy(false);
    }
  };

  const locked = !creating && !pii;
  const lockIcon = locked ? (
    <Tooltip title={t('admin.contacts.piiLocked')}>
      <LockOutlined style={{ color: '#999' }} />
    </Tooltip>
  ) : undefined;

  return (
    <Drawer
      open={open}
      size={520}
      title={creating ? t('admin.contacts.new') : (contact?.name ?? t('admin.contacts.unnamed'))}
      onClose={props.onClose}
      destroyOnHidden={false}
      data-testid="contact-drawer"
      extra={
        manage && (
          <Space>
            <Button onClick={props.onClose}>{t('common.cancel')}</Button>
            <Button type="primary" loading={busy} disabled={!creating && !contact} onClick={() => form.submit()} data-testid="contact-save">{t('common.save')}</Button>
          </Space>
        )
      }
    >
      {loadError ? (
        <Typography.Text type="danger">{loadError}</Typography.Text>
      ) : !creating && !contact ? (
        <Skeleton active />
      ) : (
        <>
          <Form form={form} layout="vertical" onFinish={submit} disabled={!manage}>
            <Form.Item name="name" label={t('admin.contacts.name')} rules={[{ max: 200 }]}>
              <Input data-testid="contact-name-input" />
            </Form.Item>
            <Form.Item name="email" label={t('admin.contacts.email')} rules={locked ? [] : [{ type: 'email', message: t('admin.users.emailInvalid') }]}>
              <Input disabled={locked} suffix={lockIcon} data-testid="contact-email-input" />
            </Form.Item>
            <Form.Item name="phone" label={t('admin.contacts.phone')} rules={locked ? [] : [{ pattern: PHONE, message: t('admin.contacts.phoneInvalid') }]}>
              <Input disabled={locked} suffix={lockIcon} placeholder="+8613800138000" data-testid="contact-phone-input" />
            </Form.Item>
            <Form.Item name="tags" label={t('admin.contacts.tags')}>
              <TagsField disabled={!manage} />
            </Form.Item>
            <Form.Item label={t('admin.contacts.attributes')} tooltip={t('admin.contacts.attributesHint')}>
              <AttributesField disabled={!manage} />
            </Form.Item>
          </Form>
          {contact && (
            <>
              <Divider titlePlacement="start" plain>{t('admin.contacts.channels')}</Divider>
              {identities.length === 0 ? (
                <Typography.Text type="secondary">{t('common.none')}</Typography.Text>
              ) : (
                <Space orientation="vertical" size={4}>
                  {identities.map((i) => (
                    <Space key={i.id}>
                      <Tag color="blue">{t(`admin.channel.${i.channelType}`)}</Tag>
                      <Typography.Text code ellipsis style={{ maxWidth: 300 }}>{i.sourceId}</Typography.Text>
                      {i.verified && <Tag color="green">{t('admin.contacts.verified')}</Tag>}
                    </Space>
                  ))}
                </Space>
              )}
              <Descriptions
                size="small"
                column={1}
                style={{ marginTop: 16 }}
                items={[
                  { key: 'created', label: t('admin.createdAt'), children: formatDate(contact.createdAt, locale, true) },
                  { key: 'updated', label: t('admin.updatedAt'), children: formatDate(contact.updatedAt, locale, true) },
                ]}
              />
            </>
          )}
        </>
      )}
    </Drawer>
  );
}
