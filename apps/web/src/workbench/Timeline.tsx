import { Fragment, useCallback, useEffect, useLayoutEffect, useRef } from 'react';
import { Alert, Button, Spin } from 'antd';
import type { TimelineItem } from '@huiliu/client';
import type { Contact, Conversation, Message } from '@huiliu/contracts';
import { useI18n } from '../lib/i18n.tsx';
import { useSession } from '../lib/session.tsx';
import { useDirectory } from './hooks/useDirectory.tsx';
import { useTimeline } from './hooks/useTimeline.ts';
import { useContactReadSeq, useTyping } from './hooks/useTyping.ts';
import { useToastError } from './hooks/useToastError.ts';
import { PendingMessage, StoredMessage } from './MessageBubble.tsx';
import { attachmentNamesOf } from './pendingAttachments.ts';
import { RoutingDecisionLine, useRoutingDecisions, type RoutingDecision } from './RoutingDecisions.tsx';
import { useMessageUpdates } from './channels/useMessageUpdates.ts';

interface Props {
  conversation: Conversation;
  contact: Contact | null;
  /** The agent has seen the conversation up to its newest message. */
  onSeen: (conversationId: string) => void;
  /** Scroll to and mark this message (from a search hit). */
  highlightSeq: number | null;
}

/** Pixels from the bottom within which new messages keep the view pinned to the newest one. */
const STICKY_PX = 120;
/** Pages of history "load older" fetches at most while looking for a search hit. */
const MAX_SEEK_PAGES = 10;

const dayKey = (iso: string) => new Date(iso).toDateString();
const createdAt = (item: TimelineItem) => (item.kind === 'message' ? item.message.createdAt : item.outgoing.createdAt);
/** Who wrote an item, for grouping; null for activity lines (they break a group). */
const authorOf = (item: TimelineItem, me: string): string | null =>
  item.kind === 'outgoing' ? `user:${me}` : item.message.direction === 'activity' ? null : `${item.message.senderType}:${item.message.senderId ?? ''}`;
/** Messages of one author closer together than this share one name label. */
const GROUP_MS = 5 * 60_000;

