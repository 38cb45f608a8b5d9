/**
 * Twilio's Programmable Messaging shapes, also spoken by Twilio-compatible aggregators (apiBaseUrl):
 * - inbound SMS/MMS webhook, form-encoded: https://www.twilio.com/docs/messaging/guides/webhook-request
 * - signature: https://www.twilio.com/docs/usage/webhooks/webhooks-security
 * - send: POST /2010-04-01/Accounts/{AccountSid}/Messages.json, https://www.twilio.com/docs/messaging/api/message-resource
 * - status callbacks: https://www.twilio.com/docs/messaging/guides/outbound-message-status-in-status-callbacks
 * - errors: https://www.twilio.com/docs/api/errors (JSON { code, message, more_info, status })
 */
import {
  ChannelError,
  type ChannelContext, type ChannelHttpRequest, type ChannelHttpResponse, type DeliveryStatusEvent, type InboundMessageEvent,
  type MediaRef, type NormalizedContent, type OutboundMessage, type SendResult,
} from '../../adapter.ts';
import type { SmsConfig, SmsProvider, SmsWebhook } from '../sms-provider.ts';
import { verifyTwilioSignature } from './twilio-signature.ts';

const API_VERSION = '2010-04-01';
const E164 = /^\+[1-9]\d{6,14}$/;
/** Twilio's limit for one message body (it is split into segments on the way). */
export const TWILIO_MAX_BODY = 1600;
/** MMS media limit (https://www.twilio.com/docs/messaging/guides/accepted-mime-types). */
export const TWILIO_MAX_MEDIA_BYTES = 5 * 1024 * 1024;
const MAX_MEDIA_PER_MESSAGE = 10;
/**
 * Media refs are "twilio-media:<MediaUrl>", deliberately not plain URLs: core downloads plain URLs itself,
 * without credentials, while Twilio media may require the account's Basic auth ("Enforce HTTP Auth on
 * Media URLs"), which only `fetchMedia` adds.
 */
export const MEDIA_REF_PREFIX = 'twilio-media:';

/** Error codes whose cause is the recipient, not us: retrying cannot help. */
const RECIPIENT_ERRORS = new Map<number, string>([
  [21211, 'the phone number is not valid'],
  [21214, 'the phone number cannot be reached'],
  [21408, 'sending to this region is not enabled for the account'],
  [21610, 'the recipient has opted out (replied STOP)'],
  [21612, 'the number cannot receive messages from this sender'],
  [21614, 'the number is not a mobile number'],
]);

const STATUS_MAP: Record<string, DeliveryStatusEvent['status'] | null> = {
  // Not yet at the carrier: nothing to report (the message stays "sent" from our side).
  accepted: null, scheduled: null, queued: null, sending: null,
  sent: 'sent',
  delivered: 'delivered',
  read: 'read',
  undelivered: 'failed',
  failed: 'failed',
  canceled: 'failed',
};

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg', 'image/png': 'png', 'image/gif': 'gif', 'image/webp': 'webp', 'image/bmp': 'bmp',
  'video/mp4': 'mp4', 'video/3gpp': '3gp', 'audio/mpeg': 'mp3', 'audio/amr': 'amr', 'audio/ogg': 'ogg',
  'application/pdf': 'pdf', 'text/vcard': 'vcf', 'text/x-vcard': 'vcf', 'text/plain': 'txt',
};

function authHeader(cfg: SmsConfig, authToken: string): string {
  return `Basic ${Buffer.from(`${cfg.accountSid}:${authToken}`, 'utf8').toString('base64')}`;
}

function apiBase(cfg: SmsConfig): string {
  return cfg.apiBaseUrl.replace(/\/+$/, '');
}

function authToken(ctx: ChannelContext<SmsConfig>): string {
  const token = ctx.secrets.authToken;
  if (!token) throw new ChannelError('not_configured', 'the SMS inbox has no Auth Token yet; an admin sets it in the channel settings', { retryable: false });
  return token;
}

