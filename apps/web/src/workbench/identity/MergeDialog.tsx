import { useEffect, useState } from 'react';
import { Alert, App, Modal, Select, Skeleton, Space, Typography, type ButtonProps } from 'antd';
import type { Contact, ContactIdentity, MergeResult } from '@huiliu/contracts';
import { api, qs } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { useDebounced } from '../../admin/shared/useDebounced.ts';
import { ChannelIcon } from '../bits.tsx';
import { useToastError } from '../hooks/useToastError.ts';
import type { ConversationPage } from '../types.ts';

interface Props {
  open: boolean;
  /** The contact shown in the profile: it survives. */
  current: Contact;
  /** The contact to merge in (from a suggestion); null: the agent searches one. */
  initial: Contact | null;
  onClose: () => void;
  onMerged: (survivor: Contact) => void;
}

interface Preview {
  identities: ContactIdentity[];
  conversations: number;
  more: boolean;
}

const PREVIEW_CONVERSATIONS = 50;

/** Confirms a merge, showing what moves over (identities, conversations, fields that get filled). */
export function MergeDialog({ open, current, initial, onClose, onMerged }: Props) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const toastError = useToastError();
  const [other, setOther] = useState<Contact | null>(initial);
  const [query, setQuery] = useState('');
  const q = useDebounced(query);
  const [options, setOptions] = useState<Contact[]>([]);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [saving, setSaving] = useState(false);

  useEffect(() => {
    if (open) {
      setOther(initial);
      setQuery('');
    }
  }, [open, initial]);

  useEffect(() => {
    if (!open || initial) return;
    let cancelled = false;
    api<{ items: Contact[] }>('GET', `/contacts${qs({ q, limit: 10 })}`)
      .then((r) => !cancelled && setOptions(r.items.filter((c) => c.id !== current.id)))
      .catch(() => !cancelled && setOptions([]));
    return () => {
      cancelled = true;
    };
  }, [open, initial, q, current.id]);

  useEffect(() => {
    setPreview(null);
    if (!other) return;
    let cancelled = false;
    void Promise.all([
      api<ContactIdentity[]>('GET', `/contacts/${other.id}/identities`).catch(() => [] as ContactIdentity[]),
      api<ConversationPage>('GET', `/conversations${qs({ contactId: other.id, status: 'all', assignee: 'any', limit: PREVIEW_CONVERSATIONS })}`).catch(
        () => ({ items: [], nextCursor: null }) as ConversationPage,
      ),
    ]).then(([identities, page]) => {
      if (!cancelled) setPreview({ identities, conversations: page.items.length, more: Boolean(page.nextCursor) });
    });
    return () => {
      cancelled = true;
    };
  }, [other]);

  const name = (c: Contact) => c.name ?? c.email ?? c.phone ?? t('identity.unnamed');
  const fills = other ? (['name', 'email', 'phone'] as const).filter((f) => !current[f] && other[f]) : [];

  const confirm = async () => {
    if (!other) return;
    setSaving(true);
    try {
      const r = await api<MergeResult>('POST', `/contacts/${other.id}/merge-into`, { contactId: current.id });
      void message.success(t('identity.merged'));
      onMerged(r.survivor);
    } catch (e) {
      toastError(e);
    } finally {
      setSaving(false);
    }
  };

  return (
    <Modal
      open={open}
      title={t('identity.mergeTitle')}
      onCancel={onClose}
      onOk={() => void confirm()}
      okText={t('identity.mergeConfirm')}
      okButtonProps={{ disabled: !other, loading: saving, danger: true, 'data-testid': 'merge-confirm' } as ButtonProps}
      cancelText={t('common.cancel')}
      destroyOnHidden
    >
      <Space orientation="vertical" size={12} style={{ width: '100%' }} data-testid="merge-dialog">
        {!initial && (
          <Select
            showSearch
            allowClear
            style={{ width: '100%' }}
            placeholder={t('identity.mergePick')}
            filterOption={false}
            onSearch={setQuery}
            value={other?.id}
            onChange={(id?: string) => setOther(options.find((c) => c.id === id) ?? null)}
            options={options.map((c) => ({ value: c.id, label: `${name(c)}${c.email ? ` · ${c.email}` : ''}${c.phone ? ` · ${c.phone}` : ''}` }))}
            data-testid="merge-search"
          />
        )}
        {other && (
          <>
            <Alert type="info" showIcon title={t('identity.mergeExplain', { other: name(other), current: name(current) })} />
            {preview === null ? (
              <Skeleton active paragraph={{ rows: 2 }} title={false} />
            ) : (
              <div style={{ fontSize: 13 }} data-testid="merge-preview">
                <Typography.Text strong>{t('identity.mergeMoves')}</Typography.Text>
                <ul style={{ margin: '4px 0 0', paddingInlineStart: 20 }}>
                  <li>
                    {t('identity.mergeIdentities', { count: preview.identities.length })}{' '}
                    {preview.identities.map((i) => (
                      <span key={i.id} style={{ marginInlineEnd: 4 }}>
                        <ChannelIcon type={i.channelType} />
                      </span>
                    ))}
                  </li>
                  <li>{t('identity.mergeConversations', { count: `${preview.conversations}${preview.more ? '+' : ''}` })}</li>
                  {fills.length > 0 && <li>{t('identity.mergeFills', { fields: fills.map((f) => t(`identity.field.${f}`)).join(', ') })}</li>}
                </ul>
              </div>
            )}
          </>
        )}
      </Space>
    </Modal>
  );
}
