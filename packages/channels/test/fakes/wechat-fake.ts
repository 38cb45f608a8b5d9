/**
 * A local WeChat Official Account API (api.weixin.qq.com) implementing the endpoints Huiliu uses:
 *
 *   POST /cgi-bin/stable_token           https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/getStableAccessToken.html
 *   POST /cgi-bin/message/custom/send    https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Service_Center_messages.html
 *   POST /cgi-bin/media/upload           https://developers.weixin.qq.com/doc/offiaccount/Asset_Management/New_temporary_materials.html
 *   GET  /cgi-bin/media/get              https://developers.weixin.qq.com/doc/offiaccount/Asset_Management/Get_temporary_materials.html
 *   GET  /cgi-bin/user/info              https://developers.weixin.qq.com/doc/offiaccount/User_Management/Get_users_basic_information_UnionID.html
 *
 * Like WeChat it answers HTTP 200 with `{"errcode": n, "errmsg": "… rid: …"}` for every refusal
 * (https://developers.weixin.qq.com/doc/offiaccount/Getting_Started/Global_Return_Code.html): a missing
 * (41001), unknown (40001) or expired (42001) access_token, the wrong method (43001 / 43002), a body that
 * is not the documented JSON (47001), an unknown OpenID (40003) or media id (40007)… Each refusal is
 * recorded in `rejected`. Tokens follow stable_token's rules: the same token for every caller until it
 * expires (or a force_refresh), `expires_in` counting down.
 *
 * Also here: the requests WeChat makes to us (server URL verification and pushes in plain, compatible
 * and safe mode), built with the lead's crypto so tests post exactly what WeChat posts.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InboundHttpRequest } from '../../src/adapter.ts';
import { encryptMessage, parseEncodingAesKey, wechatSignature } from '../../src/wechat/crypto.ts';
import type { FakePlatform } from '../contract.ts';
import { startFakeServer } from './fake-server.ts';

export interface WechatFakeOptions {
  appId: string;
  appSecret: string;
  /**
   * Followers (OpenID → UnionID or null): user/info answers only for them (40003 otherwise). Given at
   * start, custom/send also refuses other OpenIDs; without it any OpenID receives messages.
   */
  followers?: Record<string, string | null>;
  tokenLifetimeSeconds?: number;
}

export interface WechatSent {
  touser: string;
  msgtype: string;
  body: Record<string, unknown>;
}

interface StoredMedia {
  bytes: Buffer;
  contentType: string;
  fileName: string;
  type: string;
  /** media/get answers `{ video_url }` instead of the bytes. */
  video?: boolean;
}

export interface WechatFake extends FakePlatform {
  /** Accepted customer-service messages, in order. */
  sent: WechatSent[];
  /** Media uploaded through media/upload, by media_id. */
  uploads: Map<string, StoredMedia>;
  /** media_ids served by media/get (and video downloads), in order. */
  downloads: string[];
  /** OpenIDs looked up with user/info. */
  userInfoLookups: string[];
  /** stable_token answers that issued a new token. */
  readonly tokensIssued: number;
  /** The token stable_token hands out now. */
  readonly currentToken: string | null;
  /** Stores media as if a customer had sent it; returns the MediaId a push names. */
  addMedia(bytes: Buffer, contentType: string, o?: { video?: boolean }): string;
  addFollower(openid: string, unionid?: string | null): void;
  /** The current token stops working as if it had expired (42001); stable_token then issues a new one. */
  expireToken(): void;
  /** The current token stops working as if reset elsewhere (40001); stable_token then issues a new one. */
  revokeToken(): void;
  /** stable_token answers 40164 (IP not whitelisted) while set. */
  rejectCallerIp(rejected: boolean): void;
  /** user/info answers 48001 (api unauthorized) while set, as for an unverified account. */
  forbidUserInfo(forbidden: boolean): void;
  /** The next custom/send answers this WeChat error (the request itself is recorded as accepted). */
  failNextWith(errcode: number, errmsg: string): void;
  /**
   * Holds every request to this API path (e.g. '/cgi-bin/media/get', '/cgi-bin/user/info') for `ms`
   * before handling it, as a slow WeChat; 0 ends it. Requests are recorded (downloads, lookups…) only
   * once handled.
   */
  delay(path: string, ms: number): void;
}

