import { z } from 'zod';
import {
  ContactChannel, ContactMerge, ContactTimelinePage, ContactTimelineQuery, IdentityKeyCreated, IdentityKeyStatus, MergeContactBody, MergeResult,
  MergeSuggestion, OpenContactConversationBody, OpenContactConversationResponse, UnmergeResult,
} from '@huiliu/contracts';
import { defineRoute, IdParams } from '../route.ts';
import type { Services } from '../../services.ts';

/**
 * Cross-channel identity (packages/core/src/contacts/identity.service.ts). A merged contact's id answers
 * 404 not_found on every contact route, with the survivor's id in the message and in
 * `issues[0].message` ("merged into <id>"); only /unmerge and /merges still take it.
 */
export const identityRoutes = (s: Services) => [
  defineRoute({
    method: 'POST', url: '/api/v1/contacts/:id/merge-into', tags: ['contacts'], auth: 'user', params: IdParams, body: MergeContactBody, response: MergeResult, rateLimit: 60,
    summary: 'Merge this contact into `contactId` (needs contact.merge). The survivor keeps its fields, fills empty ones from this contact, merges attributes (survivor wins) and tags; this contact\'s identities and conversations move to it; messages keep their identity. Undo with POST /contacts/:id/unmerge',
    handler: ({ actor, params, body }) => s.identity.merge(actor, params.id, body.contactId),
  }),
  defineRoute({
    method: 'POST', url: '/api/v1/contacts/:id/unmerge', tags: ['contacts'], auth: 'user', params: IdParams, response: UnmergeResult, rateLimit: 60,
    summary: 'Undo the merge of this (merged) contact: its fields come back from the snapshot, its identities and every conversation on them move back (needs contact.merge)',
    handler: ({ actor, params }) => s.identity.unmerge(actor, params.id),
  }),
  defineRoute({
    method: 'GET', url: '/api/v1/contacts/:id/merges', tags: ['contacts'], auth: 'user', params: IdParams, response: z.array(ContactMerge),
    summary: 'Merge history of a contact (merges into it and of it, automatic and manual, undone ones included), newest first',
    handler: ({ actor, params }) => s.identity.history(actor, params.id),
  }),
  defineRoute({
    method: 'GET', url: '/api/v1/contacts/:id/merge-suggestions', tags: ['contacts'], auth: 'user', params: IdParams, response: z.array(MergeSuggestion),
    summary: 'Contacts that look like this one (same unverified email or phone, or the same name plus a tag, attribute or email domain), with the reasons; never merged automatically',
    handler: ({ actor, params }) => s.identity.suggestions(actor, params.id),
  }),
  defineRoute({
    method: 'GET', url: '/api/v1/contacts/:id/timeline', tags: ['contacts'], auth: 'user', params: IdParams, query: ContactTimelineQuery, response: ContactTimelinePage,
    summary: "The contact's messages across all its conversations and channels, newest first, each with its conversation and channel (inboxes the agent may see only)",
    handler: ({ actor, params, query }) => s.identity.timeline(actor, params.id, query),
  }),
  defineRoute({
    method: 'GET', url: '/api/v1/contacts/:id/channels', tags: ['contacts'], auth: 'user', params: IdParams, response: z.array(ContactChannel),
    summary: 'Where the contact can be reached: each identity with its inbox and channel, and whether you can reply there',
    handler: ({ actor, params }) => s.identity.channels(actor, params.id),
  }),
  defineRoute({
    method: 'POST', url: '/api/v1/contacts/:id/conversations', tags: ['contacts'], auth: 'user', params: IdParams, body: OpenContactConversationBody,
    response: OpenContactConversationResponse, status: 201, rateLimit: 60,
    summary: "Reply on another channel: the contact's open conversation in `inboxId` (200), or a new one on the contact's identity there, assigned to you (201); 409 when the contact has no identity in that inbox",
    handler: async ({ actor, params, body, reply }) => {
      const r = await s.identity.openConversation(actor, params.id, body.inboxId);
      if (!r.created) reply.code(200);
      return r;
    },
  }),
  defineRoute({
    method: 'GET', url: '/api/v1/inboxes/:id/identity-key', tags: ['inboxes'], auth: 'user', params: IdParams, response: IdentityKeyStatus,
    summary: 'Whether identity verification is set up for this inbox (never the key itself)',
    handler: ({ actor, params }) => s.identityVerification.status(actor, params.id),
  }),
  defineRoute({
    method: 'POST', url: '/api/v1/inboxes/:id/identity-key', tags: ['inboxes'], auth: 'user', params: IdParams, response: IdentityKeyCreated, status: 201, rateLimit: 10,
    summary: "Create or rotate the inbox's identity key and show it ONCE. Your server signs the signed-in user's id: identifierHash = hex(HMAC-SHA256(key, identifier)); the widget session sends identifier + identifierHash. The old key stops working at once",
    handler: ({ actor, params }) => s.identityVerification.rotate(actor, params.id),
  }),
];
