import { z } from 'zod';

/**
 * Non-secret settings of a WhatsApp Cloud API inbox. The access token, app secret and verify token are
 * secrets (vault). graphBaseUrl exists for tests, which point it at the fake platform.
 */
export const whatsappConfigSchema = z.strictObject({
  graphBaseUrl: z.url({ protocol: /^https?$/ }).default('https://graph.facebook.com')
    .describe('Graph API server; change only for tests'),
  apiVersion: z.string().regex(/^v\d{1,3}\.\d$/, 'a Graph API version such as v21.0').default('v21.0')
    .describe('Graph API version, e.g. v21.0'),
  phoneNumberId: z.string().regex(/^\d{5,30}$/, 'the numeric phone number ID from WhatsApp Manager / API setup (not the phone number)')
    .describe('Phone number ID of the business number (Meta app → WhatsApp → API setup)'),
  businessAccountId: z.string().regex(/^\d{5,30}$/, 'the numeric WhatsApp Business Account ID').optional()
    .describe('WhatsApp Business Account ID (for reference; templates are managed in WhatsApp Manager)'),
});
export type WhatsAppConfig = z.infer<typeof whatsappConfigSchema>;

export const WHATSAPP_SECRETS = [
  { name: 'accessToken', label: 'Access token (system user, permanent)', required: true },
  { name: 'appSecret', label: 'App secret (signs webhooks)', required: true },
  { name: 'verifyToken', label: 'Webhook verify token (any string you also enter in the Meta app)', required: true },
] as const;

/** https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages — text.body: max 4096 characters. */
export const MAX_TEXT = 4096;
/** Media captions: max 1024 characters (same reference, media object). */
export const MAX_CAPTION = 1024;
/** https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media#supported-media-types — 100 MB documents, 16 MB audio/video, 5 MB images. */
export const MAX_DOCUMENT_BYTES = 100 * 1024 * 1024;
export const MAX_AV_BYTES = 16 * 1024 * 1024;
export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;

export function graphUrl(config: WhatsAppConfig, path: string): string {
  return `${config.graphBaseUrl.replace(/\/+$/, '')}/${config.apiVersion}/${path}`;
}
