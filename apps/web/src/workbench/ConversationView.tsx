import { Button, Result, Skeleton } from 'antd';
import { useNavigate } from 'react-router';
import type { Contact, Conversation } from '@huiliu/contracts';
import { ApiError } from '../lib/api.ts';
import { useI18n } from '../lib/i18n.tsx';
import { Composer } from './Composer.tsx';
import { ConversationHeader } from './ConversationHeader.tsx';
import { useOpenConversation } from './hooks/useOpenConversation.ts';
import { ProfilePanel } from './ProfilePanel.tsx';
import { Timeline } from './Timeline.tsx';

interface Props {
  id: string;
  initialContact: Contact | null;
  highlightSeq: number | null;
  onChange: (c: Conversation) => void;
  onContact: (c: Contact) => void;
  onSeen: (id: string) => void;
}

/**
 * The middle and right columns for one conversation. Rendered with `key={id}` so that switching
 * conversations starts from clean state (draft, scroll position, subscriptions).
 */
export function ConversationView({ id, initialContact, highlightSeq, onChange, onContact, onSeen }: Props) {
  const { t } = useI18n();
  const navigate = useNavigate();
  const open = useOpenConversation(id, initialContact);
  const c = open.conversation;

  const apply = (next: Conversation) => {
    open.setConversation(next);
    onChange(next);
  };
  const applyContact = (next: Contact) => {
    open.setContact(next);
    onContact(next);
  };

  if (open.error && !c) {
    const notFound = open.error instanceof ApiError && (open.error.code === 'not_found' || open.error.code === 'validation_failed');
    return (
      <>
        <main className="wb-col-main">
          <Result
            status={notFound ? '404' : 'error'}
            title={t(notFound ? 'view.notFound' : 'view.failed')}
            subTitle={notFound ? t('view.notFoundHint') : open.error.message}
            extra={<Button onClick={() => void navigate('/conversations')}>{t('view.back')}</Button>}
          />
        </main>
        <aside className="wb-col-profile" />
      </>
    );
  }

  return (
    <>
      <main className="wb-col-main" data-testid="conversation" data-conversation-id={id}>
        {c ? (
          <>
            <ConversationHeader conversation={c} contact={open.contact} onChange={apply} />
            <Timeline conversation={c} contact={open.contact} onSeen={onSeen} highlightSeq={highlightSeq} />
            <Composer conversation={c} />
          </>
        ) : (
          <div style={{ padding: 24 }}>
            <Skeleton active paragraph={{ rows: 6 }} />
          </div>
        )}
      </main>
      <aside className="wb-col-profile">
        <ProfilePanel contact={open.contact} conversationId={id} onContact={applyContact} />
      </aside>
    </>
  );
}
