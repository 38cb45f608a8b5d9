import { z } from 'zod';
import { Permission } from './permissions.ts';

/** Entities as the API returns them. Timestamps are ISO-8601 strings in UTC. */

export const Id = z.uuid();
export const Timestamp = z.string().describe('ISO-8601 timestamp (UTC)');

export const WorkspaceSettings = z.strictObject({
  /** Resolve an open/pending conversation after this many hours without a customer message; 0 disables. */
  autoResolveHours: z.number().int().min(0).max(24 * 90).default(24),
  /** Hosts the SSRF-safe HTTP client may reach even though they resolve to private addresses. */
  networkAllowlist: z.array(z.string().min(1).max(253)).max(100).default([]),
  defaultLocale: z.enum(['zh-CN', 'en']).default('zh-CN'),
  /** An agent idle in the workbench this long (no keyboard, mouse or touch) is set away, and online again on return; 0 disables. */
  agentIdleAwayMinutes: z.number().int().min(0).max(480).default(15),
});
export type WorkspaceSettings = z.infer<typeof WorkspaceSettings>;

export const Workspace = z.object({
  id: Id,
  name: z.string(),
  slug: z.string(),
  settings: WorkspaceSettings,
  createdAt: Timestamp,
});
export type Workspace = z.infer<typeof Workspace>;

export const Role = z.object({
  id: Id,
  name: z.string(),
  permissions: z.array(Permission),
  preset: z.boolean(),
});
export type Role = z.infer<typeof Role>;

export const UserStatus = z.enum(['invited', 'active', 'deactivated']);
export const User = z.object({
  id: Id,
  email: z.string(),
  name: z.string(),
  role: z.string().describe('Role name'),
  status: UserStatus,
  avatarUrl: z.string().nullable(),
  locale: z.string(),
  createdAt: Timestamp,
});
export type User = z.infer<typeof User>;

export const Team = z.object({
  id: Id,
  name: z.string(),
  description: z.string(),
  memberIds: z.array(Id),
  createdAt: Timestamp,
});
export type Team = z.infer<typeof Team>;

export const ChannelType = z.enum(['web', 'api', 'email', 'telegram', 'whatsapp', 'wechat_oa', 'wecom_kf', 'douyin', 'weibo', 'sms']);
export type ChannelType = z.infer<typeof ChannelType>;

export const WidgetSettings = z.strictObject({
  color: z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a hex color like #1677ff').default('#1677ff'),
  greeting: z.string().max(500).default(''),
  position: z.enum(['left', 'right']).default('right'),
  preChatForm: z.boolean().default(false),
  locale: z.enum(['auto', 'zh-CN', 'en']).default('auto'),
});
export type WidgetSettings = z.infer<typeof WidgetSettings>;

export const Inbox = z.object({
  id: Id,
  name: z.string(),
  channelType: ChannelType,
  /** Public identifier the widget script uses; not a secret. */
  publicId: z.string(),
  allowedOrigins: z.array(z.string()),
  widget: WidgetSettings,
  memberIds: z.array(Id),
  createdAt: Timestamp,
});
export type Inbox = z.infer<typeof Inbox>;

