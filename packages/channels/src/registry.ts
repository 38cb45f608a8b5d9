import type { ChannelType } from '@huiliu/contracts';
import type { ChannelAdapter } from './adapter.ts';
import { apiChannelAdapter } from './api/api-channel.adapter.ts';
import { douyinAdapter } from './douyin/index.ts';
import { emailAdapter } from './email/index.ts';
import { smsAdapter } from './sms/sms.adapter.ts';
import { telegramAdapter } from './telegram/index.ts';
import { wechatOaAdapter } from './wechat-oa/index.ts';
import { wecomKfAdapter } from './wecom-kf/index.ts';
import { weiboAdapter } from './weibo/index.ts';
import { whatsappAdapter } from './whatsapp/index.ts';

/**
 * Every external channel adapter, by channel type. The web widget is not here: it speaks Huiliu's own
 * protocol (apps/server/src/realtime) instead of a platform's. Adding a channel = one adapter folder +
 * one line here + its fake platform and fixtures for the contract suite.
 */
export const channelAdapters: ReadonlyMap<ChannelType, ChannelAdapter<any>> = new Map<ChannelType, ChannelAdapter<any>>([
  // [adapter.kind, adapter] entries — one per channel (email, api, telegram, whatsapp, sms, …)
  [apiChannelAdapter.kind, apiChannelAdapter],
  [emailAdapter.kind, emailAdapter],
  [smsAdapter.kind, smsAdapter],
  [telegramAdapter.kind, telegramAdapter],
  [whatsappAdapter.kind, whatsappAdapter],
  [wechatOaAdapter.kind, wechatOaAdapter],
  [wecomKfAdapter.kind, wecomKfAdapter],
  [douyinAdapter.kind, douyinAdapter],
  [weiboAdapter.kind, weiboAdapter],
]);

export function adapterFor(kind: ChannelType): ChannelAdapter<any> | undefined {
  return channelAdapters.get(kind);
}
