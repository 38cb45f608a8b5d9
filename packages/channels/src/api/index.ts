export { apiChannelAdapter, ApiChannelConfig } from './api-channel.adapter.ts';
export { signWebhook, constantTimeEqual, SIGNATURE_HEADER, DELIVERY_HEADER, EVENT_HEADER } from './signature.ts';
