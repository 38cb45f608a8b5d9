/**
 * A local WhatsApp Cloud API (Graph API) server implementing the endpoints Huiliu uses:
 *
 *   POST /{version}/{phone-number-id}/messages   https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages
 *   POST /{version}/{phone-number-id}/media      https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media#upload-media
 *   GET  /{version}/{media-id}                   https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media#retrieve-media-url
 *   GET  <media url>  (with the bearer token)    https://developers.facebook.com/docs/whatsapp/cloud-api/reference/media#download-media
 *   GET  /{version}/{phone-number-id}            https://developers.facebook.com/docs/whatsapp/cloud-api/reference/phone-numbers
 *
 * It checks the bearer token, the version format, the phone number id, the content type and the
 * required fields of each message type, and answers errors in the Graph shape
 * ({ error: { message, type, code, error_data: { messaging_product, details }, fbtrace_id } },
 * https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes). Deviations are recorded
 * in `rejected`.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FakePlatform } from '../contract.ts';
import { jsonWebhookRequest, startFakeServer } from './fake-server.ts';

export interface WhatsAppFakeOptions {
  accessToken: string;
  phoneNumberId: string;
  displayPhoneNumber?: string;
}

export interface WhatsAppSent {
  to: string;
  type: string;
  body: Record<string, unknown>;
  id: string;
}

export interface WhatsAppFake extends FakePlatform {
  /** Accepted message sends, in order. */
  sent: WhatsAppSent[];
  /** Media uploaded through /media, by id. */
  uploads: Map<string, { bytes: Buffer; contentType: string; fileName: string }>;
  /** Stores media as if a customer had sent it; returns the media id the webhook names. */
  addMedia(bytes: Buffer, mimeType: string): string;
  /** Approved templates: name → language code → number of body parameters. hello_world/en_US is approved. */
  approveTemplate(name: string, language: string, bodyParameters: number): void;
  /** The next message send fails with this Graph error. */
  failNextWith(status: number, code: number, message: string, details?: string): void;
  downloads: string[];
}

interface GraphFailure { status: number; code: number; message: string; details?: string }

/** Default errors of failNext(status), codes from the Cloud API error code reference. */
function defaultFailure(status: number): GraphFailure {
  if (status === 429) return { status, code: 130429, message: '(#130429) Rate limit hit', details: 'Cloud API message throughput has been reached.' };
  if (status === 401) return { status, code: 190, message: 'Error validating access token: Session has expired' };
  if (status === 503) return { status, code: 2, message: 'Service temporarily unavailable' };
  if (status >= 500) return { status, code: 131000, message: 'Something went wrong', details: 'Message failed to send due to an unknown error.' };
  return { status, code: 100, message: '(#100) Invalid parameter', details: 'The request included one or more unsupported or misspelled parameters.' };
}

