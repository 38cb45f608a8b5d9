import { describe, expect, it } from 'vitest';
import { checkEntityDefinitions, createEntityExtractor, isValidChineseId, parseChineseNumber, type ExtractedEntity } from '@huiliu/core/bot/nlu/entities';

// Saturday 2026-11-21 10:00 in Shanghai.
const NOW = new Date('2026-11-21T10:00:00+08:00');
const extractor = createEntityExtractor({ now: () => NOW });
const pick = (all: ExtractedEntity[], entity: string) => all.filter((e) => e.entity === entity);
const one = (text: string, entity: string) => {
  const found = pick(extractor.extract(text), entity);
  expect(found, `${entity} in ${text}`).toHaveLength(1);
  return found[0]!;
};

// A valid ID (checksum X) and the same number with a wrong check digit.
const VALID_ID = '11010519491231002X';
const BAD_CHECKSUM_ID = '110105194912310021';

describe('Chinese resident ID numbers', () => {
  it('verifies the GB 11643 checksum and the birth date', () => {
    expect(isValidChineseId(VALID_ID)).toBe(true);
    expect(isValidChineseId(VALID_ID.toLowerCase())).toBe(true);
    expect(isValidChineseId(BAD_CHECKSUM_ID)).toBe(false);
    expect(isValidChineseId('110105194913310025')).toBe(false); // month 13
    expect(isValidChineseId('1101051949123100')).toBe(false);
  });

  it('extracts a valid ID and nothing else from its digits; an invalid one is not extracted at all', () => {
    const all = extractor.extract(`身份证号${VALID_ID}，请核实`);
    expect(all).toEqual([expect.objectContaining({ entity: 'cn_id', value: VALID_ID, start: 4, end: 22 })]);
    const bad = extractor.extract(`身份证号${BAD_CHECKSUM_ID}`);
    expect(pick(bad, 'cn_id')).toEqual([]);
    expect(pick(bad, 'phone')).toEqual([]);
  });
});

describe('phones and e-mails', () => {
  it('reads CN mobiles in plain, spaced, dashed and +86 forms as the 11-digit number', () => {
    for (const text of ['手机13800138000', '电话 138 0013 8000', '138-0013-8000', '+86 138 0013 8000', '+8613800138000', '0086-13800138000']) {
      expect(one(text, 'phone').value, text).toBe('13800138000');
    }
    expect(pick(extractor.extract('12800138000'), 'phone')).toEqual([]); // 12x is not a mobile prefix
    expect(pick(extractor.extract('138001380001'), 'phone')).toEqual([]); // 12 digits
  });

  it('reads other international numbers in E.164 form', () => {
    expect(one('call me on +1 415 555 0132 please', 'phone')).toMatchObject({ value: '+14155550132', text: '+1 415 555 0132' });
    expect(one('+44 7700 900123', 'phone').value).toBe('+447700900123');
  });

  it("extracts e-mails, and an e-mail's digits are not a phone", () => {
    const all = extractor.extract('邮箱 li.13800138000@Example.COM 谢谢');
    expect(all).toEqual([expect.objectContaining({ entity: 'email', value: 'li.13800138000@example.com' })]);
  });
});

describe('order numbers', () => {
  it('finds letter+digit tokens anywhere and digit runs next to an order word', () => {
    expect(one('运单号SF1402938475到哪了', 'order_number').value).toBe('SF1402938475');
    expect(one('订单号：202611180034 一直没发货', 'order_number').value).toBe('202611180034');
    expect(one('my order #4500123987 is late', 'order_number').value).toBe('4500123987');
    expect(one('4500123987', 'order_number').value).toBe('4500123987'); // the whole reply to "your order number?"
  });

  it('does not take phones, counts, bank cards or product names for order numbers', () => {
    expect(pick(extractor.extract('我的卡号6222021234567890123被冻结了'), 'order_number')).toEqual([]);
    expect(pick(extractor.extract('iPhone15 Pro'), 'order_number')).toEqual([]);
    expect(pick(extractor.extract('订单号13800138000'), 'order_number')).toEqual([]);
  });

  it('uses workspace patterns instead of the default when configured', () => {
    const custom = createEntityExtractor({ now: () => NOW, orderPatterns: ['HL-\\d{6}'] });
    expect(pick(custom.extract('单号HL-123456和SF1402938475'), 'order_number').map((e) => e.value)).toEqual(['HL-123456']);
    expect(() => createEntityExtractor({ orderPatterns: ['(a+)+'] })).toThrow(/orderPatterns\.0/);
  });
});

