/**
 * Weibo (微博) private messages of a verified account through the fans service platform (粉丝服务平台).
 *
 * Inbound: GET URL check (signature/timestamp/nonce/echostr → echostr) and JSON POST pushes signed the
 * same way in the query string (signature.ts), parsed by parse-push.ts. Pushes are answered with an empty
 * body: the documented "no passive reply" answer, after which Weibo does not retry.
 * Outbound: send.ts. Media: a voice or image message names its file by tovfid, fetched here.
 */
import type { ChannelAdapter, ChannelCapabilities, ChannelContext, InboundHttpRequest, InboundResult, MediaRef } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';
import { accessToken, failureOf, jsonOf, weiboError, weiboExchange } from './api.ts';
import { MAX_MEDIA_BYTES, MAX_TEXT, MAX_WEBHOOK_BYTES, urlOf, WEIBO_SECRETS, weiboConfigSchema, type WeiboConfig } from './config.ts';
import { parseWeiboPush } from './parse-push.ts';
import { sendWeibo } from './send.ts';
import { assertFreshWeiboTimestamp, verifyWeiboSignature } from './signature.ts';

export { weiboConfigSchema, type WeiboConfig } from './config.ts';

function capabilities(config: WeiboConfig): ChannelCapabilities {
  return {
    contentTypes: ['text'],
    maxTextLength: MAX_TEXT,
    // Nothing is uploaded (text only); the value only has to be a sane positive number.
    maxMediaBytes: MAX_MEDIA_BYTES,
    typing: false,
    readReceipts: false,
    deliveryReports: false,
    templates: false,
    sendWindow: { hours: config.replyWindowHours, outside: 'blocked' },
  };
}

function appSecret(ctx: ChannelContext<WeiboConfig>): string {
  const secret = ctx.secrets.appSecret;
  if (!secret) throw new ChannelError('not_configured', 'Weibo secret "appSecret" is not set: copy the App Secret of the fans-service app from open.weibo.com (我的应用 → 应用信息)', { retryable: false });
  return secret;
}

async function receive(req: InboundHttpRequest, ctx: ChannelContext<WeiboConfig>): Promise<InboundResult> {
  const method = req.method.toUpperCase();
  if (method !== 'GET' && method !== 'POST') {
    throw new ChannelError('malformed', `Weibo calls the URL with GET (the URL check) or POST (pushes); got ${req.method}`, { retryable: false });
  }
  if (req.rawBody.length > MAX_WEBHOOK_BYTES) {
    throw new ChannelError('malformed', `Weibo push body is ${req.rawBody.length} bytes; Weibo's pushes are a few KB and this inbox accepts at most ${MAX_WEBHOOK_BYTES}`, { retryable: false });
  }
  const q = req.query;
  verifyWeiboSignature(q, appSecret(ctx));
  assertFreshWeiboTimestamp(q.timestamp!, ctx.now(), ctx.config.timestampToleranceSeconds);
  if (method === 'GET') {
    const echostr = q.echostr;
    if (!echostr) throw new ChannelError('malformed', 'Weibo URL check without echostr', { retryable: false });
    return { response: { status: 200, contentType: 'text/plain', body: echostr }, events: [] };
  }
  const events = parseWeiboPush(req.rawBody, ctx.config.accountUid, ctx.logger);
  return { response: { status: 200, contentType: 'text/plain', body: '' }, events };
}

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg', 'image/png': 'png', 'image/gif': 'gif', 'image/webp': 'webp',
  'audio/amr': 'amr', 'audio/mpeg': 'mp3', 'audio/mp4': 'm4a', 'audio/aac': 'aac', 'audio/x-m4a': 'm4a',
};

/** GET {mediaBaseUrl}{mediaPath}?access_token=…&fid=<tovfid>: the file, or Weibo's error JSON. */
async function fetchMedia(media: MediaRef, ctx: ChannelContext<WeiboConfig>): Promise<{ bytes: Buffer; contentType: string; fileName: string }> {
  const fid = media.ref;
  if (!fid || !/^\d{1,20}$/.test(fid)) throw new ChannelError('malformed', 'Weibo media has no file id (tovfid) to fetch', { retryable: false });
  const token = accessToken(ctx);
  const url = `${urlOf(ctx.config.mediaBaseUrl, ctx.config.mediaPath)}?${new URLSearchParams({ access_token: token, fid })}`;
  const res = await weiboExchange(ctx, url, { method: 'GET', maxBytes: MAX_MEDIA_BYTES, timeoutMs: 120_000 }, token);
  const contentType = res.headers['content-type']?.split(';')[0]?.trim().toLowerCase() ?? '';
  // Weibo answers refusals as its error JSON, with HTTP 200 at times: a JSON answer is never the file.
  if (res.status !== 200 || contentType === 'application/json' || contentType === 'text/json') {
    const failure = failureOf(res.status, jsonOf(res)) ?? { code: null, error: 'answered JSON instead of the file' };
    throw weiboError('media download', res.status, failure, token);
  }
  if (res.body.length === 0) throw new ChannelError('provider_error', `Weibo media download of file ${fid} answered an empty body`, { retryable: true });
  const type = contentType || media.contentType || 'application/octet-stream';
  return { bytes: res.body, contentType: type, fileName: media.fileName ?? `weibo-${fid}.${EXTENSIONS[type] ?? 'bin'}` };
}

export const weiboAdapter: ChannelAdapter<WeiboConfig> = {
  kind: 'weibo',
  displayName: 'Weibo (微博私信)',
  configSchema: weiboConfigSchema,
  secrets: WEIBO_SECRETS,
  capabilities,
  receive,
  send: sendWeibo,
  fetchMedia,
};