export async function startWhatsAppFake(opts: WhatsAppFakeOptions): Promise<WhatsAppFake> {
  const accepted: FakePlatform['accepted'] = [];
  const rejected: FakePlatform['rejected'] = [];
  const sent: WhatsAppSent[] = [];
  const downloads: string[] = [];
  const media = new Map<string, { bytes: Buffer; contentType: string; fileName: string }>();
  const uploads = new Map<string, { bytes: Buffer; contentType: string; fileName: string }>();
  const templates = new Map<string, number>([['hello_world/en_US', 0]]);
  const failures: GraphFailure[] = [];
  const newMediaId = () => String(1_000_000_000_000_000 + Math.floor(Math.random() * 8_999_999_999_999_999));

  const fake: WhatsAppFake = {
    baseUrl: '',
    accepted,
    rejected,
    sent,
    uploads,
    downloads,
    failNext(status) { failures.push(defaultFailure(status)); },
    failNextWith(status, code, message, details) { failures.push({ status, code, message, ...(details ? { details } : {}) }); },
    addMedia(bytes, mimeType) {
      const id = newMediaId();
      media.set(id, { bytes, contentType: mimeType, fileName: `${id}` });
      return id;
    },
    approveTemplate(name, language, n) { templates.set(`${name}/${language}`, n); },
    close: () => http.close(),
  };

  const graphError = (f: GraphFailure) => ({
    error: {
      message: f.message,
      type: 'OAuthException',
      code: f.code,
      ...(f.details ? { error_data: { messaging_product: 'whatsapp', details: f.details } } : {}),
      fbtrace_id: randomBytes(8).toString('base64url'),
    },
  });
  const reply = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const refuse = (req: IncomingMessage, res: ServerResponse, path: string, f: GraphFailure, reason: string) => {
    rejected.push({ method: req.method ?? '?', path, reason });
    reply(res, f.status, graphError(f));
  };
  const invalid = (details: string): GraphFailure => ({ status: 400, code: 100, message: '(#100) Invalid parameter', details });

  async function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;
    const auth = req.headers.authorization;
    const authed = auth === `Bearer ${opts.accessToken}`;
    const unauthorized: GraphFailure = { status: 401, code: 190, message: auth ? 'Invalid OAuth access token - Cannot parse access token' : 'An active access token must be used to query information about the current user.' };

    if (path === '/whatsapp_business/attachments/') {
      const item = media.get(url.searchParams.get('mid') ?? '') ?? uploads.get(url.searchParams.get('mid') ?? '');
      if (req.method !== 'GET') return refuse(req, res, path, invalid('media downloads are GET'), `download with ${req.method}`);
      if (!authed) return refuse(req, res, path, unauthorized, 'media download without the bearer token');
      if (!item) return refuse(req, res, path, { status: 404, code: 100, message: 'Not found' }, 'unknown media id in download');
      downloads.push(url.searchParams.get('mid')!);
      accepted.push({ method: 'GET', path, body: null });
      res.writeHead(200, { 'content-type': item.contentType, 'content-length': String(item.bytes.length) });
      res.end(item.bytes);
      return;
    }

    const m = /^\/(v\d+\.\d)\/(\d+)(?:\/(messages|media))?$/.exec(path);
    if (!m) {
      return refuse(req, res, path, { status: 400, code: 2500, message: 'Unknown path components' }, 'not a Graph API path the fake implements');
    }
    if (!authed) return refuse(req, res, path, unauthorized, auth ? 'wrong bearer token' : 'no Authorization header');
    const [, version, objectId, edge] = m as unknown as [string, string, string, string | undefined];

    if (!edge && req.method === 'GET') {
      if (objectId === opts.phoneNumberId) {
        accepted.push({ method: 'GET', path, body: Object.fromEntries(url.searchParams) });
        return reply(res, 200, { verified_name: 'Huiliu Test', display_phone_number: opts.displayPhoneNumber ?? '+1 555-078-3881', quality_rating: 'GREEN', id: opts.phoneNumberId });
      }
      const item = media.get(objectId) ?? uploads.get(objectId);
      if (!item) {
        return refuse(req, res, path, { status: 400, code: 100, message: `Unsupported get request. Object with ID '${objectId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.` }, 'unknown object id');
      }
      accepted.push({ method: 'GET', path, body: null });
      return reply(res, 200, {
        messaging_product: 'whatsapp',
        url: `${fake.baseUrl}/whatsapp_business/attachments/?mid=${objectId}&ext=${Math.floor(Date.now() / 1000)}&hash=${randomBytes(6).toString('base64url')}`,
        mime_type: item.contentType,
        sha256: createHash('sha256').update(item.bytes).digest('hex'),
        file_size: String(item.bytes.length),
        id: objectId,
      });
    }
    if (req.method !== 'POST' || !edge) return refuse(req, res, path, invalid(`${req.method} is not supported on this path`), `unsupported ${req.method} ${path}`);
    if (objectId !== opts.phoneNumberId) {
      return refuse(req, res, path, { status: 400, code: 100, message: `Unsupported post request. Object with ID '${objectId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.` }, 'unknown phone number id');
    }
    void version;
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();

    if (edge === 'media') {
      if (type !== 'multipart/form-data') return refuse(req, res, path, invalid('media upload must be multipart/form-data'), `media upload as ${type}`);
      const form = await new Request('http://fake/', { method: 'POST', headers: { 'content-type': req.headers['content-type']! }, body: new Uint8Array(raw) }).formData();
      const file = form.get('file');
      if (form.get('messaging_product') !== 'whatsapp') return refuse(req, res, path, invalid('The parameter messaging_product is required.'), 'media upload without messaging_product=whatsapp');
      if (typeof form.get('type') !== 'string') return refuse(req, res, path, invalid('The parameter type is required.'), 'media upload without type');
      if (!file || typeof file === 'string') return refuse(req, res, path, invalid('The parameter file is required.'), 'media upload without file');
      const bytes = Buffer.from(await file.arrayBuffer());
      if (bytes.length === 0) return refuse(req, res, path, invalid('Uploaded file is empty.'), 'empty media upload');
      const id = newMediaId();
      uploads.set(id, { bytes, contentType: String(form.get('type')), fileName: file.name });
      accepted.push({ method: 'POST', path, body: { messaging_product: 'whatsapp', type: form.get('type'), file: { name: file.name, size: bytes.length } } });
      return reply(res, 200, { id });
    }

    // messages
    if (type !== 'application/json') return refuse(req, res, path, invalid('messages takes a JSON body'), `messages with content type ${type}`);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      return refuse(req, res, path, invalid('Request body is not valid JSON'), 'invalid JSON');
    }
    const problem = validateMessage(body);
    if (problem) return refuse(req, res, path, problem.failure, problem.reason);
    accepted.push({ method: 'POST', path, body });
    const failure = failures.shift();
    if (failure) return reply(res, failure.status, graphError(failure));
    const id = `wamid.${Buffer.from(`${opts.phoneNumberId}:${randomBytes(12).toString('hex')}`).toString('base64')}`;
    const to = String(body.to);
    sent.push({ to, type: String(body.type ?? 'text'), body, id });
    return reply(res, 200, { messaging_product: 'whatsapp', contacts: [{ input: to, wa_id: to.replace(/\D/g, '') }], messages: [{ id }] });
  }

  function validateMessage(b: Record<string, unknown>): { failure: GraphFailure; reason: string } | null {
    const fail = (reason: string, details = reason) => ({ failure: invalid(details), reason });
    if (b.messaging_product !== 'whatsapp') return fail('messaging_product must be "whatsapp"', 'The parameter messaging_product is required.');
    if (typeof b.to !== 'string' || !/^\+?\d{6,15}$/.test(b.to)) return fail('to must be a phone number / wa_id', 'The parameter to is required.');
    if (b.recipient_type !== undefined && b.recipient_type !== 'individual') return fail('recipient_type must be "individual"');
    const type = (b.type ?? 'text') as string;
    const allowedTop = new Set(['messaging_product', 'recipient_type', 'to', 'type', 'context', 'biz_opaque_callback_data', type]);
    const extra = Object.keys(b).filter((k) => !allowedTop.has(k));
    if (extra.length > 0) return fail(`unexpected parameters ${extra.join(', ')}`);
    const payload = b[type];
    if (typeof payload !== 'object' || payload === null) return fail(`type ${type} without a "${type}" object`, `The parameter ${type} is required.`);
    const p = payload as Record<string, unknown>;
    switch (type) {
      case 'text':
        if (typeof p.body !== 'string' || p.body.length === 0) return fail('text.body is required', 'The parameter text.body is required.');
        if ([...p.body].length > 4096) return fail('text.body longer than 4096 characters');
        if (p.preview_url !== undefined && typeof p.preview_url !== 'boolean') return fail('text.preview_url must be a boolean');
        return null;
      case 'image': case 'video': case 'audio': case 'document': case 'sticker': {
        const keys = Object.keys(p);
        const allowed = new Set(['id', 'link', ...(type === 'audio' || type === 'sticker' ? [] : ['caption']), ...(type === 'document' ? ['filename'] : [])]);
        const bad = keys.filter((k) => !allowed.has(k));
        if (bad.length > 0) return fail(`${type} does not take ${bad.join(', ')}`);
        if ((p.id === undefined) === (p.link === undefined)) return fail(`${type} needs exactly one of id and link`);
        if (p.id !== undefined && !uploads.has(String(p.id))) return fail(`${type}.id is not an uploaded media id`, 'Media id not found');
        if (p.caption !== undefined && (typeof p.caption !== 'string' || [...p.caption].length > 1024)) return fail('caption longer than 1024 characters');
        return null;
      }
      case 'template': {
        if (typeof p.name !== 'string' || !p.name) return fail('template.name is required', 'The parameter template.name is required.');
        const language = p.language as Record<string, unknown> | undefined;
        if (typeof language?.code !== 'string') return fail('template.language.code is required', 'The parameter template.language.code is required.');
        const expected = templates.get(`${p.name}/${language.code}`);
        if (expected === undefined) {
          return { failure: { status: 404, code: 132001, message: '(#132001) Template name does not exist in the translation', details: `template name (${p.name}) does not exist in ${language.code}` }, reason: 'unknown template' };
        }
        const components = p.components;
        if (components !== undefined && !Array.isArray(components)) return fail('template.components must be an array');
        let bodyParams = 0;
        for (const c of (components ?? []) as Array<Record<string, unknown>>) {
          if (!['header', 'body', 'button', 'footer'].includes(String(c.type))) return fail(`template component type ${String(c.type)} unknown`);
          if (!Array.isArray(c.parameters)) return fail('template component without parameters array');
          for (const prm of c.parameters as Array<Record<string, unknown>>) {
            if (prm.type === 'text' && typeof prm.text !== 'string') return fail('text parameter without text');
          }
          if (c.type === 'body') bodyParams += (c.parameters as unknown[]).length;
        }
        if (bodyParams !== expected) {
          return { failure: { status: 400, code: 132000, message: '(#132000) Number of parameters does not match the expected number of params', details: `body: number of localizable_params (${bodyParams}) does not match the expected number of params (${expected})` }, reason: 'template parameter count mismatch' };
        }
        return null;
      }
      default:
        return fail(`message type ${type} is not implemented by the fake`);
    }
  }

  const http = await startFakeServer((req, res, raw) =>
    handle(req, res, raw).catch((err: unknown) => {
      refuse(req, res, req.url ?? '', { status: 500, code: 1, message: 'An unknown error occurred' }, `fake crashed: ${String(err)}`);
    }));
  fake.baseUrl = http.baseUrl;
  return fake;
}

/** X-Hub-Signature-256 as Meta computes it: "sha256=" + HMAC-SHA256(raw body, app secret) in hex. */
export function hubSignature(rawBody: Buffer | string, appSecret: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(rawBody).digest('hex')}`;
}

/** A signed notification POST as Meta sends it. `body` strings are sent byte for byte. */
export function whatsappWebhookRequest(body: unknown, appSecret: string | null, path?: string) {
  const rawBody = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return jsonWebhookRequest(rawBody, appSecret !== null ? { 'x-hub-signature-256': hubSignature(rawBody, appSecret) } : {}, path);
}
