/**
 * WeChat message encryption (packages/channels/src/wechat/crypto.ts) against Tencent's published
 * WXBizMsgCrypt sample (fixtures/wechat_oa/sample.json, see its README), plus what a forger or a
 * misconfiguration produces: tampered ciphertext, bad padding, another AppID, a wrong or malformed key.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ChannelError } from '../src/adapter.ts';
import { assertFreshTimestamp, decryptMessage, encryptMessage, parseEncodingAesKey, signatureMatches, wechatSignature } from '../src/wechat/crypto.ts';

interface Sample {
  token: string;
  encoding_aes_key: string;
  app_id: string;
  timestamp: string;
  nonce: string;
  msg_signature: string;
  encrypt: string;
  plaintext_xml: string;
}
const sample = JSON.parse(readFileSync(new URL('./fixtures/wechat_oa/sample.json', import.meta.url), 'utf8')) as Sample;
const key = parseEncodingAesKey(sample.encoding_aes_key);

const refusal = (fn: () => unknown): ChannelError => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ChannelError);
    return err as ChannelError;
  }
  throw new Error('expected a ChannelError');
};

/** Encrypts raw bytes without padding: lets a test put any padding it likes into a valid ciphertext. */
function encryptRaw(plain: Buffer): string {
  const c = createCipheriv('aes-256-cbc', key.key, key.iv);
  c.setAutoPadding(false);
  return Buffer.concat([c.update(plain), c.final()]).toString('base64');
}

function decryptRaw(ciphertext: string): Buffer {
  const d = createDecipheriv('aes-256-cbc', key.key, key.iv);
  d.setAutoPadding(false);
  return Buffer.concat([d.update(Buffer.from(ciphertext, 'base64')), d.final()]);
}

/** random(16) + length(4, big-endian) + message + receive id, before padding. */
function frame(message: string, receiveId: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length, 0);
  return Buffer.concat([Buffer.alloc(16, 0x41), len, body, Buffer.from(receiveId, 'utf8')]);
}

describe('WeChat message crypto: Tencent\'s sample', () => {
  it('derives the 32-byte key and uses its first 16 bytes as IV', () => {
    expect(key.key).toHaveLength(32);
    expect(key.iv.equals(key.key.subarray(0, 16))).toBe(true);
    expect(key.key.equals(Buffer.from(`${sample.encoding_aes_key}=`, 'base64'))).toBe(true);
  });

  it('computes the published msg_signature over the sorted token, timestamp, nonce and ciphertext', () => {
    expect(wechatSignature(sample.token, sample.timestamp, sample.nonce, sample.encrypt)).toBe(sample.msg_signature);
    // Sorted, so the order of the arguments does not matter.
    expect(wechatSignature(sample.encrypt, sample.nonce, sample.token, sample.timestamp)).toBe(sample.msg_signature);
    expect(wechatSignature(sample.token, sample.timestamp, sample.nonce, `${sample.encrypt}x`)).not.toBe(sample.msg_signature);
  });

  it('decrypts the published ciphertext to the published XML for the published AppID', () => {
    expect(decryptMessage(key, sample.encrypt, sample.app_id)).toBe(sample.plaintext_xml);
  });

  it('encrypts to the published ciphertext given the sample\'s random prefix', () => {
    const random = decryptRaw(sample.encrypt).subarray(0, 16);
    expect(encryptMessage(key, sample.plaintext_xml, sample.app_id, random)).toBe(sample.encrypt);
  });
});

