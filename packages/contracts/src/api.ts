import { z } from 'zod';
import {
  AttachmentRef, Card, ContentType, Conversation, ConversationStatus, Id, Location, Message, Priority,
  Contact, User, Workspace, WorkspaceSettings, WidgetSettings, ChannelType, Transfer, TransferStatus, Timestamp,
} from './entities.ts';
import { Permission } from './permissions.ts';

/**
 * Request schemas of the REST API. They are strict (unknown fields are rejected with
 * `validation_failed` naming the field) and they generate /openapi.json.
 */

export const MAX_TEXT_BYTES = 64 * 1024;
const utf8 = new TextEncoder();
/** Message text: 1 char to 64 KB of UTF-8. Stored and returned as plain text, never HTML. */
export const MessageText = z
  .string()
  .refine((s) => utf8.encode(s).length <= MAX_TEXT_BYTES, {
    message: `text is larger than 64 KB (${MAX_TEXT_BYTES} bytes of UTF-8); shorten it or send it as a file`,
  });

export const ClientMessageId = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits and . _ : - only')
  .describe('Unique per conversation, chosen by the client; a retry with the same id returns the original message');

const Email = z.string().trim().toLowerCase().pipe(z.email({ message: 'an email address like name@example.com' }));
const Password = z.string().min(10, 'at least 10 characters').max(200);
const Tag = z.string().trim().min(1).max(50);
const Limit = z.coerce.number().int().min(1).max(200).default(50);

export const ListQuery = z.strictObject({ limit: Limit, cursor: z.string().max(200).optional() });

const NextCursor = z.string().nullable().describe('Pass as `cursor` for the next page; null on the last page');

// ---- uploads ----
/** What the server accepts as a file, so a UI can refuse a file before uploading it. */
export const UploadLimits = z.object({
  maxBytes: z.number().int().describe('Largest accepted file, in bytes'),
  contentTypes: z
    .array(z.string())
    .describe('Accepted content types (no parameters). The server decides the type from the bytes (magic numbers), not from the name or the declared type; txt, csv and json have no magic bytes and are accepted as text'),
});
export type UploadLimits = z.infer<typeof UploadLimits>;

// ---- auth ----
export const LoginBody = z.strictObject({
  email: Email,
  password: z.string().min(1).max(200),
  workspace: z.string().max(64).optional().describe('Workspace slug, needed when the email exists in several'),
});
export const SessionResponse = z.object({
  token: z.string(),
  expiresAt: z.string(),
  user: User,
  workspace: Workspace,
  permissions: z.array(Permission),
  uploads: UploadLimits,
});
export const MeResponse = SessionResponse.omit({ token: true, expiresAt: true });
export const ChangePasswordBody = z.strictObject({ currentPassword: z.string().min(1).max(200), newPassword: Password });
export const AcceptInviteBody = z.strictObject({ token: z.string().min(10).max(200), name: z.string().trim().min(1).max(100), password: Password });
export const ResetPasswordBody = z.strictObject({ token: z.string().min(10).max(200), password: Password });

// ---- workspace, roles, users, teams ----
export const UpdateWorkspaceBody = z.strictObject({
  name: z.string().trim().min(1).max(100).optional(),
  settings: WorkspaceSettings.partial().optional(),
});
export const CreateRoleBody = z.strictObject({ name: z.string().trim().min(1).max(50), permissions: z.array(Permission).max(100) });
export const UpdateRoleBody = CreateRoleBody.partial();
export const InviteUserBody = z.strictObject({ email: Email, name: z.string().trim().min(1).max(100), role: z.string().min(1).max(50) });
export const InviteResponse = z.object({ user: User, inviteToken: z.string(), expiresAt: z.string() });
export const UpdateUserBody = z.strictObject({
  name: z.string().trim().min(1).max(100).optional(),
  role: z.string().min(1).max(50).optional(),
  locale: z.enum(['zh-CN', 'en']).optional(),
  avatarUrl: z.url().max(2000).nullable().optional(),
});
export const PasswordResetResponse = z.object({ resetToken: z.string(), expiresAt: z.string() });
export const CreateTeamBody = z.strictObject({ name: z.string().trim().min(1).max(100), description: z.string().max(500).default('') });
export const UpdateTeamBody = z.strictObject({ name: z.string().trim().min(1).max(100).optional(), description: z.string().max(500).optional() });
export const SetMembersBody = z.strictObject({ userIds: z.array(Id).max(1000) });

// ---- inboxes ----
export const Origin = z
  .string()
  .regex(/^(https?:\/\/[a-z0-9.-]+(:\d{1,5})?|\*)$/i, 'an origin like https://shop.example.com (scheme, host, optional port) or *');
