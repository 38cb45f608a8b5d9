import { useState } from 'react';
import { App, Button, Popconfirm, Skeleton, Tag, Typography } from 'antd';
import { MergeCellsOutlined, UndoOutlined } from '@ant-design/icons';
import type { Contact, ContactMerge, MergeSuggestion, UnmergeResult } from '@huiliu/contracts';
import { api } from '../../lib/api.ts';
import { formatDateTime } from '../../lib/format.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { useSession } from '../../lib/session.tsx';
import { PersonAvatar } from '../bits.tsx';
import { useDirectory } from '../hooks/useDirectory.tsx';
import { useToastError } from '../hooks/useToastError.ts';
import { MergeDialog } from './MergeDialog.tsx';
import { useFetched } from './useFetched.ts';

interface Props {
  contact: Contact;
  rev: number;
  /** After a merge or an unmerge: the profile's contact as it is now. */
  onChanged: (contact: Contact) => void;
}

/**
 * Lookalike contacts (never merged automatically: what they share is not verified) with a merge button,
 * a manual merge by search, and the merge history with unmerge. Merging needs contact.merge.
 */
export function ContactMerges({ contact, rev, onChanged }: Props) {
  const { t, locale } = useI18n();
  const { can } = useSession();
  const { message } = App.useApp();
  const dir = useDirectory();
  const toastError = useToastError();
  const mayMerge = can('contact.merge');
  const suggestions = useFetched<MergeSuggestion[]>(`/contacts/${contact.id}/merge-suggestions`, rev, []);
  const history = useFetched<ContactMerge[]>(`/contacts/${contact.id}/merges`, rev, []);
  const [dialog, setDialog] = useState<{ initial: Contact | null } | null>(null);
  const [undoing, setUndoing] = useState<string | null>(null);
  const name = (c: Contact) => c.name ?? c.email ?? c.phone ?? t('identity.unnamed');

  const unmerge = async (m: ContactMerge) => {
    setUndoing(m.id);
    try {
      const r = await api<UnmergeResult>('POST', `/contacts/${m.mergedId}/unmerge`);
      void message.success(t('identity.unmerged'));
      onChanged(r.survivor.id === contact.id ? r.survivor : r.contact);
    } catch (e) {
      toastError(e);
    } finally {
      setUndoing(null);
    }
  };

  return (
    <>
      <div className="wb-profile-section" data-testid="identity-suggestions">
        <h5>{t('identity.suggestions')}</h5>
        {suggestions === null ? (
          <Skeleton active paragraph={{ rows: 1 }} title={false} />
        ) : suggestions.length === 0 ? (
          <Typography.Text type="secondary" style={{ fontSize: 13 }}>{t('identity.noSuggestions')}</Typography.Text>
        ) : (
          suggestions.map((s) => (
            <div key={s.contact.id} className="wb-identity" data-testid="identity-suggestion" data-contact-id={s.contact.id}>
              <PersonAvatar id={s.contact.id} name={s.contact.name} />
              <div style={{ flex: 1, minWidth: 0 }}>
                <div className="wb-identity-inbox">{name(s.contact)}</div>
                <div>
                  {s.reasons.map((r) => (
                    <Tag key={r.code} className="wb-identity-reason">{t(`identity.reason.${r.code}`, { detail: r.detail ?? '' })}</Tag>
                  ))}
                </div>
              </div>
              {mayMerge && (
                <Button size="small" icon={<MergeCellsOutlined />} onClick={() => setDialog({ initial: s.contact })} data-testid="identity-merge-suggestion">
                  {t('identity.merge')}
                </Button>
              )}
            </div>
          ))
        )}
        {mayMerge && (
          <Button size="small" type="link" onClick={() => setDialog({ initial: null })} style={{ paddingInline: 0 }} data-testid="identity-merge-other">
            {t('identity.mergeOther')}
          </Button>
        )}
      </div>

      {history !== null && history.length > 0 && (
        <div className="wb-profile-section" data-testid="identity-history">
          <h5>{t('identity.history')}</h5>
          {history.map((m) => {
            const into = m.survivorId === contact.id;
            const who = m.actor.type === 'user' ? (m.actor.name ?? dir.userById.get(m.actor.id ?? '')?.name ?? '—') : t('identity.historyAuto');
            const reason = m.reason === 'manual' ? t('identity.historyManual') : m.reason;
            return (
              <div key={m.id} className="wb-identity" data-testid="identity-merge" data-merge-id={m.id} data-undone={String(Boolean(m.undoneAt))}>
                <div style={{ flex: 1, minWidth: 0, fontSize: 13 }}>
                  <div>{into ? t('identity.historyMergedIn', { name: name(m.merged) }) : t('identity.historyMergedInto')}</div>
                  <Typography.Text type="secondary" style={{ fontSize: 12 }}>
                    {t('identity.historyBy', { who, reason, date: formatDateTime(m.createdAt, locale) })}
                  </Typography.Text>
                </div>
                {m.undoneAt ? (
                  <Tag style={{ marginInlineEnd: 0 }}>{t('identity.undone')}</Tag>
                ) : (
                  into &&
                  mayMerge && (
                    <Popconfirm title={t('identity.unmergeConfirm', { name: name(m.merged) })} onConfirm={() => void unmerge(m)} okText={t('identity.unmerge')} cancelText={t('common.cancel')}>
                      <Button size="small" icon={<UndoOutlined />} loading={undoing === m.id} data-testid="identity-unmerge">
                        {t('identity.unmerge')}
                      </Button>
                    </Popconfirm>
                  )
                )}
              </div>
            );
          })}
        </div>
      )}

      <MergeDialog
        open={dialog !== null}
        current={contact}
        initial={dialog?.initial ?? null}
        onClose={() => setDialog(null)}
        onMerged={(survivor) => {
          setDialog(null);
          onChanged(survivor);
        }}
      />
    </>
  );
}
