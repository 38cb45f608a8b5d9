import { describe, expect, it } from 'vitest';
import { isChineseId18, luhn, maskPii } from '../../src/bot/llm/pii-mask.ts';

describe('maskPii', () => {
  it('masks 18-character Chinese ID numbers that pass the checksum, keeping a hint', () => {
    // 11010519491231002X is the GB 11643 example number (valid checksum).
    const r = maskPii('我的身份证号是11010519491231002X，请核实');
    expect(r.text).toBe('我的身份证号是110***********002X，请核实');
    expect(r.found).toBe(1);
    expect(isChineseId18('11010519491231002X')).toBe(true);
    // Same number with a wrong check character is left alone (probably not an ID).
    expect(isChineseId18('110105194912310021')).toBe(false);
    expect(maskPii('编号110105194912310021').found).toBe(0);
  });

  it('masks 15-digit IDs with a plausible birth date', () => {
    const r = maskPii('old id 110105491231002 here');
    expect(r.text).toBe('old id 110********1002 here');
    expect(r.found).toBe(1);
  });

  it('masks CN mobile numbers with or without +86 and separators', () => {
    expect(maskPii('手机13800138000').text).toBe('手机138****8000');
    expect(maskPii('call +86 138-0013-8000 please').text).toBe('call +86 138****8000 please');
    expect(maskPii('电话 139 1234 5678').text).toBe('电话 139****5678');
  });

  it('masks other E.164 numbers', () => {
    const r = maskPii('reach me at +44 20 7946 0958 tomorrow');
    expect(r.text).not.toContain('7946');
    expect(r.text).toMatch(/\+44\*+0958/);
    expect(r.found).toBe(1);
  });

  it('masks bank cards that pass Luhn, with spaces or dashes', () => {
    expect(luhn('4111111111111111')).toBe(true);
    expect(maskPii('card 4111 1111 1111 1111 ok').text).toBe('card ****1111 ok');
    // A 19-digit UnionPay-style number (check digit computed by hand with the Luhn rule).
    expect(maskPii('卡号6212-2610-0001-2345-673').text).toBe('卡号****5673');
    expect(maskPii('卡号6212261000012345673').text).toBe('卡号****5673');
    expect(maskPii('卡号4111111111111111').text).toBe('卡号****1111');
    // Fails Luhn: an order number, not a card.
    expect(maskPii('订单号4111111111111112').text).toBe('订单号4111111111111112');
  });

  it('masks emails keeping the first character and the domain', () => {
    expect(maskPii('mail alice.w@example.com now').text).toBe('mail a***@example.com now');
  });

  it('counts everything in mixed text and leaves ordinary numbers alone', () => {
    const input = '订单20261126001金额¥199.00，手机13800138000，邮箱bob@qq.com，卡4111 1111 1111 1111';
    const r = maskPii(input);
    expect(r.found).toBe(3);
    expect(r.text).toContain('20261126001');
    expect(r.text).toContain('199.00');
    expect(r.text).not.toMatch(/13800138000|bob@|4111 1111/);
  });

  it('returns text unchanged when nothing is found', () => {
    expect(maskPii('退货政策是什么？')).toEqual({ text: '退货政策是什么？', found: 0 });
  });
});
