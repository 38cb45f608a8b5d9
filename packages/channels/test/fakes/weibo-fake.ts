/**
 * A local Weibo implementing what Huiliu calls with the fans-service access token:
 *
 *   POST /2/messages/reply.json  form: access_token, type, data (URL-encoded JSON), receiver_id, save_sender_box
 *        https://open.weibo.com/wiki/C/2/messages/reply/biz-en (发送客服消息)
 *   GET  /2/mss/msget?access_token=…&fid=<tovfid>   the file of a voice or image message
 *
 * It checks the token, the content type, the fields and their formats — `data` must be URL-encoded JSON
 * whose shape matches `type` (text: {"text"}) — and answers errors in Weibo's shape
 * ({"error", "error_code", "request"}, https://open.weibo.com/wiki/Error_code), recording every refusal.
 * The documented reply answer is not printed in the wiki: this fake answers {"result": true, …} (an
 * assumption the adapter does not depend on).
 */
import { randomInt } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InboundHttpRequest } from '../../src/adapter.ts';
import { weiboSignature } from '../../src/weibo/signature.ts';
import type { FakePlatform } from '../contract.ts';
import { startFakeServer } from './fake-server.ts';

export interface WeiboFakeOptions {
  accessToken: string;
  accountUid: string;
  replyPath?: string;
  mediaPath?: string;
}

export interface WeiboSent {
  receiverId: string;
  type: string;
  data: Record<string, unknown>;
  saveSenderBox: string | null;
}

export interface WeiboFake extends FakePlatform {
  sent: WeiboSent[];
  downloads: string[];
  /** Stores a file as if a customer had sent it; returns its tovfid. */
  addMedia(bytes: Buffer, contentType: string): string;
  failNextWith(status: number, code: number, error: string): void;
}

interface Failure { status: number; code: number; error: string }

function defaultFailure(status: number): Failure {
  if (status === 429) return { status: 403, code: 10023, error: 'User requests out of rate limit!' };
  if (status >= 500) return { status, code: 10002, error: 'Service unavailable' };
  return { status, code: 10017, error: 'Parameter (receiver_id)\'s value invalid' };
}