describe('amounts', () => {
  it.each([
    ['退款¥199还没到', 199, 'CNY'],
    ['￥1,299.00', 1299, 'CNY'],
    ['少退了58元', 58, 'CNY'],
    ['两百元', 200, 'CNY'],
    ['一万二千块', 12000, 'CNY'],
    ['三块五', 3.5, 'CNY'],
    ['贷款3.5万', 35000, 'CNY'],
    ['3.5万元', 35000, 'CNY'],
    ['the transfer of $1,200.50 failed', 1200.5, 'USD'],
    ['I paid 250 USD', 250, 'USD'],
    ['about 100 dollars', 100, 'USD'],
    ['RMB 88', 88, 'CNY'],
  ])('%s → %d %s', (text, value, currency) => {
    expect(one(text, 'amount')).toMatchObject({ value, currency });
  });

  it('does not read counts as money', () => {
    expect(pick(extractor.extract('来了2万人'), 'amount')).toEqual([]);
    expect(pick(extractor.extract('买了3件'), 'amount')).toEqual([]);
  });

  it('parses Chinese numerals including colloquial forms', () => {
    expect(parseChineseNumber('两百五十')).toBe(250);
    expect(parseChineseNumber('一万二')).toBe(12000);
    expect(parseChineseNumber('三千五')).toBe(3500);
    expect(parseChineseNumber('十一')).toBe(11);
    expect(parseChineseNumber('一亿零五')).toBe(100000005);
    expect(parseChineseNumber('abc')).toBeUndefined();
  });
});

describe('dates and times (now = Sat 2026-11-21 10:00 Asia/Shanghai)', () => {
  it.each([
    ['明天下午三点', '2026-11-22T15:00:00+08:00'],
    ['明天下午3点半能送吗', '2026-11-22T15:30:00+08:00'],
    ['后天上午十点', '2026-11-23T10:00:00+08:00'],
    ['大后天', '2026-11-24'],
    ['下周一', '2026-11-23'],
    ['上周三买的', '2026-11-11'],
    ['3月5日之前', '2027-03-05'],
    ['下个月5号', '2026-12-05'],
    ['两点半', '2026-11-21T14:30:00+08:00'],
    ['今晚8点', '2026-11-21T20:00:00+08:00'],
    ['3点一刻', '2026-11-21T15:15:00+08:00'],
    ['2026年12月3日 14:30', '2026-12-03T14:30:00+08:00'],
    ['next Monday', '2026-11-23'],
    ['tomorrow at 3pm', '2026-11-22T15:00:00+08:00'],
    ['Dec 3rd at 10am', '2026-12-03T10:00:00+08:00'],
  ])('%s → %s', (text, iso) => {
    const e = one(text, 'datetime');
    expect(e.iso).toBe(iso);
    expect(e.value).toBe(iso);
  });

  it('gives the end of a range the day of its start', () => {
    const dates = pick(extractor.extract('明天下午三点到五点'), 'datetime').map((e) => e.iso);
    expect(dates).toEqual(['2026-11-22T15:00:00+08:00', '2026-11-22T17:00:00+08:00']);
  });

  it('does not read 一点 ("a little") as one o\'clock', () => {
    expect(pick(extractor.extract('有一点问题'), 'datetime')).toEqual([]);
    expect(pick(extractor.extract('一点都不好用'), 'datetime')).toEqual([]);
  });

  it('does not read lengths of time as dates', () => {
    for (const text of ['I have been waiting three weeks', 'down for two hours', '贷款审批卡了二十天', '不是说24小时内发货吗']) {
      expect(pick(extractor.extract(text), 'datetime'), text).toEqual([]);
    }
    expect(one('三天后', 'datetime').iso).toBe('2026-11-24');
    expect(one('in 3 days', 'datetime').iso).toBe('2026-11-24');
  });

  it('works in the workspace time zone whatever the process zone', () => {
    const ny = createEntityExtractor({ now: () => NOW, timeZone: 'America/New_York' }); // 2026-11-20 21:00 there
    expect(one('tomorrow at 3pm', 'datetime').iso).toBe('2026-11-22T15:00:00+08:00');
    expect(pick(ny.extract('tomorrow at 3pm'), 'datetime')[0]!.iso).toBe('2026-11-21T15:00:00-05:00');
    expect(() => createEntityExtractor({ timeZone: 'Mars/Olympus' })).toThrow(RangeError);
  });
});