const rid = () => `${randomBytes(4).toString('hex')}-${randomBytes(4).toString('hex')}-${randomBytes(4).toString('hex')}`;

const IMAGE_EXTENSIONS = new Set(['jpg', 'jpeg', 'png', 'gif']);
const MEDIA_TYPES = new Set(['image', 'voice', 'video', 'thumb']);
/** https://developers.weixin.qq.com/doc/offiaccount/Asset_Management/New_temporary_materials.html — image 10 MB, voice 2 MB, video 10 MB, thumb 64 KB. */
const MEDIA_LIMITS: Record<string, number> = { image: 10 * 1024 * 1024, voice: 2 * 1024 * 1024, video: 10 * 1024 * 1024, thumb: 64 * 1024 };
const EXTENSION_OF: Record<string, string> = { 'image/jpeg': 'jpg', 'image/png': 'png', 'image/gif': 'gif', 'audio/amr': 'amr', 'video/mp4': 'mp4' };

interface Failure { status: number; errcode?: number; errmsg?: string }

export async function startWechatFake(opts: WechatFakeOptions): Promise<WechatFake> {
  const accepted: FakePlatform['accepted'] = [];
  const rejected: FakePlatform['rejected'] = [];
  const sent: WechatSent[] = [];
  const uploads = new Map<string, StoredMedia>();
  const media = new Map<string, StoredMedia>();
  const downloads: string[] = [];
  const userInfoLookups: string[] = [];
  const followers = new Map<string, string | null>(Object.entries(opts.followers ?? {}));
  const failures: Failure[] = [];
  const lifetime = opts.tokenLifetimeSeconds ?? 7200;
  let token: { value: string; expiresAt: number; state: 'valid' | 'expired' | 'revoked' } | null = null;
  let tokensIssued = 0;
  let ipRejected = false;
  let userInfoForbidden = false;
  const delays = new Map<string, number>();
  const newMediaId = () => randomBytes(36).toString('base64url');

  const fake: WechatFake = {
    baseUrl: '',
    accepted,
    rejected,
    sent,
    uploads,
    downloads,
    userInfoLookups,
    get tokensIssued() { return tokensIssued; },
    get currentToken() { return token?.value ?? null; },
    failNext(status) {
      // WeChat itself answers errors with HTTP 200: a 5xx comes from its gateway, anything else as an errcode.
      if (status >= 500) failures.push({ status });
      else if (status === 429) failures.push({ status: 200, errcode: 45011, errmsg: 'api minute-quota reach limit  mustslower  retry next minute' });
      else failures.push({ status: 200, errcode: 40003, errmsg: 'invalid openid' });
    },
    failNextWith(errcode, errmsg) { failures.push({ status: 200, errcode, errmsg }); },
    addMedia(bytes, contentType, o = {}) {
      const id = newMediaId();
      const type = contentType.startsWith('image/') ? 'image' : contentType.startsWith('audio/') ? 'voice' : 'video';
      media.set(id, { bytes, contentType, fileName: `${id}.${EXTENSION_OF[contentType] ?? 'bin'}`, type, ...(o.video ? { video: true } : {}) });
      return id;
    },
    addFollower(openid, unionid = null) { followers.set(openid, unionid); },
    expireToken() { if (token) token.state = 'expired'; },
    revokeToken() { if (token) token.state = 'revoked'; },
    rejectCallerIp(r) { ipRejected = r; },
    forbidUserInfo(f) { userInfoForbidden = f; },
    delay(path, ms) { if (ms > 0) delays.set(path, ms); else delays.delete(path); },
    close: () => http.close(),
  };

  const json = (res: ServerResponse, status: number, body: unknown) => {
    // WeChat's own content type for JSON answers.
    res.writeHead(status, { 'content-type': 'application/json; encoding=utf-8' });
    res.end(JSON.stringify(body));
  };
  const refuse = (req: IncomingMessage, res: ServerResponse, path: string, errcode: number, errmsg: string, reason: string) => {
    rejected.push({ method: req.method ?? '?', path, reason });
    json(res, 200, { errcode, errmsg: `${errmsg} rid: ${rid()}` });
  };

  /** The access_token of the query string: null when valid, else the refusal WeChat gives. */
  function tokenProblem(url: URL): { errcode: number; errmsg: string } | null {
    const given = url.searchParams.get('access_token');
    if (!given) return { errcode: 41001, errmsg: 'access_token missing' };
    if (token && given === token.value) {
      if (token.state === 'expired' || Date.now() >= token.expiresAt) return { errcode: 42001, errmsg: 'access_token expired' };
      if (token.state === 'valid') return null;
    }
    return { errcode: 40001, errmsg: 'invalid credential, access_token is invalid or not latest' };
  }

  function parseJson(raw: Buffer): Record<string, unknown> | null {
    try {
      const v = JSON.parse(raw.toString('utf8')) as unknown;
      return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;
    const method = req.method ?? 'GET';
    const hold = delays.get(path);
    if (hold) await new Promise((resolve) => setTimeout(resolve, hold));
    const need = (m: 'GET' | 'POST') => {
      if (method === m) return true;
      refuse(req, res, path, m === 'GET' ? 43001 : 43002, m === 'GET' ? 'require GET method' : 'require POST method', `${method} instead of ${m}`);
      return false;
    };
    const authed = () => {
      const problem = tokenProblem(url);
      if (!problem) return true;
      refuse(req, res, path, problem.errcode, problem.errmsg, `access_token refused (${problem.errcode})`);
      return false;
    };

    if (path.startsWith('/video-cdn/')) {
      // Where media/get's video_url points: a CDN download without the token.
      const id = decodeURIComponent(path.slice('/video-cdn/'.length));
      const item = media.get(id);
      if (!item) { rejected.push({ method, path, reason: 'unknown video' }); res.writeHead(404).end(); return; }
      downloads.push(id);
      accepted.push({ method, path, body: null });
      res.writeHead(200, { 'content-type': item.contentType, 'content-length': String(item.bytes.length) });
      res.end(item.bytes);
      return;
    }

    switch (path) {
      case '/cgi-bin/stable_token': {
        if (!need('POST')) return;
        const body = parseJson(raw);
        if (!body) return refuse(req, res, path, 47001, 'data format error', 'stable_token body is not JSON');
        if (body.grant_type !== 'client_credential') return refuse(req, res, path, 40002, 'invalid grant_type', 'grant_type is not client_credential');
        if (typeof body.appid !== 'string' || !body.appid) return refuse(req, res, path, 41002, 'appid missing', 'no appid');
        if (typeof body.secret !== 'string' || !body.secret) return refuse(req, res, path, 41004, 'appsecret missing', 'no secret');
        if (body.force_refresh !== undefined && typeof body.force_refresh !== 'boolean') return refuse(req, res, path, 47001, 'data format error', 'force_refresh is not a boolean');
        if (body.appid !== opts.appId) return refuse(req, res, path, 40013, 'invalid appid', 'unknown appid');
        if (body.secret !== opts.appSecret) return refuse(req, res, path, 40125, 'invalid appsecret', 'wrong secret');
        if (ipRejected) return refuse(req, res, path, 40164, 'invalid ip 127.0.0.1 ipv6 ::ffff:127.0.0.1, not in whitelist', 'caller IP not whitelisted');
        const now = Date.now();
        if (!token || token.state !== 'valid' || now >= token.expiresAt || body.force_refresh === true) {
          token = { value: randomBytes(96).toString('base64url'), expiresAt: now + lifetime * 1000, state: 'valid' };
          tokensIssued++;
        }
        accepted.push({ method, path, body: { ...body, secret: '<secret>' } });
        return json(res, 200, { access_token: token.value, expires_in: Math.max(1, Math.round((token.expiresAt - now) / 1000)) });
      }

      case '/cgi-bin/message/custom/send': {
        if (!need('POST') || !authed()) return;
        const body = parseJson(raw);
        if (!body) return refuse(req, res, path, 47001, 'data format error', 'custom/send body is not JSON');
        const problem = validateCustomMessage(body);
        if (problem) return refuse(req, res, path, problem.errcode, problem.errmsg, problem.reason);
        accepted.push({ method, path, body });
        const failure = failures.shift();
        if (failure) {
          if (failure.errcode === undefined) { res.writeHead(failure.status, { 'content-type': 'text/html' }).end('<html><body>502 Bad Gateway</body></html>'); return; }
          return json(res, failure.status, { errcode: failure.errcode, errmsg: `${failure.errmsg} rid: ${rid()}` });
        }
        sent.push({ touser: body.touser as string, msgtype: body.msgtype as string, body });
        return json(res, 200, { errcode: 0, errmsg: 'ok' });
      }

      case '/cgi-bin/media/upload': {
        if (!need('POST') || !authed()) return;
        const type = url.searchParams.get('type') ?? '';
        if (!MEDIA_TYPES.has(type)) return refuse(req, res, path, 40004, 'invalid media type', `type=${type}`);
        const contentType = req.headers['content-type'] ?? '';
        if (!/^multipart\/form-data;\s*boundary=/i.test(contentType)) return refuse(req, res, path, 41005, 'media data missing', `upload as ${contentType || 'no content type'}`);
        let form: FormData;
        try {
          form = await new Request('http://fake/', { method: 'POST', headers: { 'content-type': contentType }, body: new Uint8Array(raw) }).formData();
        } catch {
          return refuse(req, res, path, 41005, 'media data missing', 'unreadable multipart body');
        }
        const file = form.get('media');
        if (!file || typeof file === 'string') return refuse(req, res, path, 41005, 'media data missing', 'no "media" file field');
        const bytes = Buffer.from(await file.arrayBuffer());
        if (bytes.length === 0) return refuse(req, res, path, 41005, 'media data missing', 'empty file');
        const ext = file.name.split('.').pop()?.toLowerCase() ?? '';
        if (type === 'image' && !IMAGE_EXTENSIONS.has(ext)) return refuse(req, res, path, 40005, 'invalid file type', `image named ${file.name}`);
        if (bytes.length > MEDIA_LIMITS[type]!) return refuse(req, res, path, 40006, 'invalid meida size', `${type} of ${bytes.length} bytes`);
        const id = newMediaId();
        uploads.set(id, { bytes, contentType: file.type, fileName: file.name, type });
        accepted.push({ method, path, body: { type, media: { name: file.name, size: bytes.length, contentType: file.type } } });
        return json(res, 200, { type, media_id: id, created_at: Math.floor(Date.now() / 1000) });
      }

      case '/cgi-bin/media/get': {
        if (!need('GET') || !authed()) return;
        const id = url.searchParams.get('media_id') ?? '';
        const item = media.get(id) ?? uploads.get(id);
        if (!item) return refuse(req, res, path, 40007, 'invalid media_id', id ? 'unknown media_id' : 'no media_id');
        accepted.push({ method, path, body: { media_id: id } });
        if (item.video) return json(res, 200, { video_url: `${fake.baseUrl}/video-cdn/${encodeURIComponent(id)}` });
        downloads.push(id);
        res.writeHead(200, {
          'content-type': item.contentType,
          'content-disposition': `attachment; filename="${item.fileName}"`,
          'cache-control': 'no-cache, must-revalidate',
          'content-length': String(item.bytes.length),
        });
        res.end(item.bytes);
        return;
      }

      case '/cgi-bin/user/info': {
        if (!need('GET') || !authed()) return;
        const openid = url.searchParams.get('openid') ?? '';
        const lang = url.searchParams.get('lang');
        if (lang !== null && !['zh_CN', 'zh_TW', 'en'].includes(lang)) return refuse(req, res, path, 40005, 'invalid lang', `lang=${lang}`);
        if (userInfoForbidden) return refuse(req, res, path, 48001, 'api unauthorized', 'user/info forbidden for this account');
        if (!followers.has(openid)) return refuse(req, res, path, 40003, 'invalid openid', `unknown openid ${openid}`);
        userInfoLookups.push(openid);
        accepted.push({ method, path, body: { openid, lang } });
        const unionid = followers.get(openid);
        return json(res, 200, {
          subscribe: 1, openid, language: 'zh_CN', subscribe_time: 1382694957,
          ...(unionid ? { unionid } : {}),
          remark: '', groupid: 0, tagid_list: [], subscribe_scene: 'ADD_SCENE_QR_CODE', qr_scene: 98765, qr_scene_str: '',
        });
      }

      default:
        rejected.push({ method, path, reason: 'not an API path the fake implements' });
        res.writeHead(404, { 'content-type': 'text/html' }).end('<html><body>404 Not Found</body></html>');
    }
  }

  function validateCustomMessage(b: Record<string, unknown>): { errcode: number; errmsg: string; reason: string } | null {
    const format = (reason: string) => ({ errcode: 47001, errmsg: 'data format error', reason });
    if (typeof b.touser !== 'string' || !b.touser) return { errcode: 40003, errmsg: 'invalid openid', reason: 'no touser' };
    if (opts.followers !== undefined && !followers.has(b.touser)) return { errcode: 40003, errmsg: 'invalid openid', reason: `touser ${b.touser} does not follow the account` };
    const msgtype = b.msgtype;
    if (typeof msgtype !== 'string') return format('no msgtype');
    const extra = Object.keys(b).filter((k) => !['touser', 'msgtype', msgtype, 'customservice'].includes(k));
    if (extra.length) return format(`unexpected fields ${extra.join(', ')}`);
    const payload = b[msgtype];
    if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return format(`msgtype ${msgtype} without a "${msgtype}" object`);
    const p = payload as Record<string, unknown>;
    switch (msgtype) {
      case 'text':
        if (Object.keys(p).some((k) => k !== 'content')) return format('text takes only content');
        if (typeof p.content !== 'string' || p.content === '') return { errcode: 44004, errmsg: 'empty content', reason: 'text.content empty or not a string' };
        return null;
      case 'image':
        if (Object.keys(p).some((k) => k !== 'media_id')) return format('image takes only media_id');
        if (typeof p.media_id !== 'string' || !uploads.has(p.media_id)) return { errcode: 40007, errmsg: 'invalid media_id', reason: 'image.media_id is not an uploaded media id' };
        return null;
      case 'news': {
        if (Object.keys(p).some((k) => k !== 'articles')) return format('news takes only articles');
        if (!Array.isArray(p.articles) || p.articles.length === 0) return { errcode: 44003, errmsg: 'empty news data', reason: 'news.articles empty' };
        if (p.articles.length > 1) return { errcode: 45008, errmsg: 'article size out of limit', reason: 'customer-service news carry one article' };
        for (const a of p.articles as unknown[]) {
          if (!a || typeof a !== 'object') return format('article is not an object');
          const art = a as Record<string, unknown>;
          if (Object.keys(art).some((k) => !['title', 'description', 'url', 'picurl'].includes(k))) return format('article with unknown fields');
          if (typeof art.title !== 'string' || !art.title) return format('article without title');
          for (const k of ['description', 'url', 'picurl']) if (art[k] !== undefined && typeof art[k] !== 'string') return format(`article ${k} not a string`);
        }
        return null;
      }
      default:
        return { errcode: 40008, errmsg: 'invalid message type', reason: `msgtype ${msgtype} is not implemented by the fake` };
    }
  }

  const http = await startFakeServer((req, res, raw) =>
    handle(req, res, raw).catch((err: unknown) => {
      rejected.push({ method: req.method ?? '?', path: req.url ?? '', reason: `fake crashed: ${String(err)}` });
      if (!res.headersSent) json(res, 200, { errcode: -1, errmsg: 'system error' });
    }));
  fake.baseUrl = http.baseUrl;
  return fake;
}

// ---------------------------------------------------------------------------------------------------
// What WeChat sends to us

export interface WechatAccount {
  token: string;
  appId: string;
  encodingAesKey: string;
}

export interface PushOptions {
  mode: 'plain' | 'compatible' | 'safe';
  timestamp?: string;
  nonce?: string;
  /** The `openid` query parameter WeChat adds (the sender). */
  openid?: string;
  /** Encrypt for this AppID instead of the account's (a push meant for another account). */
  encryptFor?: string;
  /** Replaces the Encrypt value after encryption; the msg_signature is computed over the replacement. */
  replaceEncrypt?: (encrypt: string) => string;
}

const nowSeconds = () => String(Math.floor(Date.now() / 1000));
const newNonce = () => String(randomInt(100_000_000, 999_999_999));

/** A push as WeChat makes it: the query string and the raw XML body. */
export function wechatPush(xml: string, account: WechatAccount, o: PushOptions): { query: Record<string, string>; body: string } {
  const timestamp = o.timestamp ?? nowSeconds();
  const nonce = o.nonce ?? newNonce();
  const openid = o.openid ?? /<FromUserName><!\[CDATA\[([^\]]*)\]\]>/.exec(xml)?.[1] ?? '';
  const query: Record<string, string> = { signature: wechatSignature(account.token, timestamp, nonce), timestamp, nonce, openid };
  if (o.mode === 'plain') return { query, body: xml };
  let encrypt = encryptMessage(parseEncodingAesKey(account.encodingAesKey), xml, o.encryptFor ?? account.appId);
  if (o.replaceEncrypt) encrypt = o.replaceEncrypt(encrypt);
  query.encrypt_type = 'aes';
  query.msg_signature = wechatSignature(account.token, timestamp, nonce, encrypt);
  const toUser = /<ToUserName><!\[CDATA\[([^\]]*)\]\]>/.exec(xml)?.[1] ?? '';
  // Safe mode: only ToUserName and Encrypt. Compatible mode: the plaintext fields too, with Encrypt added.
  const body = o.mode === 'safe'
    ? `<xml>\n  <ToUserName><![CDATA[${toUser}]]></ToUserName>\n  <Encrypt><![CDATA[${encrypt}]]></Encrypt>\n</xml>`
    : xml.replace(/<\/xml>\s*$/, `  <Encrypt><![CDATA[${encrypt}]]></Encrypt>\n</xml>\n`);
  return { query, body };
}

/** The same push as adapter.receive gets it. */
export function wechatPushRequest(xml: string, account: WechatAccount, o: PushOptions, path = '/api/channels/v1/test/webhook'): InboundHttpRequest {
  const { query, body } = wechatPush(xml, account, o);
  return { method: 'POST', url: `${path}?${new URLSearchParams(query)}`, query, headers: { 'content-type': 'text/xml' }, rawBody: Buffer.from(body) };
}

/** WeChat's server URL verification (GET with signature, timestamp, nonce, echostr). */
export function wechatVerification(token: string, echostr: string, o: { timestamp?: string; nonce?: string } = {}): Record<string, string> {
  const timestamp = o.timestamp ?? nowSeconds();
  const nonce = o.nonce ?? newNonce();
  return { signature: wechatSignature(token, timestamp, nonce), echostr, timestamp, nonce };
}
