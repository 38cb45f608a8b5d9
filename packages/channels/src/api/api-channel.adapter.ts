/**
 * The API channel: any system posts customer messages into an inbox with an API key, and receives the
 * agents' replies as signed webhooks. The wire format lives in @huiliu/contracts (api-channel.ts) so the
 * documented route and this adapter validate with the same schema.
 */
import { z } from 'zod';
import {
  ApiChannelInboundBatch, ApiChannelInboundMessage, ApiChannelWebhookAck, apiChannelBodyError,
  type ApiChannelWebhookPayload,
} from '@huiliu/contracts';
import {
  ChannelError,
  type ChannelAdapter, type ChannelCapabilities, type ChannelContext, type InboundHttpRequest, type InboundMessageEvent,
  type InboundResult, type MediaRef, type NormalizedContent, type OutboundMessage, type SendResult, type VerifiedKey,
} from '../adapter.ts';
import { constantTimeEqual, DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signWebhook } from './signature.ts';

export const ApiChannelConfig = z.strictObject({
  webhookUrl: z.url({ protocol: /^https?$/, message: 'an http(s) URL where agent replies are POSTed' }).optional()
    .describe('Where agent replies are POSTed; without it replies are only available through the REST API'),
  webhookTimeoutMs: z.number().int().min(1000).max(30_000).default(10_000)
    .describe('How long the receiver may take to answer before the delivery is retried'),
  trustSenderContacts: z.boolean().default(false)
    .describe('Your system has verified the email and phone it sends: contacts sharing them are merged automatically'),
});
export type ApiChannelConfig = z.output<typeof ApiChannelConfig>;

const CAPABILITIES: ChannelCapabilities = {
  contentTypes: ['text', 'image', 'file'],
  maxTextLength: 64 * 1024,
  maxMediaBytes: 25 * 1024 * 1024,
  typing: false,
  readReceipts: false,
  // The receiver's 2xx is the delivery; there is no later report to wait for.
  deliveryReports: false,
  templates: false,
  sendWindow: null,
};

type InboundItem = z.output<typeof ApiChannelInboundMessage>;

/**
 * The core may hand more context than the adapter interface promises (the conversation and creation time
 * of the reply); the payload documents them, so pass them on when present.
 */

function parseBody(raw: Buffer): InboundItem[] {
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new ChannelError('malformed', 'body: not valid JSON; send Content-Type: application/json with one message or { "messages": [...] }');
  }
  const problem = apiChannelBodyError(json);
  if (problem) throw new ChannelError('malformed', problem);
  if (typeof json === 'object' && json !== null && 'messages' in json) return ApiChannelInboundBatch.parse(json).messages;
  return [ApiChannelInboundMessage.parse(json)];
}

const MEDIA_KINDS = ['image', 'video', 'audio'] as const;

function mediaKind(contentType: string | undefined): 'image' | 'video' | 'audio' | 'file' {
  const top = contentType?.split('/')[0];
  return MEDIA_KINDS.find((k) => k === top) ?? 'file';
}

function contentOf(m: InboundItem): NormalizedContent {
  const media: MediaRef[] = (m.attachments ?? []).map((a) => ({
    ref: a.url, ...(a.fileName ? { fileName: a.fileName } : {}), ...(a.contentType ? { contentType: a.contentType } : {}),
  }));
  const text = m.text ?? '';
  const type = m.type ?? (m.location ? 'location' : media.length ? mediaKind(m.attachments![0]!.contentType) : 'text');
  switch (type) {
    case 'text':
      return { type: 'text', text };
    case 'image': case 'file': case 'audio': case 'video':
      return { type, ...(text ? { text } : {}), media };
    case 'location':
      return { type: 'location', ...(text ? { text } : {}), location: m.location! };
    default:
      // A type this version does not know: kept whole for inspection instead of guessed at or dropped.
      return { type: 'unsupported', text: text || `unsupported message type "${type}"`, raw: m };
  }
}

function toEvent(m: InboundItem, cfg: ApiChannelConfig, now: Date): InboundMessageEvent {
  const verifiedKeys: VerifiedKey[] = [];
  if (cfg.trustSenderContacts) {
    if (m.sender.email) verifiedKeys.push({ kind: 'email', value: m.sender.email.toLowerCase() });
    if (m.sender.phone) verifiedKeys.push({ kind: 'phone', value: m.sender.phone });
  }
  return {
    kind: 'message',
    externalId: m.externalId,
    sender: {
      sourceId: m.sender.id,
      name: m.sender.name ?? null,
      email: m.sender.email?.toLowerCase() ?? null,
      phone: m.sender.phone ?? null,
      ...(verifiedKeys.length ? { verifiedKeys } : {}),
    },
    content: contentOf(m),
    sentAt: m.sentAt ? new Date(m.sentAt) : now,
  };
}