export const CreateInboxBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  channelType: ChannelType.default('web'),
  allowedOrigins: z.array(Origin).max(50).default([]),
  widget: WidgetSettings.partial().default({}),
});
export const UpdateInboxBody = z.strictObject({
  name: z.string().trim().min(1).max(100).optional(),
  allowedOrigins: z.array(Origin).max(50).optional(),
  widget: WidgetSettings.partial().optional(),
});

// ---- contacts ----
export const ContactListQuery = ListQuery.extend({ q: z.string().max(200).optional(), tag: Tag.optional() });
export const CreateContactBody = z.strictObject({
  name: z.string().trim().max(200).nullable().optional(),
  email: Email.nullable().optional(),
  phone: z.string().trim().regex(/^\+?[0-9 ()-]{5,20}$/, 'a phone number like +8613800138000').nullable().optional(),
  attributes: z.record(z.string().max(100), z.unknown()).optional(),
  tags: z.array(Tag).max(50).optional(),
});
export const UpdateContactBody = CreateContactBody;
export const ContactPage = z.object({ items: z.array(Contact), nextCursor: NextCursor });
export const ContactImportStatus = z.enum(['queued', 'running', 'done', 'failed']);
export type ContactImportStatus = z.infer<typeof ContactImportStatus>;
export const ContactImportError = z.object({
  row: z.number().int().describe('Row of the spreadsheet: the header is row 1, the first contact row 2; 0 for a problem with the whole file'),
  message: z.string(),
});
export const ContactImport = z.object({
  id: Id,
  status: ContactImportStatus,
  fileName: z.string(),
  total: z.number().int().describe('Contact rows in the file (blank rows not counted)'),
  processed: z.number().int().describe('created + updated + failed so far'),
  created: z.number().int(),
  updated: z.number().int().describe('Rows that matched an existing contact by email, then by phone'),
  failed: z.number().int(),
  errors: z.array(ContactImportError).describe('The first 100 problems, by row'),
  createdAt: Timestamp,
  finishedAt: Timestamp.nullable(),
});
export type ContactImport = z.infer<typeof ContactImport>;

