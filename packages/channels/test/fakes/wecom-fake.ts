/**
 * A local WeCom (企业微信) server for 微信客服, implementing the endpoints Huiliu uses:
 *
 *   GET  /cgi-bin/gettoken?corpid=&corpsecret=        https://developer.work.weixin.qq.com/document/path/91039
 *   POST /cgi-bin/kf/sync_msg?access_token=           https://developer.work.weixin.qq.com/document/path/94670
 *   POST /cgi-bin/kf/send_msg?access_token=           https://developer.work.weixin.qq.com/document/path/94677
 *   POST /cgi-bin/kf/service_state/get|trans          https://developer.work.weixin.qq.com/document/path/94669
 *   POST /cgi-bin/kf/customer/batchget                 获取客户基础信息 (https://developer.work.weixin.qq.com/document/path/96429)
 *   POST /cgi-bin/kf/account/list                      获取客服账号列表
 *   GET  /cgi-bin/media/get?media_id=                  https://developer.work.weixin.qq.com/document/path/90254
 *   POST /cgi-bin/media/upload?type=                   https://developer.work.weixin.qq.com/document/path/90253
 *
 * WeCom answers everything with HTTP 200 and `{errcode, errmsg}`; so does the fake, with errmsg in
 * WeCom's shape ("…, hint: […], more info at …?e=<code>"). Codes from the global error code page
 * (https://developer.work.weixin.qq.com/document/path/90313): 40013 corpid, 40001 secret, 41001 /
 * 40014 / 42001 access_token missing / invalid / expired, 43001 / 43002 wrong method, 47001 bad JSON,
 * 40058 invalid parameter, 60020 IP not trusted, 95000 open_kfid, 95001 5-message limit, 95002 48-hour
 * limit, 95007 invalid msgtoken, 95013 session ended, 95014 not a servicer, 95016 state change not
 * allowed, 95018 send in a session state that does not allow it ("send msg session status invalid"),
 * 40007 media_id, 40004 / 40006 media type / size. The -1 / 40058 answers of `failNext(status)` come
 * with that HTTP status (WeCom's gateway), which the contract suite uses for 5xx / 4xx.
 *
 * Two refusals are documented without a code, and the fake uses 40058 (不合法的参数) for both: a msgid
 * already used in the kf account ("否则接口返回错误") and a cursor sync_msg never issued.
 *
 * Requests that deviate from the documented shape (method, missing or invalid token, fields) are
 * recorded in `rejected`; well-formed ones in `accepted`, including those refused by a platform rule
 * (window, session state) — that is WeCom answering, not the adapter deviating.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InboundHttpRequest } from '../../src/adapter.ts';
import { encryptMessage, parseEncodingAesKey, wechatSignature } from '../../src/wechat/crypto.ts';
import { buildWechatXml } from '../../src/wechat/xml.ts';
import type { FakePlatform } from '../contract.ts';
import { startFakeServer } from './fake-server.ts';

export interface WecomFakeOptions {
  corpId: string;
  secret: string;
  /** kf accounts the app manages (open_kfid → name). */
  accounts: Record<string, string>;
  /** WeCom userids that are 接待人员 (servicers, receiving). */
  servicers?: string[];
  /** The callback Token and EncodingAESKey, for building callbacks. */
  callbackToken: string;
  encodingAesKey: string;
  /** Items per sync_msg page at most (WeCom may return fewer than `limit`); default 1000. */
  pageSize?: number;
}

export interface WecomSent {
  touser: string;
  openKfId: string;
  msgid: string;
  msgtype: string;
  body: Record<string, unknown>;
}

export interface WecomTransition {
  openKfId: string;
  externalUserId: string;
  from: number;
  to: number;
  servicer: string | null;
}

