/**
 * The API channel's wire format: what an integrator POSTs into an inbox
 * (POST /api/channels/v1/{publicId}/messages, `Authorization: Bearer <apiKey>`) and the webhook Huiliu
 * POSTs to the integrator's `webhookUrl` when an agent replies (signed with `X-Huiliu-Signature`).
 * The adapter (packages/channels/src/api) and the documented route validate with these same schemas.
 */
import { z } from 'zod';
import { MessageText } from './api.ts';

const E164 = /^\+[1-9]\d{6,14}$/;
/** "required" instead of zod's "expected string, received undefined" for a missing field. */
const required = { error: (iss: { input?: unknown }) => (iss.input === undefined ? 'required' : undefined) };

export const ApiChannelAttachment = z.strictObject({
  url: z.url({ protocol: /^https?$/, message: 'an http(s) URL Huiliu can download the file from' }),
  fileName: z.string().min(1).max(255).optional(),
  contentType: z.string().min(3).max(255).regex(/^[\w.+-]+\/[\w.+-]+/, 'a MIME type like image/png').optional(),
});

export const ApiChannelSender = z.strictObject({
  id: z.string(required).min(1).max(200).describe("The customer's id in your system: the same id always lands in the same contact"),
  name: z.string().max(200).optional(),
  email: z.email({ message: 'an email address like name@example.com' }).max(320).optional(),
  phone: z.string().regex(E164, 'a phone number in E.164 form like +8613800138000').optional(),
}, required);

export const ApiChannelLocation = z.strictObject({
  latitude: z.number().min(-90).max(90),
  longitude: z.number().min(-180).max(180),
  name: z.string().max(200).optional(),
  address: z.string().max(500).optional(),
});

const MEDIA_TYPES = new Set(['image', 'file', 'audio', 'video']);

/** One customer message. `type` is optional (inferred from attachments); unknown types are kept as "unsupported content". */
export const ApiChannelInboundMessage = z
  .strictObject({
    externalId: z.string(required).min(1).max(200).describe('Your id of this message: sending it again is harmless (stored once)'),
    sender: ApiChannelSender,
    type: z.string().min(1).max(50).optional()
      .describe('text, image, file, audio, video or location; inferred when absent; any other value is stored as unsupported content with the message kept whole'),
    text: MessageText.optional(),
    attachments: z.array(ApiChannelAttachment).max(10).optional(),
    location: ApiChannelLocation.optional(),
    sentAt: z.iso.datetime({ offset: true, message: 'an ISO-8601 timestamp like 2026-11-20T08:30:00Z' }).optional(),
  })
  .superRefine((m, ctx) => {
    const media = (m.attachments?.length ?? 0) > 0;
    if (m.type === undefined && !m.text && !media && !m.location) {
      ctx.addIssue({ code: 'custom', path: ['text'], message: 'a message needs text, attachments or a location' });
    } else if (m.type !== undefined && MEDIA_TYPES.has(m.type) && !media) {
      ctx.addIssue({ code: 'custom', path: ['attachments'], message: `required for type "${m.type}"` });
    } else if (m.type === 'location' && !m.location) {
      ctx.addIssue({ code: 'custom', path: ['location'], message: 'required for type "location"' });
    } else if (m.type === 'text' && !m.text) {
      ctx.addIssue({ code: 'custom', path: ['text'], message: 'required for type "text"' });
    }
  });
export type ApiChannelInboundMessage = z.infer<typeof ApiChannelInboundMessage>;

export const API_CHANNEL_MAX_BATCH = 100;

export const ApiChannelInboundBatch = z.strictObject({
  messages: z.array(ApiChannelInboundMessage, required).min(1, 'send at least one message').max(API_CHANNEL_MAX_BATCH, `at most ${API_CHANNEL_MAX_BATCH} messages per request`),
});

/**
 * The body of POST /api/channels/v1/{publicId}/messages: one message, or `{ messages: [...] }`.
 * A plain union reports "Invalid input" at the root; the error names the field of the branch the body
 * was meant for (a body with `messages` is a batch), e.g. `messages[0].sender.id: required`.
 */
export const ApiChannelInbound = z.union([ApiChannelInboundBatch, ApiChannelInboundMessage], {
  error: (iss) => {
    const input = (iss as { input?: unknown }).input;
    return apiChannelBodyError(input) ?? 'send one message object or { "messages": [...] }';
  },
});
export type ApiChannelInbound = z.infer<typeof ApiChannelInbound>;

export const ApiChannelAccepted = z.object({
  accepted: z.number().int().describe('Messages accepted in this request (duplicates of an earlier externalId included)'),
});

/** `messages[0].sender.id` from zod's path. */
export function apiChannelFieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out;
}

function describeIssue(i: z.core.$ZodIssue): string {
  const where = apiChannelFieldPath(i.path);
  if (i.code === 'unrecognized_keys') {
    const keys = i.keys.map((k) => (where ? `${where}.${k}` : k));
    return `${keys.join(', ')}: unknown field${keys.length > 1 ? 's' : ''}; remove ${keys.length > 1 ? 'them' : 'it'}`;
  }
  const missing = i.code === 'invalid_type' && (i as { input?: unknown }).input === undefined;
  return `${where || 'body'}: ${missing ? 'required' : i.message}`;
}

/**
 * The first problem of an API channel body in words that name the field, or null when it is valid.
 * Shared by the route (400 before ingest) and the adapter (ChannelError malformed), so both say the same.
 */
export function apiChannelBodyError(input: unknown): string | null {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return 'body: send a JSON object: one message or { "messages": [...] }';
  const schema = 'messages' in input ? ApiChannelInboundBatch : ApiChannelInboundMessage;
  const r = schema.safeParse(input);
  if (r.success) return null;
  return describeIssue(r.error.issues[0]!);
}

// ---------------------------------------------------------------------------------------------------
// Outbound: the webhook Huiliu sends to the integrator

export const ApiChannelWebhookAttachment = z.object({
  url: z.string().describe('Signed, time-limited download URL'),
  fileName: z.string(),
  contentType: z.string(),
  size: z.number().int(),
});

/**
 * POSTed to the inbox's `webhookUrl` for every agent reply. Headers:
 * `X-Huiliu-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(webhookSecret, "<t>.<raw body>")>`,
 * `X-Huiliu-Delivery: <id>` (same value on every retry of the same message: deduplicate on it),
 * `X-Huiliu-Event: message.created`. Answer 2xx (optionally `{ "id": "<your id>" }`) within the timeout;
 * anything else is retried with backoff (except 4xx other than 408 and 429, which fail at once).
 */
export const ApiChannelWebhookPayload = z.object({
  event: z.literal('message.created'),
  message: z.object({
    id: z.string().describe('Huiliu message id; equals X-Huiliu-Delivery'),
    conversationId: z.string().describe('Huiliu conversation id'),
    text: z.string(),
    attachments: z.array(ApiChannelWebhookAttachment),
    senderName: z.string().nullable().describe("The replying agent's display name"),
    createdAt: z.string().describe('ISO-8601 timestamp (UTC)'),
  }),
  recipient: z.object({ id: z.string().describe('The sender.id you posted the customer messages with') }),
});
export type ApiChannelWebhookPayload = z.infer<typeof ApiChannelWebhookPayload>;

/** What the integrator's receiver may answer with: its own id of the message, kept as our externalId. */
export const ApiChannelWebhookAck = z.object({ id: z.union([z.string(), z.number()]).optional() }).loose();