// ---- conversations and messages ----
export const AssigneeFilter = z.union([z.enum(['me', 'unassigned', 'any']), Id]);
export const ConversationListQuery = ListQuery.extend({
  status: z.union([ConversationStatus, z.literal('all')]).default('open'),
  assignee: AssigneeFilter.default('any'),
  inboxId: Id.optional(),
  teamId: Id.optional(),
  contactId: Id.optional(),
  tag: Tag.optional(),
});
/** The newest customer/agent message of a conversation (not activity lines), for list previews. */
export const LastMessagePreview = z.object({
  text: z.string().describe('Up to 140 characters; attachments by file name when there is no text'),
  direction: z.enum(['incoming', 'outgoing']),
  private: z.boolean(),
  createdAt: Timestamp,
});
export const ConversationWithContact = Conversation.extend({ contact: Contact, unreadCount: z.number().int(), lastMessage: LastMessagePreview.nullable() });
// Concrete page types (a generic Page<T> helper made TypeScript's checker take minutes on zod 4 types).
export const ConversationPage = z.object({ items: z.array(ConversationWithContact), nextCursor: NextCursor });
export const UpdateConversationBody = z.strictObject({
  status: ConversationStatus.optional(),
  priority: Priority.optional(),
  tags: z.array(Tag).max(50).optional(),
  teamId: Id.nullable().optional(),
  snoozedUntil: z.iso.datetime({ offset: true }).nullable().optional(),
});
export const AssignBody = z.strictObject({ assigneeId: Id.nullable() });
export const MessagesQuery = z.strictObject({
  afterSeq: z.coerce.number().int().min(0).optional(),
  beforeSeq: z.coerce.number().int().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export const MessagesPage = z.object({ items: z.array(Message), lastSeq: z.number().int(), hasMore: z.boolean() });
export const SendMessageBody = z.strictObject({
  clientId: ClientMessageId,
  contentType: ContentType.default('text'),
  text: MessageText.default(''),
  private: z.boolean().default(false),
  attachmentIds: z.array(Id).max(10).default([]),
  location: Location.optional(),
  card: Card.optional(),
  template: z
    .strictObject({
      name: z.string().trim().min(1).max(512),
      language: z.string().trim().min(2).max(20).describe('The template language code, e.g. en_US or zh_CN'),
      variables: z.array(z.string().max(1024)).max(50).default([]),
    })
    .optional()
    .describe('A pre-approved template (channels with templates, e.g. WhatsApp outside its 24 h window); text may then be empty'),
});
export type SendMessageBody = z.infer<typeof SendMessageBody>;
export const ReadBody = z.strictObject({ seq: z.number().int().min(0) });
export const SendMessageResponse = z.object({ message: Message, duplicate: z.boolean() });

// ---- transfers ----
export const TransferNote = z.string().trim().max(2000);
export const CreateTransferBody = z
  .strictObject({
    toUserId: Id.optional().describe('Transfer to this agent (they accept or decline)'),
    toTeamId: Id.optional().describe("Transfer into this team's queue (routing picks an agent)"),
    note: TransferNote.default('').describe('Shown to the receiving agent and kept as a private note on the timeline'),
  })
  .superRefine((b, ctx) => {
    if (b.toUserId && b.toTeamId) ctx.addIssue({ code: 'custom', path: ['toTeamId'], message: 'give either toUserId or toTeamId, not both' });
    else if (!b.toUserId && !b.toTeamId) ctx.addIssue({ code: 'custom', path: ['toUserId'], message: 'give toUserId (an agent) or toTeamId (a team) to transfer to' });
  });
export type CreateTransferBody = z.infer<typeof CreateTransferBody>;
export const DeclineTransferBody = z.strictObject({ reason: z.string().trim().max(500).optional() }).default({});
export const TransferListQuery = z.strictObject({
  status: z.union([TransferStatus, z.literal('all')]).default('pending'),
  /** incoming: transfers offered to me; outgoing: transfers I asked for. */
  direction: z.enum(['incoming', 'outgoing']).default('incoming'),
});
export const TransferList = z.array(Transfer);

// ---- canned responses ----
export const CreateCannedBody = z.strictObject({
  shortCode: z.string().trim().min(1).max(50).regex(/^[\p{L}\p{N}_-]+$/u, 'letters, digits, _ and - only (no spaces)'),
  content: z.string().min(1).max(5000),
});
export const UpdateCannedBody = CreateCannedBody.partial();
export const RenderCannedBody = z.strictObject({ conversationId: Id });

// ---- search ----
export const SearchQuery = z.strictObject({ q: z.string().trim().min(1).max(200), limit: z.coerce.number().int().min(1).max(50).default(20) });
export const MessageHit = z.object({ message: Message, conversation: Conversation });
export const SearchResponse = z.object({
  contacts: z.array(Contact),
  conversations: z.array(Conversation),
  messages: z.array(MessageHit),
});

// ---- secrets and audit ----
export const PutSecretBody = z.strictObject({ value: z.string().min(1).max(10_000) });

// ---- widget (visitor) ----
export const WidgetConfig = z.object({
  inboxPublicId: z.string(),
  name: z.string(),
  widget: WidgetSettings,
  uploads: UploadLimits,
});
export const WidgetSessionBody = z.strictObject({
  inboxPublicId: z.string().min(1).max(64).describe("The inbox's publicId (from the embed snippet)"),
  visitorToken: z.string().max(2000).optional().describe('A token from an earlier session, to resume it'),
  name: z.string().trim().max(200).optional(),
  email: Email.optional().describe('Stored as contact info; never used to identify the visitor'),
  locale: z.string().max(20).optional(),
  identifier: z.string().trim().min(1).max(255).optional()
    .describe("Your own id of the signed-in user (identity verification): sessions with the same identifier on any inbox of the workspace are one contact. Needs identifierHash"),
  identifierHash: z.string().trim().toLowerCase().regex(/^[0-9a-f]{64}$/, 'hex HMAC-SHA256 of identifier (64 characters)').optional()
    .describe("hex(HMAC-SHA256(the inbox's identity key, identifier)), computed on your server"),
});
export const VisitorConversation = Conversation.pick({ id: true, displayId: true, status: true, lastSeq: true, lastActivityAt: true, createdAt: true });
export const WidgetSessionResponse = z.object({
  visitorToken: z.string(),
  contactId: Id,
  conversations: z.array(VisitorConversation),
});
export const WidgetCreateConversationBody = z.strictObject({
  clientId: ClientMessageId.optional().describe('Client id of the first message; a retry with the same id returns the same conversation'),
  text: MessageText.optional().describe('First message, optional'),
});
export const WidgetSendMessageBody = SendMessageBody.omit({ private: true, template: true });
export const WidgetContactBody = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  email: Email.optional().describe('Where replies are emailed while the visitor is away; stored as contact info, never used to identify the visitor'),
});
export type WidgetContactBody = z.infer<typeof WidgetContactBody>;
/** The visitor's own contact details (unmasked: they are the visitor's). */
export const VisitorContact = z.object({ name: z.string().nullable(), email: z.string().nullable() });
export type VisitorContact = z.infer<typeof VisitorContact>;
/** An agent as a visitor sees them: public profile only. */
export const WidgetAgent = z.object({ id: Id, name: z.string(), avatarUrl: z.string().nullable() });
export type WidgetAgent = z.infer<typeof WidgetAgent>;
export const WidgetAgentList = z.array(WidgetAgent);

export const Health = z.object({ status: z.literal('ok') });
export { AttachmentRef, Message, Conversation, Contact, User };
