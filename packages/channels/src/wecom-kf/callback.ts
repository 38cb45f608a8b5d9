/**
 * The app's callback URL (接收事件服务器), https://developer.work.weixin.qq.com/document/path/90930 and
 * the crypto of https://developer.work.weixin.qq.com/document/path/90968 (receive id = CorpID):
 *
 * - GET  ?msg_signature=&timestamp=&nonce=&echostr= — URL verification when the admin saves the URL.
 *   echostr is ENCRYPTED: msg_signature = SHA1(sorted token, timestamp, nonce, echostr); we answer the
 *   decrypted plaintext.
 * - POST ?msg_signature=&timestamp=&nonce= with `<xml><ToUserName/><Encrypt/><AgentID/></xml>`:
 *   msg_signature = SHA1(sorted token, timestamp, nonce, Encrypt), compared in constant time; the
 *   timestamp must be within the configured window; ToUserName and the receive id inside the plaintext
 *   must be our CorpID.
 *
 * 微信客服 callbacks carry no content (https://developer.work.weixin.qq.com/document/path/94670): the
 * decrypted `kf_msg_or_event` event names the kf account (OpenKfId) and a Token valid for 10 minutes
 * that lets sync_msg fetch the messages at a higher rate. We answer `success` and hand core a pull.
 */
import type { InboundHttpRequest, InboundResult } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';
import { assertFreshTimestamp, decryptMessage, parseEncodingAesKey, signatureMatches, wechatSignature, type WechatCryptoKey } from '../wechat/crypto.ts';
import { parseWechatXml, xmlText } from '../wechat/xml.ts';
import type { Ctx } from './api.ts';
import { handlesKfAccount } from './config.ts';

function callbackSecrets(ctx: Ctx): { token: string; key: WechatCryptoKey } {
  const token = ctx.secrets.token;
  const aesKey = ctx.secrets.encodingAesKey;
  if (!token || !aesKey) {
    throw new ChannelError('not_configured', 'the callback Token and EncodingAESKey are not set: copy both from the app\'s 接收事件服务器 settings into the inbox secrets "token" and "encodingAesKey"', { retryable: false });
  }
  return { token, key: parseEncodingAesKey(aesKey) };
}

function requireQuery(req: InboundHttpRequest, names: string[]): Record<string, string> {
  const missing = names.filter((n) => !req.query[n]);
  if (missing.length > 0) {
    throw new ChannelError('malformed', `WeCom callback without ${missing.map((n) => `"${n}"`).join(', ')} in the query string`, { retryable: false });
  }
  return Object.fromEntries(names.map((n) => [n, req.query[n]!]));
}

function verifySignature(token: string, q: Record<string, string>, payload: string): void {
  if (!signatureMatches(q.msg_signature, wechatSignature(token, q.timestamp!, q.nonce!, payload))) {
    throw new ChannelError('signature_invalid', 'WeCom callback msg_signature does not match: the Token differs from the app\'s 接收事件服务器 Token, or the request was not sent by WeCom', { retryable: false });
  }
}

/** GET: answers the decrypted echostr. */
function verifyUrl(req: InboundHttpRequest, ctx: Ctx): InboundResult {
  const { token, key } = callbackSecrets(ctx);
  const q = requireQuery(req, ['msg_signature', 'timestamp', 'nonce', 'echostr']);
  verifySignature(token, q, q.echostr!);
  assertFreshTimestamp(q.timestamp, ctx.now(), ctx.config.timestampToleranceSeconds);
  const plaintext = decryptMessage(key, q.echostr!, ctx.config.corpId);
  return { response: { status: 200, contentType: 'text/plain', body: plaintext }, events: [] };
}

const ACK: InboundResult['response'] = { status: 200, contentType: 'text/plain', body: 'success' };

export async function receiveCallback(req: InboundHttpRequest, ctx: Ctx): Promise<InboundResult> {
  const method = req.method.toUpperCase();
  if (method === 'GET') return verifyUrl(req, ctx);
  if (method !== 'POST') throw new ChannelError('malformed', `WeCom callbacks are GET (URL verification) or POST (events); got ${req.method}`, { retryable: false });

  const { token, key } = callbackSecrets(ctx);
  const q = requireQuery(req, ['msg_signature', 'timestamp', 'nonce']);
  const envelope = parseWechatXml(req.rawBody);
  const encrypted = xmlText(envelope, 'Encrypt');
  if (!encrypted) throw new ChannelError('malformed', 'WeCom callback body has no <Encrypt> element (the app must use the encrypted callback format)', { retryable: false });
  verifySignature(token, q, encrypted);
  assertFreshTimestamp(q.timestamp, ctx.now(), ctx.config.timestampToleranceSeconds);
  const to = xmlText(envelope, 'ToUserName');
  if (to && to !== ctx.config.corpId) {
    throw new ChannelError('signature_invalid', `WeCom callback is addressed to another organization (ToUserName "${to.slice(0, 40)}", expected the configured CorpID)`, { retryable: false });
  }
  const event = parseWechatXml(decryptMessage(key, encrypted, ctx.config.corpId));

  const msgType = xmlText(event, 'MsgType');
  const name = xmlText(event, 'Event');
  if (msgType !== 'event' || name !== 'kf_msg_or_event') {
    ctx.logger.info({ msgType, event: name }, 'wecom callback ignored: only kf_msg_or_event is handled');
    return { response: ACK, events: [] };
  }
  const openKfId = xmlText(event, 'OpenKfId');
  if (!openKfId) throw new ChannelError('malformed', 'WeCom kf_msg_or_event callback without <OpenKfId>', { retryable: false });
  if (!handlesKfAccount(ctx.config, openKfId)) {
    ctx.logger.info({ openKfId }, 'wecom callback ignored: the kf account is not in this inbox\'s openKfIds');
    return { response: ACK, events: [] };
  }
  // Without the Token sync_msg still works, at a stricter rate (the pull falls back to that anyway).
  const callbackToken = xmlText(event, 'Token');
  return { response: ACK, events: [], pulls: [{ openKfId, token: callbackToken || null }] };
}
