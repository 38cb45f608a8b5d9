import { useCallback, useEffect, useState } from 'react';
import { Button, Drawer, Empty, Skeleton, Tag, Typography } from 'antd';
import { FileOutlined, LockOutlined } from '@ant-design/icons';
import { useNavigate } from 'react-router';
import type { Contact, ContactTimelineItem, ContactTimelinePage } from '@huiliu/contracts';
import { api, qs } from '../../lib/api.ts';
import { formatDateTime } from '../../lib/format.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { ChannelIcon } from '../bits.tsx';
import { useDirectory } from '../hooks/useDirectory.tsx';
import { useToastError } from '../hooks/useToastError.ts';
import { Linkified } from '../MessageBubble.tsx';

interface Props {
  open: boolean;
  contact: Contact;
  onClose: () => void;
}

const PAGE = 50;

/**
 * Everything the customer wrote and was told, on every channel, newest first: each message carries its
 * channel and conversation (a click opens it), so a customer who moved from the website to email or
 * Telegram never has to repeat themselves. Only inboxes the agent may see are included (server side).
 */
export function ContactTimelineDrawer({ open, contact, onClose }: Props) {
  const { t, locale } = useI18n();
  const navigate = useNavigate();
  const dir = useDirectory();
  const toastError = useToastError();
  const [items, setItems] = useState<ContactTimelineItem[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);

  const load = useCallback(
    async (before: string | null) => {
      setLoading(true);
      try {
        const page = await api<ContactTimelinePage>('GET', `/contacts/${contact.id}/timeline${qs({ limit: PAGE, before })}`);
        setItems((prev) => (before && prev ? [...prev, ...page.items] : page.items));
        setCursor(page.nextCursor);
      } catch (e) {
        toastError(e);
        setItems((prev) => prev ?? []);
      } finally {
        setLoading(false);
      }
    },
    [contact.id, toastError],
  );

  useEffect(() => {
    if (!open) return;
    setItems(null);
    setCursor(null);
    void load(null);
  }, [open, load]);

  const sender = (i: ContactTimelineItem) => {
    const m = i.message;
    if (m.senderType === 'contact') return contact.name ?? t('identity.customer');
    if (m.senderType === 'bot') return t('identity.bot');
    return (m.senderId && dir.userById.get(m.senderId)?.name) || t('identity.agent');
  };

  return (
    <Drawer open={open} onClose={onClose} size={560} title={t('identity.timelineTitle', { name: contact.name ?? t('identity.unnamed') })} destroyOnHidden>
      <div data-testid="contact-timeline">
        {items === null ? (
          <Skeleton active paragraph={{ rows: 6 }} />
        ) : items.length === 0 ? (
          <Empty description={t('identity.timelineEmpty')} />
        ) : (
          items.map((i) => {
            const m = i.message;
            const right = m.direction === 'outgoing';
            return (
              <div key={m.id} className={`wb-xtl-item${right ? ' is-right' : ''}`} data-testid="contact-timeline-item" data-channel={i.channelType} data-private={String(m.private)}>
                <div className="wb-xtl-meta">
                  <Tag className="wb-xtl-channel" data-testid="contact-timeline-channel">
                    <ChannelIcon type={i.channelType} /> {i.inboxName}
                  </Tag>
                  <Typography.Link onClick={() => void navigate(`/conversations/${i.conversation.id}`)} title={t('identity.openConversation', { id: i.conversation.displayId })}>
                    #{i.conversation.displayId}
                  </Typography.Link>
                  <span>{sender(i)}</span>
                  <span>{formatDateTime(m.createdAt, locale)}</span>
                </div>
                <div className={`wb-bubble${right ? ' is-outgoing' : ''}${m.private ? ' is-private' : ''}`}>
                  {m.private && (
                    <div className="wb-note-label">
                      <LockOutlined /> {t('identity.privateNote')}
                    </div>
                  )}
                  {m.subject && <div style={{ fontWeight: 600 }}>{m.subject}</div>}
                  {m.text && <Linkified text={m.text} />}
                  {m.attachments.map((a) => (
                    <div key={a.id}>
                      <a href={a.url} target="_blank" rel="noopener noreferrer" download={a.fileName}>
                        <FileOutlined /> {a.fileName}
                      </a>
                    </div>
                  ))}
                </div>
              </div>
            );
          })
        )}
        {cursor && (
          <div style={{ textAlign: 'center', marginTop: 12 }}>
            <Button loading={loading} onClick={() => void load(cursor)} data-testid="contact-timeline-more">
              {t('identity.loadOlder')}
            </Button>
          </div>
        )}
      </div>
    </Drawer>
  );
}
