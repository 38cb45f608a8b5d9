import { useEffect, useState } from 'react';
import { Avatar, Tag, Tooltip } from 'antd';
import {
  ApiOutlined, FlagFilled, GlobalOutlined, MailOutlined, MessageOutlined, SendOutlined, WechatOutlined, WechatWorkOutlined, TikTokOutlined, WeiboOutlined, WhatsAppOutlined,
} from '@ant-design/icons';
import type { ChannelType, ConversationStatus, Priority } from '@huiliu/contracts';
import { colorFor, initials } from '../lib/format.ts';
import { useI18n } from '../lib/i18n.tsx';

/** Small presentational pieces shared by the list, the header, the timeline and the profile. */

const CHANNEL_ICON: Record<ChannelType, typeof GlobalOutlined> = {
  web: GlobalOutlined,
  api: ApiOutlined,
  email: MailOutlined,
  telegram: SendOutlined,
  whatsapp: WhatsAppOutlined,
  wechat_oa: WechatOutlined,
  wecom_kf: WechatWorkOutlined,
  douyin: TikTokOutlined,
  weibo: WeiboOutlined,
  sms: MessageOutlined,
};

export function ChannelIcon({ type }: { type: ChannelType | undefined }) {
  const { t } = useI18n();
  if (!type) return null;
  const Icon = CHANNEL_ICON[type] ?? MessageOutlined;
  return (
    <Tooltip title={t(`channel.${type}`)}>
      <Icon aria-label={t(`channel.${type}`)} />
    </Tooltip>
  );
}

const STATUS_COLOR: Record<ConversationStatus, string> = { open: 'processing', pending: 'warning', snoozed: 'purple', resolved: 'success' };

export function StatusTag({ status, testId }: { status: ConversationStatus; testId?: string }) {
  const { t } = useI18n();
  return (
    <Tag color={STATUS_COLOR[status]} data-testid={testId} data-status={status} style={{ marginInlineEnd: 0 }}>
      {t(`status.${status}`)}
    </Tag>
  );
}

const PRIORITY_COLOR: Record<Priority, string> = { none: '#bfbfbf', low: '#8c8c8c', medium: '#faad14', high: '#fa541c', urgent: '#f5222d' };

export function PriorityFlag({ priority }: { priority: Priority }) {
  const { t } = useI18n();
  if (priority === 'none') return null;
  return (
    <Tooltip title={t(`priority.${priority}`)}>
      <FlagFilled style={{ color: PRIORITY_COLOR[priority] }} aria-label={t(`priority.${priority}`)} data-priority={priority} />
    </Tooltip>
  );
}

export function priorityColor(priority: Priority): string {
  return PRIORITY_COLOR[priority];
}

export function PersonAvatar({ id, name, size = 'small', src }: { id: string; name: string | null | undefined; size?: 'small' | 'default' | 'large' | number; src?: string | null }) {
  return (
    <Avatar size={size} src={src ?? undefined} style={{ background: src ? undefined : colorFor(id), flex: 'none' }}>
      {initials(name)}
    </Avatar>
  );
}

/** Re-renders every `ms` so relative times ("5 min ago") stay true. */
export function useNow(ms = 30_000): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}