describe('WeChat message crypto: round trip and refusals', () => {
  const xml = '<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><Content><![CDATA[你好，汇流 / hello]]></Content></xml>';

  it('round-trips any message, with a fresh random prefix each time', () => {
    const a = encryptMessage(key, xml, sample.app_id);
    const b = encryptMessage(key, xml, sample.app_id);
    expect(a).not.toBe(b);
    expect(decryptMessage(key, a, sample.app_id)).toBe(xml);
    expect(decryptMessage(key, b, sample.app_id)).toBe(xml);
    // PKCS#7 to 32-byte blocks: a plaintext of exactly 64 bytes gets a whole block of padding.
    const exact = 'x'.repeat(64 - 20 - sample.app_id.length);
    const c = encryptMessage(key, exact, sample.app_id);
    expect(Buffer.from(c, 'base64')).toHaveLength(96);
    expect(decryptMessage(key, c, sample.app_id)).toBe(exact);
  });

  it('refuses a message encrypted for another AppID, naming it', () => {
    const e = refusal(() => decryptMessage(key, encryptMessage(key, xml, 'wx0000000000000000'), sample.app_id));
    expect(e.code).toBe('signature_invalid');
    expect(e.message).toContain('wx0000000000000000');
  });

  it('refuses tampered ciphertext: flipped bytes anywhere never yield a message', () => {
    const bytes = Buffer.from(sample.encrypt, 'base64');
    for (const index of [0, 17, bytes.length - 20, bytes.length - 1]) {
      const tampered = Buffer.from(bytes);
      tampered[index] = tampered[index]! ^ 0x5a;
      const e = refusal(() => decryptMessage(key, tampered.toString('base64'), sample.app_id));
      expect(['malformed', 'signature_invalid']).toContain(e.code);
    }
    // Not whole AES blocks (a truncated or padded-out base64 string).
    expect(refusal(() => decryptMessage(key, bytes.subarray(0, bytes.length - 3).toString('base64'), sample.app_id)).code).toBe('malformed');
    expect(refusal(() => decryptMessage(key, '', sample.app_id)).code).toBe('malformed');
  });

  it('refuses bad PKCS#7 padding: a zero byte, a count over 32, and inconsistent padding bytes', () => {
    const framed = frame(xml, sample.app_id);
    // The message is chosen so that at least 2 bytes of padding are needed.
    const n = 32 - (framed.length % 32);
    expect(n).toBeGreaterThan(1);
    const withTail = (mutate: (tail: Buffer) => void) => {
      const tail = Buffer.alloc(n, n);
      mutate(tail);
      return encryptRaw(Buffer.concat([framed, tail]));
    };
    expect(decryptMessage(key, withTail(() => {}), sample.app_id)).toBe(xml);
    const broken = [
      withTail((t) => { t[n - 1] = 0; }),
      withTail((t) => { t[n - 1] = 33; }),
      withTail((t) => { t[0] = n - 1; }),
    ];
    for (const ciphertext of broken) {
      const e = refusal(() => decryptMessage(key, ciphertext, sample.app_id));
      expect(e.code).toBe('malformed');
      expect(e.message).toMatch(/padding/);
    }
  });

  it('refuses a declared length beyond the end of the plaintext', () => {
    const framed = frame(xml, sample.app_id);
    framed.writeUInt32BE(10_000, 16);
    const n = 32 - (framed.length % 32);
    const e = refusal(() => decryptMessage(key, encryptRaw(Buffer.concat([framed, Buffer.alloc(n, n)])), sample.app_id));
    expect(e.code).toBe('malformed');
  });

  it('refuses a malformed EncodingAESKey as a configuration problem, and a different key fails to decrypt', () => {
    for (const bad of ['', 'abc', `${sample.encoding_aes_key}=`, `${sample.encoding_aes_key.slice(0, 42)}-`, sample.encoding_aes_key.slice(1)]) {
      const e = refusal(() => parseEncodingAesKey(bad));
      expect(e.code).toBe('not_configured');
      expect(e.message).not.toContain(sample.encoding_aes_key);
    }
    const other = parseEncodingAesKey('0123456789abcdefghijklmnopqrstuvwxyzABCDEFG');
    const e = refusal(() => decryptMessage(other, sample.encrypt, sample.app_id));
    expect(['malformed', 'signature_invalid']).toContain(e.code);
  });
});

describe('WeChat signatures and timestamps', () => {
  it('compares signatures exactly (hex case aside) and refuses missing or truncated ones', () => {
    const expected = wechatSignature(sample.token, sample.timestamp, sample.nonce);
    expect(signatureMatches(expected, expected)).toBe(true);
    expect(signatureMatches(expected.toUpperCase(), expected)).toBe(true);
    expect(signatureMatches(undefined, expected)).toBe(false);
    expect(signatureMatches('', expected)).toBe(false);
    expect(signatureMatches(expected.slice(0, 39), expected)).toBe(false);
    expect(signatureMatches(`${expected.slice(0, 39)}${expected[39] === '0' ? '1' : '0'}`, expected)).toBe(false);
  });

  it('accepts timestamps inside the window and refuses stale, future and non-numeric ones', () => {
    const now = new Date(Number(sample.timestamp) * 1000);
    expect(() => assertFreshTimestamp(sample.timestamp, now, 300)).not.toThrow();
    expect(() => assertFreshTimestamp(String(Number(sample.timestamp) - 299), now, 300)).not.toThrow();
    expect(refusal(() => assertFreshTimestamp(String(Number(sample.timestamp) - 301), now, 300)).code).toBe('replayed');
    expect(refusal(() => assertFreshTimestamp(String(Number(sample.timestamp) + 301), now, 300)).code).toBe('replayed');
    expect(refusal(() => assertFreshTimestamp('14097356.69', now, 300)).code).toBe('malformed');
    expect(refusal(() => assertFreshTimestamp(undefined, now, 300)).code).toBe('malformed');
  });
});
