import { useEffect, useState } from 'react';
import { Button, Empty, Input, Select, Skeleton, Space, Tag, Typography } from 'antd';
import { MailOutlined, PhoneOutlined, PlusOutlined } from '@ant-design/icons';
import { useNavigate } from 'react-router';
import type { Contact } from '@huiliu/contracts';
import { api, qs } from '../lib/api.ts';
import { formatDateTime, formatRelative } from '../lib/format.ts';
import { useI18n } from '../lib/i18n.tsx';
import { useSession } from '../lib/session.tsx';
import { PersonAvatar, StatusTag } from './bits.tsx';
import { IdentitySection } from './identity/IdentitySection.tsx';
import { BotSection } from './BotAssist.tsx';
import { useToastError } from './hooks/useToastError.ts';
import type { ConversationPage } from './types.ts';

interface Props {
  contact: Contact | null;
  conversationId: string;
  onContact: (c: Contact) => void;
}

const show = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/**
 * The customer beside the conversation: contact details (email and phone come masked unless the agent
 * has contact.pii — shown exactly as the server sends them), attributes and tags (editable with
 * contact.manage), their identities on each channel (reply via another channel, the whole timeline,
 * merges: identity/IdentitySection.tsx) and their other conversations.
 */
export function ProfilePanel({ contact, conversationId, onContact }: Props) {
  const { t } = useI18n();
  if (!contact) {
    return (
      <div className="wb-profile" data-testid="profile">
        <Skeleton active avatar paragraph={{ rows: 4 }} />
      </div>
    );
  }
  return (
    <div className="wb-profile" data-testid="profile" data-contact-id={contact.id} aria-label={t('profile.title')}>
      <Details contact={contact} onContact={onContact} />
      <BotSection conversationId={conversationId} />
      <Attributes contact={contact} onContact={onContact} />
      <IdentitySection contact={contact} conversationId={conversationId} onContact={onContact} />
      <PastConversations contactId={contact.id} currentId={conversationId} />
    </div>
  );
}

function usePatchContact(contact: Contact, onContact: (c: Contact) => void) {
  const toastError = useToastError();
  const [saving, setSaving] = useState(false);
  const patch = async (body: Record<string, unknown>) => {
    setSaving(true);
    try {
      onContact(await api<Contact>('PATCH', `/contacts/${contact.id}`, body));
      return true;
    } catch (e) {
      toastError(e);
      return false;
    } finally {
      setSaving(false);
    }
  };
  return { patch, saving };
}

function Details({ contact, onContact }: { contact: Contact; onContact: (c: Contact) => void }) {
  const { t, locale } = useI18n();
  const { can } = useSession();
  const { patch, saving } = usePatchContact(contact, onContact);
  const editable = can('contact.manage');
  return (
    <>
      <Space align="start" size={12}>
        <PersonAvatar id={contact.id} name={contact.name} size={48} />
        <div style={{ minWidth: 0 }}>
          <Typography.Title
            level={5}
            style={{ margin: 0 }}
            data-testid="profile-name"
            editable={editable ? { onChange: (name) => void (name.trim() !== (contact.name ?? '') && patch({ name: name.trim() || null })), tooltip: t('profile.editName'), text: contact.name ?? '' } : false}
          >
            {contact.name ?? t('contact.anonymous')}
          </Typography.Title>
          <Typography.Text type="secondary" style={{ fontSize: 12 }}>{t('profile.since', { date: formatDateTime(contact.createdAt, locale) })}</Typography.Text>
        </div>
      </Space>
      <div className="wb-profile-section">
        <Space orientation="vertical" size={4} style={{ fontSize: 13 }}>
          <span data-testid="profile-email"><MailOutlined /> {contact.email ?? <Typography.Text type="secondary">{t('profile.noEmail')}</Typography.Text>}</span>
          <span data-testid="profile-phone"><PhoneOutlined /> {contact.phone ?? <Typography.Text type="secondary">{t('profile.noPhone')}</Typography.Text>}</span>
        </Space>
      </div>
      <div className="wb-profile-section">
        <h5>{t('profile.tags')}</h5>
        <Select
          mode="tags"
          size="small"
          style={{ width: '100%' }}
          value={contact.tags}
          disabled={!editable}
          loading={saving}
          placeholder={t('profile.addTag')}
          open={false}
          suffixIcon={null}
          tokenSeparators={[',', '，']}
          onChange={(tags: string[]) => void patch({ tags: tags.map((x) => x.trim()).filter(Boolean) })}
          data-testid="profile-tags"
          aria-label={t('profile.tags')}
        />
      </div>
    </>
  );
}

