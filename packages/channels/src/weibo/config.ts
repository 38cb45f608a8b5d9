import { z } from 'zod';

/**
 * Non-secret settings of a Weibo (微博) inbox: the private messages of one verified ("blue V") account
 * through the fans service platform (粉丝服务平台) in developer mode.
 *
 * Documented (open.weibo.com/wiki):
 * - push and URL check: 消息推送服务 / Receive General Message / 接收事件推送
 *   (https://open.weibo.com/wiki/Receive_General_Message, http://open.weibo.com/wiki/%E6%8E%A5%E6%94%B6%E4%BA%8B%E4%BB%B6%E6%8E%A8%E9%80%81):
 *   signature = sha1 of the sorted [appsecret, timestamp, nonce], echostr on the GET check, JSON POSTs,
 *   retried 3 times within 5 s each, no message id ("sender_id plus created_at" for dedupe);
 * - reply: 发送客服消息 (POST https://m.api.weibo.com/2/messages/reply.json, form fields access_token,
 *   type, data = URL-encoded JSON, receiver_id, save_sender_box) — free replies for 48 hours after the
 *   user's message, follow/subscribe, menu click or QR scan (C/2/messages/reply/biz);
 * - media: the tovfid of a voice or image message is downloaded from
 *   https://upload.api.weibo.com/2/mss/msget?access_token=…&fid=<tovfid>.
 * The access token is shown on 粉丝服务平台 → 高级功能 → 开发者模式 and lasts a year: it is a secret, not
 * refreshed. Hosts and paths are settings: the wiki is old and Weibo's business APIs also live on
 * c.api.weibo.com (/2/messages/reply/biz.json).
 */
const path = z.string().regex(/^\/[A-Za-z0-9/_.-]*$/, 'a path starting with /');

export const weiboConfigSchema = z.strictObject({
  apiBaseUrl: z.url({ protocol: /^https?$/ }).default('https://m.api.weibo.com')
    .describe('Server of the reply API (documented: https://m.api.weibo.com; business accounts may use https://c.api.weibo.com)'),
  replyPath: path.default('/2/messages/reply.json')
    .describe('Path of the reply API (documented: /2/messages/reply.json; on c.api.weibo.com: /2/messages/reply/biz.json)'),
  mediaBaseUrl: z.url({ protocol: /^https?$/ }).default('https://upload.api.weibo.com')
    .describe('Server that serves the pictures and voice messages customers send (documented: https://upload.api.weibo.com)'),
  mediaPath: path.default('/2/mss/msget')
    .describe('Path of the media download (documented: /2/mss/msget?access_token=…&fid=<tovfid>)'),
  accountUid: z.string().trim().regex(/^\d{5,20}$/, 'the numeric uid of the Weibo account (the receiver_id of its messages)')
    .describe('uid of the verified Weibo account this inbox serves; pushes for other accounts are ignored'),
  timestampToleranceSeconds: z.number().int().min(30).max(24 * 3600).default(300)
    .describe('Refuse pushes whose signed timestamp is further than this from our clock (replays); Weibo retries within about 20 s'),
  saveSenderBox: z.boolean().default(true)
    .describe('Keep replies in the account\'s own private-message box on Weibo (save_sender_box=1), so they show in the Weibo app too'),
  replyWindowHours: z.number().int().min(1).max(168).default(48)
    .describe('Replies are possible this long after the customer\'s last message (documented: 48 hours)'),
});
export type WeiboConfig = z.infer<typeof weiboConfigSchema>;

export const WEIBO_SECRETS = [
  { name: 'appSecret', label: 'App Secret of the fans-service app (signs the pushes)', required: true },
  { name: 'accessToken', label: 'Access token (粉丝服务平台 → 高级功能 → 开发者模式, valid one year)', required: true },
] as const;

/** Weibo's reply limit is "文本大小必须小于300个汉字" (fewer than 300 characters, direct_messages/reply). */
export const MAX_TEXT = 299;
/** Our own cap on a push body: Weibo's pushes are well under 10 KB (core refuses anything over 1 MB first). */
export const MAX_WEBHOOK_BYTES = 64 * 1024;
/** Pictures and voice messages customers send; larger answers are refused. */
export const MAX_MEDIA_BYTES = 20 * 1024 * 1024;

export function urlOf(base: string, p: string): string {
  return `${base.replace(/\/+$/, '')}${p}`;
}