export interface WecomFake extends FakePlatform {
  sent: WecomSent[];
  transitions: WecomTransition[];
  uploads: Map<string, { bytes: Buffer; type: string; fileName: string; contentType: string }>;
  /** gettoken calls that issued a token. */
  tokensIssued: number;
  /** sync_msg calls, with whether they carried the callback token. */
  syncCalls: Array<{ openKfId: string; cursor: string | null; token: boolean }>;
  mediaDownloads: string[];
  /** While set, every call is refused with 60020 (this server's IP is not a trusted IP of the app). */
  denyIp: boolean;
  /** The fake's clock (tokens, windows): real time plus what `advance` added. */
  now(): Date;
  advance(ms: number): void;
  /** Marks every issued access token as expired (42001 on next use) or revoked (40014). */
  expireAccessTokens(): void;
  revokeAccessTokens(): void;
  addCustomer(c: { externalUserId: string; nickname?: string; unionid?: string }): void;
  /**
   * Appends items to a kf account's message log (what sync_msg returns). Items of origin 3 are the
   * customer writing: the session opens (4 → 0) and the 48 h / 5-message window restarts.
   */
  pushItems(openKfId: string, items: Array<Record<string, unknown>>): void;
  /** The next sync_msg page returns an empty msg_list with has_more 1 (WeCom may do that). */
  insertEmptyPage(): void;
  /** Media as a customer sent it; returns the media_id. */
  addMedia(bytes: Buffer, contentType: string, fileName: string): string;
  sessionState(openKfId: string, externalUserId: string): { state: number; servicer: string | null };
  setSessionState(openKfId: string, externalUserId: string, state: number, servicer?: string | null): void;
  /** A callback Token as WeCom puts into kf_msg_or_event (valid 10 minutes on the fake's clock). */
  issueCallbackToken(openKfId: string): string;
  /** The encrypted kf_msg_or_event callback WeCom POSTs, with a fresh callback Token unless given. */
  callback(o: { openKfId: string; token?: string; timestamp?: number; nonce?: string; receiveId?: string; toUserName?: string; event?: string; path?: string }): InboundHttpRequest & { callbackToken: string };
  /** The GET URL verification WeCom sends when the admin saves the callback URL; `echo` is the plaintext. */
  verification(echo: string, o?: { timestamp?: number; receiveId?: string; path?: string }): InboundHttpRequest;
}

/** Signs and encrypts like WeCom: msg_signature over token, timestamp, nonce and the ciphertext. */
export function encryptedCallback(o: { token: string; encodingAesKey: string; receiveId: string; toUserName: string; xml: string; timestamp: number; nonce: string; agentId?: string; path?: string }): InboundHttpRequest {
  const encrypt = encryptMessage(parseEncodingAesKey(o.encodingAesKey), o.xml, o.receiveId);
  const rawBody = Buffer.from(buildWechatXml({ ToUserName: o.toUserName, Encrypt: encrypt, AgentID: o.agentId ?? '' }));
  const query = { msg_signature: wechatSignature(o.token, String(o.timestamp), o.nonce, encrypt), timestamp: String(o.timestamp), nonce: o.nonce };
  const path = o.path ?? '/api/channels/v1/test/webhook';
  return { method: 'POST', url: `${path}?${new URLSearchParams(query)}`, query, headers: { 'content-type': 'text/xml' }, rawBody };
}

const ERRMSG: Record<number, string> = {
  [-1]: 'system busy',
  40001: 'invalid credential',
  40004: 'invalid media type',
  40006: 'invalid file size',
  40007: 'invalid media_id',
  40013: 'invalid corpid',
  40014: 'invalid access_token',
  40058: 'invalid Request Parameter',
  41001: 'access_token missing',
  42001: 'access_token expired',
  43001: 'require GET method',
  43002: 'require POST method',
  47001: 'data format error',
  60020: 'not allow to access from your ip',
  95000: 'invalid open_kfid',
  95001: 'send msg count limit',
  95002: 'send msg time limit',
  95007: 'invalid msg token',
  95013: 'session already closed',
  95014: 'user is not servicer',
  95016: 'invalid service state transition',
  95018: 'send msg session status invalid',
};

const MEDIA_TYPES: Record<string, { limit: number; ext: RegExp }> = {
  image: { limit: 10 * 1024 * 1024, ext: /\.(jpe?g|png)$/i },
  voice: { limit: 2 * 1024 * 1024, ext: /\.amr$/i },
  video: { limit: 10 * 1024 * 1024, ext: /\.mp4$/i },
  file: { limit: 20 * 1024 * 1024, ext: /./ },
};
const SEND_TYPES = new Set(['text', 'image', 'voice', 'video', 'file', 'link', 'miniprogram', 'msgmenu', 'location']);
const MSGID = /^[0-9A-Za-z_-]{1,32}$/;
/**
 * Allowed service_state changes. 94669's table: 0 → 1 / 2 / 3, 1 → 2 / 3, 2 → 3, 3 → another servicer or
 * end, 4 → none through the API. Ending from 0, 1 and 2 is not in that table's words; the fake allows it
 * because trans into 4 is how an API-served session is closed (send_msg_on_event, 95122, lists 结束会话
 * codes as coming from the trans API). Refusals answer 95016; from 4, 95013.
 */
