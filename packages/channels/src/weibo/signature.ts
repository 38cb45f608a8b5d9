/**
 * Weibo push signature (消息推送服务): "将appsecret参数，timestamp参数，nonce参数进行字典排序后，将三个参数字符串拼接成
 * 一个字符串进行sha1加密" — WeChat's callback signature with the App Secret in place of the token, so the
 * same function computes it. The wiki's worked example (appsecret xyz123xyz, timestamp 1397022061823,
 * nonce 57155157 → 90e4c22c90a58f26526c2dd5b6c56c8822edeaa1) is the known-answer test.
 *
 * The timestamp in that example is in milliseconds (13 digits); seconds are accepted as well.
 */
import { ChannelError } from '../adapter.ts';
import { signatureMatches, wechatSignature } from '../wechat/crypto.ts';

export function weiboSignature(appSecret: string, timestamp: string, nonce: string): string {
  return wechatSignature(appSecret, timestamp, nonce);
}

export interface SignedQuery { signature?: string; timestamp?: string; nonce?: string }

export function verifyWeiboSignature(q: SignedQuery, appSecret: string): void {
  if (!q.signature || !q.timestamp || !q.nonce) {
    throw new ChannelError('signature_invalid', 'Weibo request lacks signature, timestamp or nonce in the query string', { retryable: false });
  }
  if (!signatureMatches(q.signature, weiboSignature(appSecret, q.timestamp, q.nonce))) {
    throw new ChannelError('signature_invalid', 'Weibo signature does not match sha1 of the sorted App Secret, timestamp and nonce', { retryable: false });
  }
}

/** Refuses a timestamp further than `toleranceSeconds` from now (a replayed capture or a wrong clock). */
export function assertFreshWeiboTimestamp(timestamp: string, now: Date, toleranceSeconds: number): void {
  if (!/^\d{9,13}$/.test(timestamp)) {
    throw new ChannelError('malformed', 'Weibo query parameter "timestamp" is not a Unix time in seconds or milliseconds', { retryable: false });
  }
  const n = Number(timestamp);
  const ms = timestamp.length >= 13 ? n : n * 1000;
  const skew = Math.abs(now.getTime() - ms) / 1000;
  if (skew > toleranceSeconds) {
    throw new ChannelError('replayed', `the Weibo request's timestamp is ${Math.round(skew)} s away from our clock (allowed: ${toleranceSeconds} s, setting timestampToleranceSeconds): a replayed request or a wrong clock`, { retryable: false });
  }
}
