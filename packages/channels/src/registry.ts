import type { ChannelType } from '@huiliu/contracts';
import type { ChannelAdapter } from './adapter.ts';
import { apiChannelAdapter } from './api/api-channel.adapter.ts';
import { emailAdapter } from './email/index.ts';
import { smsAdapter } from './sms/sms.adapter.ts';
import { telegramAdapter } from './telegram/index.ts';
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
]);

export function adapterFor(kind: ChannelType): ChannelAdapter<any> | undefined {
  return channelAdapters.get(kind);
}
