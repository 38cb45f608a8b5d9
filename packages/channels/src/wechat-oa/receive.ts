/**
 * The Official Account's server URL (服务器地址): WeChat's GET verification and its POST pushes.
 *
 * https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Access_Overview.html
 * - GET ?signature&timestamp&nonce&echostr: signature = SHA1 of the sorted Token, timestamp and nonce;
 *   we answer echostr as text/plain. The same in every encryption mode.
 * https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Message_encryption_and_decryption_instructions.html
 * - POST in plain mode (明文模式): the same `signature` in the query, the message XML as the body. That
 *   signature does not cover the body, so plain pushes are accepted only when the inbox is set to plain.
 * - POST in safe (安全模式) and compatible (兼容模式) mode: `encrypt_type=aes` and `msg_signature` =
 *   SHA1 of the sorted Token, timestamp, nonce and the body's <Encrypt>; the plaintext inside names the
 *   AppID it was encrypted for. Compatible-mode bodies carry the plaintext fields too: only the
 *   encrypted copy, which is signed, is read.
 *
 * WeChat waits 5 s for the answer and retries 3 times, then tells the follower "该公众号暂时无法提供服务".
 * So receive does only local work — verification, decryption, parsing — and returns the decrypted push
 * as a pull (pull.ts): core stores it as a durable job and answers at once, "success" or the passive
 * welcome reply to a subscribe event (encrypted when the push was); the UnionID lookup and the media
 * download happen in the job. A refused push is still answered 401 / 409 / 400 right here. Retries WeChat
 * makes anyway are recognized by their dedupe key (parse.ts) and stored once.
 */
import { randomInt } from 'node:crypto';
import type { ChannelContext, InboundHttpRequest, InboundResult, OutboundHttpResponse } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';
import { assertFreshTimestamp, decryptMessage, encryptMessage, parseEncodingAesKey, signatureMatches, wechatSignature } from '../wechat/crypto.ts';
import { buildWechatXml, parseWechatXml, xmlText, type XmlRecord } from '../wechat/xml.ts';
import { TOKEN_PATTERN, type WechatOaConfig } from './config.ts';
import { pushBasics } from './parse.ts';
import { pushToPull } from './pull.ts';

const SUCCESS: OutboundHttpResponse = { status: 200, contentType: 'text/plain', body: 'success' };

function serverToken(ctx: ChannelContext<WechatOaConfig>): string {
  const token = ctx.secrets.token;
  if (!token || !TOKEN_PATTERN.test(token)) {
    throw new ChannelError('not_configured', 'WeChat server Token is not set or not 3-32 letters and digits: enter the Token of 设置与开发 → 基本配置 → 服务器配置 as the inbox secret "token"', { retryable: false });
  }
  return token;
}

function aesKey(ctx: ChannelContext<WechatOaConfig>) {
  const key = ctx.secrets.encodingAesKey;
  if (!key) {
    throw new ChannelError('not_configured', 'WeChat EncodingAESKey is not set: enter the EncodingAESKey of 服务器配置 as the inbox secret "encodingAesKey"', { retryable: false });
  }
  return parseEncodingAesKey(key);
}

function requireQuery(req: InboundHttpRequest, names: string[]): Record<string, string> {
  const missing = names.filter((n) => !req.query[n]);
  if (missing.length) {
    throw new ChannelError('malformed', `the WeChat request lacks the query parameter${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`, { retryable: false });
  }
  return req.query;
}

/** GET: WeChat checks the server URL when the admin saves 服务器配置. */
function verifyServerUrl(req: InboundHttpRequest, ctx: ChannelContext<WechatOaConfig>, token: string): InboundResult {
  const q = requireQuery(req, ['signature', 'timestamp', 'nonce', 'echostr']);
  if (!signatureMatches(q.signature, wechatSignature(token, q.timestamp!, q.nonce!))) {
    throw new ChannelError('signature_invalid', 'WeChat server URL verification refused: the signature does not match the Token (the Token in the WeChat console and in the inbox differ)', { retryable: false });
  }
  assertFreshTimestamp(q.timestamp, ctx.now(), ctx.config.timestampToleranceSeconds);
  // WeChat's echostr is a number; anything else is not echoed back.
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(q.echostr!)) throw new ChannelError('malformed', 'the WeChat echostr is not a short token of letters and digits', { retryable: false });
  return { response: { status: 200, contentType: 'text/plain', body: q.echostr! }, events: [] };
}

