/**
 * A local Twilio (Programmable Messaging) that implements the documented endpoints and refuses requests
 * deviating from them, answering with Twilio's error body ({ code, message, more_info, status }):
 *   POST /2010-04-01/Accounts/{AccountSid}/Messages.json   https://www.twilio.com/docs/messaging/api/message-resource
 *   GET  /2010-04-01/Accounts/{AccountSid}.json            https://www.twilio.com/docs/iam/api/account
 *   GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}/Media/{MediaSid}  media download: HTTP Basic auth
 *        ("Enforce HTTP Auth on Media URLs"), then a redirect to a short-lived CDN URL
 *        (https://www.twilio.com/docs/messaging/api/media-resource,
 *        https://support.twilio.com/hc/en-us/articles/223183748-Protect-Media-Access-with-HTTP-Basic-Authentication-for-Programmable-Messaging)
 * and plays Twilio's side of the webhooks: it signs inbound messages and status callbacks with
 * X-Twilio-Signature (https://www.twilio.com/docs/usage/webhooks/webhooks-security) and POSTs them.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { FakePlatform } from '../contract.ts';
import { errorBody, messageResource } from '../fixtures/sms/twilio.ts';
import { startFakeServer } from './fake-server.ts';

const E164 = /^\+[1-9]\d{6,14}$/;

export interface TwilioSentMessage {
  sid: string;
  to: string;
  from: string | null;
  messagingServiceSid: string | null;
  body: string;
  mediaUrls: string[];
  statusCallback: string | null;
}

export interface TwilioFake extends FakePlatform {
  accountSid: string;
  authToken: string;
  /** Messages created through the API, in order. */
  sent: TwilioSentMessage[];
  /** Media downloads that presented valid credentials. */
  mediaDownloads: string[];
  /** Next send answers with this status; `code` is the Twilio error code (default by status). */
  failNext(status: number, code?: number): void;
  /** Hosts a media file as Twilio does for inbound MMS; returns its MediaUrl. */
  addMedia(bytes: Buffer, contentType: string): string;
  /** Twilio's request signature for a URL and form parameters. */
  sign(url: string, params: Array<[string, string]>): string;
  /** POSTs a signed form-encoded webhook the way Twilio does; returns the HTTP answer. */
  postWebhook(url: string, params: Array<[string, string]>, opts?: { signature?: string }): Promise<{ status: number; contentType: string; body: string }>;
  /** Sends the status callback of a message created through the API to its StatusCallback URL. */
  reportStatus(sid: string, status: 'sent' | 'delivered' | 'undelivered' | 'failed', errorCode?: string): Promise<{ status: number; body: string }>;
}

const DEFAULT_CODES: Record<number, [number, string]> = {
  400: [21211, "Invalid 'To' Phone Number"],
  401: [20003, 'Authenticate'],
  404: [20404, 'The requested resource was not found'],
  429: [20429, 'Too Many Requests'],
  500: [20500, 'Internal Server Error'],
  503: [20503, 'Service Unavailable'],
};

export function twilioSign(authToken: string, url: string, params: Array<[string, string]>): string {
  // Independent of the adapter's implementation: sort by name, then value; append name+value.
  const data = url + [...params].sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1)).map(([k, v]) => k + v).join('');
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

const sid = (prefix: string) => prefix + randomBytes(16).toString('hex');

