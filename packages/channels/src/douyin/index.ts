/**
 * Douyin (抖音) enterprise account private messages (私信) through a Douyin Open Platform app.
 *
 * Inbound: Douyin POSTs every event of the app to one webhook URL, signed with X-Douyin-Signature
 * (signature.ts), deduplicated by the Msg-Id header (reply-ref.ts), parsed by parse-event.ts. The
 * verify_webhook event is answered with {"challenge": <value>} as JSON.
 * Outbound: send.ts (IM send API with the account's access token, open-api.ts).
 */
import type { ChannelAdapter, ChannelCapabilities, ChannelContext, InboundHttpRequest, InboundResult } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';
import { DOUYIN_SECRETS, douyinConfigSchema, MAX_TEXT, MAX_WEBHOOK_BYTES, type DouyinConfig } from './config.ts';
import { reissueToken } from './open-api.ts';
import { parseDouyinWebhook } from './parse-event.ts';
import { sendDouyin } from './send.ts';
import { verifyDouyinSignature } from './signature.ts';

export { douyinConfigSchema, type DouyinConfig } from './config.ts';

function capabilities(config: DouyinConfig): ChannelCapabilities {
  return {
    contentTypes: ['text'],
    maxTextLength: MAX_TEXT,
    // Nothing is uploaded (text only); the value only has to be a sane positive number.
    maxMediaBytes: 10 * 1024 * 1024,
    typing: false,
    readReceipts: false,
    deliveryReports: false,
    templates: false,
    sendWindow: { hours: config.replyWindowHours, outside: 'blocked' },
  };
}

function clientSecret(ctx: ChannelContext<DouyinConfig>): string {
  const secret = ctx.secrets.clientSecret;
  if (!secret) throw new ChannelError('not_configured', 'Douyin secret "clientSecret" is not set: copy the Client Secret of the app from the Douyin Open Platform console', { retryable: false });
  return secret;
}

async function receive(req: InboundHttpRequest, ctx: ChannelContext<DouyinConfig>): Promise<InboundResult> {
  if (req.method.toUpperCase() !== 'POST') {
    throw new ChannelError('malformed', `Douyin webhooks are POST requests (the URL check too: a verify_webhook event); got ${req.method}`, { retryable: false });
  }
  if (req.rawBody.length > MAX_WEBHOOK_BYTES) {
    throw new ChannelError('malformed', `Douyin webhook body is ${req.rawBody.length} bytes; Douyin's events are a few KB and this inbox accepts at most ${MAX_WEBHOOK_BYTES}`, { retryable: false });
  }
  verifyDouyinSignature(req.rawBody, req.headers['x-douyin-signature'], clientSecret(ctx));
  const msgId = req.headers['msg-id']?.trim() || undefined;
  const parsed = parseDouyinWebhook(req.rawBody, msgId, ctx.config.accountOpenId, ctx.logger);
  if (parsed.kind === 'verify') {
    // "返回内容为 text 格式的 json 数据": the challenge as it came (a number stays a number).
    return { response: { status: 200, contentType: 'application/json', body: JSON.stringify({ challenge: parsed.challenge }) }, events: [] };
  }
  const maxAge = ctx.config.maxEventAgeSeconds;
  if (maxAge > 0 && parsed.createdAt) {
    const skew = Math.abs(ctx.now().getTime() - parsed.createdAt.getTime()) / 1000;
    if (skew > maxAge) {
      throw new ChannelError('replayed', `Douyin ${parsed.event} was created ${Math.round(skew)} s away from our clock (allowed: ${maxAge} s, setting maxEventAgeSeconds): a replayed request or a wrong clock`, { retryable: false });
    }
  }
  return { response: { status: 200, contentType: 'application/json', body: '{}' }, events: parsed.events };
}

/** "Test connection": the Client Secret is set and a token can be issued now (not taken from the cache). */
async function check(ctx: ChannelContext<DouyinConfig>): Promise<{ ok: true } | { ok: false; message: string }> {
  try {
    clientSecret(ctx);
    await reissueToken(ctx);
    return { ok: true };
  } catch (err) {
    return { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
}

export const douyinAdapter: ChannelAdapter<DouyinConfig> = {
  kind: 'douyin',
  displayName: 'Douyin (抖音私信)',
  configSchema: douyinConfigSchema,
  secrets: DOUYIN_SECRETS,
  capabilities,
  receive,
  send: sendDouyin,
  check,
};
