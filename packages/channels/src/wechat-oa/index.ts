/**
 * WeChat Official Account (微信公众号: service and subscription accounts).
 *
 * Inbound: WeChat calls the inbox's webhook URL, entered as 服务器地址(URL) in the WeChat console, with
 * GET (verification) and POST (pushes in plain, compatible or safe mode). WeChat gives up on an answer
 * after 5 s, so `receive` (receive.ts) only verifies, decrypts and parses, and returns the push as a pull;
 * `pull` (pull.ts) runs in core's durable job afterwards: the UnionID lookup per follower when enabled
 * (unionid.ts) and the normalized event (parse.ts), whose MediaIds core's ingest downloads through
 * `fetchMedia` (media.ts). Outbound: customer-service messages (send.ts) with the access token of the
 * shared token service (api.ts).
 */
import type { ChannelAdapter, ChannelCapabilities, ChannelContext } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';
import { parseEncodingAesKey } from '../wechat/crypto.ts';
import { fetchStableToken, redact } from './api.ts';
import { MAX_IMAGE_BYTES, MAX_TEXT, TOKEN_PATTERN, WECHAT_OA_SECRETS, wechatOaConfigSchema, type WechatOaConfig } from './config.ts';
import { fetchWechatMedia } from './media.ts';
import { pullWechatOa } from './pull.ts';
import { receiveWechatOa } from './receive.ts';
import { sendWechatOa } from './send.ts';

export { wechatOaConfigSchema, type WechatOaConfig } from './config.ts';

function capabilities(config: WechatOaConfig): ChannelCapabilities {
  return {
    // Cards go out as news (图文) messages when core passes the card, as text otherwise.
    contentTypes: ['text', 'image', 'card'],
    maxTextLength: MAX_TEXT,
    maxMediaBytes: MAX_IMAGE_BYTES,
    typing: false,
    readReceipts: false,
    deliveryReports: false,
    templates: false,
    sendWindow: { hours: config.sendWindowHours, maxMessages: config.maxMessagesPerCustomerMessage, outside: 'blocked' },
  };
}

/**
 * "Test connection": the server Token and EncodingAESKey have the shape WeChat requires, and the AppID
 * and AppSecret get an access token (straight from stable_token, not from the cache, so a changed
 * secret is really tested; stable_token hands out the current token, so this invalidates nothing).
 */
async function check(ctx: ChannelContext<WechatOaConfig>): Promise<{ ok: true } | { ok: false; message: string }> {
  try {
    if (!ctx.secrets.token || !TOKEN_PATTERN.test(ctx.secrets.token)) {
      return { ok: false, message: 'The Token must be 3-32 letters or digits, the same as in 设置与开发 → 基本配置 → 服务器配置' };
    }
    parseEncodingAesKey(ctx.secrets.encodingAesKey ?? '');
    await fetchStableToken(ctx);
    return { ok: true };
  } catch (err) {
    const message = err instanceof ChannelError ? err.message : `WeChat API check failed: ${err instanceof Error ? err.message : String(err)}`;
    return { ok: false, message: redact(message, ctx.secrets.appSecret) };
  }
}

export const wechatOaAdapter: ChannelAdapter<WechatOaConfig> = {
  kind: 'wechat_oa',
  displayName: 'WeChat Official Account',
  configSchema: wechatOaConfigSchema,
  secrets: WECHAT_OA_SECRETS,
  capabilities,
  receive: receiveWechatOa,
  pull: pullWechatOa,
  send: sendWechatOa,
  fetchMedia: fetchWechatMedia,
  check,
};
