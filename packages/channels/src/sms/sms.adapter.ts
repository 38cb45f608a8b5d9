/**
 * SMS through a provider interface (sms-provider.ts). The adapter owns what is the same for every provider
 * (settings, capabilities, turning a verified webhook into events); the provider owns the HTTP shapes.
 */
import {
  type ChannelAdapter, type ChannelCapabilities, type ChannelContext, type InboundHttpRequest, type InboundResult,
} from '../adapter.ts';
import { SmsConfig, type SmsProvider } from './sms-provider.ts';
import { TWILIO_MAX_BODY, TWILIO_MAX_MEDIA_BYTES, twilioProvider } from './twilio/twilio.provider.ts';

const PROVIDERS: Record<SmsConfig['provider'], SmsProvider> = { twilio: twilioProvider };

function providerOf(ctx: ChannelContext<SmsConfig>): SmsProvider {
  return PROVIDERS[ctx.config.provider];
}

export const smsAdapter: ChannelAdapter<SmsConfig> = {
  kind: 'sms',
  displayName: 'SMS (Twilio-compatible)',
  configSchema: SmsConfig,
  secrets: [{ name: 'authToken', label: 'Auth Token (signs webhooks and authenticates sends)', required: true }],

  capabilities: (): ChannelCapabilities => ({
    // Images go out as MMS (Twilio fetches the attachment's signed URL); other files cannot be carried.
    contentTypes: ['text', 'image'],
    maxTextLength: TWILIO_MAX_BODY,
    maxMediaBytes: TWILIO_MAX_MEDIA_BYTES,
    typing: false,
    readReceipts: false,
    deliveryReports: true,
    templates: false,
    sendWindow: null,
  }),

  async receive(req: InboundHttpRequest, ctx: ChannelContext<SmsConfig>): Promise<InboundResult> {
    const provider = providerOf(ctx);
    const params = provider.verifyWebhook(req, ctx);
    const parsed = provider.parseWebhook(params, ctx);
    if (parsed.kind === 'ignored') ctx.logger.warn({ reason: parsed.reason }, 'sms webhook ignored');
    const events = parsed.kind === 'ignored' || parsed.event === null ? [] : [parsed.event];
    return { response: provider.webhookResponse, events };
  },

  send: (msg, ctx) => providerOf(ctx).send(msg, ctx),
  fetchMedia: (media, ctx) => providerOf(ctx).fetchMedia(media, ctx),
  check: (ctx) => providerOf(ctx).check(ctx),
};