function retryAfterMs(header: string | undefined): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds, 3600) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.min(at - Date.now(), 3600_000));
}

export const apiChannelAdapter: ChannelAdapter<ApiChannelConfig> = {
  kind: 'api',
  displayName: 'API',
  configSchema: ApiChannelConfig,
  secrets: [
    { name: 'apiKey', label: 'API key (your system sends it as Authorization: Bearer <key>)', required: true },
    { name: 'webhookSecret', label: 'Webhook signing secret (required with a webhook URL)', required: false },
  ],

  capabilities: () => CAPABILITIES,

  /*
   * Replay protection: none beyond the bearer key and externalId dedupe, on purpose. The caller is the
   * integrator's own backend over TLS holding a shared key (not a platform signing each request), and a
   * replayed request can only repeat messages whose externalId core already stored once — a replay
   * changes nothing. Timestamps would only add clock-skew failures for integrators.
   */
  async receive(req: InboundHttpRequest, ctx: ChannelContext<ApiChannelConfig>): Promise<InboundResult> {
    const apiKey = ctx.secrets.apiKey;
    if (!apiKey) throw new ChannelError('not_configured', 'this inbox has no API key yet; an admin sets one in the channel settings');
    const auth = req.headers.authorization ?? '';
    const presented = auth.startsWith('Bearer ') ? auth.slice(7).trim() : '';
    if (!presented) throw new ChannelError('unauthorized', 'send the inbox API key as Authorization: Bearer <apiKey>');
    if (!constantTimeEqual(presented, apiKey)) throw new ChannelError('unauthorized', 'the API key is wrong for this inbox');
    if (req.method !== 'POST') throw new ChannelError('malformed', `use POST, not ${req.method}`);

    const messages = parseBody(req.rawBody);
    const now = ctx.now();
    return {
      response: { status: 202, contentType: 'application/json', body: JSON.stringify({ accepted: messages.length }) },
      events: messages.map((m) => toEvent(m, ctx.config, now)),
    };
  },

  async send(msg: OutboundMessage, ctx: ChannelContext<ApiChannelConfig>): Promise<SendResult> {
    const url = ctx.config.webhookUrl;
    // Without a webhook the reply is stored and readable through the REST API: nothing to deliver.
    if (!url) return { externalId: msg.idempotencyKey };
    const secret = ctx.secrets.webhookSecret;
    if (!secret) throw new ChannelError('not_configured', 'the inbox has a webhook URL but no webhook signing secret; set webhookSecret in the channel settings', { retryable: false });

    const payload: ApiChannelWebhookPayload = {
      event: 'message.created',
      message: {
        id: msg.idempotencyKey,
        conversationId: msg.conversationId,
        text: msg.text,
        attachments: msg.attachments.map((a) => ({ url: a.url, fileName: a.fileName, contentType: a.contentType, size: a.size })),
        senderName: msg.senderName ?? null,
        createdAt: msg.createdAt.toISOString(),
      },
      recipient: { id: msg.recipient.sourceId },
    };
    const body = JSON.stringify(payload);
    const t = Math.floor(ctx.now().getTime() / 1000);

    let res;
    try {
      res = await ctx.http(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Huiliu-Webhooks/1',
          [SIGNATURE_HEADER]: signWebhook(secret, body, t),
          [DELIVERY_HEADER]: msg.idempotencyKey,
          [EVENT_HEADER]: payload.event,
        },
        body,
        timeoutMs: ctx.config.webhookTimeoutMs,
        maxBytes: 64 * 1024,
      });
    } catch (err) {
      if (err instanceof ChannelError) throw err;
      throw new ChannelError('network', `the webhook receiver could not be reached: ${(err as Error).message}`);
    }

    if (res.status >= 200 && res.status < 300) {
      let theirs: string | undefined;
      try {
        const ack = ApiChannelWebhookAck.safeParse(res.json());
        if (ack.success && ack.data.id !== undefined && String(ack.data.id).length > 0) theirs = String(ack.data.id).slice(0, 200);
      } catch {
        // An empty or non-JSON 2xx is a fine acknowledgement.
      }
      return { externalId: theirs ?? msg.idempotencyKey };
    }
    const detail = `the webhook receiver answered HTTP ${res.status}${res.body.length ? `: ${res.text().slice(0, 200)}` : ''}`;
    if (res.status === 429) throw new ChannelError('rate_limited', detail, { retryAfterMs: retryAfterMs(res.headers['retry-after']) });
    if (res.status === 408 || res.status >= 500) throw new ChannelError('provider_error', detail, { retryable: true });
    // Other 4xx: the receiver refuses this delivery (bad URL, auth, validation); retrying sends the same thing.
    throw new ChannelError('provider_error', detail, { retryable: false });
  },
};