describe('workspace-defined entities', () => {
  const carrier = {
    name: 'carrier',
    kind: 'enum' as const,
    values: [
      { value: 'SF', synonyms: ['顺丰', '顺丰速运', 'shunfeng'] },
      { value: 'JD', synonyms: ['京东物流', 'jingdong'] },
    ],
  };
  const member = { name: 'member_id', kind: 'regex' as const, pattern: 'M\\d{6}' };
  const ws = createEntityExtractor({ now: () => NOW, custom: [carrier, member] });

  it('maps synonyms to their value, longest first, case-insensitively, on word boundaries in Latin script', () => {
    expect(pick(ws.extract('用顺丰速运寄'), 'carrier')).toEqual([expect.objectContaining({ value: 'SF', text: '顺丰速运' })]);
    expect(pick(ws.extract('ShunFeng please'), 'carrier')[0]!.value).toBe('SF');
    expect(pick(ws.extract('京东物流还是顺丰'), 'carrier').map((e) => e.value)).toEqual(['JD', 'SF']);
    expect(pick(ws.extract('jingdongx'), 'carrier')).toEqual([]);
  });

  it('extracts regex entities', () => {
    expect(pick(ws.extract('会员号M123456'), 'member_id')[0]).toMatchObject({ value: 'M123456', start: 3, end: 10 });
  });

  it('reports bad definitions with their path and keeps the good ones', () => {
    const { issues, definitions } = checkEntityDefinitions([
      carrier,
      { name: 'broken', kind: 'regex', pattern: '([a-z' },
      { name: 'slow', kind: 'regex', pattern: '(a+)+b' },
      { name: 'empty', kind: 'regex', pattern: 'x*' },
      { name: 'phone', kind: 'regex', pattern: '\\d+' },
      { name: 'dup', kind: 'enum', values: [{ value: 'a', synonyms: ['x'] }, { value: 'b', synonyms: ['X'] }] },
      { name: 'long', kind: 'regex', pattern: 'a'.repeat(201) },
      { name: '1bad', kind: 'what' },
    ]);
    expect(definitions.map((d) => d.name)).toEqual(['carrier']);
    const paths = issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['1.pattern', '2.pattern', '3.pattern', '4.name', '5.values.1.synonyms.0', '6.pattern', '7.name', '7.kind']));
    expect(issues.find((i) => i.path === '1.pattern')!.message).toMatch(/does not compile/);
    expect(issues.find((i) => i.path === '3.pattern')!.message).toMatch(/empty string/);
    expect(checkEntityDefinitions('nope').issues).toEqual([{ path: '', message: 'entity definitions must be a list' }]);
  });
});

describe('overlaps and mixed messages', () => {
  it('returns non-overlapping entities in text order', () => {
    const all = extractor.extract(`订单号SF1402938475，手机13800138000，明天下午三点前退我¥199，身份证${VALID_ID}`);
    expect(all.map((e) => e.entity)).toEqual(['order_number', 'phone', 'datetime', 'amount', 'cn_id']);
    for (let i = 1; i < all.length; i++) expect(all[i]!.start).toBeGreaterThanOrEqual(all[i - 1]!.end);
  });

  it('only scans the first 4,000 characters of a huge message', () => {
    const all = extractor.extract(`${'啊'.repeat(5_000)} 13800138000`);
    expect(all).toEqual([]);
  });
});
