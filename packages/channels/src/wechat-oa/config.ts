import { z } from 'zod';
import { apiUrlOf } from '../wechat/api-common.ts';

/**
 * Non-secret settings of a WeChat Official Account (公众号) inbox. The AppSecret, the server Token and
 * the EncodingAESKey are secrets (vault). apiBaseUrl exists for tests, which point it at the fake platform.
 */
export const wechatOaConfigSchema = z.strictObject({
  appId: z.string().regex(/^wx[0-9a-zA-Z]{16}$/, 'the AppID (开发者ID) from 设置与开发 → 基本配置: "wx" followed by 16 letters and digits')
    .describe('AppID (开发者ID) of the Official Account, from 设置与开发 → 基本配置 in the WeChat console'),
  encryptionMode: z.enum(['safe', 'compatible', 'plain']).default('safe')
    .describe('Message encryption mode (消息加解密方式) chosen in the WeChat console: safe (安全模式, recommended), compatible (兼容模式) or plain (明文模式). In safe and compatible mode unencrypted pushes are refused: the plain-mode signature does not cover the message body'),
  timestampToleranceSeconds: z.number().int().min(30).max(86_400).default(300)
    .describe('Pushes whose timestamp is further than this from our clock are refused as replays (seconds; WeChat retries within about 15 s)'),
  fetchUnionId: z.boolean().default(true)
    .describe('Look up each new customer\'s UnionID (cgi-bin/user/info) so the same person is merged across your Official Accounts and mini-programs; needs the account bound to a WeChat Open Platform account (otherwise no UnionID is returned)'),
  welcomeMessage: z.string().trim().max(600).optional()
    .describe('Text sent as the passive reply when someone follows the account (subscribe event); empty: no welcome message'),
  sendWindowHours: z.number().int().min(1).max(48).default(48)
    .describe('Customer-service messages are allowed within this many hours of the customer\'s last message (WeChat: 48)'),
  maxMessagesPerCustomerMessage: z.number().int().min(1).max(50).default(5)
    .describe('Customer-service messages allowed per customer message within the window (WeChat since June 2023: 5; older rule: 20)'),
  apiBaseUrl: z.url({ protocol: /^https?$/ }).default('https://api.weixin.qq.com')
    .describe('WeChat API server; change only for tests (or a regional API domain such as https://api2.weixin.qq.com)'),
});
export type WechatOaConfig = z.infer<typeof wechatOaConfigSchema>;

export const WECHAT_OA_SECRETS = [
  { name: 'appSecret', label: 'AppSecret (开发者密码), from 设置与开发 → 基本配置', required: true },
  { name: 'token', label: 'Token (令牌): 3-32 letters or digits, the same as in 服务器配置', required: true },
  { name: 'encodingAesKey', label: 'EncodingAESKey (消息加解密密钥): the 43 characters shown in 服务器配置', required: true },
] as const;

/** https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Access_Overview.html — Token: 3-32 letters or digits. */
export const TOKEN_PATTERN = /^[A-Za-z0-9]{3,32}$/;

/**
 * Customer-service text: WeChat documents no limit for custom/send text and answers 45002 ("content size
 * out of limit") above it; 2048 is the limit it documents for passive text replies, used for both.
 */
export const MAX_TEXT = 2048;
/** Temporary media (cgi-bin/media/upload): images up to 10 MB, PNG / JPEG / GIF. */
export const MAX_IMAGE_BYTES = 10 * 1024 * 1024;
export const IMAGE_TYPES: Readonly<Record<string, string>> = { 'image/jpeg': 'jpg', 'image/jpg': 'jpg', 'image/png': 'png', 'image/gif': 'gif' };
/** Inbound media downloads (media/get): voice ≤ 2 MB, image and video ≤ 10 MB; a margin for the rest. */
export const MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024;

/** The user id WeChat gives a follower of this account (an OpenID: 28 characters of base64url in practice). */
export const OPENID_PATTERN = /^[A-Za-z0-9_-]{6,64}$/;

export function apiUrl(config: WechatOaConfig, path: string, query: Record<string, string> = {}): string {
  return apiUrlOf(config.apiBaseUrl, path, query);
}
