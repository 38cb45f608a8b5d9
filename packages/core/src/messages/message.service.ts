import type { SendMessageBody } from '@huiliu/contracts';
import type { Actor } from '../auth/actor.ts';
import { requirePermission } from '../auth/actor.ts';
import { forbidden, invalid } from '../shared/errors.ts';
import type { InboxService } from '../inboxes/inbox.service.ts';
import type { AppendResult, MessagePipeline } from './pipeline.ts';
import type { SendPolicy } from '../channels/send-policy.ts';

/** Checks that the content fields match the content type, naming the field that is missing. */
export function checkContent(body: SendMessageBody, prefix: string): void {
  switch (body.contentType) {
    case 'text':
      // A template carries its own text (the channel fills in the approved wording).
      if (!body.text.trim() && !body.template) throw invalid(`${prefix}.text`, 'a text message needs non-empty text');
      break;
    case 'image':
    case 'file':
    case 'audio':
    case 'video':
      if (body.attachmentIds.length === 0) throw invalid(`${prefix}.attachmentIds`, `a ${body.contentType} message needs at least one uploaded attachment id`);
      break;
    case 'location':
      if (!body.location) throw invalid(`${prefix}.location`, 'a location message needs location { latitude, longitude }');
      break;
    case 'card':
      if (!body.card) throw invalid(`${prefix}.card`, 'a card message needs card { title, … }');
      break;
  }
}

export function createMessageService(deps: {
  pipeline: MessagePipeline;
  inboxes: InboxService;
  /** External channels: send windows, what the channel carries, 'pending' until delivered (channels/send-policy.ts). */
  sendPolicy?: SendPolicy;
}) {
  const { pipeline, inboxes } = deps;
  return {
    /** Sends as the actor: a visitor's incoming message, or an agent's reply / private note. */
    async send(actor: Actor, conversationId: string, body: SendMessageBody, fieldPrefix = 'body'): Promise<AppendResult> {
      checkContent(body, fieldPrefix);
      if (actor.kind === 'visitor') {
        if (body.private) throw forbidden('visitors cannot write private notes');
        if (body.template) throw forbidden('templates are sent by agents, not visitors');
        return pipeline.append({
          workspaceId: actor.workspaceId,
          conversationId,
          scope: { contactId: actor.contactId },
          direction: 'incoming',
          private: false,
          senderType: 'contact',
          senderId: actor.contactId,
          identityId: actor.identityId,
          contentType: body.contentType,
          text: body.text,
          location: body.location,
          card: body.card,
          attachmentIds: body.attachmentIds,
          uploader: { type: 'contact', id: actor.contactId },
          clientId: body.clientId,
          fieldPrefix,
        });
      }
      requirePermission(actor, body.private ? 'conversation.note' : 'conversation.reply');
      const inboxIds = await inboxes.visibleInboxIds(actor);
      const channel = deps.sendPolicy ? await deps.sendPolicy.checkOutgoing(actor.workspaceId, conversationId, inboxIds, body, fieldPrefix) : {};
      return pipeline.append({
        workspaceId: actor.workspaceId,
        conversationId,
        scope: { inboxIds },
        direction: 'outgoing',
        private: body.private,
        senderType: actor.kind === 'user' ? 'user' : 'system',
        senderId: actor.kind === 'user' ? actor.userId : null,
        contentType: body.contentType,
        text: body.text,
        location: body.location,
        card: body.card,
        extraContent: channel.extraContent,
        deliveryStatus: channel.deliveryStatus,
        attachmentIds: body.attachmentIds,
        uploader: actor.kind === 'user' ? { type: 'user', id: actor.userId } : { type: 'system', id: null },
        clientId: body.clientId,
        fieldPrefix,
      });
    },
  };
}
export type MessageService = ReturnType<typeof createMessageService>;
