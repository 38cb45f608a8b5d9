import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { AutoComplete, Input } from 'antd';
import { SearchOutlined } from '@ant-design/icons';
import { useNavigate } from 'react-router';
import type { Contact, Conversation, Message } from '@huiliu/contracts';
import { api, qs } from '../lib/api.ts';
import { formatRelative } from '../lib/format.ts';
import { useI18n } from '../lib/i18n.tsx';
import { StatusTag } from './bits.tsx';
import { useToastError } from './hooks/useToastError.ts';
import type { ConversationPage } from './types.ts';

type SearchResult = { contacts: Contact[]; conversations: Conversation[]; messages: { message: Message; conversation: Conversation }[] };

const DEBOUNCE_MS = 250;

type Option = { value: string; label: ReactNode; disabled?: boolean };
type Group = { label: string; options: Option[] };

/** A few words around the first hit, so the agent sees why a message matched. */
function snippet(text: string, q: string): string {
  const flat = text.replace(/\s+/g, ' ');
  const words = q.toLowerCase().split(/\s+/).filter(Boolean);
  const at = words.map((w) => flat.toLowerCase().indexOf(w)).filter((i) => i >= 0).sort((a, b) => a - b)[0] ?? 0;
  const start = Math.max(0, at - 20);
  return (start > 0 ? '…' : '') + flat.slice(start, start + 80) + (flat.length > start + 80 ? '…' : '');
}

/**
 * One box for contacts, conversations (also `#123`) and message text, Chinese or English (the server
 * segments both). Choosing a result opens the conversation; a message hit scrolls to the message.
 */
export function SearchBox({ contactName: knownName }: { contactName: (contactId: string) => string | null | undefined }) {
  const { t, locale } = useI18n();
  const navigate = useNavigate();
  const toastError = useToastError();
  const [q, setQ] = useState('');
  const [result, setResult] = useState<SearchResult | null>(null);
  const [loading, setLoading] = useState(false);
  const requestId = useRef(0);

  useEffect(() => {
    const query = q.trim();
    if (!query) {
      setResult(null);
      return;
    }
    const id = ++requestId.current;
    const timer = setTimeout(() => {
      setLoading(true);
      api<SearchResult>('GET', `/search${qs({ q: query, limit: 10 })}`)
        .then((r) => id === requestId.current && setResult(r))
        .catch((e: unknown) => id === requestId.current && toastError(e))
        .finally(() => id === requestId.current && setLoading(false));
    }, DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [q, toastError]);

  // Conversation hits carry only a contact id: name it from the contact hits or the loaded list.
  const contactName = useMemo(() => {
    const found = new Map(result?.contacts.map((c) => [c.id, c.name]) ?? []);
    return (id: string) => found.get(id) ?? knownName(id) ?? '';
  }, [result, knownName]);

  const options = useMemo((): Group[] => {
    if (!result) return [];
    const groups: Group[] = [];
    if (result.conversations.length) {
      groups.push({
        label: t('search.conversations'),
        options: result.conversations.map((c) => ({
          value: `conv:${c.id}`,
          label: (
            <div className="wb-search-hit" data-testid="search-conversation" data-conversation-id={c.id}>
              <span>
                #{c.displayId} {contactName(c.contactId)} <StatusTag status={c.status} />
              </span>
              <small>{formatRelative(c.lastActivityAt, locale)}</small>
            </div>
          ),
        })),
      });
    }
    if (result.messages.length) {
      groups.push({
        label: t('search.messages'),
        options: result.messages.map(({ message: m, conversation: c }) => ({
          value: `msg:${c.id}:${m.seq}`,
          label: (
            <div className="wb-search-hit" data-testid="search-message" data-conversation-id={c.id}>
              <span style={{ whiteSpace: 'normal' }}>{snippet(m.text, q)}</span>
              <small>
                #{c.displayId} {contactName(c.contactId)} · {formatRelative(m.createdAt, locale)}
                {m.private ? ` · ${t('timeline.privateNote')}` : ''}
              </small>
            </div>
          ),
        })),
      });
    }
    if (result.contacts.length) {
      groups.push({
        label: t('search.contacts'),
        options: result.contacts.map((c) => ({
          value: `contact:${c.id}`,
          label: (
            <div className="wb-search-hit" data-testid="search-contact" data-contact-id={c.id}>
              <span>{c.name ?? t('contact.anonymous')}</span>
              <small>{[c.email, c.phone].filter(Boolean).join(' · ')}</small>
            </div>
          ),
        })),
      });
    }
    return groups;
  }, [result, t, locale, q, contactName]);

  const open = async (value: string) => {
    const [kind, id, seq] = value.split(':');
    setQ('');
    setResult(null);
    if (kind === 'conv') return void navigate(`/conversations/${id}`);
    if (kind === 'msg') return void navigate(`/conversations/${id}?seq=${seq}`);
    // A contact: open their latest conversation.
    try {
      const page = await api<ConversationPage>('GET', `/conversations${qs({ contactId: id, status: 'all', assignee: 'any', limit: 1 })}`);
      const latest = page.items[0];
      if (latest) void navigate(`/conversations/${latest.id}`);
      else toastError(new Error(t('search.noConversation')));
    } catch (e) {
      toastError(e);
    }
  };

  const empty = result && options.length === 0;
  const shown: Array<Group | Option> = empty ? [{ value: '', label: <span data-testid="search-empty">{t('search.none')}</span>, disabled: true }] : options;
  return (
    <AutoComplete
      value={q}
      options={shown}
      onSearch={setQ}
      onSelect={(value: string) => void open(value)}
      style={{ width: '100%' }}
      popupMatchSelectWidth={360}
      // The server already filtered; the component must not filter its rich labels again.
      filterOption={false}
    >
      <Input
        allowClear
        prefix={<SearchOutlined style={{ color: 'rgba(0,0,0,.35)' }} />}
        suffix={loading ? <span style={{ fontSize: 12, color: 'rgba(0,0,0,.35)' }}>…</span> : null}
        placeholder={t('search.placeholder')}
        data-testid="search-input"
        aria-label={t('search.placeholder')}
      />
    </AutoComplete>
  );
}
