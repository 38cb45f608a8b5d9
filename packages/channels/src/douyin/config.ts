import { z } from 'zod';

/**
 * Non-secret settings of a Douyin (抖音) inbox: one enterprise account's private messages (私信),
 * received through the webhook of one Douyin Open Platform app and answered through its IM OpenAPI.
 *
 * Documented (developer.open-douyin.com):
 * - webhooks: https://developer.open-douyin.com/docs/resource/zh-CN/dop/develop/webhooks/summarize
 *   (verify_webhook challenge, X-Douyin-Signature = sha1(client_secret + body), Msg-Id for dedupe);
 * - events: https://developer.open-douyin.com/docs/resource/zh-CN/dop/develop/openapi/interaction-management/private-message/private-msg-webhook
 * - send: https://developer.open-douyin.com/docs/resource/zh-CN/dop/develop/openapi/interaction-management/private-message/send-msg
 *   (POST /im/send/msg/?open_id=<the account's open_id>, header access-token, body msg_id =
 *   server_message_id of the customer's message, valid 24 h; conversation_id = conversation_short_id);
 * - tokens: https://developer.open-douyin.com/docs/resource/zh-CN/dop/develop/openapi/account-permission/refresh-access-token
 *   (access_token 15 days, refresh_token 30 days) and /oauth/client_token/ (2 h).
 * The send path and the shape of its answer could not be checked against a live account: both the base URL
 * and the path are settings, so a change on Douyin's side is a settings change, not a release.
 */
const openId = z.string().trim().min(8, 'an open_id from the Douyin Open Platform (the account that authorized the app)').max(200)
  .regex(/^[A-Za-z0-9_.:@+/=-]+$/, 'an open_id contains letters, digits and _ . : @ + / = - only');

export const douyinConfigSchema = z.strictObject({
  apiBaseUrl: z.url({ protocol: /^https?$/ }).default('https://open.douyin.com')
    .describe('Douyin OpenAPI server (documented: https://open.douyin.com); change only for tests'),
  sendPath: z.string().regex(/^\/[A-Za-z0-9/_.-]*$/, 'a path starting with /, e.g. /im/send/msg/').default('/im/send/msg/')
    .describe('Path of the private-message send API. Documented as /im/send/msg/ (open_id in the query, access-token header); kept as a setting because Douyin has moved IM endpoints before'),
  clientKey: z.string().trim().regex(/^[A-Za-z0-9_-]{4,64}$/, 'the app\'s Client Key (控制台 → 应用 → 应用信息), letters and digits')
    .describe('Client Key of the Douyin Open Platform app that receives the webhooks'),
  accountOpenId: openId
    .describe('open_id of the enterprise account (企业号) whose private messages this inbox handles: the to_user_id of its incoming messages and the open_id query parameter of replies'),
  tokenMode: z.enum(['user_access_token', 'client_token']).default('user_access_token')
    .describe('Which token the send API gets: user_access_token (documented for im.direct_message, which needs the account\'s authorization: refreshed with the refresh token) or client_token (app-level token; only if Douyin confirms it for your app type)'),
  replyWindowHours: z.number().int().min(1).max(168).default(24)
    .describe('Replies are possible this long after the customer\'s last message (documented: the msg_id a reply needs is valid 24 hours)'),
  maxEventAgeSeconds: z.number().int().min(0).max(7 * 24 * 3600).default(24 * 3600)
    .describe('Refuse a signed push whose create_time is older than this many seconds (a replayed capture); 0 turns the check off. Douyin retries within minutes'),
});
export type DouyinConfig = z.infer<typeof douyinConfigSchema>;

export const DOUYIN_SECRETS = [
  { name: 'clientSecret', label: 'Client Secret of the app (signs webhooks, issues tokens)', required: true },
  { name: 'refreshToken', label: 'Refresh token of the account\'s authorization (required with tokenMode user_access_token)', required: false },
] as const;

/** The documented send scene for answering a received message ("场景一：默认场景，可选传入 im_replay_msg"). */
export const REPLY_SCENE = 'im_replay_msg';
/** Not documented: Douyin gives no text limit for private messages; 500 keeps replies to one screen. */
export const MAX_TEXT = 500;
/** Our own cap on a webhook body; Douyin's pushes are a few KB (core refuses anything over 1 MB first). */
export const MAX_WEBHOOK_BYTES = 256 * 1024;

export function apiUrl(config: DouyinConfig, path: string): string {
  return `${config.apiBaseUrl.replace(/\/+$/, '')}${path}`;
}
