import { randomBytes } from 'node:crypto';
import type { UploadLimits, VisitorContact, WidgetAgent } from '@huiliu/contracts';
import type { Database, Sql } from '../db/database.ts';
import { one } from '../db/database.ts';
import type { VisitorActor } from '../auth/actor.ts';
import type { VisitorTokens } from '../auth/tokens.ts';
import { AppError, invalid } from '../shared/errors.ts';
import type { InboxService } from '../inboxes/inbox.service.ts';
import { originAllowed } from '../inboxes/inbox.service.ts';
import type { ContactService } from '../contacts/contact.service.ts';
import type { ConversationService } from '../conversations/conversation.service.ts';
import type { MessageService } from '../messages/message.service.ts';
import { presentConversation, presentVisitorConversation } from '../messages/present.ts';
import { recordAudit } from '../audit/audit.service.ts';
import type { TextIndex } from '../shared/text-index.ts';
import type { IdentityVerification } from '../contacts/identity-verification.ts';

/**
 * The visitor side of the web widget. A visitor is identified only by the signed token this service
 * issues (never by a typed email); the token names workspace, inbox, contact and identity.
 */
export function createWidgetService(deps: {
  db: Database;
  tokens: VisitorTokens;
  inboxes: InboxService;
  contacts: ContactService;
  conversations: ConversationService;
  messages: MessageService;
  textIndex: TextIndex;
  /** What the widget may upload (the attachment service's limits), shown in the config. */
  uploads: UploadLimits;
  /** Checks `identifier` + `identifierHash` against the inbox's identity key; without it they are refused. */
  identity?: IdentityVerification | undefined;
}) {
  const { db, tokens, inboxes, contacts, conversations, messages, textIndex, uploads, identity } = deps;

  /**
   * The verified key of a session that presents identifier + identifierHash (see
   * contacts/identity-verification.ts); a wrong hash is a 401 that says how to compute it.
   */
  async function verifiedUserKey(
    inbox: { id: string; workspaceId: string },
    body: { identifier?: string | undefined; identifierHash?: string | undefined },
  ): Promise<{ kind: 'user_id'; value: string } | undefined> {
    if (body.identifier === undefined && body.identifierHash === undefined) return undefined;
    if (!body.identifier) throw invalid('body.identifier', 'identifierHash was sent without identifier; send both or neither');
    if (!body.identifierHash) throw invalid('body.identifierHash', "identifier needs identifierHash: hex(HMAC-SHA256(the inbox's identity key, identifier)), computed on your server");
    if (!identity) throw new AppError('unauthenticated', 'identity verification is not available on this server');
    await identity.verify(inbox.workspaceId, inbox.id, body.identifier, body.identifierHash);
    return { kind: 'user_id', value: body.identifier };
  }

  /** Keeps the contact's search document in step with a visitor's change of name or email. */
  async function refreshSearch(tx: Sql, workspaceId: string, contactId: string): Promise<void> {
    const c = await one(tx, `SELECT name, email, phone, tags FROM contacts WHERE id = $1 AND workspace_id = $2`, [contactId, workspaceId]);
    if (!c) return;
    const doc = textIndex.document(c.name as string | null, c.email as string | null, c.phone as string | null, ...((c.tags as string[]) ?? []));
    await tx.query(`UPDATE contacts SET search = to_tsvector('simple', $3) WHERE id = $1 AND workspace_id = $2`, [contactId, workspaceId, doc]);
  }

  async function listFor(actor: VisitorActor) {
    const rows = await db.query(
      `SELECT * FROM conversations WHERE workspace_id = $1 AND contact_id = $2 AND inbox_id = $3 ORDER BY created_at DESC LIMIT 50`,
      [actor.workspaceId, actor.contactId, actor.inboxId],
    );
    return rows.map((r) => presentVisitorConversation(presentConversation(r)));
  }

  return {
    async config(publicId: string, origin: string | undefined) {
      const inbox = await inboxes.getPublic(publicId, origin);
      return { inboxPublicId: inbox.publicId, name: inbox.name, widget: inbox.widget, uploads };
    },

    /** Starts or resumes a visitor session. */
    async startSession(
      body: {
        inboxPublicId: string; visitorToken?: string | undefined; name?: string | undefined; email?: string | undefined; locale?: string | undefined;
        identifier?: string | undefined; identifierHash?: string | undefined;
      },
      origin: string | undefined,
    ) {
      const inbox = await inboxes.getPublic(body.inboxPublicId, origin);
      const userKey = await verifiedUserKey(inbox, body);
      const claims = body.visitorToken ? tokens.verify(body.visitorToken) : undefined;
      let actor: VisitorActor | undefined;
      let resumedSource: string | undefined;
      if (claims && claims.i === inbox.id && claims.w === inbox.workspaceId) {
        const still = await one(db, `SELECT contact_id, source_id FROM contact_identities WHERE id = $1 AND workspace_id = $2`, [claims.id, claims.w]);
        // A browser shared by two signed-in users: the session of one is never handed to the other.
        const otherUser = still && userKey
          ? await one(
              db,
              `SELECT 1 AS ok FROM identity_keys k JOIN contact_identities i ON i.id = k.identity_id AND i.workspace_id = k.workspace_id
               WHERE k.workspace_id = $1 AND i.contact_id = $2 AND k.kind = 'user_id' AND k.value <> $3 LIMIT 1`,
              [claims.w, still.contact_id, userKey.value],
            )
          : undefined;
        if (still && !otherUser) {
          actor = { kind: 'visitor', workspaceId: claims.w, inboxId: claims.i, contactId: still.contact_id as string, identityId: claims.id };
          resumedSource = still.source_id as string;
        }
      }
      let moved: string[] = [];
      if (!actor || (userKey && resumedSource)) {
        // New visitor, or a returning one who just signed in: the verified user id joins (or merges into)
        // the contact that already holds it, e.g. from the app or another site of the workspace.
        const resolved = await db.transaction((tx) =>
          contacts.resolveIdentity(tx, {
            workspaceId: inbox.workspaceId,
            inboxId: inbox.id,
            channelType: 'web',
            sourceId: resumedSource ?? `v_${randomBytes(16).toString('base64url')}`,
            verified: Boolean(userKey),
            contact: { name: body.name ?? null, email: body.email ?? null, attributes: body.locale ? { locale: body.locale } : {} },
            verifiedKeys: userKey ? [userKey] : [],
          }),
        );
        moved = resolved.movedConversationIds;
        actor = { kind: 'visitor', workspaceId: inbox.workspaceId, inboxId: inbox.id, contactId: resolved.contactId, identityId: resolved.identityId };
      }
      if (moved.length) {
        const rows = await db.query(`SELECT * FROM conversations WHERE workspace_id = $1 AND id = ANY($2::uuid[])`, [inbox.workspaceId, moved]);
        for (const r of rows) conversations.publishCreated(presentConversation(r));
      }
      if (resumedSource && (body.name || body.email)) {
        // Pre-chat details fill empty fields only: a visitor cannot overwrite what agents recorded.
        const a = actor;
        await db.transaction(async (tx) => {
          await tx.query(
            `UPDATE contacts SET name = COALESCE(name, $3), email = COALESCE(email, $4), updated_at = now() WHERE id = $1 AND workspace_id = $2`,
            [a.contactId, a.workspaceId, body.name ?? null, body.email ?? null],
          );
          await refreshSearch(tx, a.workspaceId, a.contactId);
        });
      }
      const visitorToken = tokens.issue({ w: actor.workspaceId, i: actor.inboxId, c: actor.contactId, id: actor.identityId });
      return { visitorToken, contactId: actor.contactId, conversations: await listFor(actor) };
    },

    /** Verifies a visitor token (and the Origin) and returns the actor. */
    async authenticate(token: string, origin: string | undefined, ip?: string): Promise<VisitorActor> {
      const claims = tokens.verify(token);
      if (!claims) throw new AppError('unauthenticated', 'the visitor token is invalid or expired; start a new widget session');
      const r = await one(
        db,
        `SELECT ci.contact_id, i.allowed_origins FROM contact_identities ci JOIN inboxes i ON i.id = ci.inbox_id
         WHERE ci.id = $1 AND ci.workspace_id = $2 AND ci.inbox_id = $3 AND i.deleted_at IS NULL`,
        [claims.id, claims.w, claims.i],
      );
      if (!r) throw new AppError('unauthenticated', 'this visitor session no longer exists; start a new widget session');
      if (!originAllowed(r.allowed_origins as string[], origin)) {
        throw new AppError('origin_not_allowed', `origin ${origin} is not allowed for this inbox`);
      }
      return { kind: 'visitor', workspaceId: claims.w, inboxId: claims.i, contactId: r.contact_id as string, identityId: claims.id, ip };
    },

    listConversations: listFor,

    /**
     * The visitor states their own name / email, typically "email me the answer" when nobody replies
     * live. Unlike the pre-chat form this overwrites: it is the visitor's latest word on where replies
     * should reach them (offline replies are emailed there, see mail/offline-replies.service.ts). The
     * email stays contact info only: it never becomes an identity, so typing someone else's address
     * gives no access to that person's conversations.
     */
    async updateContact(actor: VisitorActor, body: { name?: string | undefined; email?: string | undefined }): Promise<VisitorContact> {
      return db.transaction(async (tx) => {
        const before = await one(tx, `SELECT name, email FROM contacts WHERE id = $1 AND workspace_id = $2 FOR UPDATE`, [actor.contactId, actor.workspaceId]);
        if (!before) throw new AppError('unauthenticated', 'this visitor session no longer exists; start a new widget session');
        const changed = (['name', 'email'] as const).filter((f) => body[f] !== undefined && body[f] !== before[f]);
        if (changed.length > 0) {
          await tx.query(
            `UPDATE contacts SET name = COALESCE($3, name), email = COALESCE($4, email), updated_at = now() WHERE id = $1 AND workspace_id = $2`,
            [actor.contactId, actor.workspaceId, body.name ?? null, body.email ?? null],
          );
          await refreshSearch(tx, actor.workspaceId, actor.contactId);
          if (changed.includes('email')) await recordAudit(tx, actor, 'contact.pii_changed', { type: 'contact', id: actor.contactId }, { fields: ['email'], by: 'visitor' });
        }
        return { name: body.name ?? (before.name as string | null), email: body.email ?? (before.email as string | null) };
      });
    },

    /**
     * Agents the visitor may see in one of their conversations (the assignee and the authors of public
     * replies), for names and avatars next to their messages. Public profile only: no email or role.
     * Authors of private notes or of activity lines only (e.g. a supervisor who reassigned it) are not
     * revealed.
     */
    async conversationAgents(actor: VisitorActor, conversationId: string): Promise<WidgetAgent[]> {
      const conv = await conversations.getVisibleRow(db, actor, conversationId);
      const rows = await db.query(
        `SELECT u.id, u.name, u.avatar_url FROM users u
         WHERE u.workspace_id = $1
           AND (u.id = $2::uuid OR u.id IN (
             SELECT m.sender_id FROM messages m
             WHERE m.conversation_id = $3 AND m.workspace_id = $1 AND m.direction = 'outgoing' AND m.sender_type = 'user'
               AND NOT m.private AND m.sender_id IS NOT NULL))
         ORDER BY u.name, u.id`,
        [actor.workspaceId, (conv.assignee_id as string | null) ?? null, conv.id],
      );
      return rows.map((r) => ({ id: r.id as string, name: r.name as string, avatarUrl: (r.avatar_url as string | null) ?? null }));
    },

    async createConversation(actor: VisitorActor, body: { clientId?: string | undefined; text?: string | undefined }) {
      // A retried create (same clientId for the first message) returns the conversation made the first time.
      if (body.clientId) {
        const earlier = await one(
          db,
          `SELECT m.conversation_id FROM messages m JOIN conversations c ON c.id = m.conversation_id
           WHERE c.workspace_id = $1 AND c.contact_id = $2 AND c.inbox_id = $3 AND m.client_id = $4 AND m.seq = 1`,
          [actor.workspaceId, actor.contactId, actor.inboxId, body.clientId],
        );
        if (earlier) {
          const id = earlier.conversation_id as string;
          const first = await conversations.messages(actor, id, { afterSeq: 0, limit: 1 });
          return { conversation: presentVisitorConversation(await conversations.get(actor, id)), message: first.items[0] ?? null };
        }
      }
      const conversation = await db.transaction((tx) =>
        conversations.create(tx, { workspaceId: actor.workspaceId, inboxId: actor.inboxId, contactId: actor.contactId, identityId: actor.identityId }),
      );
      conversations.publishCreated(conversation);
      let first = null;
      if (body.text) {
        const r = await messages.send(actor, conversation.id, {
          clientId: body.clientId ?? `first-${conversation.id}`,
          contentType: 'text',
          text: body.text,
          private: false,
          attachmentIds: [],
        });
        first = r.message;
      }
      const fresh = await conversations.get(actor, conversation.id);
      return { conversation: presentVisitorConversation(fresh), message: first };
    },
  };
}
export type WidgetService = ReturnType<typeof createWidgetService>;
