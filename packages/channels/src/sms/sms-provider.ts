import { z } from 'zod';
import type {
  ChannelContext, DeliveryStatusEvent, InboundHttpRequest, InboundMessageEvent, MediaRef, OutboundHttpResponse,
  OutboundMessage, SendResult,
} from '../adapter.ts';

const E164 = /^\+[1-9]\d{6,14}$/;
const SID = /^[A-Za-z0-9_-]{2,64}$/;

/**
 * Settings of an SMS inbox. One provider shape today (Twilio's, which many aggregators copy: point
 * apiBaseUrl at theirs); the provider interface below is where a second shape would plug in.
 */
export const SmsConfig = z
  .strictObject({
    provider: z.literal('twilio').default('twilio').describe('The provider API shape: twilio (also Twilio-compatible aggregators)'),
    accountSid: z.string().regex(SID, 'the Account SID, like AC followed by 32 hex digits').describe('Account SID (AC…)'),
    fromNumber: z.string().regex(E164, 'a phone number in E.164 form like +14155550100').optional()
      .describe('The sending number (E.164); or use messagingServiceSid'),
    messagingServiceSid: z.string().regex(SID, 'the Messaging Service SID, like MG followed by 32 hex digits').optional()
      .describe('Messaging Service SID (MG…), used instead of fromNumber'),
    apiBaseUrl: z.url({ protocol: /^https?$/, message: 'an http(s) URL like https://api.twilio.com' })
      .default('https://api.twilio.com')
      .describe('REST API base URL: https://api.twilio.com, or a Twilio-compatible provider'),
  })
  .refine((c) => c.fromNumber !== undefined || c.messagingServiceSid !== undefined, {
    message: 'set fromNumber (E.164) or messagingServiceSid so replies have a sender',
    path: ['fromNumber'],
  });
export type SmsConfig = z.output<typeof SmsConfig>;

/** What one provider webhook turned out to be. */
export type SmsWebhook =
  | { kind: 'message'; event: InboundMessageEvent }
  | { kind: 'status'; event: DeliveryStatusEvent | null }
  | { kind: 'ignored'; reason: string };

/**
 * One SMS provider's HTTP shapes. Verification comes first and separately, so nothing is parsed from
 * a request whose signature failed.
 */
export interface SmsProvider {
  /** Checks the provider's signature; returns the verified request parameters. Throws ChannelError signature_invalid. */
  verifyWebhook(req: InboundHttpRequest, ctx: ChannelContext<SmsConfig>): Array<[string, string]>;
  /** An inbound SMS/MMS, a delivery status callback, or something to acknowledge and ignore. */
  parseWebhook(params: Array<[string, string]>, ctx: ChannelContext<SmsConfig>): SmsWebhook;
  /** The body the provider expects back (Twilio: empty TwiML, so nothing is auto-replied). */
  readonly webhookResponse: OutboundHttpResponse;
  send(msg: OutboundMessage, ctx: ChannelContext<SmsConfig>): Promise<SendResult>;
  fetchMedia(media: MediaRef, ctx: ChannelContext<SmsConfig>): Promise<{ bytes: Buffer; contentType: string; fileName: string }>;
  check(ctx: ChannelContext<SmsConfig>): Promise<{ ok: true } | { ok: false; message: string }>;
}
