/**
 * WeCom customer service (微信客服 through 企业微信): WeChat users write to a kf account (from a link, a QR
 * code, a mini-program, WeChat Pay…); the WeCom app that manages the account through the API receives
 * encrypted callbacks and fetches the messages with sync_msg.
 *
 * - receive (callback.ts): URL verification and kf_msg_or_event callbacks → pulls (no content inside).
 * - pull (sync.ts): sync_msg pages with a cursor per kf account → messages and session events.
 * - send (send.ts): send_msg within 48 h / 5 messages of the customer's last message.
 * - syncSession (session.ts): service_state get / trans when an agent takes or resolves a conversation.
 * - fetchMedia (media.ts): media/get for images, voice, video and files.
 * - API plumbing, access token and error mapping in api.ts; settings in config.ts.
 */
import type { ChannelAdapter, ChannelCapabilities } from '../adapter.ts';
import { ChannelError } from '../adapter.ts';
import { parseEncodingAesKey } from '../wechat/crypto.ts';
import { postJson, type Ctx } from './api.ts';
import { receiveCallback } from './callback.ts';
import { MAX_TEXT_CHARS, UPLOAD_LIMITS, WECOM_KF_SECRETS, wecomKfConfigSchema, type WecomKfConfig } from './config.ts';
import { fetchKfMedia } from './media.ts';
import { sendKfMessage } from './send.ts';
import { syncKfSession } from './session.ts';
import { pullKfMessages } from './sync.ts';

export { wecomKfConfigSchema, type WecomKfConfig } from './config.ts';

const capabilities: ChannelCapabilities = {
  // Audio other than AMR goes out as a file; WeCom plays only AMR voice messages.
  contentTypes: ['text', 'image', 'file', 'audio', 'video'],
  maxTextLength: MAX_TEXT_CHARS,
  // One limit for every type: images and videos stop at 10 MB (files could be 20, voice only 2 — send.ts checks those).
  maxMediaBytes: UPLOAD_LIMITS.image,
  typing: false,
  readReceipts: false,
  deliveryReports: true,
  templates: false,
  sendWindow: { hours: 48, maxMessages: 5, outside: 'blocked' },
};

/**
 * "Test connection": the callback secrets parse, an access token is issued for the CorpID and Secret (core
 * drops an inbox's cached tokens when its settings change, so a new Secret is really tested), and
 * kf/account/list works — which also proves the app may call 微信客服 APIs and lists the accounts it manages.
 */
async function check(ctx: Ctx): Promise<{ ok: true } | { ok: false; message: string }> {
  try {
    if (!ctx.secrets.token || !/^[A-Za-z0-9]{1,32}$/.test(ctx.secrets.token)) {
      throw new ChannelError('not_configured', 'the callback Token must be the letters and digits shown in the app\'s 接收事件服务器 settings (secret "token")', { retryable: false });
    }
    parseEncodingAesKey(ctx.secrets.encodingAesKey ?? '');
    const answer = await postJson(ctx, 'kf account list', 'cgi-bin/kf/account/list', { offset: 0, limit: 100 });
    const managed = new Set((Array.isArray(answer.account_list) ? answer.account_list : [])
      .map((a) => (a && typeof a === 'object' ? (a as Record<string, unknown>).open_kfid : undefined))
      .filter((id): id is string => typeof id === 'string'));
    if (managed.size === 0) {
      return { ok: false, message: 'the app manages no kf account: in 微信客服 → API, choose the accounts it manages (通过API管理微信客服账号)' };
    }
    const missing = ctx.config.openKfIds.filter((id) => !managed.has(id));
    if (missing.length > 0) {
      return { ok: false, message: `the app does not manage the kf account(s) ${missing.join(', ')} listed in openKfIds; it manages ${[...managed].join(', ')}` };
    }
    return { ok: true };
  } catch (err) {
    return { ok: false, message: err instanceof Error ? err.message : String(err) };
  }
}

export const wecomKfAdapter: ChannelAdapter<WecomKfConfig> = {
  kind: 'wecom_kf',
  displayName: 'WeCom customer service (微信客服)',
  configSchema: wecomKfConfigSchema,
  secrets: WECOM_KF_SECRETS,
  capabilities: () => capabilities,
  receive: receiveCallback,
  pull: pullKfMessages,
  send: sendKfMessage,
  fetchMedia: fetchKfMedia,
  syncSession: syncKfSession,
  check,
};
