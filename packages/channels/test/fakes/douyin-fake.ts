/**
 * A local Douyin OpenAPI implementing what Huiliu calls:
 *
 *   POST /oauth/client_token/   JSON {client_key, client_secret, grant_type: client_credential}
 *        https://developer.open-douyin.com/docs/resource/zh-CN/dop/develop/openapi/account-permission/client-token
 *   POST /oauth/refresh_token/  form client_key, grant_type=refresh_token, refresh_token
 *        https://developer.open-douyin.com/docs/resource/zh-CN/dop/develop/openapi/account-permission/refresh-access-token
 *   POST /im/send/msg/?open_id= header access-token, JSON {msg_id, conversation_id, to_user_id, content, scene}
 *        https://developer.open-douyin.com/docs/resource/zh-CN/dop/develop/openapi/interaction-management/private-message/send-msg
 *
 * Tokens expire (expireTokens() ends them all at once); the send API takes only the user access_token of
 * the account named by open_id (im.direct_message needs the account's authorization), and only answers
 * a message it delivered (registerMessage) within 24 hours of it, to the user who wrote it. Errors use
 * Douyin's body ({data: {error_code, description}, extra: {…}}) and status codes
 * (https://developer.open-douyin.com/docs/resource/zh-cn/dop/develop/openapi/status-code). Every
 * refusal is recorded in `rejected` with the reason.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FakePlatform } from '../contract.ts';
import { douyinSignature } from '../../src/douyin/signature.ts';
import { jsonWebhookRequest, startFakeServer } from './fake-server.ts';

export interface DouyinFakeOptions {
  clientKey: string;
  clientSecret: string;
  accountOpenId: string;
  refreshToken: string;
  sendPath?: string;
  now?: () => Date;
  /** Lifetimes of issued tokens (documented: access_token 15 days, client_token 2 hours). */
  accessTokenSeconds?: number;
  clientTokenSeconds?: number;
}

export interface DouyinSent {
  openId: string;
  body: Record<string, unknown>;
  msgId: string;
}

export interface DouyinFake extends FakePlatform {
  sent: DouyinSent[];
  /** Token requests by endpoint, in order. */
  tokenRequests: Array<'client_token' | 'refresh_token'>;
  /** A customer message the platform delivered: the only messages a reply may answer. */
  registerMessage(m: { conversationShortId: string; serverMessageId: string; openId: string; at?: Date }): void;
  /** Every token issued so far expires now (Douyin answers 28001008 for it). */
  expireTokens(): void;
  failNextWith(status: number, code: number, description: string): void;
}

interface Failure { status: number; code: number; description: string }
interface Token { kind: 'user' | 'client'; openId: string | null; expiresAt: number }

const DAY_MS = 24 * 3600 * 1000;

function defaultFailure(status: number): Failure {
  if (status === 429) return { status, code: 28003018, description: '请求频率过高' };
  if (status >= 500) return { status, code: 28001005, description: '系统繁忙，此时请开发者稍候再试' };
  return { status, code: 28001007, description: '参数不合法' };
}

