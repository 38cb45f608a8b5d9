import { useState } from 'react';
import { Button, Skeleton, Tag, Tooltip, Typography } from 'antd';
import { CheckCircleFilled, HistoryOutlined, SendOutlined } from '@ant-design/icons';
import { useNavigate } from 'react-router';
import type { ContactChannel, OpenContactConversationResponse } from '@huiliu/contracts';
import { api } from '../../lib/api.ts';
import { useI18n } from '../../lib/i18n.tsx';
import { ChannelIcon } from '../bits.tsx';
import { useToastError } from '../hooks/useToastError.ts';
import { useFetched } from './useFetched.ts';

interface Props {
  contactId: string;
  conversationId: string;
  rev: number;
  onTimeline: () => void;
}

/**
 * The contact's identities, one per channel it was reached on, with the channel, whether a channel
 * verified it, and "reply via": opens the contact's open conversation in that inbox (or a new one on
 * that identity) and navigates to it.
 */
export function ContactChannels({ contactId, conversationId, rev, onTimeline }: Props) {
  const { t } = useI18n();
  const navigate = useNavigate();
  const toastError = useToastError();
  const items = useFetched<ContactChannel[]>(`/contacts/${contactId}/channels`, rev, []);
  const [opening, setOpening] = useState<string | null>(null);

  const replyVia = async (c: ContactChannel) => {
    setOpening(c.identityId);
    try {
      const r = await api<OpenContactConversationResponse>('POST', `/contacts/${contactId}/conversations`, { inboxId: c.inboxId });
      void navigate(`/conversations/${r.conversation.id}`);
    } catch (e) {
      toastError(e);
    } finally {
      setOpening(null);
    }
  };

  return (
    <div className="wb-profile-section" data-testid="profile-identities">
      <h5 style={{ display: 'flex', justifyContent: 'space-between', alignItems: 'center' }}>
        <span>{t('identity.channels')}</span>
        <Button size="small" type="link" icon={<HistoryOutlined />} onClick={onTimeline} style={{ paddingInline: 0, textTransform: 'none' }} data-testid="identity-timeline-open">
          {t('identity.timeline')}
        </Button>
      </h5>
      {items === null ? (
        <Skeleton active paragraph={{ rows: 1 }} title={false} />
      ) : items.length === 0 ? (
        <Typography.Text type="secondary" style={{ fontSize: 13 }}>{t('identity.noChannels')}</Typography.Text>
      ) : (
        items.map((c) => {
          const channel = t(`channel.${c.channelType}`);
          const here = c.openConversationId === conversationId;
          return (
            <div key={c.identityId} className="wb-identity" data-testid="identity-channel" data-inbox-id={c.inboxId} data-channel={c.channelType}>
              <ChannelIcon type={c.channelType} />
              <div style={{ flex: 1, minWidth: 0 }}>
                <div style={{ display: 'flex', gap: 4, alignItems: 'center' }}>
                  <span className="wb-identity-inbox">{c.inboxName}</span>
                  {c.verified && (
                    <Tooltip title={c.verifiedKeys.length ? t('identity.verifiedKeys', { keys: c.verifiedKeys.map((k) => t(`identity.key.${k}`)).join(', ') }) : t('profile.verified')}>
                      <CheckCircleFilled style={{ color: '#52c41a' }} aria-label={t('profile.verified')} />
                    </Tooltip>
                  )}
                </div>
                <Typography.Text type="secondary" ellipsis={{ tooltip: c.sourceId }} style={{ fontSize: 12, display: 'block' }}>
                  {c.sourceId}
                </Typography.Text>
              </div>
              {here ? (
                <Tag style={{ marginInlineEnd: 0 }}>{t('identity.replyHere')}</Tag>
              ) : (
                <Tooltip title={c.reason ? t(`identity.reason.${c.reason}`) : t('identity.replyVia', { channel })}>
                  <Button
                    size="small"
                    icon={<SendOutlined />}
                    disabled={!c.canReply}
                    loading={opening === c.identityId}
                    onClick={() => void replyVia(c)}
                    aria-label={t('identity.replyVia', { channel })}
                    data-testid="identity-reply-via"
                  />
                </Tooltip>
              )}
            </div>
          );
        })
      )}
    </div>
  );
}
