import { describe, expect, it } from 'vitest';
import { createRetrievalIndex, fuseHits, lcsRatio, type RetrievalEntry } from '../../src/bot/knowledge/retrieval-index.ts';
import { createTextAnalyzer } from '../../src/bot/knowledge/text-analysis.ts';

// One analyser for the whole file: building one loads the jieba dictionary.
const analyzer = createTextAnalyzer();

const FAQ: RetrievalEntry[] = [
  { id: 'zh-refund', locale: 'zh-CN', tags: ['after-sales'], fields: { question: '怎么申请退款', similar: ['退款流程是什么'], body: '在订单详情页点击申请退款，审核通过后原路退回。' } },
  { id: 'zh-return', locale: 'zh-CN', tags: ['after-sales'], fields: { question: '如何退货', similar: ['商品不想要了可以退吗'], body: '签收后七天内可在订单页申请退货。' } },
  { id: 'zh-ship-time', locale: 'zh-CN', tags: ['logistics'], fields: { question: '下单后多久发货', body: '现货商品 48 小时内发货。' } },
  { id: 'zh-track', locale: 'zh-CN', tags: ['logistics'], fields: { question: '怎么查询物流信息', similar: ['我的快递到哪了'] } },
  { id: 'zh-address', locale: 'zh-CN', tags: ['orders'], fields: { question: '下单后可以修改收货地址吗' } },
  { id: 'zh-cancel', locale: 'zh-CN', tags: ['orders'], fields: { question: '怎么取消订单' } },
  { id: 'zh-invoice', locale: 'zh-CN', tags: ['billing'], fields: { question: '怎么开发票', similar: ['能开增值税专用发票吗'] } },
  { id: 'zh-password', locale: 'zh-CN', tags: ['account'], fields: { question: '忘记登录密码怎么办', similar: ['密码找回'] } },
  { id: 'zh-phone', locale: 'zh-CN', tags: ['account'], fields: { question: '如何更换绑定的手机号' } },
  { id: 'zh-coupon', locale: 'zh-CN', tags: ['billing'], fields: { question: '优惠券为什么用不了' } },
  { id: 'zh-human', locale: 'zh-CN', tags: ['service'], fields: { question: '怎么联系人工客服' } },
  { id: 'zh-repay', locale: 'zh-CN', tags: ['billing'], fields: { question: '可以提前还款吗' } },
  { id: 'en-refund', locale: 'en', tags: ['after-sales'], fields: { question: 'How do I get a refund?', similar: ['I want my money back'] } },
  { id: 'en-return', locale: 'en', tags: ['after-sales'], fields: { question: 'How can I return an item?' } },
  { id: 'en-shipping', locale: 'en', tags: ['logistics'], fields: { question: 'How long does shipping take?' } },
  { id: 'en-track', locale: 'en', tags: ['logistics'], fields: { question: 'Where is my package?', similar: ['track my order'] } },
  { id: 'en-cancel', locale: 'en', tags: ['orders'], fields: { question: 'How do I cancel my order?' } },
  { id: 'en-password', locale: 'en', tags: ['account'], fields: { question: 'I forgot my password', similar: ['reset password'] } },
  { id: 'en-invoice', locale: 'en', tags: ['billing'], fields: { question: 'Can I get an invoice for my purchase?' } },
  { id: 'en-human', locale: 'en', tags: ['service'], fields: { question: 'Can I talk to a human agent?' } },
];

function build() {
  const index = createRetrievalIndex({ analyzer });
  index.upsert(FAQ);
  return index;
}