export async function startWeiboFake(opts: WeiboFakeOptions): Promise<WeiboFake> {
  const replyPath = opts.replyPath ?? '/2/messages/reply.json';
  const mediaPath = opts.mediaPath ?? '/2/mss/msget';
  const accepted: FakePlatform['accepted'] = [];
  const rejected: FakePlatform['rejected'] = [];
  const sent: WeiboSent[] = [];
  const downloads: string[] = [];
  const media = new Map<string, { bytes: Buffer; contentType: string }>();
  const failures: Failure[] = [];

  const fake: WeiboFake = {
    baseUrl: '',
    accepted,
    rejected,
    sent,
    downloads,
    addMedia(bytes, contentType) {
      // int64 ids beyond 2^53, as Weibo's are: a JSON number that a plain JSON.parse would round.
      const fid = (4_012_000_000_000_000_000n + BigInt(randomInt(0, 2 ** 40))).toString();
      media.set(fid, { bytes, contentType });
      return fid;
    },
    failNext(status) { failures.push(defaultFailure(status)); },
    failNextWith(status, code, error) { failures.push({ status, code, error }); },
    close: () => http.close(),
  };

  const reply = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8' });
    res.end(JSON.stringify(body));
  };
  const refuse = (req: IncomingMessage, res: ServerResponse, path: string, f: Failure, reason: string) => {
    rejected.push({ method: req.method ?? '?', path, reason });
    reply(res, f.status, { error: f.error, error_code: f.code, request: path });
  };
  const invalid = (field: string): Failure => ({ status: 400, code: 10017, error: `Parameter (${field})'s value invalid, expect (${field} != null), but get (null)!` });
  const missing = (field: string): Failure => ({ status: 400, code: 10016, error: `Miss required parameter (${field}) , see doc for more info.` });
  const badToken: Failure = { status: 403, code: 21332, error: 'invalid_access_token' };

  async function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;

    if (path === mediaPath) {
      if (req.method !== 'GET') return refuse(req, res, path, { status: 405, code: 10021, error: 'HTTP method is not suported for this request!' }, `media with ${req.method}`);
      const token = url.searchParams.get('access_token');
      if (!token) return refuse(req, res, path, missing('access_token'), 'media download without access_token');
      if (token !== opts.accessToken) return refuse(req, res, path, badToken, 'wrong access_token');
      const fid = url.searchParams.get('fid') ?? '';
      const item = media.get(fid);
      if (!item) return refuse(req, res, path, invalid('fid'), 'unknown fid');
      downloads.push(fid);
      accepted.push({ method: 'GET', path, body: { fid } });
      res.writeHead(200, { 'content-type': item.contentType, 'content-length': String(item.bytes.length) });
      res.end(item.bytes);
      return;
    }

    if (path !== replyPath) return refuse(req, res, path, { status: 404, code: 10020, error: 'Job not found' }, 'not an endpoint the fake implements');
    if (req.method !== 'POST') return refuse(req, res, path, { status: 405, code: 10021, error: 'HTTP method is not suported for this request!' }, `reply with ${req.method}`);
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') return refuse(req, res, path, { status: 400, code: 10008, error: 'Param error, see doc for more info.' }, `reply as ${type} (documented: application/x-www-form-urlencoded)`);
    const form = new URLSearchParams(raw.toString('utf8'));
    const extra = [...new Set(form.keys())].filter((k) => !['access_token', 'type', 'data', 'receiver_id', 'save_sender_box'].includes(k));
    if (extra.length) return refuse(req, res, path, { status: 400, code: 10008, error: 'Param error, see doc for more info.' }, `unexpected fields ${extra.join(', ')}`);
    const token = form.get('access_token');
    if (!token) return refuse(req, res, path, missing('access_token'), 'no access_token');
    if (token !== opts.accessToken) return refuse(req, res, path, badToken, 'wrong access_token');
    for (const field of ['type', 'data', 'receiver_id']) if (!form.get(field)) return refuse(req, res, path, missing(field), `no ${field}`);
    const msgType = form.get('type')!;
    if (!['text', 'articles', 'position'].includes(msgType)) return refuse(req, res, path, invalid('type'), `type ${msgType} is not text, articles or position`);
    if (!/^\d{1,20}$/.test(form.get('receiver_id')!)) return refuse(req, res, path, invalid('receiver_id'), 'receiver_id is not an int64');
    const box = form.get('save_sender_box');
    if (box !== null && box !== '0' && box !== '1') return refuse(req, res, path, invalid('save_sender_box'), 'save_sender_box is not 0 or 1');
    const encoded = form.get('data')!;
    let data: unknown;
    try {
      // "必须为json做URLEncode后的字符串": the value itself is URL-encoded (so it holds no raw JSON punctuation).
      if (encodeURIComponent(decodeURIComponent(encoded)) !== encoded) throw new Error('not URL-encoded');
      data = JSON.parse(decodeURIComponent(encoded));
    } catch {
      return refuse(req, res, path, invalid('data'), 'data is not URL-encoded JSON');
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) return refuse(req, res, path, invalid('data'), 'data is not a JSON object');
    const d = data as Record<string, unknown>;
    if (msgType === 'text' && (typeof d.text !== 'string' || d.text.trim() === '' || Object.keys(d).length !== 1)) {
      return refuse(req, res, path, invalid('data'), 'text data must be exactly {"text": "<non-empty>"}');
    }
    if (msgType !== 'text') return refuse(req, res, path, invalid('type'), `type ${msgType} is not implemented by the fake`);
    accepted.push({ method: 'POST', path, body: { type: msgType, data: d, receiver_id: form.get('receiver_id'), save_sender_box: box } });
    const failure = failures.shift();
    if (failure) return reply(res, failure.status, { error: failure.error, error_code: failure.code, request: path });
    sent.push({ receiverId: form.get('receiver_id')!, type: msgType, data: d, saveSenderBox: box });
    return reply(res, 200, { result: true, sender_id: opts.accountUid, receiver_id: form.get('receiver_id'), type: msgType, data: JSON.stringify(d) });
  }

  const http = await startFakeServer((req, res, raw) =>
    handle(req, res, raw).catch((err: unknown) => {
      refuse(req, res, req.url ?? '', { status: 500, code: 10001, error: 'System error' }, `fake crashed: ${String(err)}`);
    }));
  fake.baseUrl = http.baseUrl;
  return fake;
}

/** The query Weibo signs: signature over the sorted App Secret, timestamp (ms) and nonce. */
export function weiboSignedQuery(appSecret: string | null, o: { timestamp?: string; nonce?: string; echostr?: string } = {}): Record<string, string> {
  const timestamp = o.timestamp ?? String(Date.now());
  const nonce = o.nonce ?? String(randomInt(10_000_000, 99_999_999));
  const q: Record<string, string> = { timestamp, nonce, signature: appSecret !== null ? weiboSignature(appSecret, timestamp, nonce) : 'f'.repeat(40) };
  if (o.echostr !== undefined) q.echostr = o.echostr;
  return q;
}

/** A push as Weibo sends it: JSON body byte for byte, signature/timestamp/nonce in the query string. */
export function weiboPushRequest(body: string, appSecret: string | null, o: { timestamp?: string; nonce?: string; path?: string } = {}): InboundHttpRequest {
  const query = weiboSignedQuery(appSecret, o);
  return {
    method: 'POST',
    url: `${o.path ?? '/api/channels/v1/test/webhook'}?${new URLSearchParams(query)}`,
    query,
    headers: { 'content-type': 'application/json' },
    rawBody: Buffer.from(body),
  };
}

/** The GET URL check. */
export function weiboUrlCheckRequest(appSecret: string | null, echostr: string, o: { timestamp?: string; nonce?: string } = {}): InboundHttpRequest {
  const query = weiboSignedQuery(appSecret, { ...o, echostr });
  return { method: 'GET', url: `/api/channels/v1/test/webhook?${new URLSearchParams(query)}`, query, headers: {}, rawBody: Buffer.alloc(0) };
}
