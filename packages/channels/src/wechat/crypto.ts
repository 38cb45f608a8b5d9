/**
 * WeChat's message encryption ("安全模式", WXBizMsgCrypt), shared by the Official Account and WeCom
 * (企业微信, including 微信客服) callbacks. Documented at
 * https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Message_encryption_and_decryption_instructions.html
 * and https://developer.work.weixin.qq.com/document/path/90968 :
 *
 * - key = Base64(EncodingAESKey + "=") (32 bytes), IV = the key's first 16 bytes, AES-256-CBC;
 * - plaintext = 16 random bytes + 4-byte big-endian length + message (XML) + receive id (the AppID, or
 *   the CorpID for WeCom), padded with PKCS#7 to 32-byte blocks (not 16: WeChat's own choice);
 * - signature = SHA1 of the lexicographically sorted token, timestamp, nonce (and, with encryption,
 *   the ciphertext), hex; compared in constant time.
 *
 * Every failure throws a ChannelError naming what was wrong, never the key or the plaintext.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ChannelError } from '../adapter.ts';

const BLOCK = 32;

export interface WechatCryptoKey {
  key: Buffer;
  iv: Buffer;
}

/** Parses an EncodingAESKey (43 characters of Base64 without its padding). */
export function parseEncodingAesKey(encodingAesKey: string): WechatCryptoKey {
  if (!/^[A-Za-z0-9+/]{43}$/.test(encodingAesKey)) {
    throw new ChannelError('not_configured', 'the EncodingAESKey must be the 43 letters and digits shown in the platform console', { retryable: false });
  }
  const key = Buffer.from(`${encodingAesKey}=`, 'base64');
  if (key.length !== 32) throw new ChannelError('not_configured', 'the EncodingAESKey does not decode to 32 bytes', { retryable: false });
  return { key, iv: key.subarray(0, 16) };
}

/** SHA1 over the sorted parts, hex: the `signature` / `msg_signature` of a callback. */
export function wechatSignature(...parts: string[]): string {
  return createHash('sha1').update([...parts].sort().join('')).digest('hex');
}

/** Constant-time comparison of a received signature with the expected one. */
export function signatureMatches(received: string | undefined, expected: string): boolean {
  if (!received) return false;
  const a = Buffer.from(received.toLowerCase(), 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Refuses a callback whose timestamp is further than `windowSeconds` from now (replays of captured
 * requests). WeChat retries a push within about 15 s, so a window of minutes keeps its retries valid.
 */
export function assertFreshTimestamp(timestamp: string | undefined, now: Date, windowSeconds: number): void {
  if (!timestamp || !/^\d{1,12}$/.test(timestamp)) throw new ChannelError('malformed', 'query parameter "timestamp" is missing or not a number of seconds');
  const skew = Math.abs(now.getTime() / 1000 - Number(timestamp));
  if (skew > windowSeconds) {
    throw new ChannelError('replayed', `the callback's timestamp is ${Math.round(skew)} s away from our clock (allowed: ${windowSeconds} s); a replayed request or a wrong clock`);
  }
}

function pkcs7Pad(data: Buffer): Buffer {
  const n = BLOCK - (data.length % BLOCK);
  return Buffer.concat([data, Buffer.alloc(n, n)]);
}

function pkcs7Unpad(data: Buffer): Buffer {
  const n = data[data.length - 1] ?? 0;
  if (n < 1 || n > BLOCK || n > data.length) throw new ChannelError('malformed', 'the encrypted message has bad padding (tampered, or a different EncodingAESKey)');
  for (let i = data.length - n; i < data.length; i++) {
    if (data[i] !== n) throw new ChannelError('malformed', 'the encrypted message has bad padding (tampered, or a different EncodingAESKey)');
  }
  return data.subarray(0, data.length - n);
}

/**
 * Decrypts `Encrypt` and checks the receive id inside it (AppID / CorpID): a message encrypted for
 * another account is refused even when the key happens to match.
 */
export function decryptMessage(k: WechatCryptoKey, ciphertextBase64: string, expectedReceiveId: string): string {
  const cipherBytes = Buffer.from(ciphertextBase64, 'base64');
  if (cipherBytes.length === 0 || cipherBytes.length % 16 !== 0) throw new ChannelError('malformed', 'the Encrypt field is not a whole number of AES blocks');
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-cbc', k.key, k.iv);
    decipher.setAutoPadding(false);
    plain = Buffer.concat([decipher.update(cipherBytes), decipher.final()]);
  } catch {
    throw new ChannelError('malformed', 'the Encrypt field could not be decrypted');
  }
  plain = pkcs7Unpad(plain);
  if (plain.length < 20) throw new ChannelError('malformed', 'the decrypted message is too short');
  const length = plain.readUInt32BE(16);
  if (20 + length > plain.length) throw new ChannelError('malformed', 'the decrypted message declares a length beyond its end');
  const message = plain.subarray(20, 20 + length).toString('utf8');
  const receiveId = plain.subarray(20 + length).toString('utf8');
  if (receiveId !== expectedReceiveId) {
    throw new ChannelError('signature_invalid', `the message was encrypted for another account (receive id "${receiveId.slice(0, 40)}", expected the configured one)`);
  }
  return message;
}

/** Encrypts a reply (or, in tests, a push) for `receiveId`; `random` is fixed only by known-answer tests. */
export function encryptMessage(k: WechatCryptoKey, message: string, receiveId: string, random: Buffer = randomBytes(16)): string {
  const body = Buffer.from(message, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length, 0);
  const plain = pkcs7Pad(Buffer.concat([random, len, body, Buffer.from(receiveId, 'utf8')]));
  const cipher = createCipheriv('aes-256-cbc', k.key, k.iv);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(plain), cipher.final()]).toString('base64');
}
