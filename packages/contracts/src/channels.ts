/**
 * REST shapes of the channel framework (packages/core/src/channels, packages/channels): channel
 * settings of an inbox, the catalogue of channel kinds, send windows, delivery log and failed deliveries.
 */
import { z } from 'zod';
import { ChannelType, ContentType, Id, Timestamp } from './entities.ts';

/** One credential of a channel: never returned, only whether it is set and its last 4 characters. */
export const ChannelSecretInfo = z.object({
  name: z.string(),
  label: z.string(),
  required: z.boolean(),
  set: z.boolean(),
  hint: z.string().nullable().describe('Last 4 characters of the stored value; null when not set'),
});
export type ChannelSecretInfo = z.infer<typeof ChannelSecretInfo>;

export const SendWindowRule = z.object({
  hours: z.number(),
  maxMessages: z.number().int().optional(),
  outside: z.enum(['templates', 'blocked']),
});

export const ChannelCapabilities = z.object({
  contentTypes: z.array(ContentType),
  maxTextLength: z.number().int(),
  maxMediaBytes: z.number().int(),
  typing: z.boolean(),
  readReceipts: z.boolean(),
  deliveryReports: z.boolean(),
  templates: z.boolean(),
  sendWindow: SendWindowRule.nullable(),
});
export type ChannelCapabilities = z.infer<typeof ChannelCapabilities>;

/** A channel kind the server supports (GET /api/v1/channels): what the console's "add channel" form needs. */
export const ChannelKindInfo = z.object({
  kind: ChannelType,
  displayName: z.string(),
  /** JSON Schema of the non-secret settings (generated from the adapter's zod schema). */
  configSchema: z.record(z.string(), z.unknown()),
  secrets: z.array(z.object({ name: z.string(), label: z.string(), required: z.boolean() })),
  inbound: z.enum(['webhook', 'poll']).describe('webhook: the platform calls webhookUrl; poll: Huiliu connects (IMAP)'),
});
export type ChannelKindInfo = z.infer<typeof ChannelKindInfo>;

/** The channel side of an inbox (GET /api/v1/inboxes/:id/channel). */
export const InboxChannel = z.object({
  inboxId: Id,
  kind: ChannelType,
  config: z.record(z.string(), z.unknown()),
  secrets: z.array(ChannelSecretInfo),
  /** Where the platform must send its webhooks (absent meaning for poll channels). */
  webhookUrl: z.string(),
  capabilities: ChannelCapabilities,
  /** False while a required secret or setting is missing: nothing is sent or received. */
  ready: z.boolean(),
  /** Last inbound connection problem (IMAP login failed…), null when healthy. */
  lastError: z.string().nullable(),
});
export type InboxChannel = z.infer<typeof InboxChannel>;

/** PUT /api/v1/inboxes/:id/channel. Secrets: a value sets it, null deletes it, absent keeps it. */
export const UpdateInboxChannelBody = z.strictObject({
  config: z.record(z.string(), z.unknown()).optional(),
  secrets: z.record(z.string(), z.string().min(1).max(10_000).nullable()).optional(),
});
export type UpdateInboxChannelBody = z.infer<typeof UpdateInboxChannelBody>;

/** What the composer may send now in a conversation (GET /api/v1/conversations/:id/send-window). */
export const SendWindowStatus = z.object({
  channelType: ChannelType,
  /** Free-form messages are allowed now. */
  allowed: z.boolean(),
  /** Only pre-approved templates are possible now (WhatsApp outside 24 h). */
  templatesOnly: z.boolean(),
  /** Why not, in words an agent understands; null when allowed. */
  reason: z.string().nullable(),
  reasonCode: z.enum(['window_closed', 'quota_exhausted', 'channel_not_ready', 'no_reachable_identity']).nullable(),
  closesAt: Timestamp.nullable().describe('When the current window closes; null when the channel has no window'),
  remainingMessages: z.number().int().nullable().describe('Messages left in the window; null when unlimited'),
  capabilities: ChannelCapabilities,
});
export type SendWindowStatus = z.infer<typeof SendWindowStatus>;

/** One attempt to deliver an outbound message to a channel (the delivery log). */
export const DeliveryAttempt = z.object({
  id: z.number().int(),
  inboxId: Id,
  conversationId: Id,
  messageId: Id,
  attempt: z.number().int(),
  outcome: z.enum(['sent', 'retry', 'failed']),
  externalId: z.string().nullable(),
  error: z.string().nullable(),
  errorCode: z.string().nullable(),
  durationMs: z.number().int(),
  createdAt: Timestamp,
});
export type DeliveryAttempt = z.infer<typeof DeliveryAttempt>;

export const DeliveryAttemptsQuery = z.strictObject({
  outcome: z.enum(['sent', 'retry', 'failed']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  beforeId: z.coerce.number().int().optional(),
});

/** A message that could not be delivered (dead letter), for agents and admins. */
export const FailedDelivery = z.object({
  messageId: Id,
  conversationId: Id,
  conversationDisplayId: z.number().int(),
  inboxId: Id,
  channelType: ChannelType,
  text: z.string(),
  error: z.string(),
  errorCode: z.string().nullable(),
  attempts: z.number().int(),
  failedAt: Timestamp,
});
export type FailedDelivery = z.infer<typeof FailedDelivery>;