const TRANSITIONS: Record<number, number[]> = { 0: [1, 2, 3, 4], 1: [2, 3, 4], 2: [3, 4], 3: [3, 4], 4: [] };

export async function startWecomFake(opts: WecomFakeOptions): Promise<WecomFake> {
  const accepted: FakePlatform['accepted'] = [];
  const rejected: FakePlatform['rejected'] = [];
  const sent: WecomSent[] = [];
  const transitions: WecomTransition[] = [];
  const uploads: WecomFake['uploads'] = new Map();
  const media = new Map<string, { bytes: Buffer; contentType: string; fileName: string }>();
  const accessTokens = new Map<string, { expiresAt: number; revoked: boolean }>();
  const callbackTokens = new Map<string, { openKfId: string; expiresAt: number }>();
  const customers = new Map<string, { nickname?: string; unionid?: string }>();
  const logs = new Map<string, Array<Record<string, unknown>>>(Object.keys(opts.accounts).map((k) => [k, []]));
  const cursors = new Map<string, { openKfId: string; position: number }>();
  const sessions = new Map<string, { state: number; servicer: string | null; lastCustomerAt: number | null; sentSince: number }>();
  const usedMsgIds = new Map<string, Set<string>>();
  const servicers = new Set(opts.servicers ?? []);
  const failures: number[] = [];
  let emptyPages = 0;
  let offsetMs = 0;
  const clock = () => Date.now() + offsetMs;
  const sessionKey = (k: string, u: string) => `${k}\n${u}`;
  const session = (k: string, u: string) => {
    let s = sessions.get(sessionKey(k, u));
    if (!s) {
      s = { state: 4, servicer: null, lastCustomerAt: null, sentSince: 0 };
      sessions.set(sessionKey(k, u), s);
    }
    return s;
  };

  const fake: WecomFake = {
    baseUrl: '',
    accepted,
    rejected,
    sent,
    transitions,
    uploads,
    tokensIssued: 0,
    syncCalls: [],
    mediaDownloads: [],
    denyIp: false,
    failNext(status) { failures.push(status); },
    now: () => new Date(clock()),
    advance(ms) { offsetMs += ms; },
    expireAccessTokens() { for (const t of accessTokens.values()) t.expiresAt = 0; },
    revokeAccessTokens() { for (const t of accessTokens.values()) t.revoked = true; },
    addCustomer(c) { customers.set(c.externalUserId, { ...(c.nickname ? { nickname: c.nickname } : {}), ...(c.unionid ? { unionid: c.unionid } : {}) }); },
    pushItems(openKfId, items) {
      const log = logs.get(openKfId);
      if (!log) throw new Error(`the fake does not manage kf account ${openKfId}`);
      for (const item of items) {
        log.push(item);
        if (item.origin === 3 && typeof item.external_userid === 'string') {
          const s = session(openKfId, item.external_userid);
          if (s.state === 4) s.state = 0;
          s.lastCustomerAt = clock();
          s.sentSince = 0;
        }
      }
    },
    insertEmptyPage() { emptyPages++; },
    addMedia(bytes, contentType, fileName) {
      const id = `2${randomBytes(21).toString('base64url')}`;
      media.set(id, { bytes, contentType, fileName });
      return id;
    },
    sessionState(k, u) {
      const s = session(k, u);
      return { state: s.state, servicer: s.servicer };
    },
    setSessionState(k, u, state, servicer = null) {
      const s = session(k, u);
      s.state = state;
      s.servicer = servicer;
    },
    issueCallbackToken(openKfId) {
      const token = `ENC${randomBytes(33).toString('base64url')}`;
      callbackTokens.set(token, { openKfId, expiresAt: clock() + 10 * 60_000 });
      return token;
    },
    callback(o) {
      const callbackToken = o.token ?? fake.issueCallbackToken(o.openKfId);
      const timestamp = o.timestamp ?? Math.floor(clock() / 1000);
      const xml = buildWechatXml({
        ToUserName: o.toUserName ?? opts.corpId,
        CreateTime: timestamp,
        MsgType: 'event',
        Event: o.event ?? 'kf_msg_or_event',
        Token: callbackToken,
        OpenKfId: o.openKfId,
      });
      const req = encryptedCallback({
        token: opts.callbackToken, encodingAesKey: opts.encodingAesKey, receiveId: o.receiveId ?? opts.corpId, toUserName: o.toUserName ?? opts.corpId,
        xml, timestamp, nonce: o.nonce ?? randomBytes(5).toString('hex'), ...(o.path ? { path: o.path } : {}),
      });
      return { ...req, callbackToken };
    },
    verification(echo, o = {}) {
      const timestamp = String(o.timestamp ?? Math.floor(clock() / 1000));
      const nonce = randomBytes(5).toString('hex');
      const echostr = encryptMessage(parseEncodingAesKey(opts.encodingAesKey), echo, o.receiveId ?? opts.corpId);
      const query = { msg_signature: wechatSignature(opts.callbackToken, timestamp, nonce, echostr), timestamp, nonce, echostr };
      return { method: 'GET', url: `${o.path ?? '/api/channels/v1/test/webhook'}?${new URLSearchParams(query)}`, query, headers: {}, rawBody: Buffer.alloc(0) };
    },
    close: () => http.close(),
  };

  const reply = (res: ServerResponse, body: unknown, status = 200) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
    res.end(JSON.stringify(body));
  };
  const wecomError = (errcode: number, extra = '') => ({
    errcode,
    errmsg: `${ERRMSG[errcode] ?? 'error'}${extra ? `: ${extra}` : ''}, hint: [${Math.floor(clock() / 1000)}_${randomBytes(8).toString('hex')}], from ip: 127.0.0.1, more info at https://open.work.weixin.qq.com/devtool/query?e=${errcode}`,
  });
  /** A deviating request: recorded, answered with WeCom's error. */
  const refuse = (req: IncomingMessage, res: ServerResponse, path: string, errcode: number, reason: string) => {
    rejected.push({ method: req.method ?? '?', path, reason });
    reply(res, wecomError(errcode, reason));
  };
  /** A well-formed request WeCom refuses by its rules. */
  const deny = (res: ServerResponse, errcode: number, extra = '') => reply(res, wecomError(errcode, extra));

  function checkToken(req: IncomingMessage, res: ServerResponse, path: string, url: URL): boolean {
    const token = url.searchParams.get('access_token');
    if (!token) {
      refuse(req, res, path, 41001, 'no access_token in the query string');
      return false;
    }
    const t = accessTokens.get(token);
    if (!t || t.revoked) {
      // The adapter may legitimately hold a token the fake revoked: WeCom's answer, not a deviation.
      if (t?.revoked) deny(res, 40014);
      else refuse(req, res, path, 40014, 'unknown access_token');
      return false;
    }
    if (t.expiresAt <= clock()) {
      deny(res, 42001);
      return false;
    }
    return true;
  }

  function jsonBody(req: IncomingMessage, res: ServerResponse, path: string, raw: Buffer): Record<string, unknown> | null {
    if (req.method !== 'POST') {
      refuse(req, res, path, 43002, `${req.method} instead of POST`);
      return null;
    }
    try {
      const body = JSON.parse(raw.toString('utf8')) as unknown;
      if (body && typeof body === 'object' && !Array.isArray(body)) return body as Record<string, unknown>;
    } catch { /* answered below */ }
    refuse(req, res, path, 47001, 'the body is not a JSON object');
    return null;
  }

  /** Fields outside `allowed` or missing from `required`: a deviation from the documented request. */
  function checkFields(req: IncomingMessage, res: ServerResponse, path: string, body: Record<string, unknown>, required: string[], allowed: string[]): boolean {
    const extra = Object.keys(body).filter((k) => !allowed.includes(k) && !required.includes(k));
    const missing = required.filter((k) => body[k] === undefined || body[k] === null || body[k] === '');
    if (extra.length || missing.length) {
      refuse(req, res, path, 40058, [missing.length ? `missing ${missing.join(', ')}` : '', extra.length ? `unexpected ${extra.join(', ')}` : ''].filter(Boolean).join('; '));
      return false;
    }
    return true;
  }

  async function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;
    if (fake.denyIp) return deny(res, 60020);

    if (path === '/cgi-bin/gettoken') {
      if (req.method !== 'GET') return refuse(req, res, path, 43001, `${req.method} instead of GET`);
      const corpid = url.searchParams.get('corpid');
      const secret = url.searchParams.get('corpsecret');
      if (!corpid || !secret) return refuse(req, res, path, 40058, 'corpid and corpsecret are required');
      if (corpid !== opts.corpId) return deny(res, 40013);
      if (secret !== opts.secret) return deny(res, 40001);
      const token = randomBytes(48).toString('base64url');
      accessTokens.set(token, { expiresAt: clock() + 7200_000, revoked: false });
      fake.tokensIssued++;
      accepted.push({ method: 'GET', path, body: { corpid } });
      return reply(res, { errcode: 0, errmsg: 'ok', access_token: token, expires_in: 7200 });
    }

    if (!checkToken(req, res, path, url)) return;

    if (path === '/cgi-bin/media/get') {
      if (req.method !== 'GET') return refuse(req, res, path, 43001, `${req.method} instead of GET`);
      const id = url.searchParams.get('media_id') ?? '';
      const item = media.get(id) ?? (uploads.has(id) ? { bytes: uploads.get(id)!.bytes, contentType: uploads.get(id)!.contentType, fileName: uploads.get(id)!.fileName } : undefined);
      if (!id) return refuse(req, res, path, 40058, 'media_id is required');
      accepted.push({ method: 'GET', path, body: { media_id: id } });
      if (!item) return deny(res, 40007);
      fake.mediaDownloads.push(id);
      res.writeHead(200, {
        'content-type': item.contentType,
        'content-length': String(item.bytes.length),
        // Non-ASCII names as RFC 6266 / 5987 filename*, with an ASCII fallback (raw UTF-8 is not a valid header).
        'content-disposition': /^[\x20-\x7e]*$/.test(item.fileName) && !item.fileName.includes('"')
          ? `attachment; filename="${item.fileName}"`
          : `attachment; filename="${item.fileName.replace(/[^\x20-\x7e]|"/g, '_')}"; filename*=UTF-8''${encodeURIComponent(item.fileName)}`,
      });
      res.end(item.bytes);
      return;
    }

    if (path === '/cgi-bin/media/upload') {
      if (req.method !== 'POST') return refuse(req, res, path, 43002, `${req.method} instead of POST`);
      const type = url.searchParams.get('type') ?? '';
      const rule = MEDIA_TYPES[type];
      if (!rule) return refuse(req, res, path, 40058, `type "${type}" is not image, voice, video or file`);
      const ct = req.headers['content-type'] ?? '';
      if (!ct.startsWith('multipart/form-data')) return refuse(req, res, path, 40058, `upload as ${ct}, not multipart/form-data`);
      const form = await new Request('http://fake/', { method: 'POST', headers: { 'content-type': ct }, body: new Uint8Array(raw) }).formData();
      const file = form.get('media');
      if (!file || typeof file === 'string') return refuse(req, res, path, 40058, 'no file in the multipart field "media"');
      const bytes = Buffer.from(await file.arrayBuffer());
      accepted.push({ method: 'POST', path, body: { type, fileName: file.name, size: bytes.length } });
      if (bytes.length <= 5 || bytes.length > rule.limit) return deny(res, 40006);
      if (!rule.ext.test(file.name)) return deny(res, 40004);
      const id = `3${randomBytes(24).toString('base64url')}`;
      uploads.set(id, { bytes, type, fileName: file.name, contentType: file.type || 'application/octet-stream' });
      return reply(res, { errcode: 0, errmsg: '', type, media_id: id, created_at: String(Math.floor(clock() / 1000)) });
    }

    const body = jsonBody(req, res, path, raw);
    if (!body) return;

    switch (path) {
      case '/cgi-bin/kf/account/list': {
        if (!checkFields(req, res, path, body, [], ['offset', 'limit'])) return;
        accepted.push({ method: 'POST', path, body });
        return reply(res, { errcode: 0, errmsg: 'ok', account_list: Object.entries(opts.accounts).map(([open_kfid, name]) => ({ open_kfid, name, avatar: 'https://wework.qpic.cn/wwhead/fake/0', manage_privilege: true })) });
      }
      case '/cgi-bin/kf/sync_msg': {
        if (!checkFields(req, res, path, body, ['open_kfid'], ['cursor', 'token', 'limit', 'voice_format'])) return;
        const openKfId = String(body.open_kfid);
        const limit = body.limit === undefined ? 1000 : body.limit;
        if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > 1000) return refuse(req, res, path, 40058, 'limit must be 1-1000');
        if (body.voice_format !== undefined && body.voice_format !== 0 && body.voice_format !== 1) return refuse(req, res, path, 40058, 'voice_format must be 0 or 1');
        if (body.cursor !== undefined && (typeof body.cursor !== 'string' || body.cursor.length > 64)) return refuse(req, res, path, 40058, 'cursor must be a string of at most 64 bytes');
        if (body.token !== undefined && (typeof body.token !== 'string' || body.token.length > 128)) return refuse(req, res, path, 40058, 'token must be a string of at most 128 bytes');
        const log = logs.get(openKfId);
        if (!log) return refuse(req, res, path, 95000, `the app does not manage kf account ${openKfId}`);
        fake.syncCalls.push({ openKfId, cursor: typeof body.cursor === 'string' && body.cursor ? body.cursor : null, token: typeof body.token === 'string' });
        let position = 0;
        if (typeof body.cursor === 'string' && body.cursor) {
          const c = cursors.get(body.cursor);
          if (!c || c.openKfId !== openKfId) return refuse(req, res, path, 40058, 'a cursor sync_msg never returned for this kf account');
          position = c.position;
        }
        accepted.push({ method: 'POST', path, body });
        if (typeof body.token === 'string') {
          const t = callbackTokens.get(body.token);
          if (!t || t.openKfId !== openKfId || t.expiresAt <= clock()) return deny(res, 95007);
        }
        let items: Array<Record<string, unknown>> = [];
        if (emptyPages > 0) emptyPages--;
        else items = log.slice(position, position + Math.min(limit, opts.pageSize ?? 1000));
        const next = position + items.length;
        const cursor = `${randomBytes(12).toString('base64url')}`;
        cursors.set(cursor, { openKfId, position: next });
        return reply(res, { errcode: 0, errmsg: 'ok', next_cursor: cursor, has_more: next < log.length || emptyPages > 0 ? 1 : 0, msg_list: items });
      }
      case '/cgi-bin/kf/send_msg': {
        const type = typeof body.msgtype === 'string' ? body.msgtype : '';
        if (!checkFields(req, res, path, body, ['touser', 'open_kfid', 'msgtype', type || 'msgtype'], ['msgid'])) return;
        if (!SEND_TYPES.has(type)) return refuse(req, res, path, 40058, `msgtype ${type} is not documented`);
        if (body.msgid !== undefined && (typeof body.msgid !== 'string' || !MSGID.test(body.msgid))) return refuse(req, res, path, 40058, 'msgid must be at most 32 of [0-9a-zA-Z_-]');
        const payload = body[type] as Record<string, unknown>;
        if (typeof payload !== 'object' || payload === null) return refuse(req, res, path, 40058, `${type} must be an object`);
        if (type === 'text') {
          if (typeof payload.content !== 'string' || !payload.content) return refuse(req, res, path, 40058, 'text.content is required');
          if (Buffer.byteLength(payload.content, 'utf8') > 2048) return refuse(req, res, path, 40058, 'text.content longer than 2048 bytes');
          if (Object.keys(payload).some((k) => k !== 'content')) return refuse(req, res, path, 40058, 'text takes only content');
        }
        if (['image', 'voice', 'video', 'file'].includes(type)) {
          if (typeof payload.media_id !== 'string' || Object.keys(payload).length !== 1) return refuse(req, res, path, 40058, `${type} takes exactly media_id`);
          const up = uploads.get(payload.media_id);
          if (!up) return refuse(req, res, path, 40007, `${type}.media_id was not uploaded`);
          if (up.type !== type) return refuse(req, res, path, 40058, `${type}.media_id was uploaded as ${up.type}`);
        }
        const openKfId = String(body.open_kfid);
        const touser = String(body.touser);
        if (!logs.has(openKfId)) return refuse(req, res, path, 95000, `the app does not manage kf account ${openKfId}`);
        accepted.push({ method: 'POST', path, body });
        const failure = failures.shift();
        if (failure !== undefined) return reply(res, wecomError(failure >= 500 ? -1 : 40058, 'failure injected by the test'), failure);
        const used = usedMsgIds.get(openKfId) ?? new Set<string>();
        usedMsgIds.set(openKfId, used);
        if (typeof body.msgid === 'string' && used.has(body.msgid)) return deny(res, 40058, `msgid ${body.msgid} was already used in this kf account`);
        const s = session(openKfId, touser);
        if (s.state !== 0 && s.state !== 1) return deny(res, 95018);
        if (s.lastCustomerAt === null || clock() - s.lastCustomerAt >= 48 * 3600_000) return deny(res, 95002);
        if (s.sentSince >= 5) return deny(res, 95001);
        const msgid = typeof body.msgid === 'string' ? body.msgid : randomBytes(16).toString('hex');
        used.add(msgid);
        s.sentSince++;
        sent.push({ touser, openKfId, msgid, msgtype: type, body });
        return reply(res, { errcode: 0, errmsg: 'ok', msgid });
      }
      case '/cgi-bin/kf/service_state/get': {
        if (!checkFields(req, res, path, body, ['open_kfid', 'external_userid'], [])) return;
        if (!logs.has(String(body.open_kfid))) return refuse(req, res, path, 95000, 'unknown open_kfid');
        accepted.push({ method: 'POST', path, body });
        const s = session(String(body.open_kfid), String(body.external_userid));
        return reply(res, { errcode: 0, errmsg: 'ok', service_state: s.state, ...(s.state === 3 && s.servicer ? { servicer_userid: s.servicer } : {}) });
      }
      case '/cgi-bin/kf/service_state/trans': {
        if (!checkFields(req, res, path, body, ['open_kfid', 'external_userid', 'service_state'], ['servicer_userid'])) return;
        const to = body.service_state;
        if (typeof to !== 'number' || !Number.isInteger(to) || to < 0 || to > 4) return refuse(req, res, path, 40058, 'service_state must be 0-4');
        if (to === 3 && typeof body.servicer_userid !== 'string') return refuse(req, res, path, 40058, 'servicer_userid is required for state 3');
        if (to !== 3 && body.servicer_userid !== undefined) return refuse(req, res, path, 40058, 'servicer_userid only goes with state 3');
        const openKfId = String(body.open_kfid);
        const user = String(body.external_userid);
        if (!logs.has(openKfId)) return refuse(req, res, path, 95000, 'unknown open_kfid');
        accepted.push({ method: 'POST', path, body });
        const s = session(openKfId, user);
        if (s.state === 4) return deny(res, 95013);
        const servicer = to === 3 ? String(body.servicer_userid) : null;
        if (!TRANSITIONS[s.state]!.includes(to) || (to === 3 && s.state === 3 && s.servicer === servicer)) return deny(res, 95016, `${s.state} → ${to}`);
        if (servicer !== null && !servicers.has(servicer)) return deny(res, 95014);
        const from = s.state;
        transitions.push({ openKfId, externalUserId: user, from, to, servicer });
        s.state = to;
        s.servicer = servicer;
        // msg_code: for the event response message of the new state (send_msg_on_event, 95122).
        const msgCode = to === 2 || to === 4 || (to === 3 && from !== 3) ? { msg_code: randomBytes(12).toString('base64url') } : {};
        return reply(res, { errcode: 0, errmsg: 'ok', ...msgCode });
      }
      case '/cgi-bin/kf/customer/batchget': {
        if (!checkFields(req, res, path, body, ['external_userid_list'], ['need_enter_session_context'])) return;
        const list = body.external_userid_list;
        if (!Array.isArray(list) || list.length < 1 || list.length > 100 || list.some((x) => typeof x !== 'string')) return refuse(req, res, path, 40058, 'external_userid_list must hold 1-100 strings');
        accepted.push({ method: 'POST', path, body });
        const known = (list as string[]).filter((id) => customers.has(id));
        return reply(res, {
          errcode: 0,
          errmsg: 'ok',
          customer_list: known.map((id) => ({ external_userid: id, nickname: customers.get(id)!.nickname ?? '', avatar: 'http://wx.qlogo.cn/fake/0', gender: 0, ...(customers.get(id)!.unionid ? { unionid: customers.get(id)!.unionid } : {}) })),
          invalid_external_userid: (list as string[]).filter((id) => !customers.has(id)),
        });
      }
      default:
        return refuse(req, res, path, 40058, 'not an endpoint the fake implements');
    }
  }

  const http = await startFakeServer((req, res, raw) =>
    handle(req, res, raw).catch((err: unknown) => {
      rejected.push({ method: req.method ?? '?', path: new URL(req.url ?? '/', 'http://fake').pathname, reason: `fake crashed: ${String(err)}` });
      reply(res, { errcode: -1, errmsg: 'system busy' });
    }));
  fake.baseUrl = http.baseUrl;
  return fake;
}
