import { useState } from 'react';
import { Button, Typography } from 'antd';
import { CheckOutlined, ClockCircleOutlined, ExclamationCircleOutlined, RedoOutlined } from '@ant-design/icons';
import type { Message } from '@huiliu/contracts';
import { api } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { useSession } from '../../lib/session.tsx';
import { useToastError } from '../hooks/useToastError.ts';

type Shown = 'pending' | 'sent' | 'delivered' | 'read' | 'failed';

/** The widget's own read receipt (contactReadSeq) counts as read too: web messages have no channel report. */
export function shownStatus(m: Pick<Message, 'deliveryStatus' | 'seq'>, contactReadSeq: number): Shown {
  if (m.deliveryStatus === 'failed') return 'failed';
  if (m.deliveryStatus === 'read' || contactReadSeq >= m.seq) return 'read';
  return m.deliveryStatus;
}

/**
 * Under one of our stored messages: queued (clock), sent, delivered, read — or "Not delivered — why" with
 * Retry (the server queues it again; the answer and then `message.updated` bring the new status) and
 * Copy, for reaching the customer some other way.
 */
export function DeliveryState({ m, contactReadSeq }: { m: Message; contactReadSeq: number }) {
  const { t } = useI18n();
  const { messageUpdates, can } = useSession();
  const toastError = useToastError();
  const [retrying, setRetrying] = useState(false);
  const key = shownStatus(m, contactReadSeq);

  const retry = async () => {
    setRetrying(true);
    try {
      // The delivery may finish (message.updated: sent) before this answer (pending) arrives.
      const mark = messageUpdates.mark();
      messageUpdates.applyAnswer([await api<Message>('POST', `/conversations/${m.conversationId}/messages/${m.id}/retry`)], mark);
    } catch (e) {
      toastError(e);
    } finally {
      setRetrying(false);
    }
  };

  if (key !== 'failed') {
    return (
      <span data-testid="msg-status" data-status={key} style={{ color: key === 'read' ? '#1677ff' : undefined }}>
        {key === 'pending' ? <ClockCircleOutlined /> : <CheckOutlined />} {t(key === 'pending' ? 'channels.delivery.pending' : `delivery.${key}`)}
      </span>
    );
  }
  return (
    <span className="wb-delivery-failed" data-testid="msg-status" data-status="failed">
      <span style={{ color: '#cf1322' }} data-testid="msg-delivery-error">
        <ExclamationCircleOutlined /> {m.deliveryError ? t('channels.delivery.notDeliveredWhy', { reason: m.deliveryError }) : t('channels.delivery.notDelivered')}
      </span>
      {can('conversation.reply') && (
        <Button size="small" type="link" icon={<RedoOutlined />} loading={retrying} onClick={() => void retry()} data-testid="msg-delivery-retry" style={{ padding: '0 4px', height: 'auto', fontSize: 12 }}>
          {t('action.retry')}
        </Button>
      )}
      {m.text && (
        <Typography.Text copyable={{ text: m.text, tooltips: [t('channels.copyText'), t('channels.copied')] }} style={{ fontSize: 12 }} data-testid="msg-delivery-copy">
          {t('channels.copy')}
        </Typography.Text>
      )}
    </span>
  );
}
