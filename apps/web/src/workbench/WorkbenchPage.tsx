import { useCallback, useEffect, useState } from 'react';
import { Empty } from 'antd';
import { useNavigate, useParams, useSearchParams } from 'react-router';
import { api } from '../lib/api.ts';
import { pruneDrafts } from '../lib/drafts.ts';
import { useI18n } from '../lib/i18n.tsx';
import { useSession } from '../lib/session.tsx';
import { AlertSettingsButton } from './AlertSettingsButton.tsx';
import { ConversationList } from './ConversationList.tsx';
import { ConversationView } from './ConversationView.tsx';
import { useAlerts, useAlertSettings } from './hooks/useAlerts.ts';
import { useConversationList } from './hooks/useConversationList.ts';
import { DirectoryProvider } from './hooks/useDirectory.tsx';
import { SearchBox } from './SearchBox.tsx';
import { DEFAULT_FILTERS, UUID_RE, type Filters } from './types.ts';
import './workbench.css';

/**
 * The agent workbench: conversation list | open conversation | customer profile. The URL names the
 * open conversation (/conversations/:id), so a reload or a shared link lands on it; `?seq=` marks a
 * message found by search.
 */
export default function WorkbenchPage() {
  return (
    <DirectoryProvider>
      <Workbench />
    </DirectoryProvider>
  );
}

function useFilters(userId: string): [Filters, (f: Filters) => void] {
  const key = `huiliu.filters.${userId}`;
  const [filters, setFilters] = useState<Filters>(() => {
    try {
      return { ...DEFAULT_FILTERS, ...(JSON.parse(localStorage.getItem(key) ?? '{}') as Partial<Filters>) };
    } catch {
      return DEFAULT_FILTERS;
    }
  });
  const update = useCallback(
    (f: Filters) => {
      setFilters(f);
      try {
        localStorage.setItem(key, JSON.stringify(f));
      } catch {
        /* storage disabled */
      }
    },
    [key],
  );
  return [filters, update];
}

/** "(3) 汇流": unread conversations visible from another tab. */
function useUnreadTitle(unread: number) {
  useEffect(() => {
    const base = document.title.replace(/^\(\d+\+?\) /, '');
    document.title = unread > 0 ? `(${unread > 99 ? '99+' : unread}) ${base}` : base;
    return () => {
      document.title = base;
    };
  }, [unread]);
}

/**
 * The realtime connection learns first that a session ended (its reconnect is refused), but only an API
 * call's 401 makes the session provider send the agent to the login page; one cheap request connects the two.
 */
function useSessionProbe() {
  const { chat } = useSession();
  useEffect(
    () =>
      chat.on('connect_error', (e) => {
        if (!e.willRetry) void api('GET', '/auth/me').catch(() => undefined);
      }),
    [chat],
  );
}

function Workbench() {
  const { t } = useI18n();
  const { user } = useSession();
  const navigate = useNavigate();
  const params = useParams();
  const [search] = useSearchParams();
  const splat = (params['*'] ?? '').split('/')[0] ?? '';
  const openId = UUID_RE.test(splat) ? splat.toLowerCase() : null;
  const seq = Number(search.get('seq'));
  const highlightSeq = Number.isInteger(seq) && seq > 0 ? seq : null;

  const [filters, setFilters] = useFilters(user.id);
  const list = useConversationList(filters, openId);
  const [alertSettings, setAlertSettings] = useAlertSettings();
  useAlerts(openId, alertSettings, list.lookup);
  useUnreadTitle(list.items.filter((c) => c.unreadCount > 0).length);
  useSessionProbe();
  useEffect(() => pruneDrafts(), []);

  const onOpen = useCallback((id: string) => void navigate(`/conversations/${id}`), [navigate]);
  const items = list.items;
  const contactName = useCallback((contactId: string) => items.find((c) => c.contactId === contactId)?.contact.name, [items]);
  const openItem = openId ? list.items.find((c) => c.id === openId) : undefined;

  return (
    <div className="wb" data-testid="workbench">
      <aside className="wb-col-list" aria-label={t('list.title')}>
        <div style={{ display: 'flex', gap: 8, padding: '10px 12px 0' }}>
          <SearchBox contactName={contactName} />
          <AlertSettingsButton settings={alertSettings} onChange={setAlertSettings} />
        </div>
        <ConversationList list={list} filters={filters} onFilters={setFilters} openId={openId} onOpen={onOpen} />
      </aside>
      {openId ? (
        <ConversationView
          key={openId}
          id={openId}
          initialContact={openItem?.contact ?? null}
          highlightSeq={highlightSeq}
          onChange={list.applyConversation}
          onContact={list.applyContact}
          onSeen={list.markSeen}
        />
      ) : (
        <>
          <main className="wb-col-main">
            <div className="wb-empty">
              <Empty description={t('view.pick')} />
            </div>
          </main>
          <aside className="wb-col-profile" />
        </>
      )}
    </div>
  );
}
