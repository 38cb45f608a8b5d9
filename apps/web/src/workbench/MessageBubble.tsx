import { Fragment, type ReactNode } from 'react';
import { Button, Image, Space, Tooltip } from 'antd';
import { CheckOutlined, ClockCircleOutlined, EnvironmentOutlined, ExclamationCircleOutlined, FileOutlined, LockOutlined } from '@ant-design/icons';
import type { OutgoingMessage } from '@huiliu/client';
import type { AttachmentRef, Message } from '@huiliu/contracts';
import { formatBytes, formatDateTime, formatTime } from '../lib/format.ts';
import { useI18n } from '../lib/i18n.tsx';
import { localizeActivity } from './activity.ts';
import { ChannelBody, hasChannelBody } from './channels/ChannelBody.tsx';
import { DeliveryState } from './channels/DeliveryState.tsx';

/** http(s) links become anchors; everything else stays text (React escapes it, so HTML shows as typed). */
const URL_RE = /(https?:\/\/[^\s<>"'）)】\]]+)/g;
export function Linkified({ text }: { text: string }) {
  const parts = text.split(URL_RE);
  return (
    <>
      {parts.map((part, i) =>
        i % 2 === 1 ? (
          <a key={i} href={part} target="_blank" rel="noopener noreferrer nofollow">{part}</a>
        ) : (
          <Fragment key={i}>{part}</Fragment>
        ),
      )}
    </>
  );
}

function Attachments({ items }: { items: readonly AttachmentRef[] }) {
  if (items.length === 0) return null;
  return (
    <div className="wb-attachments">
      <Image.PreviewGroup>
        {items.map((a) =>
          a.contentType.startsWith('image/') ? (
            <Image key={a.id} src={a.url} alt={a.fileName} width={160} height={120} style={{ objectFit: 'cover', borderRadius: 6 }} data-testid="msg-image" />
          ) : a.contentType.startsWith('audio/') ? (
            <audio key={a.id} src={a.url} controls preload="none" style={{ maxWidth: 260 }} />
          ) : a.contentType.startsWith('video/') ? (
            <video key={a.id} src={a.url} controls preload="metadata" style={{ maxWidth: 280, borderRadius: 6 }} />
          ) : (
            <a key={a.id} className="wb-file" href={a.url} target="_blank" rel="noopener noreferrer" download={a.fileName} data-testid="msg-file">
              <FileOutlined />
              <span className="wb-file-name">{a.fileName}</span>
              <span style={{ color: 'rgba(0,0,0,.45)', flex: 'none' }}>{formatBytes(a.size)}</span>
            </a>
          ),
        )}
      </Image.PreviewGroup>
    </div>
  );
}

function Extras({ m }: { m: Pick<Message, 'location' | 'card'> }) {
  return (
    <>
      {m.location && (
        <div>
          <EnvironmentOutlined /> {m.location.name ?? ''} {m.location.address ?? ''}{' '}
          <a href={`https://www.openstreetmap.org/?mlat=${m.location.latitude}&mlon=${m.location.longitude}`} target="_blank" rel="noopener noreferrer">
            {m.location.latitude.toFixed(5)}, {m.location.longitude.toFixed(5)}
          </a>
        </div>
      )}
      {m.card && (
        <div>
          <strong>{m.card.title}</strong>
          {m.card.description && <div>{m.card.description}</div>}
          {m.card.buttons?.map((b, i) => (
            <div key={i}>{b.url ? <a href={b.url} target="_blank" rel="noopener noreferrer">{b.label}</a> : `[${b.label}]`}</div>
          ))}
        </div>
      )}
    </>
  );
}

interface StoredProps {
  m: Message;
  /** null inside a run of messages by the same author (the first one carries the name). */
  sender: string | null;
  contactReadSeq: number;
  highlight: boolean;
}

/** A stored message: the customer's (left), ours (right, blue) or a private note (right, yellow, dashed). */
export function StoredMessage({ m, sender, contactReadSeq, highlight }: StoredProps) {
  const { t, locale } = useI18n();
  if (m.direction === 'activity') {
    return (
      <div className="wb-activity" data-testid="activity" data-seq={m.seq} id={`msg-${m.seq}`}>
        <Tooltip title={formatDateTime(m.createdAt, locale)}>
          <span>{localizeActivity(m.text, t, locale)}</span>
        </Tooltip>
      </div>
    );
  }
  const right = m.direction === 'outgoing';
  let status: ReactNode = null;
  if (right && !m.private) status = <DeliveryState m={m} contactReadSeq={contactReadSeq} />;
  return (
    <div className={`wb-row${right ? ' is-right' : ''}`} id={`msg-${m.seq}`}>
      <div className="wb-bubble-wrap">
        {sender !== null && <div className="wb-sender">{sender}</div>}
        <div
          className={`wb-bubble${right ? ' is-outgoing' : ''}${m.private ? ' is-private' : ''}${highlight ? ' is-highlight' : ''}${right && m.deliveryStatus === 'failed' ? ' is-failed' : ''}`}
          data-testid="msg"
          data-seq={m.seq}
          data-direction={m.direction}
          data-private={String(m.private)}
          data-sender-type={m.senderType}
        >
          {m.private && (
            <div className="wb-note-label">
              <LockOutlined /> {t('timeline.privateNote')}
            </div>
          )}
          {hasChannelBody(m) ? <ChannelBody m={m} text={<Linkified text={m.text} />} /> : m.text && <Linkified text={m.text} />}
          <Extras m={m} />
          <Attachments items={m.attachments} />
        </div>
        <div className="wb-msg-foot">
          <Tooltip title={formatDateTime(m.createdAt, locale)}>
            <span>{formatTime(m.createdAt, locale)}</span>
          </Tooltip>
          {status}
        </div>
      </div>
    </div>
  );
}

interface PendingProps {
  o: OutgoingMessage;
  sender: string | null;
  attachmentNames: string[];
  onRetry: () => void;
  onDiscard: () => void;
}

/** A message the agent sent that the server has not stored yet (or refused): shown at once, in order. */
export function PendingMessage({ o, sender, attachmentNames, onRetry, onDiscard }: PendingProps) {
  const { t, locale } = useI18n();
  const failed = o.status === 'failed';
  return (
    <div className="wb-row is-right">
      <div className="wb-bubble-wrap">
        {sender !== null && <div className="wb-sender">{sender}</div>}
        <div
          className={`wb-bubble is-outgoing${o.private ? ' is-private' : ''}${failed ? ' is-failed' : ''}`}
          data-testid="msg"
          data-pending="true"
          data-client-id={o.clientId}
          data-direction="outgoing"
          data-private={String(o.private)}
        >
          {o.private && (
            <div className="wb-note-label">
              <LockOutlined /> {t('timeline.privateNote')}
            </div>
          )}
          {o.text && <Linkified text={o.text} />}
          {o.attachmentIds.length > 0 && (
            <div className="wb-attachments">
              {(attachmentNames.length ? attachmentNames : o.attachmentIds.map(() => t('timeline.attachment'))).map((name, i) => (
                <span key={i} className="wb-file">
                  <FileOutlined /> <span className="wb-file-name">{name}</span>
                </span>
              ))}
            </div>
          )}
        </div>
        <div className="wb-msg-foot" data-testid="msg-status" data-status={o.status}>
          <span>{formatTime(o.createdAt, locale)}</span>
          {failed ? (
            <Space size={4} wrap>
              <span style={{ color: '#cf1322' }}>
                <ExclamationCircleOutlined /> {o.error?.message ?? t('delivery.failed')}
              </span>
              <Button size="small" type="link" onClick={onRetry} data-testid="msg-retry">{t('action.retry')}</Button>
              <Button size="small" type="link" danger onClick={onDiscard} data-testid="msg-discard">{t('action.discard')}</Button>
            </Space>
          ) : (
            <span>
              {o.status === 'sending' ? <ClockCircleOutlined /> : <CheckOutlined />} {t(o.status === 'sending' ? 'delivery.sending' : 'delivery.sent')}
            </span>
          )}
        </div>
      </div>
    </div>
  );
}