/**
 * The URL Twilio signed: the inbox's public webhook URL, plus the query string Twilio called it with when
 * the configured URL carried one (the path may differ behind a proxy; the query cannot be guessed).
 */
function calledUrl(ctx: ChannelContext<unknown>, requestUrl: string): string {
  const q = requestUrl.indexOf('?');
  if (q < 0 || ctx.webhookUrl.includes('?')) return ctx.webhookUrl;
  return ctx.webhookUrl + requestUrl.slice(q);
}

async function call(ctx: ChannelContext<SmsConfig>, url: string, init: ChannelHttpRequest, what: string): Promise<ChannelHttpResponse> {
  try {
    return await ctx.http(url, init);
  } catch (err) {
    if (err instanceof ChannelError) throw err;
    throw new ChannelError('network', `${what}: ${(err as Error).message}`);
  }
}

function twilioError(res: ChannelHttpResponse, what: string): ChannelError {
  let code: number | undefined;
  let message = '';
  try {
    const body = res.json() as { code?: unknown; message?: unknown };
    if (typeof body.code === 'number') code = body.code;
    if (typeof body.message === 'string') message = body.message;
  } catch {
    message = res.text().slice(0, 200);
  }
  const detail = `${what}: HTTP ${res.status}${code !== undefined ? `, Twilio error ${code}` : ''}${message ? ` (${message})` : ''}`;
  if (res.status === 429 || code === 20429) {
    const after = Number(res.headers['retry-after']);
    return new ChannelError('rate_limited', detail, Number.isFinite(after) && after > 0 ? { retryAfterMs: Math.min(after, 3600) * 1000 } : {});
  }
  if (code !== undefined && RECIPIENT_ERRORS.has(code)) return new ChannelError('recipient_invalid', `${RECIPIENT_ERRORS.get(code)}; ${detail}`, { retryable: false });
  if (res.status === 401 || res.status === 403 || code === 20003) {
    return new ChannelError('unauthorized', `the Account SID or Auth Token was refused; check the channel settings. ${detail}`, { retryable: false });
  }
  if (res.status >= 500) return new ChannelError('provider_error', detail, { retryable: true });
  return new ChannelError('provider_error', detail, { retryable: false });
}

function mediaContent(params: Map<string, string>, body: string): NormalizedContent | null {
  const count = Math.min(Number.parseInt(params.get('NumMedia') ?? '0', 10) || 0, MAX_MEDIA_PER_MESSAGE);
  const media: MediaRef[] = [];
  for (let i = 0; i < count; i++) {
    const url = params.get(`MediaUrl${i}`);
    if (!url) continue;
    const contentType = params.get(`MediaContentType${i}`) ?? 'application/octet-stream';
    const sid = url.split('?')[0]!.split('/').filter(Boolean).pop() ?? `media${i}`;
    media.push({ ref: MEDIA_REF_PREFIX + url, contentType, fileName: `${sid}.${EXTENSIONS[contentType] ?? 'bin'}` });
  }
  if (!media.length) return null;
  const top = media[0]!.contentType!.split('/')[0];
  const type = top === 'image' || top === 'video' || top === 'audio' ? top : 'file';
  return { type, ...(body ? { text: body } : {}), media };
}

/** Message types an SMS number receives; anything else (a channel feature we do not map) is kept as unsupported. */
const KNOWN_MESSAGE_TYPES = new Set(['sms', 'mms', 'text', 'image', 'video', 'audio', 'document', 'media']);

