import { z } from 'zod';
import { apiUrlOf } from '../wechat/api-common.ts';

/**
 * Non-secret settings of a WeCom customer-service (微信客服, "kf") inbox. The app Secret, the callback
 * Token and the EncodingAESKey are secrets (vault). apiBaseUrl exists for tests, which point it at the
 * fake platform.
 *
 * One inbox = one WeCom app that manages kf accounts through the API (one callback URL per app); it may
 * manage several kf accounts (open_kfid), and each conversation answers from the account the customer
 * wrote to (see sourceId below).
 */
const USERID = /^[A-Za-z0-9_.@-]{1,64}$/;

export const wecomKfConfigSchema = z.strictObject({
  corpId: z.string().regex(/^[A-Za-z0-9]{8,32}$/, 'the CorpID (企业ID) from 我的企业 → 企业信息, e.g. ww1a2b3c4d5e6f7a8b')
    .describe('CorpID (企业ID) of the WeCom organization, from 我的企业 → 企业信息 in the WeCom admin console. It is also the receive id inside every encrypted callback'),
  openKfIds: z.array(z.string().regex(/^[A-Za-z0-9_-]{4,64}$/, 'an open_kfid such as wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q')).max(100).default([])
    .describe('Only take conversations of these kf accounts (open_kfid, e.g. wkAJ2G…); empty: every kf account the app manages through the API. Callbacks for other accounts are acknowledged and ignored'),
  fetchCustomerProfiles: z.boolean().default(true)
    .describe('Look up new customers with kf/customer/batchget: their WeChat nickname, and the UnionID when the kf account is bound to a WeChat Open Platform account — the same person is then merged with your Official Account and mini-program contacts'),
  sessionMode: z.enum(['assistant', 'servicer']).default('assistant')
    .describe('How WeCom is told that an agent took a conversation. assistant (recommended): the session is set to "由智能助手接待" (state 1), Huiliu\'s agents answer through the API. servicer: the session is handed to the agent\'s WeCom account (state 3, "由人工接待") — the agent then answers in the WeCom app, because WeCom refuses API replies in that state'),
  servicerUserIds: z.record(z.email('an agent\'s email address'), z.string().regex(USERID, 'a WeCom userid (账号), e.g. zhangsan')).default({})
    .describe('sessionMode servicer: our agents\' emails → their WeCom userid (账号 in 通讯录); each must be a 接待人员 of the kf account'),
  defaultServicerUserId: z.string().regex(USERID, 'a WeCom userid (账号), e.g. zhangsan').optional()
    .describe('sessionMode servicer: the WeCom userid used for agents not listed in servicerUserIds; without it such hand-overs are skipped (logged)'),
  timestampToleranceSeconds: z.number().int().min(30).max(86_400).default(300)
    .describe('Callbacks whose timestamp is further than this from our clock are refused as replays (seconds; WeCom retries a callback within seconds)'),
  apiBaseUrl: z.url({ protocol: /^https?$/ }).default('https://qyapi.weixin.qq.com')
    .describe('WeCom API server; change only for tests'),
});
export type WecomKfConfig = z.infer<typeof wecomKfConfigSchema>;

export const WECOM_KF_SECRETS = [
  { name: 'secret', label: 'Secret of the app that manages 微信客服 through the API (应用管理 → the app → Secret)', required: true },
  { name: 'token', label: 'Token of the callback (接收事件服务器 → Token): letters and digits', required: true },
  { name: 'encodingAesKey', label: 'EncodingAESKey of the callback (接收事件服务器): the 43 characters shown there', required: true },
] as const;

export const ACCESS_TOKEN_KEY = 'access_token';

/** https://developer.work.weixin.qq.com/document/path/94677 — text.content: at most 2048 bytes (UTF-8). */
export const MAX_TEXT_BYTES = 2048;
/**
 * What we declare to core (characters): 2048 bytes hold 682 characters of Chinese (3 bytes each in UTF-8;
 * an emoji is 2 UTF-16 units and 4 bytes), so any text within it fits. Core refuses longer text before
 * sending (send-policy), even Latin text whose bytes would fit: one limit the agent can see in advance.
 */
export const MAX_TEXT_CHARS = Math.floor(MAX_TEXT_BYTES / 3);

/**
 * Temporary media (cgi-bin/media/upload, https://developer.work.weixin.qq.com/document/path/90253):
 * image 10 MB (JPG, PNG), voice 2 MB (AMR), video 10 MB (MP4), file 20 MB; every file at least 5 bytes.
 */
export const UPLOAD_LIMITS = { image: 10 * 1024 * 1024, voice: 2 * 1024 * 1024, video: 10 * 1024 * 1024, file: 20 * 1024 * 1024 } as const;
export const MIN_UPLOAD_BYTES = 5;
/** Inbound media (sync_msg): image 2 MB, voice 2 MB, video 10 MB, file 20 MB; larger arrive as a text notice. */
export const MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024;

/** https://developer.work.weixin.qq.com/document/path/94670 — limit: default and maximum 1000. */
export const SYNC_PAGE_LIMIT = 1000;
/** A runaway guard: 100 pages of 1000 are far more than the 3 days sync_msg keeps. */
export const MAX_SYNC_PAGES = 100;

export function apiUrl(config: WecomKfConfig, path: string, query: Record<string, string> = {}): string {
  return apiUrlOf(config.apiBaseUrl, path, query);
}

/**
 * The customer's identity in this inbox: "<open_kfid>:<external_userid>". external_userid alone names
 * the WeChat user in the organization, but a reply must leave from the kf account the customer wrote to
 * (send_msg needs open_kfid and OutboundMessage only carries the recipient's sourceId), so the account is
 * part of the identity. The same person writing to two kf accounts is two identities of one contact
 * once their UnionID (or an agent) merges them.
 */
export function customerSourceId(openKfId: string, externalUserId: string): string {
  return `${openKfId}:${externalUserId}`;
}

const SOURCE_ID = /^([A-Za-z0-9_-]{4,64}):([A-Za-z0-9_-]{4,128})$/;

export function parseCustomerSourceId(sourceId: string): { openKfId: string; externalUserId: string } | null {
  const m = SOURCE_ID.exec(sourceId);
  return m ? { openKfId: m[1]!, externalUserId: m[2]! } : null;
}

/** Whether this inbox takes conversations of `openKfId` (config.openKfIds empty: all). */
export function handlesKfAccount(config: WecomKfConfig, openKfId: string): boolean {
  return config.openKfIds.length === 0 || config.openKfIds.includes(openKfId);
}