interface OpenedPush {
  doc: XmlRecord;
  encrypted: boolean;
}

/** Verifies and, in safe / compatible mode, decrypts one push. */
export function openPush(req: InboundHttpRequest, ctx: ChannelContext<WechatOaConfig>, token: string): OpenedPush {
  const q = requireQuery(req, ['timestamp', 'nonce']);
  const window = ctx.config.timestampToleranceSeconds;
  const encryptType = q.encrypt_type;
  if (encryptType === 'aes') {
    const outer = parseWechatXml(req.rawBody);
    const encrypt = xmlText(outer, 'Encrypt');
    if (!encrypt) throw new ChannelError('malformed', 'the WeChat push says encrypt_type=aes but its body has no <Encrypt>', { retryable: false });
    if (!signatureMatches(q.msg_signature, wechatSignature(token, q.timestamp!, q.nonce!, encrypt))) {
      throw new ChannelError('signature_invalid', q.msg_signature ? 'the WeChat push\'s msg_signature does not match the Token and the encrypted message' : 'the encrypted WeChat push has no msg_signature', { retryable: false });
    }
    assertFreshTimestamp(q.timestamp, ctx.now(), window);
    const inner = decryptMessage(aesKey(ctx), encrypt, ctx.config.appId);
    return { doc: parseWechatXml(inner), encrypted: true };
  }
  if (encryptType !== undefined && encryptType !== 'raw') {
    throw new ChannelError('malformed', `the WeChat push has an unknown encrypt_type "${encryptType.slice(0, 20)}"`, { retryable: false });
  }
  if (ctx.config.encryptionMode !== 'plain') {
    // In plain mode the signature covers only token, timestamp and nonce: with one captured signature
    // anyone could post any body. An inbox set to safe/compatible never takes that risk.
    throw new ChannelError('signature_invalid', `an unencrypted WeChat push was refused: the inbox expects ${ctx.config.encryptionMode} mode (set encryptionMode to match 消息加解密方式 in the WeChat console)`, { retryable: false });
  }
  if (!signatureMatches(q.signature, wechatSignature(token, q.timestamp!, q.nonce!))) {
    throw new ChannelError('signature_invalid', q.signature ? 'the WeChat push\'s signature does not match the Token' : 'the WeChat push has no signature', { retryable: false });
  }
  assertFreshTimestamp(q.timestamp, ctx.now(), window);
  return { doc: parseWechatXml(req.rawBody), encrypted: false };
}

/**
 * The passive text reply to a subscribe event
 * (https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Passive_user_reply_message.html),
 * encrypted like the push (Encrypt, MsgSignature, TimeStamp, Nonce).
 */
export function welcomeReply(doc: XmlRecord, ctx: ChannelContext<WechatOaConfig>, token: string, encrypted: boolean): OutboundHttpResponse | null {
  const text = ctx.config.welcomeMessage?.trim();
  if (!text || xmlText(doc, 'MsgType') !== 'event' || xmlText(doc, 'Event') !== 'subscribe') return null;
  const now = Math.floor(ctx.now().getTime() / 1000);
  const reply = buildWechatXml({ ToUserName: xmlText(doc, 'FromUserName'), FromUserName: xmlText(doc, 'ToUserName'), CreateTime: now, MsgType: 'text', Content: text });
  if (!encrypted) return { status: 200, contentType: 'application/xml', body: reply };
  const encrypt = encryptMessage(aesKey(ctx), reply, ctx.config.appId);
  const nonce = String(randomInt(1_000_000_000, 9_999_999_999));
  const body = buildWechatXml({ Encrypt: encrypt, MsgSignature: wechatSignature(token, String(now), nonce, encrypt), TimeStamp: now, Nonce: nonce });
  return { status: 200, contentType: 'application/xml', body };
}

export async function receiveWechatOa(req: InboundHttpRequest, ctx: ChannelContext<WechatOaConfig>): Promise<InboundResult> {
  const method = req.method.toUpperCase();
  const token = serverToken(ctx);
  if (method === 'GET') return verifyServerUrl(req, ctx, token);
  if (method !== 'POST') throw new ChannelError('malformed', `WeChat calls the server URL with GET (verification) or POST (pushes); got ${req.method}`, { retryable: false });
  const { doc, encrypted } = openPush(req, ctx, token);
  pushBasics(doc);
  return { response: welcomeReply(doc, ctx, token, encrypted) ?? SUCCESS, events: [], pulls: [pushToPull(doc)] };
}