describe('retrieval index', () => {
  it('finds paraphrased Chinese questions at rank 1 (chatter, synonyms, different wording)', () => {
    const index = build();
    const cases: Array<[string, string]> = [
      ['你好，请问退款要怎么申请呀', 'zh-refund'],
      ['我想问一下东西不想要了咋退货', 'zh-return'],
      ['下完单一般多长时间发货', 'zh-ship-time'],
      ['快递到哪里了', 'zh-track'],
      ['收货地址填错了能改吗', 'zh-address'],
      ['订单如何撤销', 'zh-cancel'],
      ['发票怎么开', 'zh-invoice'],
      ['登陆密码忘了', 'zh-password'],
      ['手机号码换了怎么改绑定', 'zh-phone'],
      ['为啥优惠券不能用', 'zh-coupon'],
      ['转人工', 'zh-human'],
      ['能不能提前还钱', 'zh-repay'],
    ];
    for (const [query, id] of cases) expect(index.search(query)[0]?.id, query).toBe(id);
  });

  it('finds paraphrased English questions at rank 1 (stemming, synonyms)', () => {
    const index = build();
    const cases: Array<[string, string]> = [
      ['hi, refunds please', 'en-refund'],
      ['how to return items', 'en-return'],
      ['how many days for delivery', 'en-shipping'],
      ['where is my parcel package', 'en-track'],
      ['please terminate my order', 'en-cancel'],
      ['forgotten password', 'en-password'],
      ['talk to a real person, an agent', 'en-human'],
    ];
    for (const [query, id] of cases) expect(index.search(query)[0]?.id, query).toBe(id);
  });

  it('gives unrelated queries a low confidence and related ones a high one', () => {
    const index = build();
    const related = index.search('怎么申请退款')[0]!;
    expect(related.id).toBe('zh-refund');
    expect(related.confidence).toBeGreaterThan(0.5);
    for (const unrelated of ['明天北京天气怎么样', '给我讲个笑话', '量子力学的薛定谔方程', 'what is the weather in Paris']) {
      const top = index.search(unrelated)[0];
      expect(top?.confidence ?? 0, unrelated).toBeLessThan(0.3);
    }
    // Nothing in common at all (emoji and punctuation carry no features): no hits.
    expect(index.search('🙂🙂！！')).toEqual([]);
  });

  it('upserts replace an entry in place and removes take it out', () => {
    const index = build();
    expect(index.size).toBe(FAQ.length);
    index.upsert([{ id: 'zh-coupon', locale: 'zh-CN', fields: { question: '积分可以兑换礼品吗' } }]);
    expect(index.size).toBe(FAQ.length);
    expect(index.search('积分兑换礼品')[0]?.id).toBe('zh-coupon');
    expect(index.search('优惠券用不了').map((h) => h.id)).not.toContain('zh-coupon');

    index.remove(['zh-refund', 'unknown-id']);
    expect(index.size).toBe(FAQ.length - 1);
    expect(index.search('怎么申请退款').map((h) => h.id)).not.toContain('zh-refund');
    index.upsert([FAQ[0]!]);
    expect(index.search('怎么申请退款')[0]?.id).toBe('zh-refund');
  });

  it('stays correct after many removals trigger compaction', () => {
    const index = createRetrievalIndex({ analyzer });
    const filler = Array.from({ length: 600 }, (_, i) => ({ id: `f${i}`, fields: { question: `测试问题第${i}条关于会员积分和账户设置` } }));
    index.upsert([...filler, ...FAQ]);
    index.remove(filler.map((f) => f.id));
    expect(index.size).toBe(FAQ.length);
    expect(index.search('会员积分').every((h) => !h.id.startsWith('f'))).toBe(true);
    expect(index.search('如何退货')[0]?.id).toBe('zh-return');
  });

  it('filters by locale and by tags', () => {
    const index = build();
    const en = index.search('refund 退款', { locale: 'en-US' });
    expect(en.length).toBeGreaterThan(0);
    expect(en.every((h) => h.id.startsWith('en-'))).toBe(true);
    const zh = index.search('refund 退款', { locale: 'zh' });
    expect(zh.every((h) => h.id.startsWith('zh-'))).toBe(true);
    const logistics = index.search('怎么申请退款 发货', { tags: ['logistics'] });
    expect(logistics[0]?.id).toBe('zh-ship-time');
    expect(logistics.every((h) => FAQ.find((e) => e.id === h.id)!.tags!.includes('logistics'))).toBe(true);
  });

  it('respects the limit and orders by score', () => {
    const index = build();
    const hits = index.search('怎么', { limit: 3 });
    expect(hits.length).toBeLessThanOrEqual(3);
    for (let i = 1; i < hits.length; i++) expect(hits[i - 1]!.score).toBeGreaterThanOrEqual(hits[i]!.score);
  });
});

describe('fuseHits', () => {
  it('ranks entries found by both lists first, then by reciprocal rank', () => {
    const lexical = [
      { id: 'a', score: 3, confidence: 0.9 },
      { id: 'b', score: 2, confidence: 0.5 },
      { id: 'c', score: 1, confidence: 0.2 },
    ];
    const vector = [
      { id: 'd', similarity: 0.95 },
      { id: 'b', similarity: 0.9 },
      { id: 'e', similarity: 0.4 },
    ];
    const fused = fuseHits(lexical, vector, { k: 60 });
    // b is in both lists; a and d (both rank 1 in one list) tie on RRF and the higher confidence wins.
    expect(fused.map((h) => h.id)).toEqual(['b', 'd', 'a', 'e', 'c']);
    expect(fused.find((h) => h.id === 'd')!.confidence).toBeCloseTo(0.95);
    expect(fused.find((h) => h.id === 'b')!.confidence).toBeCloseTo(0.9);
    expect(fuseHits(lexical, vector, { limit: 2 })).toHaveLength(2);
    expect(fuseHits([], [])).toEqual([]);
  });
});

describe('lcsRatio', () => {
  it('is 1 for equal strings, 0 for disjoint ones and in between otherwise', () => {
    expect(lcsRatio('退款', '退款')).toBe(1);
    expect(lcsRatio('退款', '发货')).toBe(0);
    expect(lcsRatio('怎么申请退款', '退款怎么申请')).toBeCloseTo((2 * 4) / 12);
  });
});
