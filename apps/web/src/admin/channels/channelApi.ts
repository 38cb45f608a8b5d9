import type { ChannelKindInfo, DeliveryAttempt, FailedDelivery, InboxChannel, Message, UpdateInboxChannelBody } from '@huiliu/contracts';
import { api, qs } from '../../lib/api.ts';

/** The channel framework's REST calls (shapes: packages/contracts/src/channels.ts). */

export type DeliveryOutcome = DeliveryAttempt['outcome'];

export const listChannelKinds = () => api<ChannelKindInfo[]>('GET', '/channels');
export const getInboxChannel = (inboxId: string) => api<InboxChannel>('GET', `/inboxes/${inboxId}/channel`);
export const updateInboxChannel = (inboxId: string, body: UpdateInboxChannelBody) => api<InboxChannel>('PUT', `/inboxes/${inboxId}/channel`, body);
export const checkInboxChannel = (inboxId: string) => api<{ ok: boolean; message: string | null }>('POST', `/inboxes/${inboxId}/channel/check`);

export const listDeliveries = (inboxId: string, query: { outcome?: DeliveryOutcome | undefined; limit: number; beforeId?: number | undefined }) =>
  api<DeliveryAttempt[]>('GET', `/inboxes/${inboxId}/deliveries${qs(query)}`);

export const listFailedDeliveries = () => api<FailedDelivery[]>('GET', '/deliveries/failed');

/** Queue a dead-lettered message for delivery again; answers the message, now pending. */
export const retryDelivery = (conversationId: string, messageId: string) =>
  api<Message>('POST', `/conversations/${conversationId}/messages/${messageId}/retry`);