export async function startTwilioFake(opts: { accountSid: string; authToken: string; fromNumbers?: string[] }): Promise<TwilioFake> {
  const { accountSid, authToken } = opts;
  const accepted: FakePlatform['accepted'] = [];
  const rejected: FakePlatform['rejected'] = [];
  const sent: TwilioSentMessage[] = [];
  const mediaDownloads: string[] = [];
  const failures: Array<{ status: number; code?: number }> = [];
  const media = new Map<string, { bytes: Buffer; contentType: string }>();
  const basic = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
  const messagesPath = `/2010-04-01/Accounts/${accountSid}/Messages.json`;

  const http = await startFakeServer((req, res, raw) => {
    const method = req.method ?? '';
    const path = (req.url ?? '').split('?')[0]!;
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const refuse = (status: number, code: number, message: string) => {
      rejected.push({ method, path, reason: `${code}: ${message}` });
      json(status, errorBody(code, message, status));
    };

    // Media: GET only, Basic auth enforced (a download without credentials is a bug that leaks nothing but fails).
    const mediaMatch = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\/([^/]+)\/Media\/([^/]+)$/.exec(path);
    if (mediaMatch) {
      if (method !== 'GET') return refuse(405, 20004, `Method ${method} not allowed`);
      if (req.headers.authorization !== basic) return refuse(401, 20003, 'Authenticate');
      const item = media.get(mediaMatch[3]!);
      if (!item) return refuse(404, 20404, 'The requested resource was not found');
      mediaDownloads.push(path);
      return res.writeHead(307, { location: `/cdn/${mediaMatch[3]}?Expires=${Math.floor(Date.now() / 1000) + 4 * 3600}` }).end();
    }
    const cdnMatch = /^\/cdn\/([^/]+)$/.exec(path);
    if (cdnMatch && method === 'GET') {
      const item = media.get(cdnMatch[1]!);
      if (!item) return refuse(404, 20404, 'The requested resource was not found');
      return res.writeHead(200, { 'content-type': item.contentType, 'content-length': String(item.bytes.length) }).end(item.bytes);
    }

    if (path === `/2010-04-01/Accounts/${accountSid}.json`) {
      if (method !== 'GET') return refuse(405, 20004, `Method ${method} not allowed`);
      if (req.headers.authorization !== basic) return refuse(401, 20003, 'Authenticate');
      return json(200, { sid: accountSid, friendly_name: 'Huiliu test', status: 'active', type: 'Full' });
    }

    if (path !== messagesPath) {
      return refuse(404, 20404, `The requested resource ${path} was not found`);
    }
    if (method !== 'POST') return refuse(405, 20004, `Method ${method} not allowed`);
    if (req.headers.authorization !== basic) return refuse(401, 20003, 'Authenticate');
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim();
    if (type !== 'application/x-www-form-urlencoded') return refuse(400, 20001, `Content-Type ${type} instead of application/x-www-form-urlencoded`);

    const form = new URLSearchParams(raw.toString('utf8'));
    const known = new Set(['To', 'From', 'MessagingServiceSid', 'Body', 'MediaUrl', 'StatusCallback']);
    const unknown = [...form.keys()].filter((k) => !known.has(k));
    // Twilio ignores unknown parameters; the fake refuses them so a misspelt one (e.g. "body") fails a test.
    if (unknown.length) return refuse(400, 20001, `Unknown parameters: ${unknown.join(', ')}`);
    const to = form.get('To');
    const from = form.get('From');
    const mgSid = form.get('MessagingServiceSid');
    const body = form.get('Body') ?? '';
    const mediaUrls = form.getAll('MediaUrl');
    const statusCallback = form.get('StatusCallback');
    if (!to) return refuse(400, 21604, "A 'To' phone number is required.");
    if (!from && !mgSid) return refuse(400, 21603, "A 'From' phone number is required.");
    if (from && opts.fromNumbers && !opts.fromNumbers.includes(from)) return refuse(400, 21606, `The 'From' phone number provided (${from}) is not a valid message-capable Twilio phone number for this destination/account`);
    if (!body && mediaUrls.length === 0) return refuse(400, 21602, 'Message body is required.');
    if (body.length > 1600) return refuse(400, 21617, 'The concatenated message body exceeds the 1600 character limit.');
    if (mediaUrls.length > 10 || mediaUrls.some((u) => !/^https?:\/\//.test(u))) return refuse(400, 21620, 'Invalid media URL(s)');
    if (statusCallback !== null && !/^https?:\/\/[^/_]+(\/|$)/.test(statusCallback)) return refuse(400, 21609, 'Invalid StatusCallback URL');

    const fail = failures.shift();
    if (fail) {
      const [code, message] = fail.code !== undefined ? [fail.code, `simulated error ${fail.code}`] : DEFAULT_CODES[fail.status] ?? [20001, 'simulated error'];
      return json(fail.status, errorBody(code, message, fail.status));
    }
    // A syntactically wrong number is a 400 with 21211 on the real API too.
    if (!E164.test(to)) return json(400, errorBody(21211, `Invalid 'To' Phone Number: ${to}`, 400));

    const message: TwilioSentMessage = { sid: sid(mediaUrls.length ? 'MM' : 'SM'), to, from, messagingServiceSid: mgSid, body, mediaUrls, statusCallback };
    sent.push(message);
    accepted.push({ method, path, body: Object.fromEntries([...form.keys()].map((k) => [k, k === 'MediaUrl' ? form.getAll(k) : form.get(k)])) });
    return json(201, messageResource({ sid: message.sid, to, from, body, numMedia: mediaUrls.length, messagingServiceSid: mgSid }));
  });
  const { baseUrl } = http;

  const sign = (url: string, params: Array<[string, string]>) => twilioSign(authToken, url, params);
  const postWebhook: TwilioFake['postWebhook'] = async (url, params, o = {}) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': o.signature ?? sign(url, params), 'user-agent': 'TwilioProxy/1.1' },
      body: new URLSearchParams(params).toString(),
    });
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: await res.text() };
  };

  return {
    baseUrl,
    accountSid,
    authToken,
    accepted,
    rejected,
    sent,
    mediaDownloads,
    failNext: (status, code) => { failures.push({ status, ...(code !== undefined ? { code } : {}) }); },
    addMedia(bytes, contentType) {
      const messageSid = sid('MM');
      const mediaSid = sid('ME');
      media.set(mediaSid, { bytes, contentType });
      return `${baseUrl}/2010-04-01/Accounts/${accountSid}/Messages/${messageSid}/Media/${mediaSid}`;
    },
    sign,
    postWebhook,
    async reportStatus(messageSid, status, errorCode) {
      const m = sent.find((x) => x.sid === messageSid);
      if (!m?.statusCallback) throw new Error(`message ${messageSid} was not sent with a StatusCallback`);
      const params: Array<[string, string]> = [
        ['SmsSid', m.sid], ['SmsStatus', status], ['MessageStatus', status], ['To', m.to], ['MessageSid', m.sid],
        ['AccountSid', accountSid], ['From', m.from ?? ''], ['ApiVersion', '2010-04-01'],
        ...(errorCode ? [['ErrorCode', errorCode] as [string, string]] : []),
      ];
      const r = await postWebhook(m.statusCallback, params);
      return { status: r.status, body: r.body };
    },
    close: http.close,
  };
}
