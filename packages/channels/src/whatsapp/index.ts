/**
 * WhatsApp Business Platform, Cloud API.
 *
 * Inbound (https://developers.facebook.com/docs/graph-api/webhooks/getting-started):
 * - GET verification: Meta calls the webhook URL with hub.mode=subscribe, hub.verify_token and
 *   hub.challenge; we answer the challenge as text/plain when the verify token matches.
 * - POST notifications carry X-Hub-Signature-256: "sha256=" + HMAC-SHA256 of the raw body with the app
 *   secret. The signature is checked over the exact bytes received, before anything is parsed.
 *
 * Outbound: see send.ts. Media of inbound messages are media ids: GET /{media-id} gives a short-lived
 * URL, downloaded with the same bearer token (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media).
 */
import { createHmac, timingSafeEqual, createHash } from 'node:crypto';
import type { ChannelAdapter, ChannelCapabilities, ChannelContext, InboundHttpRequest, InboundResult, MediaRef } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';
import { graphUrl, MAX_AV_BYTES, MAX_DOCUMENT_BYTES, MAX_TEXT, WHATSAPP_SECRETS, whatsappConfigSchema, type WhatsAppConfig } from './config.ts';
import { callGraph, graphExchange } from './graph-api.ts';
import { extensionFor, parseWebhook } from './parse-webhook.ts';
import { sendWhatsApp } from './send.ts';

export { whatsappConfigSchema, type WhatsAppConfig } from './config.ts';

const capabilities: ChannelCapabilities = {
  contentTypes: ['text', 'image', 'file', 'audio', 'video'],
  maxTextLength: MAX_TEXT,
  // Audio and video stop at 16 MB; documents may be larger, but one limit must hold for every type.
  maxMediaBytes: MAX_AV_BYTES,
  typing: false,
  readReceipts: true,
  deliveryReports: true,
  templates: true,
  sendWindow: { hours: 24, outside: 'templates' },
};

function equalSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function requireSecret(ctx: ChannelContext<WhatsAppConfig>, name: 'appSecret' | 'verifyToken'): string {
  const value = ctx.secrets[name];
  if (!value) throw new ChannelError('not_configured', `WhatsApp secret "${name}" is not set: copy it from the Meta app (App settings → Basic for the app secret; the verify token is any string you enter both here and in WhatsApp → Configuration)`, { retryable: false });
  return value;
}

function verifySubscription(req: InboundHttpRequest, ctx: ChannelContext<WhatsAppConfig>): InboundResult {
  const mode = req.query['hub.mode'];
  const challenge = req.query['hub.challenge'];
  const token = req.query['hub.verify_token'];
  if (mode !== 'subscribe' || challenge === undefined || token === undefined) {
    throw new ChannelError('malformed', 'WhatsApp webhook verification needs hub.mode=subscribe, hub.verify_token and hub.challenge in the query string', { retryable: false });
  }
  if (!equalSecret(token, requireSecret(ctx, 'verifyToken'))) {
    throw new ChannelError('unauthorized', 'WhatsApp webhook verification refused: hub.verify_token does not match the inbox\'s verify token', { retryable: false });
  }
  return { response: { status: 200, contentType: 'text/plain', body: challenge }, events: [] };
}

export function verifySignature(rawBody: Buffer, header: string | undefined, appSecret: string): void {
  if (!header) throw new ChannelError('signature_invalid', 'WhatsApp webhook has no X-Hub-Signature-256 header', { retryable: false });
  const match = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  if (!match) throw new ChannelError('signature_invalid', 'WhatsApp X-Hub-Signature-256 is not "sha256=<64 hex digits>"', { retryable: false });
  const expected = createHmac('sha256', appSecret).update(rawBody).digest();
  if (!timingSafeEqual(expected, Buffer.from(match[1]!, 'hex'))) {
    throw new ChannelError('signature_invalid', 'WhatsApp X-Hub-Signature-256 does not match the body signed with the app secret', { retryable: false });
  }
}

async function receive(req: InboundHttpRequest, ctx: ChannelContext<WhatsAppConfig>): Promise<InboundResult> {
  const method = req.method.toUpperCase();
  if (method === 'GET') return verifySubscription(req, ctx);
  if (method !== 'POST') throw new ChannelError('malformed', `WhatsApp webhooks are GET (verification) or POST (notifications); got ${req.method}`, { retryable: false });
  verifySignature(req.rawBody, req.headers['x-hub-signature-256'], requireSecret(ctx, 'appSecret'));
  const events = parseWebhook(req.rawBody, ctx.config.phoneNumberId, ctx.logger);
  return { response: { status: 200, contentType: 'text/plain', body: '' }, events };
}

async function fetchMedia(media: MediaRef, ctx: ChannelContext<WhatsAppConfig>): Promise<{ bytes: Buffer; contentType: string; fileName: string }> {
  if (!media.ref) throw new ChannelError('malformed', 'WhatsApp media has no media id to fetch', { retryable: false });
  const info = await callGraph<{ url?: string; mime_type?: string; file_size?: number | string; id?: string }>(
    ctx, 'media lookup', graphUrl(ctx.config, encodeURIComponent(media.ref)), { method: 'GET', timeoutMs: 30_000 },
  );
  if (!info.url) throw new ChannelError('provider_error', 'WhatsApp media lookup answered without a download url', { retryable: false });
  const size = Number(info.file_size);
  if (Number.isFinite(size) && size > MAX_DOCUMENT_BYTES) {
    throw new ChannelError('media_too_large', `WhatsApp media is ${size} bytes; the largest WhatsApp file is ${MAX_DOCUMENT_BYTES} bytes`, { retryable: false });
  }
  // The URL expires after a few minutes and needs the access token too; a retry looks it up again.
  const res = await graphExchange(ctx, info.url, { method: 'GET', maxBytes: MAX_DOCUMENT_BYTES, timeoutMs: 120_000 });
  if (res.status !== 200) {
    throw new ChannelError('provider_error', `WhatsApp media download failed with HTTP ${res.status}`, { retryable: res.status >= 500 || res.status === 404 || res.status === 429 });
  }
  const contentType = info.mime_type?.split(';')[0]?.trim() ?? media.contentType ?? res.headers['content-type']?.split(';')[0]?.trim() ?? 'application/octet-stream';
  return { bytes: res.body, contentType, fileName: media.fileName ?? `whatsapp-${media.ref}.${extensionFor(contentType)}` };
}

/** GET /{phone-number-id}: the token can read the configured business number. */
async function check(ctx: ChannelContext<WhatsAppConfig>): Promise<{ ok: true } | { ok: false; message: string }> {
  try {
    requireSecret(ctx, 'appSecret');
    requireSecret(ctx, 'verifyToken');
    await callGraph(ctx, 'phone number lookup', `${graphUrl(ctx.config, ctx.config.phoneNumberId)}?fields=display_phone_number,verified_name`, { method: 'GET', timeoutMs: 30_000 });
    return { ok: true };
  } catch (err) {
    return { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
}

export const whatsappAdapter: ChannelAdapter<WhatsAppConfig> = {
  kind: 'whatsapp',
  displayName: 'WhatsApp (Cloud API)',
  configSchema: whatsappConfigSchema,
  secrets: WHATSAPP_SECRETS,
  capabilities: () => capabilities,
  receive,
  send: sendWhatsApp,
  fetchMedia,
  check,
};