function Attributes({ contact, onContact }: { contact: Contact; onContact: (c: Contact) => void }) {
  const { t } = useI18n();
  const { can } = useSession();
  const { patch, saving } = usePatchContact(contact, onContact);
  const [adding, setAdding] = useState(false);
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  // Attributes are merged by the API; a null value is how a key is cleared, so those are not listed.
  const entries = Object.entries(contact.attributes).filter(([, v]) => v !== null && v !== undefined && v !== '');
  const save = async () => {
    if (!key.trim()) return;
    if (await patch({ attributes: { [key.trim()]: value } })) {
      setKey('');
      setValue('');
      setAdding(false);
    }
  };
  return (
    <div className="wb-profile-section" data-testid="profile-attributes">
      <h5>{t('profile.attributes')}</h5>
      {entries.length === 0 && !adding && <Typography.Text type="secondary" style={{ fontSize: 13 }}>{t('profile.noAttributes')}</Typography.Text>}
      <dl className="wb-kv">
        {entries.map(([k, v]) => (
          <div key={k} style={{ display: 'contents' }}>
            <dt title={k}>{k}</dt>
            <dd>
              {can('contact.manage') ? (
                <Typography.Text editable={{ onChange: (next) => void (next !== show(v) && patch({ attributes: { [k]: next } })), text: show(v) }} style={{ fontSize: 13 }}>
                  {show(v)}
                </Typography.Text>
              ) : (
                show(v)
              )}
            </dd>
          </div>
        ))}
      </dl>
      {can('contact.manage') &&
        (adding ? (
          <Space.Compact size="small" style={{ width: '100%', marginTop: 6 }}>
            <Input placeholder={t('profile.attrKey')} value={key} onChange={(e) => setKey(e.target.value)} style={{ width: '40%' }} maxLength={100} autoFocus />
            <Input placeholder={t('profile.attrValue')} value={value} onChange={(e) => setValue(e.target.value)} onPressEnter={() => void save()} />
            <Button type="primary" loading={saving} onClick={() => void save()} disabled={!key.trim()}>{t('common.save')}</Button>
          </Space.Compact>
        ) : (
          <Button size="small" type="link" icon={<PlusOutlined />} onClick={() => setAdding(true)} style={{ paddingInline: 0 }}>
            {t('profile.addAttribute')}
          </Button>
        ))}
    </div>
  );
}

function PastConversations({ contactId, currentId }: { contactId: string; currentId: string }) {
  const { t, locale } = useI18n();
  const navigate = useNavigate();
  const { chat } = useSession();
  const [page, setPage] = useState<ConversationPage | null>(null);
  useEffect(() => {
    let cancelled = false;
    const load = () =>
      api<ConversationPage>('GET', `/conversations${qs({ contactId, status: 'all', assignee: 'any', limit: 20 })}`)
        .then((r) => !cancelled && setPage(r))
        .catch(() => !cancelled && setPage({ items: [], nextCursor: null }));
    void load();
    // Status changes of the customer's other conversations show here too.
    const off = chat.on('conversation', (c) => {
      if ('contactId' in c && c.contactId === contactId) void load();
    });
    return () => {
      cancelled = true;
      off();
    };
  }, [contactId, chat]);
  return (
    <div className="wb-profile-section" data-testid="profile-conversations">
      <h5>{t('profile.conversations')}</h5>
      {page === null ? (
        <Skeleton active paragraph={{ rows: 2 }} title={false} />
      ) : page.items.length === 0 ? (
        <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description={t('profile.noConversations')} />
      ) : (
        page.items.map((c) => (
          <div
            key={c.id}
            className={`wb-past${c.id === currentId ? ' is-current' : ''}`}
            role="button"
            tabIndex={0}
            onClick={() => void navigate(`/conversations/${c.id}`)}
            onKeyDown={(e) => e.key === 'Enter' && void navigate(`/conversations/${c.id}`)}
            data-testid="profile-conversation"
            data-conversation-id={c.id}
          >
            <span>
              #{c.displayId} <Typography.Text type="secondary" style={{ fontSize: 12 }}>{formatRelative(c.lastActivityAt, locale)}</Typography.Text>
            </span>
            <StatusTag status={c.status} />
          </div>
        ))
      )}
      {page?.nextCursor && <Tag style={{ marginTop: 4 }}>{t('profile.more')}</Tag>}
    </div>
  );
}