function parseMessage(params: Map<string, string>, all: Array<[string, string]>, ctx: ChannelContext<SmsConfig>): InboundMessageEvent {
  const sid = params.get('MessageSid') ?? params.get('SmsMessageSid') ?? params.get('SmsSid');
  const from = params.get('From');
  if (!sid) throw new ChannelError('malformed', 'MessageSid: required in an inbound message webhook');
  if (!from) throw new ChannelError('malformed', 'From: required in an inbound message webhook');
  const body = params.get('Body') ?? '';
  const messageType = params.get('MessageType')?.toLowerCase();
  const raw = Object.fromEntries(all);

  let content: NormalizedContent | null;
  if (messageType !== undefined && !KNOWN_MESSAGE_TYPES.has(messageType)) {
    content = { type: 'unsupported', text: body || `unsupported message type "${messageType}"`, raw };
  } else {
    content = mediaContent(params, body) ?? (body ? { type: 'text', text: body } : null);
    content ??= { type: 'unsupported', text: 'an empty message (no text, no media)', raw };
  }
  const isPhone = E164.test(from);
  return {
    kind: 'message',
    externalId: sid,
    sender: {
      sourceId: from,
      phone: isPhone ? from : null,
      // The carrier network vouches for the sending number.
      ...(isPhone ? { verifiedKeys: [{ kind: 'phone' as const, value: from }] } : {}),
    },
    content,
    sentAt: ctx.now(),
  };
}

function parseStatus(params: Map<string, string>, ctx: ChannelContext<SmsConfig>): DeliveryStatusEvent | null {
  const sid = params.get('MessageSid') ?? params.get('SmsSid');
  const raw = params.get('MessageStatus')!.toLowerCase();
  if (!sid) throw new ChannelError('malformed', 'MessageSid: required in a status callback');
  const status = STATUS_MAP[raw];
  if (status === undefined) throw new ChannelError('malformed', `MessageStatus: unknown value "${raw.slice(0, 40)}"`);
  if (status === null) return null;
  const code = params.get('ErrorCode');
  const errMsg = params.get('ErrorMessage');
  const error = status === 'failed'
    ? `${raw}${code ? `, Twilio error ${code}` : ''}${errMsg ? `: ${errMsg}` : ''} (https://www.twilio.com/docs/api/errors${code ? `/${code}` : ''})`
    : undefined;
  return { kind: 'status', externalId: sid, status, ...(error ? { error } : {}), at: ctx.now() };
}