export const Contact = z.object({
  id: Id,
  name: z.string().nullable(),
  /** Masked (e.g. "a***@example.com") unless the viewer has `contact.pii`. */
  email: z.string().nullable(),
  phone: z.string().nullable(),
  attributes: z.record(z.string(), z.unknown()),
  tags: z.array(z.string()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Contact = z.infer<typeof Contact>;

export const ContactIdentity = z.object({
  id: Id,
  contactId: Id,
  inboxId: Id,
  channelType: ChannelType,
  /** The channel's own id of the person: visitor id, email address, phone number, openid… */
  sourceId: z.string(),
  verified: z.boolean(),
  createdAt: Timestamp,
});
export type ContactIdentity = z.infer<typeof ContactIdentity>;

export const ConversationStatus = z.enum(['open', 'pending', 'resolved', 'snoozed']);
export type ConversationStatus = z.infer<typeof ConversationStatus>;
export const Priority = z.enum(['none', 'low', 'medium', 'high', 'urgent']);
export type Priority = z.infer<typeof Priority>;

export const Conversation = z.object({
  id: Id,
  workspaceId: Id,
  displayId: z.number().int().describe('Number shown to people, unique per workspace'),
  inboxId: Id,
  contactId: Id,
  identityId: Id,
  status: ConversationStatus,
  assigneeId: Id.nullable(),
  teamId: Id.nullable(),
  priority: Priority,
  tags: z.array(z.string()),
  lastSeq: z.number().int(),
  lastActivityAt: Timestamp,
  lastIncomingAt: Timestamp.nullable(),
  snoozedUntil: Timestamp.nullable(),
  /** 'bot': the AI bot is answering (routing waits for its handoff); 'handed_off': the bot passed it to humans. */
  botStatus: z.enum(['bot', 'handed_off']).nullable(),
  createdAt: Timestamp,
});
export type Conversation = z.infer<typeof Conversation>;

/** A conversation handed from one agent to another agent or to a team's queue (issue 4). */
export const TransferStatus = z.enum(['pending', 'accepted', 'declined', 'cancelled', 'expired']);
export type TransferStatus = z.infer<typeof TransferStatus>;
export const Transfer = z.object({
  id: Id,
  workspaceId: Id,
  conversationId: Id,
  conversationDisplayId: z.number().int(),
  fromUserId: Id,
  fromUserName: z.string(),
  toUserId: Id.nullable(),
  toUserName: z.string().nullable(),
  toTeamId: Id.nullable(),
  toTeamName: z.string().nullable(),
  note: z.string(),
  status: TransferStatus,
  declineReason: z.string().nullable(),
  createdAt: Timestamp,
  /** When a pending agent → agent transfer expires (it then stays with the original agent). */
  expiresAt: Timestamp.nullable(),
  respondedAt: Timestamp.nullable(),
  respondedBy: Id.nullable(),
});
export type Transfer = z.infer<typeof Transfer>;

export const MessageDirection = z.enum(['incoming', 'outgoing', 'activity']);
export const ContentType = z.enum(['text', 'image', 'file', 'audio', 'video', 'location', 'card']);
export type ContentType = z.infer<typeof ContentType>;
export const SenderType = z.enum(['contact', 'user', 'bot', 'system']);
export const DeliveryStatus = z.enum(['pending', 'sent', 'delivered', 'read', 'failed']);

export const AttachmentRef = z.object({
  id: Id,
  fileName: z.string(),
  contentType: z.string(),
  size: z.number().int(),
  url: z.string(),
});
export type AttachmentRef = z.infer<typeof AttachmentRef>;

export const Location = z.strictObject({
  latitude: z.number().min(-90).max(90),
  longitude: z.number().min(-180).max(180),
  name: z.string().max(200).optional(),
  address: z.string().max(500).optional(),
});
export const CardButton = z.strictObject({
  label: z.string().min(1).max(40),
  url: z.url().optional(),
  payload: z.string().max(1000).optional(),
});
export const Card = z.strictObject({
  title: z.string().min(1).max(200),
  description: z.string().max(2000).optional(),
  imageUrl: z.url().optional(),
  url: z.url().optional(),
  buttons: z.array(CardButton).max(5).optional(),
});

export const Message = z.object({
  id: Id,
  conversationId: Id,
  seq: z.number().int().describe('Position in the conversation, 1, 2, 3… without gaps'),
  direction: MessageDirection,
  private: z.boolean().describe('A private note: never shown to the customer'),
  senderType: SenderType,
  senderId: Id.nullable(),
  identityId: Id.nullable().describe('The contact identity (channel) an incoming message came through'),
  contentType: ContentType,
  /** Plain text, never HTML. */
  text: z.string(),
  attachments: z.array(AttachmentRef),
  location: Location.nullable(),
  card: Card.nullable(),
  clientId: z.string().nullable(),
  externalId: z.string().nullable(),
  deliveryStatus: DeliveryStatus,
  /** Why an outbound message could not be delivered to its channel (deliveryStatus 'failed'). */
  deliveryError: z.string().nullable(),
  /** Email: the subject line. */
  subject: z.string().nullable(),
  /** Email: the HTML body, already sanitized by the server; show it only in a sandboxed frame. */
  html: z.string().nullable(),
  /** The platform's type of a message Huiliu could not read (kept with its raw payload); null otherwise. */
  unsupported: z.string().nullable(),
  /** A pre-approved template sent instead of free text (WhatsApp outside its 24 h window). */
  template: z.object({ name: z.string(), language: z.string(), variables: z.array(z.string()) }).nullable(),
  createdAt: Timestamp,
});
export type Message = z.infer<typeof Message>;

export const CannedResponse = z.object({
  id: Id,
  shortCode: z.string(),
  content: z.string().describe('May contain {{contact.name}}, {{agent.name}}, {{conversation.displayId}}'),
  createdAt: Timestamp,
});
export type CannedResponse = z.infer<typeof CannedResponse>;

export const AuditEntry = z.object({
  id: z.number().int(),
  actorType: z.enum(['user', 'system', 'cli']),
  actorId: z.string().nullable(),
  action: z.string(),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
  createdAt: Timestamp,
});
export type AuditEntry = z.infer<typeof AuditEntry>;

export const SecretInfo = z.object({
  id: Id,
  name: z.string(),
  /** The last 4 characters only; the secret itself is never returned. */
  hint: z.string(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type SecretInfo = z.infer<typeof SecretInfo>;