export function Timeline({ conversation, contact, onSeen, highlightSeq }: Props) {
  const { t, locale } = useI18n();
  const { chat, user } = useSession();
  const dir = useDirectory();
  const toastError = useToastError();
  const id = conversation.id;
  const tl = useTimeline(id, conversation.lastSeq);
  const typing = useTyping(id);
  const decisions = useRoutingDecisions(conversation);
  const contactReadSeq = useContactReadSeq(id);
  const latest = useMessageUpdates(id);
  const box = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);
  const restore = useRef<{ height: number; top: number } | null>(null);
  const seeking = useRef(0);
  const lastKey = useRef<string | undefined>(undefined);

  const senderName = useCallback(
    (m: Pick<Message, 'senderType' | 'senderId'>) => {
      if (m.senderType === 'contact') return contact?.name ?? t('contact.anonymous');
      if (m.senderType === 'bot') return t('timeline.bot');
      if (m.senderType === 'system') return t('timeline.system');
      return (m.senderId && dir.userById.get(m.senderId)?.name) || t('timeline.agent');
    },
    [contact?.name, dir.userById, t],
  );

  // Keep the newest message in view while the agent is at the bottom; keep the position when older
  // messages are inserted above.
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    // The agent's own new message always brings the view down to it.
    const last = tl.items.at(-1);
    if (last && last.key !== lastKey.current && last.kind === 'outgoing') pinned.current = true;
    lastKey.current = last?.key;
    if (restore.current) {
      el.scrollTop = el.scrollHeight - restore.current.height + restore.current.top;
      restore.current = null;
    } else if (pinned.current) {
      el.scrollTop = el.scrollHeight;
    }
  }, [tl.items, tl.ready, typing.contact]);

  // The timeline shrinks when the composer grows (a taller send-window warning, attachment chips, a longer
  // draft): no message changed, so the effect above does not run, and the newest one would slip under the
  // composer. Shrinking does not scroll either, so `pinned` still says where the agent was before it.
  useEffect(() => {
    const el = box.current;
    if (!el || typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(() => {
      if (pinned.current && !restore.current) el.scrollTop = el.scrollHeight;
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  const loadOlder = useCallback(async () => {
    const el = box.current;
    if (el) restore.current = { height: el.scrollHeight, top: el.scrollTop };
    try {
      await tl.loadOlder();
    } catch (e) {
      restore.current = null;
      toastError(e);
    }
  }, [tl, toastError]);

  const onScroll = () => {
    const el = box.current;
    if (!el) return;
    pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < STICKY_PX;
    if (el.scrollTop < 40 && tl.hasOlder && !tl.loadingOlder && tl.ready) void loadOlder();
  };

  // Read receipts: everything shown counts as read while the tab is visible.
  const newestSeq = tl.items.reduce((max, item) => (item.kind === 'message' ? Math.max(max, item.message.seq) : max), 0);
  useEffect(() => {
    const markIfVisible = () => {
      if (document.visibilityState !== 'visible' || newestSeq === 0) return;
      chat.markRead(id, newestSeq);
      onSeen(id);
    };
    markIfVisible();
    document.addEventListener('visibilitychange', markIfVisible);
    return () => document.removeEventListener('visibilitychange', markIfVisible);
  }, [chat, id, newestSeq, onSeen]);

  // A search hit: page back until the message is loaded, then bring it into view.
  useEffect(() => {
    if (highlightSeq === null || !tl.ready) return;
    const found = tl.items.some((i) => i.kind === 'message' && i.message.seq === highlightSeq);
    if (found) {
      pinned.current = false;
      document.getElementById(`msg-${highlightSeq}`)?.scrollIntoView({ block: 'center' });
    } else if (tl.hasOlder && !tl.loadingOlder && seeking.current < MAX_SEEK_PAGES) {
      seeking.current++;
      void loadOlder();
    }
  }, [highlightSeq, tl.ready, tl.items, tl.hasOlder, tl.loadingOlder, loadOlder]);

  return (
    <>
      <div className="wb-timeline" data-testid="timeline" ref={box} onScroll={onScroll} aria-live="polite" aria-busy={!tl.ready}>
        {tl.error && <Alert type="error" showIcon title={tl.error} style={{ marginBottom: 12 }} />}
        {tl.hasOlder && (
          <div style={{ textAlign: 'center', margin: '4px 0 12px' }}>
            <Button size="small" loading={tl.loadingOlder} onClick={() => void loadOlder()} data-testid="timeline-older">
              {t('timeline.older')}
            </Button>
          </div>
        )}
        {!tl.ready && tl.items.length === 0 && (
          <div style={{ textAlign: 'center', padding: 40 }}>
            <Spin />
          </div>
        )}
        {tl.ready && tl.items.length === 0 && !tl.error && <div className="wb-day">{t('timeline.empty')}</div>}
        {tl.items.map((item, i) => {
          const prev = tl.items[i - 1];
          // Routing decisions (supervisors only) go between the messages they happened between.
          const at = new Date(createdAt(item)).getTime();
          const before: RoutingDecision[] = decisions.filter((d) => {
            const when = new Date(d.createdAt).getTime();
            return when <= at && (!prev || when > new Date(createdAt(prev)).getTime());
          });
          const day = dayKey(createdAt(item));
          const divider =
            !prev || dayKey(createdAt(prev)) !== day ? (
              <div className="wb-day">{new Intl.DateTimeFormat(locale, { month: 'long', day: 'numeric', weekday: 'short' }).format(new Date(createdAt(item)))}</div>
            ) : null;
          const author = authorOf(item, user.id);
          const grouped =
            !divider && prev !== undefined && author !== null && authorOf(prev, user.id) === author &&
            new Date(createdAt(item)).getTime() - new Date(createdAt(prev)).getTime() < GROUP_MS;
          return (
            <Fragment key={item.key}>
              {divider}
              {before.map((d) => <RoutingDecisionLine key={d.id} d={d} />)}
              {item.kind === 'message' ? (
                <StoredMessage m={latest(item.message)} sender={grouped ? null : senderName(item.message)} contactReadSeq={contactReadSeq} highlight={item.message.seq === highlightSeq} />
              ) : (
                <PendingMessage
                  o={item.outgoing}
                  sender={grouped ? null : user.name}
                  attachmentNames={attachmentNamesOf(item.outgoing.clientId)}
                  onRetry={() => chat.retry(item.outgoing.clientId)}
                  onDiscard={() => chat.discard(item.outgoing.clientId)}
                />
              )}
            </Fragment>
          );
        })}
        {decisions
          .filter((d) => { const last = tl.items.at(-1); return !last || new Date(d.createdAt).getTime() > new Date(createdAt(last)).getTime(); })
          .map((d) => <RoutingDecisionLine key={d.id} d={d} />)}
      </div>
      <div className="wb-typing" aria-live="polite">
        {typing.contact && (
          <span data-testid="typing">{t('timeline.typing', { name: contact?.name ?? t('contact.anonymous') })}</span>
        )}
        {typing.agents.length > 0 && (
          <span data-testid="typing-agents" style={{ marginLeft: typing.contact ? 12 : 0, color: '#d46b08' }}>
            {t('timeline.agentTyping', { names: typing.agents.join(', ') })}
          </span>
        )}
      </div>
    </>
  );
}
