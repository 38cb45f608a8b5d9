/**
 * REST shapes of cross-channel identity (packages/core/src/contacts/identity.service.ts): merging and
 * unmerging contacts, merge suggestions, one timeline per contact across channels, the channels a contact
 * can be reached on, and the identity-verification key of an inbox.
 */
import { z } from 'zod';
import { ChannelType, Contact, Conversation, ConversationStatus, Id, Message, Timestamp } from './entities.ts';

export const VerifiedKeyKind = z.enum(['email', 'phone', 'unionid', 'user_id']);
export type VerifiedKeyKind = z.infer<typeof VerifiedKeyKind>;

/** POST /api/v1/contacts/:id/merge-into — the contact `:id` is merged into `contactId`, which survives. */
export const MergeContactBody = z.strictObject({
  contactId: Id.describe('The contact that survives and receives the identities and conversations of the contact in the path'),
});
export type MergeContactBody = z.infer<typeof MergeContactBody>;

/** One merge of the audit trail (GET /api/v1/contacts/:id/merges). */
export const ContactMerge = z.object({
  id: Id,
  survivorId: Id,
  mergedId: Id,
  /** The merged contact's fields as they were when it was merged (email / phone masked without contact.pii). */
  merged: Contact,
  identityIds: z.array(Id).describe('Identities moved to the survivor by this merge'),
  conversationIds: z.array(Id).describe('Conversations moved to the survivor by this merge'),
  actor: z.object({
    type: z.enum(['user', 'system', 'cli']),
    id: z.string().nullable(),
    name: z.string().nullable().describe("The agent's name; null for automatic merges"),
  }),
  reason: z.string().describe('e.g. "manual", "same verified email"'),
  createdAt: Timestamp,
  undoneAt: Timestamp.nullable(),
});
export type ContactMerge = z.infer<typeof ContactMerge>;

export const MergeResult = z.object({ merge: ContactMerge, survivor: Contact });
export type MergeResult = z.infer<typeof MergeResult>;
export const UnmergeResult = z.object({ merge: ContactMerge, contact: Contact.describe('The contact given back its fields, identities and conversations'), survivor: Contact });
export type UnmergeResult = z.infer<typeof UnmergeResult>;

export const MergeSuggestionReason = z.enum(['same_email', 'same_phone', 'same_name_and_tag', 'same_name_and_attribute', 'same_name_and_email_domain']);
export type MergeSuggestionReason = z.infer<typeof MergeSuggestionReason>;

/** A lookalike of a contact: never merged automatically (the shared data is not verified), offered to agents. */
export const MergeSuggestion = z.object({
  contact: Contact,
  reasons: z.array(
    z.object({
      code: MergeSuggestionReason,
      /** The shared tag or attribute name, or the email domain; null for email / phone (shown on the contact). */
      detail: z.string().nullable(),
    }),
  ),
});
export type MergeSuggestion = z.infer<typeof MergeSuggestion>;

export const ContactTimelineQuery = z.strictObject({
  before: z.string().max(200).optional().describe('`nextCursor` of the previous page: older messages'),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

/** A message of the contact's timeline, with the conversation and channel it belongs to. */
export const ContactTimelineItem = z.object({
  message: Message,
  conversation: z.object({ id: Id, displayId: z.number().int(), status: ConversationStatus, inboxId: Id }),
  channelType: ChannelType,
  inboxName: z.string(),
});
export type ContactTimelineItem = z.infer<typeof ContactTimelineItem>;
export const ContactTimelinePage = z.object({
  items: z.array(ContactTimelineItem).describe('Newest first'),
  nextCursor: z.string().nullable().describe('Pass as `before` for older messages; null on the last page'),
});
export type ContactTimelinePage = z.infer<typeof ContactTimelinePage>;

/** Where a contact can be reached (GET /api/v1/contacts/:id/channels): one row per identity. */
export const ContactChannel = z.object({
  identityId: Id,
  inboxId: Id,
  inboxName: z.string(),
  channelType: ChannelType,
  /** The channel's id of the person; email addresses and phone numbers masked without contact.pii. */
  sourceId: z.string(),
  verified: z.boolean(),
  verifiedKeys: z.array(VerifiedKeyKind).describe('Kinds of verified keys this identity carries (values are not shown)'),
  canReply: z.boolean(),
  /** Why not, when canReply is false. */
  reason: z.enum(['inbox_deleted', 'not_inbox_member', 'no_permission']).nullable(),
  openConversationId: Id.nullable().describe("The contact's open or pending conversation in this inbox, if any"),
  lastActivityAt: Timestamp.nullable(),
});
export type ContactChannel = z.infer<typeof ContactChannel>;

/** POST /api/v1/contacts/:id/conversations — reply on another channel. */
export const OpenContactConversationBody = z.strictObject({
  inboxId: Id.describe('The inbox to write in; the contact needs an identity there'),
});
export const OpenContactConversationResponse = z.object({
  conversation: Conversation,
  created: z.boolean().describe('false: the contact already had an open or pending conversation there'),
});
export type OpenContactConversationResponse = z.infer<typeof OpenContactConversationResponse>;

/** GET /api/v1/inboxes/:id/identity-key — whether identity verification is set up (never the key). */
export const IdentityKeyStatus = z.object({
  configured: z.boolean(),
  hint: z.string().nullable().describe('The last characters of the key, to tell keys apart'),
  updatedAt: Timestamp.nullable(),
});
export type IdentityKeyStatus = z.infer<typeof IdentityKeyStatus>;

/** POST /api/v1/inboxes/:id/identity-key — the new key, shown this one time only. */
export const IdentityKeyCreated = IdentityKeyStatus.extend({
  key: z.string().describe('HMAC-SHA256 key (hex). Shown ONCE: store it on your server, never in the browser'),
});
export type IdentityKeyCreated = z.infer<typeof IdentityKeyCreated>;
