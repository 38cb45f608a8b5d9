/**
 * Outbound WhatsApp messages: POST /{version}/{phone-number-id}/messages
 * (https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages).
 *
 * Attachments are uploaded first (POST /{phone-number-id}/media, multipart) and sent by media id. Meta
 * recommends uploaded ids over `link` ("For better performance, we recommend using id"), and a link would
 * have to be a public HTTPS URL Meta can fetch, which a self-hosted Huiliu behind a firewall does not have.
 *
 * Templates (outside the 24 h customer-service window) carry the agent's variables as body parameters.
 * The Cloud API has no idempotency key; retries happen only on transport errors, rate limits and 5xx.
 */
import type { ChannelContext, OutboundAttachment, OutboundMessage, SendResult } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';
import { graphUrl, MAX_AV_BYTES, MAX_CAPTION, MAX_DOCUMENT_BYTES, MAX_IMAGE_BYTES, MAX_TEXT, type WhatsAppConfig } from './config.ts';
import { callGraph } from './graph-api.ts';

interface SendAnswer { messaging_product: string; contacts?: Array<{ input: string; wa_id: string }>; messages?: Array<{ id: string }> }

type MediaKind = 'image' | 'video' | 'audio' | 'document';

/** https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media#supported-media-types */
function mediaKind(a: OutboundAttachment): { kind: MediaKind; limit: number } {
  const type = a.contentType.toLowerCase();
  if (type === 'image/jpeg' || type === 'image/png') return { kind: 'image', limit: MAX_IMAGE_BYTES };
  if (type === 'video/mp4' || type === 'video/3gpp') return { kind: 'video', limit: MAX_AV_BYTES };
  if (['audio/aac', 'audio/amr', 'audio/mpeg', 'audio/mp4', 'audio/ogg'].includes(type)) return { kind: 'audio', limit: MAX_AV_BYTES };
  return { kind: 'document', limit: MAX_DOCUMENT_BYTES };
}

export async function sendWhatsApp(msg: OutboundMessage, ctx: ChannelContext<WhatsAppConfig>): Promise<SendResult> {
  const to = msg.recipient.sourceId.replace(/^\+/, '');
  if (!/^\d{6,15}$/.test(to)) {
    throw new ChannelError('recipient_invalid', `WhatsApp recipient "${msg.recipient.sourceId}" is not a WhatsApp id (international number, digits only)`, { retryable: false });
  }
  const post = (body: Record<string, unknown>, what: string) => callGraph<SendAnswer>(ctx, what, graphUrl(ctx.config, `${ctx.config.phoneNumberId}/messages`), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messaging_product: 'whatsapp', recipient_type: 'individual', to, ...body }),
    timeoutMs: 30_000,
  }).then((answer) => {
    const id = answer.messages?.[0]?.id;
    if (!id) throw new ChannelError('provider_error', `WhatsApp ${what} answered without a message id`, { retryable: false });
    return id;
  });

  if (msg.template) return { externalId: await post(templateBody(msg.template), 'template message') };

  const text = msg.text.trim() === '' ? '' : msg.text;
  if (text.length > MAX_TEXT) {
    throw new ChannelError('content_unsupported', `WhatsApp text messages hold at most ${MAX_TEXT} characters; this one has ${text.length}: split it`, { retryable: false });
  }
  const files = msg.attachments.map((a) => ({ a, ...mediaKind(a) }));
  for (const f of files) {
    if (f.a.size > f.limit) {
      throw new ChannelError('media_too_large', `${f.a.fileName} is ${f.a.size} bytes; WhatsApp accepts ${f.kind} files up to ${f.limit} bytes`, { retryable: false });
    }
  }
  if (!text && files.length === 0) {
    throw new ChannelError('content_unsupported', 'Nothing to send to WhatsApp: the message has neither text nor attachments', { retryable: false });
  }

  const ids: string[] = [];
  // Audio has no caption; the text rides on the first captionable file when it fits, else goes first.
  const captionIndex = text.length <= MAX_CAPTION ? files.findIndex((f) => f.kind !== 'audio') : -1;
  if (text && captionIndex < 0) ids.push(await post({ type: 'text', text: { preview_url: false, body: text } }, 'text message'));
  for (const [i, f] of files.entries()) {
    const id = await uploadMedia(ctx, f.a);
    const media: Record<string, unknown> = { id };
    if (i === captionIndex) media.caption = text;
    if (f.kind === 'document') media.filename = f.a.fileName;
    ids.push(await post({ type: f.kind, [f.kind]: media }, `${f.kind} message`));
  }
  return { externalId: ids[0]! };
}

function templateBody(t: NonNullable<OutboundMessage['template']>): Record<string, unknown> {
  return {
    type: 'template',
    template: {
      name: t.name,
      language: { code: t.language },
      ...(t.variables.length > 0 ? { components: [{ type: 'body', parameters: t.variables.map((v) => ({ type: 'text', text: v })) }] } : {}),
    },
  };
}

/** POST /{phone-number-id}/media with messaging_product, type and file (multipart); answers { id }. */
async function uploadMedia(ctx: ChannelContext<WhatsAppConfig>, a: OutboundAttachment): Promise<string> {
  const form = new FormData();
  form.append('messaging_product', 'whatsapp');
  form.append('type', a.contentType);
  form.append('file', new Blob([new Uint8Array(await a.read())], { type: a.contentType }), a.fileName);
  const { bytes, contentType } = await encodeMultipart(form);
  const answer = await callGraph<{ id?: string }>(ctx, 'media upload', graphUrl(ctx.config, `${ctx.config.phoneNumberId}/media`), {
    method: 'POST', headers: { 'content-type': contentType }, body: bytes, timeoutMs: 120_000,
  });
  if (!answer.id) throw new ChannelError('provider_error', 'WhatsApp media upload answered without a media id', { retryable: false });
  return answer.id;
}

/** multipart/form-data bytes and content type (with boundary), encoded by the platform's own FormData. */
async function encodeMultipart(form: FormData): Promise<{ bytes: Buffer; contentType: string }> {
  const encoded = new Response(form);
  const contentType = encoded.headers.get('content-type');
  if (!contentType) throw new Error('FormData encoding produced no content type');
  return { bytes: Buffer.from(await encoded.arrayBuffer()), contentType };
}