export const twilioProvider: SmsProvider = {
  webhookResponse: { status: 200, contentType: 'text/xml', body: '<?xml version="1.0" encoding="UTF-8"?><Response/>' },

  /*
   * Twilio signs no timestamp, so a captured request verifies forever. What a replay can do is bounded:
   * a message is deduplicated by MessageSid, and a replayed status callback cannot move a message
   * backwards (core only advances delivery status).
   */
  verifyWebhook(req, ctx) {
    const token = authToken(ctx);
    if (req.method !== 'POST') throw new ChannelError('malformed', `configure the Twilio webhook with HTTP POST, not ${req.method}`);
    const signature = req.headers['x-twilio-signature'];
    if (!signature) throw new ChannelError('signature_invalid', 'X-Twilio-Signature header missing: the request did not come from Twilio');
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') {
      throw new ChannelError('malformed', `Content-Type: expected application/x-www-form-urlencoded, got "${type || 'none'}"`);
    }
    const params = [...new URLSearchParams(req.rawBody.toString('utf8'))];
    if (!verifyTwilioSignature(token, signature, calledUrl(ctx, req.url), params)) {
      throw new ChannelError('signature_invalid', 'X-Twilio-Signature does not match this inbox\'s Auth Token and webhook URL');
    }
    return params;
  },

  parseWebhook(all, ctx): SmsWebhook {
    const params = new Map(all);
    const account = params.get('AccountSid');
    // Signed with our token, so authentic; but a number of another (sub)account routed here is a setup mistake.
    if (account && account !== ctx.config.accountSid) return { kind: 'ignored', reason: `webhook for account ${account}, this inbox is ${ctx.config.accountSid}` };
    if (params.has('MessageStatus')) return { kind: 'status', event: parseStatus(params, ctx) };
    return { kind: 'message', event: parseMessage(params, all, ctx) };
  },

  async send(msg: OutboundMessage, ctx): Promise<SendResult> {
    const cfg = ctx.config;
    const token = authToken(ctx);
    if (msg.text.length > TWILIO_MAX_BODY) {
      throw new ChannelError('content_unsupported', `SMS text is limited to ${TWILIO_MAX_BODY} characters (this one has ${msg.text.length}); shorten it`, { retryable: false });
    }
    const form = new URLSearchParams();
    form.set('To', msg.recipient.sourceId);
    if (cfg.messagingServiceSid) form.set('MessagingServiceSid', cfg.messagingServiceSid);
    else form.set('From', cfg.fromNumber!);
    if (msg.text) form.set('Body', msg.text);
    for (const a of msg.attachments) {
      if (!a.contentType.startsWith('image/')) {
        throw new ChannelError('content_unsupported', `SMS/MMS carries images only; "${a.fileName}" is ${a.contentType}`, { retryable: false });
      }
      if (a.size > TWILIO_MAX_MEDIA_BYTES) {
        throw new ChannelError('media_too_large', `"${a.fileName}" is larger than the MMS limit of 5 MB`, { retryable: false });
      }
      // Twilio fetches the file itself from this signed URL.
      form.append('MediaUrl', a.url);
    }
    if (!form.has('Body') && !form.has('MediaUrl')) throw new ChannelError('content_unsupported', 'an SMS needs text or an image', { retryable: false });
    form.set('StatusCallback', ctx.webhookUrl);

    // Twilio's Messages API has no idempotency key: a retry after a lost response can send twice. We only
    // retry on errors that mean "not created" (5xx, 429, network) to keep that window small.
    const res = await call(ctx, `${apiBase(cfg)}/${API_VERSION}/Accounts/${encodeURIComponent(cfg.accountSid)}/Messages.json`, {
      method: 'POST',
      headers: { authorization: authHeader(cfg, token), 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
      timeoutMs: 15_000,
    }, 'sending the SMS failed');
    if (res.status !== 200 && res.status !== 201) throw twilioError(res, 'sending the SMS failed');
    let sid: unknown;
    try {
      sid = (res.json() as { sid?: unknown }).sid;
    } catch {
      sid = undefined;
    }
    if (typeof sid !== 'string' || !sid) throw new ChannelError('provider_error', `the provider answered HTTP ${res.status} without a message sid`, { retryable: false });
    return { externalId: sid };
  },

  async fetchMedia(media, ctx) {
    const url = media.ref?.startsWith(MEDIA_REF_PREFIX) ? media.ref.slice(MEDIA_REF_PREFIX.length) : media.ref;
    if (!url || !/^https?:\/\//i.test(url)) throw new ChannelError('malformed', 'the media reference is not a Twilio media URL');
    // Credentials go only to the provider's own API host: a media URL elsewhere never sees the Auth Token.
    const sameOrigin = (() => {
      try {
        return new URL(url).origin === new URL(ctx.config.apiBaseUrl).origin;
      } catch {
        return false;
      }
    })();
    const headers: Record<string, string> = sameOrigin ? { authorization: authHeader(ctx.config, authToken(ctx)) } : {};
    const res = await call(ctx, url, { method: 'GET', headers, maxBytes: 2 * TWILIO_MAX_MEDIA_BYTES, timeoutMs: 30_000 }, 'downloading the MMS media failed');
    if (res.status !== 200) throw twilioError(res, 'downloading the MMS media failed');
    const contentType = (res.headers['content-type'] ?? media.contentType ?? 'application/octet-stream').split(';')[0]!.trim();
    return { bytes: res.body, contentType, fileName: media.fileName ?? `media.${EXTENSIONS[contentType] ?? 'bin'}` };
  },

  async check(ctx) {
    const cfg = ctx.config;
    let token: string;
    try {
      token = authToken(ctx);
    } catch (err) {
      return { ok: false, message: (err as Error).message };
    }
    try {
      const res = await call(ctx, `${apiBase(cfg)}/${API_VERSION}/Accounts/${encodeURIComponent(cfg.accountSid)}.json`, {
        method: 'GET', headers: { authorization: authHeader(cfg, token), accept: 'application/json' }, timeoutMs: 10_000,
      }, 'checking the account failed');
      if (res.status === 200) return { ok: true };
      return { ok: false, message: twilioError(res, 'checking the account failed').message };
    } catch (err) {
      return { ok: false, message: (err as Error).message };
    }
  },
};