export async function startDouyinFake(opts: DouyinFakeOptions): Promise<DouyinFake> {
  const now = () => (opts.now ?? (() => new Date()))().getTime();
  const sendPath = opts.sendPath ?? '/im/send/msg/';
  const accepted: FakePlatform['accepted'] = [];
  const rejected: FakePlatform['rejected'] = [];
  const sent: DouyinSent[] = [];
  const tokenRequests: DouyinFake['tokenRequests'] = [];
  const tokens = new Map<string, Token>();
  const messages = new Map<string, { conversationShortId: string; openId: string; at: number }>();
  const failures: Failure[] = [];
  const logid = () => `2026${randomBytes(10).toString('hex').toUpperCase()}`;

  const fake: DouyinFake = {
    baseUrl: '',
    accepted,
    rejected,
    sent,
    tokenRequests,
    registerMessage(m) {
      messages.set(m.serverMessageId, { conversationShortId: m.conversationShortId, openId: m.openId, at: (m.at ?? new Date(now())).getTime() });
    },
    expireTokens() {
      for (const t of tokens.values()) t.expiresAt = 0;
    },
    failNext(status) { failures.push(defaultFailure(status)); },
    failNextWith(status, code, description) { failures.push({ status, code, description }); },
    close: () => http.close(),
  };

  const reply = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const errorBody = (code: number, description: string) => ({
    data: { error_code: code, description },
    extra: { error_code: code, description, sub_error_code: 0, sub_description: '', logid: logid(), now: now() },
  });
  const refuse = (req: IncomingMessage, res: ServerResponse, path: string, f: Failure, reason: string) => {
    rejected.push({ method: req.method ?? '?', path, reason });
    reply(res, f.status, errorBody(f.code, f.description));
  };
  /** OAuth endpoints answer {data: {error_code, description}, message: "error"}. */
  const refuseOauth = (req: IncomingMessage, res: ServerResponse, path: string, code: number, description: string, reason: string) => {
    rejected.push({ method: req.method ?? '?', path, reason });
    reply(res, 200, { data: { error_code: code, description }, message: 'error' });
  };
  const contentType = (req: IncomingMessage) => (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const issue = (kind: Token['kind'], seconds: number, openId: string | null) => {
    const token = `${kind === 'user' ? 'act' : 'clt'}.${randomBytes(24).toString('hex')}`;
    tokens.set(token, { kind, openId, expiresAt: now() + seconds * 1000 });
    return token;
  };

  async function handle(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;

    if (path === '/oauth/client_token/') {
      tokenRequests.push('client_token');
      if (req.method !== 'POST') return refuseOauth(req, res, path, 28001007, '参数不合法', `client_token with ${req.method}`);
      if (contentType(req) !== 'application/json') return refuseOauth(req, res, path, 28001007, '参数不合法', `client_token as ${contentType(req)}`);
      let b: Record<string, unknown>;
      try {
        b = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      } catch {
        return refuseOauth(req, res, path, 28001007, '参数不合法', 'client_token body is not JSON');
      }
      if (b.grant_type !== 'client_credential') return refuseOauth(req, res, path, 28001007, '参数不合法', 'grant_type must be client_credential');
      if (b.client_key !== opts.clientKey || b.client_secret !== opts.clientSecret) return refuseOauth(req, res, path, 10013, 'client_key 或 client_secret 错误', 'wrong client_key / client_secret');
      const seconds = opts.clientTokenSeconds ?? 7200;
      accepted.push({ method: 'POST', path, body: { client_key: b.client_key, grant_type: b.grant_type } });
      return reply(res, 200, { data: { access_token: issue('client', seconds, null), description: '', error_code: 0, expires_in: seconds }, message: 'success' });
    }

    if (path === '/oauth/refresh_token/') {
      tokenRequests.push('refresh_token');
      if (req.method !== 'POST') return refuseOauth(req, res, path, 28001007, '参数不合法', `refresh_token with ${req.method}`);
      if (contentType(req) !== 'application/x-www-form-urlencoded') return refuseOauth(req, res, path, 28001007, '参数不合法', `refresh_token as ${contentType(req)} (documented: application/x-www-form-urlencoded)`);
      const form = new URLSearchParams(raw.toString('utf8'));
      if (form.get('grant_type') !== 'refresh_token') return refuseOauth(req, res, path, 28001007, '参数不合法', 'grant_type must be refresh_token');
      if (form.get('client_key') !== opts.clientKey) return refuseOauth(req, res, path, 10013, 'client_key 错误', 'wrong client_key');
      if (form.get('refresh_token') !== opts.refreshToken) return refuseOauth(req, res, path, 10010, 'refresh_token 过期', 'unknown or expired refresh_token');
      const seconds = opts.accessTokenSeconds ?? 15 * 24 * 3600;
      accepted.push({ method: 'POST', path, body: { client_key: form.get('client_key'), grant_type: form.get('grant_type') } });
      return reply(res, 200, {
        data: {
          access_token: issue('user', seconds, opts.accountOpenId), description: '', error_code: 0, expires_in: String(seconds),
          open_id: opts.accountOpenId, refresh_expires_in: String(30 * 24 * 3600), refresh_token: opts.refreshToken, scope: 'im.direct_message,user_info',
        },
        message: 'success',
      });
    }

    if (path !== sendPath) return refuse(req, res, path, { status: 404, code: 28001017, description: '未知URI' }, 'not an endpoint the fake implements');
    if (req.method !== 'POST') return refuse(req, res, path, { status: 405, code: 28001007, description: '参数不合法' }, `send with ${req.method}`);
    const invalid = (reason: string, description = '参数不合法') => refuse(req, res, path, { status: 200, code: 28001007, description }, reason);

    const tokenValue = req.headers['access-token'];
    const token = typeof tokenValue === 'string' ? tokens.get(tokenValue) : undefined;
    if (!token) return refuse(req, res, path, { status: 200, code: 28001003, description: 'access_token无效' }, tokenValue ? 'unknown access-token' : 'no access-token header');
    if (token.expiresAt <= now()) return refuse(req, res, path, { status: 200, code: 28001008, description: 'access_token过期,请刷新或重新授权' }, 'expired access-token');
    if (token.kind !== 'user') return refuse(req, res, path, { status: 200, code: 28001012, description: '用户未授权该OpenAPI' }, 'client_token used where the account\'s access_token is needed');
    const openId = url.searchParams.get('open_id');
    if (!openId) return invalid('no open_id query parameter');
    if (openId !== token.openId) return refuse(req, res, path, { status: 200, code: 28001015, description: '请求参数 access_token 和 openId不匹配' }, 'open_id is not the account the token belongs to');
    if (contentType(req) !== 'application/json') return invalid(`send as ${contentType(req)}`);
    let b: Record<string, unknown>;
    try {
      b = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      return invalid('send body is not JSON');
    }
    const extra = Object.keys(b).filter((k) => !['msg_id', 'conversation_id', 'to_user_id', 'content', 'scene', 'content_list'].includes(k));
    if (extra.length) return invalid(`unexpected fields ${extra.join(', ')}`);
    if (b.scene !== undefined && b.scene !== 'im_replay_msg') return invalid(`scene ${String(b.scene)}: the fake implements only im_replay_msg (scene 1)`);
    for (const field of ['msg_id', 'conversation_id', 'to_user_id'] as const) {
      if (typeof b[field] !== 'string' || b[field] === '') return invalid(`${field} is required (string) for scene im_replay_msg`);
    }
    const content = b.content as Record<string, unknown> | undefined;
    if (typeof content !== 'object' || content === null) return invalid('content is required');
    if (content.msg_type !== 1) return invalid(`content.msg_type ${String(content.msg_type)}: the fake implements text (1) only`);
    const keys = Object.keys(content).filter((k) => k !== 'msg_type' && k !== 'text');
    if (keys.length) return invalid(`content has unexpected fields ${keys.join(', ')}`);
    const text = (content.text as Record<string, unknown> | undefined)?.text;
    if (typeof text !== 'string' || text.trim() === '') return invalid('content.text.text is required');
    const original = messages.get(b.msg_id as string);
    if (!original) return invalid('msg_id is not a message the platform delivered', 'msg_id 不存在');
    if (original.conversationShortId !== b.conversation_id) return invalid('conversation_id is not the conversation of msg_id', 'conversation_id 与 msg_id 不匹配');
    if (original.openId !== b.to_user_id) return invalid('to_user_id is not the user who sent msg_id', 'to_user_id 与 msg_id 不匹配');
    if (now() - original.at > DAY_MS) return invalid('msg_id is older than 24 hours', 'msg_id 已过期');

    accepted.push({ method: 'POST', path, body: b });
    const failure = failures.shift();
    if (failure) return reply(res, failure.status, errorBody(failure.code, failure.description));
    const msgId = `@${randomBytes(30).toString('base64')}`;
    sent.push({ openId, body: b, msgId });
    return reply(res, 200, {
      data: { msg_id: msgId, error_code: 0, description: '' },
      extra: { error_code: 0, description: '', sub_error_code: 0, sub_description: '', logid: logid(), now: now() },
    });
  }

  const http = await startFakeServer((req, res, raw) =>
    handle(req, res, raw).catch((err: unknown) => {
      refuse(req, res, req.url ?? '', { status: 500, code: -1, description: '系统错误' }, `fake crashed: ${String(err)}`);
    }));
  fake.baseUrl = http.baseUrl;
  return fake;
}

/** A webhook POST as Douyin sends it: the body byte for byte, X-Douyin-Signature and Msg-Id headers. */
export function douyinWebhookRequest(body: string, clientSecret: string | null, msgId = `${randomBytes(16).toString('hex')}`, path?: string) {
  const headers: Record<string, string> = { 'msg-id': msgId };
  if (clientSecret !== null) headers['x-douyin-signature'] = douyinSignature(clientSecret, body);
  return jsonWebhookRequest(Buffer.from(body), headers, path);
}

/** A fixture with its create_time set to `at` (string replacement: every other byte stays). */
export function withCreateTime(body: string, at: Date): string {
  return body.replace(/("|\\")create_time\1\s*:\s*\d+/g, (m) => m.replace(/\d+$/, String(at.getTime())));
}
