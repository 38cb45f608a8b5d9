import { Jieba } from '@node-rs/jieba';
import { dict } from '@node-rs/jieba/dict.js';
import { stemmer } from 'stemmer';

/**
 * Text analysis for knowledge retrieval: turns a question (or an article chunk) into weighted lexical
 * features of several kinds, the same way for entries and for queries (both sides are short questions
 * written by customers, so a symmetric analysis matches paraphrases best).
 *
 * Steps, each measured on the BQ development set (scratch/docs-retrieval.md):
 * 1. NFKC + lowercase (full-width ＡＢＣ１２３ → abc123).
 * 2. Customer-service chatter is dropped (你好 / 请问 / 我想问一下 / 谢谢 / please / thanks …): it carries
 *    no meaning about which entry is wanted and would otherwise match every entry written the same way.
 * 3. Near-synonyms are rewritten to one surface form (为啥 → 为什么, 还钱 → 还款, 登陆 → 登录, refund ← money
 *    back …) from a generic hand-written list of customer-service words, so both the word features and the
 *    character n-grams of two paraphrases agree.
 * 4. Features: Chinese runs → jieba words (search mode: a long word also yields its dictionary sub-words)
 *    and character unigrams and bigrams; other runs → Porter-stemmed words (stop words dropped) and
 *    character trigrams of each word (robust to typos and inflections the stemmer misses).
 */

/** Feature kinds; each kind is scored as its own BM25 field (own length normalisation and weight). */
export const FEATURE_KINDS = ['word', 'char1', 'char2', 'char3', 'wbigram', 'enword', 'engram'] as const;
export type FeatureKind = (typeof FEATURE_KINDS)[number];
export const KIND_COUNT = FEATURE_KINDS.length;
export const KIND = { word: 0, char1: 1, char2: 2, char3: 3, wbigram: 4, enword: 5, engram: 6 } as const;

/** Analysed text: feature key (`kind` digit + term) → count, and the number of features per kind. */
export interface AnalyzedText {
  terms: Map<string, number>;
  lengths: Float64Array;
}

export interface TextAnalyzer {
  analyze(text: string): AnalyzedText;
  /** The normalised, chatter-free, synonym-rewritten text (used for character-level similarity). */
  normalize(text: string): string;
}

export interface TextAnalyzerOptions {
  /** Feature kinds to produce (default: all). Switching some off is for measurements. */
  kinds?: readonly FeatureKind[];
  /** Default true. */
  removeChatter?: boolean;
  /** Default true. */
  synonyms?: boolean;
  /** Drop Chinese function words (的, 了, 吗 …) from the word and character features. Default true. */
  removeStopWords?: boolean;
  /** jieba cut for Chinese words: 'search' (words + dictionary sub-words, default) or 'accurate'. */
  cut?: 'search' | 'accurate';
}

// ---------------------------------------------------------------------------------------------------------
// Generic customer-service lexicon. Written for any Chinese/English support desk (e-commerce, banking,
// telecom, SaaS), NOT derived from any evaluation set. Each group: canonical form first, then variants
// that customers use for the same thing. Longest variants are replaced first.
// ---------------------------------------------------------------------------------------------------------

/** Greetings, politeness and filler. Removed as substrings from Chinese text (longest first). */
const ZH_CHATTER = [
  '你好', '您好', '你们好', '哈喽', '在吗', '在不在', '有人吗', '请问一下', '请问下', '请问',
  '我想问一下', '我想问下', '我想问问', '想问一下', '想问下', '问一下', '问下', '咨询一下', '咨询下',
  '我想咨询', '麻烦问一下', '麻烦问下', '麻烦你', '麻烦您', '麻烦', '打扰一下', '打扰了', '谢谢你', '谢谢您',
  '谢谢', '多谢', '感谢', '辛苦了', '请帮我', '帮我看看', '帮我看一下', '帮忙看看', '亲爱的', '亲们',
  '客官', '急急急', '哈哈', '呵呵', '嗯嗯',
];
/** Single-character filler: dropped only when jieba cuts it as a word of its own (亲 yes, 父亲 no). */
const ZH_CHATTER_WORDS = new Set(['亲', '急', '嗯', '哦', '噢', '呃', '喂', '嗨', '哈']);

/** Function words dropped from features after segmentation (interrogatives and negations are kept). */
const ZH_STOP = new Set([
  '的', '了', '吗', '呢', '吧', '啊', '呀', '哇', '啦', '嘛', '么', '哈', '着', '过', '地', '得', '之',
  '我', '你', '您', '他', '她', '它', '我们', '你们', '他们', '咱', '俺', '自己', '这', '那', '这个', '那个',
  '这样', '那样', '一下', '一个', '个', '是', '就', '都', '也', '又', '再', '才', '和', '跟', '与', '及',
  '或', '或者', '还是', '但是', '但', '而且', '所以', '因为', '如果', '要是', '的话', '请', '给', '把', '被',
  '让', '对', '在', '从', '向', '于', '到', '已经', '现在', '一直', '就是', '然后', '那么', '这么',
]);

/** Near-synonym groups; canonical form first. */
const ZH_SYNONYMS: string[][] = [
  // question types
  ['为什么', '为啥', '为何', '怎么回事', '咋回事', '什么原因', '啥原因', '什么情况', '啥情况', '何故'],
  ['怎么', '怎样', '如何', '怎么样', '咋样', '咋么', '咋', '怎么着', '怎么弄', '咋弄', '怎么操作', '如何操作', '怎么办理', '如何办理'],
  ['怎么办', '咋办', '怎么处理', '如何处理', '该怎么办', '怎么解决', '如何解决'],
  ['什么时候', '啥时候', '何时', '什么时间', '啥时间', '几时', '哪天'],
  ['多久', '多长时间', '多少时间', '多少天', '几天', '多长时间'],
  ['什么', '啥', '什么样'],
  ['多少', '几多', '多少钱'],
  ['哪里', '哪儿', '在哪', '哪个地方', '什么地方', '啥地方'],
  ['可以', '能', '能否', '可否', '能不能', '可不可以', '行不行', '是否可以', '可以不', '能吗', '行吗'],
  ['不能', '不可以', '无法', '没法', '没办法', '不了', '不可', '不行'],
  ['没有', '没', '无'],
  ['是否', '是不是', '有没有'],
  // actions
  ['取消', '撤销', '撤回', '注销', '关闭', '退订', '解除', '停用', '作废', '删掉', '删除'],
  ['更换', '更改', '修改', '变更', '换成', '改成', '换一个', '换'],
  ['查询', '查看', '查一下', '查', '看一下', '看看'],
  ['申请', '办理', '开通', '申办', '开户'],
  ['登录', '登陆', '登入', '登不上'],
  ['注册', '注冊'],
  ['绑定', '关联', '绑卡'],
  ['解绑', '解除绑定', '取消绑定'],
  ['收到', '到账', '入账', '进账', '到帐', '入帐', '进帐'],
  ['还款', '还钱', '还贷', '归还', '偿还', '还清', '还上'],
  ['借款', '借钱', '贷款', '借贷', '借个钱'],
  ['扣款', '扣钱', '扣费', '划扣', '扣除'],
  ['退款', '退钱', '返款', '退费'],
  ['退货', '退回', '退掉'],
  ['发货', '寄出', '发出'],
  ['快递', '物流', '邮寄', '配送'],
  ['失败', '不成功', '没成功', '未成功'],
  ['成功', '已成功'],
  ['提示', '显示', '报错', '提醒'],
  ['联系', '联络'],
  ['打电话', '来电', '致电', '回电', '打来电话', '来电话', '电话联系'],
  ['提前', '提早'],
  ['逾期', '过期', '超期', '晚还', '迟还', '拖欠'],
  ['延期', '推迟', '延迟', '延后', '宽限'],
  ['提高', '提升', '增加', '上调', '调高', '涨'],
  ['降低', '减少', '下调', '调低', '降了', '变少'],
  ['使用', '用'],
  ['需要', '要', '得要', '需'],
  ['知道', '了解', '清楚'],
  ['确认', '核实', '核对'],
  ['审核', '审批', '审查'],
  ['通过', '批准', '批了', '批下来'],
  ['拒绝', '被拒', '驳回', '没通过', '未通过'],
  // things
  ['手机号', '手机号码', '电话号码', '手机号码', '号码', '联系电话', '手机'],
  ['银行卡', '储蓄卡', '借记卡', '卡'],
  ['额度', '限额', '授信额度', '可用额度'],
  ['利息', '利率', '息费', '年化'],
  ['手续费', '服务费', '费用'],
  ['账户', '帐户', '账号', '帐号'],
  ['密码', '口令'],
  ['验证码', '校验码', '动态码'],
  ['身份证', '身份证件', '证件'],
  ['客服', '人工', '人工客服', '在线客服', '客服人员'],
  ['订单', '单子'],
  ['钱', '资金', '金额', '款项'],
  ['短信', '信息', '消息'],
  ['软件', 'app', '应用', '客户端'],
  ['微信', 'weixin', 'wechat'],
];

const EN_CHATTER = [
  'hello', 'hi', 'hey', 'please', 'pls', 'plz', 'thanks', 'thank you', 'thx', 'excuse me', 'sorry',
  'i would like to know', 'i want to know', 'i wanted to ask', 'can you tell me', 'could you tell me',
  'i have a question', 'quick question',
];

const EN_STOP = new Set([
  'a', 'an', 'the', 'i', 'me', 'my', 'mine', 'you', 'your', 'we', 'our', 'us', 'it', 'its', 'is', 'are', 'was',
  'were', 'be', 'been', 'am', 'to', 'of', 'in', 'on', 'at', 'for', 'with', 'and', 'or', 'so', 'that', 'this',
  'there', 'do', 'does', 'did', 'just', 'some', 'any', 'about', 'from', 'by', 'as', 'please', 'would', 'could',
  'should', 'will', 'shall', 'may', 'might', 'im', 'ive', 'id', 'also', 'then', 'than', 'too', 'very', 'really',
]);

const EN_SYNONYMS: string[][] = [
  ['cancel', 'terminate', 'close', 'deactivate', 'unsubscribe', 'stop'],
  ['change', 'modify', 'update', 'edit', 'alter', 'switch'],
  ['refund', 'reimburse', 'reimbursement', 'money back'],
  ['login', 'log in', 'sign in', 'signin', 'log on', 'logon'],
  ['signup', 'sign up', 'register', 'registration', 'create an account'],
  ['delivery', 'shipping', 'shipment', 'ship', 'deliver', 'dispatch'],
  ['price', 'cost', 'fee', 'charge', 'charges'],
  ['purchase', 'buy', 'order'],
  ['phone', 'mobile', 'cell', 'telephone'],
  ['password', 'passcode', 'pin'],
  ['account', 'acct'],
  ['contact', 'reach', 'call'],
  ['agent', 'human', 'representative', 'operator'],
  ['problem', 'issue', 'trouble', 'error'],
  ['receive', 'get', 'got'],
  ['when', 'what time'],
  ['how long', 'how many days'],
  ['why', 'how come', 'what is the reason'],
];

// Han runs, or runs of other letters/digits (apostrophes inside English words are dropped).
const RUN = /(\p{Script=Han}+)|((?:(?!\p{Script=Han})[\p{L}\p{M}\p{N}])+)/gu;

interface Rewriter {
  /** Regex of all variants, longest first, and the canonical form of each. */
  pattern: RegExp | null;
  canonical: Map<string, string>;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function buildRewriter(groups: string[][], wordBoundaries: boolean): Rewriter {
  const canonical = new Map<string, string>();
  for (const [head, ...variants] of groups) {
    if (!head) continue;
    for (const v of variants) if (v !== head && !canonical.has(v)) canonical.set(v, head);
  }
  const keys = [...canonical.keys()].sort((a, b) => b.length - a.length).map(escapeRegex);
  if (keys.length === 0) return { pattern: null, canonical };
  const body = keys.join('|');
  return { pattern: new RegExp(wordBoundaries ? `\\b(?:${body})\\b` : body, 'g'), canonical };
}

/** Substring pattern for the variants of at least `minChars` characters (jieba may split those). */
function phrasePattern(r: Rewriter, minChars: number): RegExp | null {
  const keys = [...r.canonical.keys()].filter((k) => [...k].length >= minChars);
  keys.sort((a, b) => b.length - a.length);
  return keys.length ? new RegExp(keys.map(escapeRegex).join('|'), 'g') : null;
}

function buildRemover(phrases: string[], wordBoundaries: boolean): RegExp {
  const body = [...phrases].sort((a, b) => b.length - a.length).map(escapeRegex).join('|');
  return new RegExp(wordBoundaries ? `\\b(?:${body})\\b` : body, 'g');
}

/** One jieba dictionary per analyser; building it parses the whole dictionary (≈0.3 s), so share analysers. */
export function createTextAnalyzer(options: TextAnalyzerOptions = {}): TextAnalyzer {
  const cutter = Jieba.withDict(dict);
  const kinds = new Set(options.kinds ?? FEATURE_KINDS);
  const useChatter = options.removeChatter ?? true;
  const useSynonyms = options.synonyms ?? true;
  const useStop = options.removeStopWords ?? true;
  const searchCut = (options.cut ?? 'search') === 'search';
  const zhChatter = buildRemover(ZH_CHATTER, false);
  const enChatter = buildRemover(EN_CHATTER, true);
  const zhSyn = buildRewriter(ZH_SYNONYMS, false);
  const zhPhrase = phrasePattern(zhSyn, 3);
  const enSyn = buildRewriter(EN_SYNONYMS, true);
  const want = {
    word: kinds.has('word'),
    char1: kinds.has('char1'),
    char2: kinds.has('char2'),
    char3: kinds.has('char3'),
    wbigram: kinds.has('wbigram'),
    enword: kinds.has('enword'),
    engram: kinds.has('engram'),
  };

  /** NFKC, lowercase, multi-character chatter removed, phrase synonyms (3+ characters, or English) rewritten. */
  function prepare(text: string): string {
    let t = text.normalize('NFKC').toLowerCase();
    if (useChatter) t = t.replace(zhChatter, ' ').replace(enChatter, ' ');
    if (useSynonyms) {
      t = t.replace(enSyn.pattern ?? /$^/, (m) => enSyn.canonical.get(m) ?? m);
      t = t.replace(zhPhrase ?? /$^/, (m) => zhSyn.canonical.get(m) ?? m);
    }
    return t;
  }

  /** Words after chatter/stop-word removal and synonym rewriting, per run ('' separates runs). */
  function words(text: string): Array<{ word: string; han: boolean; stop: boolean }> {
    const out: Array<{ word: string; han: boolean; stop: boolean }> = [];
    for (const match of prepare(text).matchAll(RUN)) {
      const [, han, other] = match;
      if (han) {
        for (let w of cutter.cut(han, false)) {
          if (useChatter && ZH_CHATTER_WORDS.has(w)) continue;
          // Word-level rewriting for short variants: substring rewriting of 能/用/卡 would also hit 功能/信用/信用卡.
          if (useSynonyms) w = zhSyn.canonical.get(w) ?? w;
          out.push({ word: w, han: true, stop: useStop && ZH_STOP.has(w) });
        }
      } else if (other) {
        out.push({ word: other, han: false, stop: useStop && EN_STOP.has(other) });
      }
      out.push({ word: '', han: false, stop: true });
    }
    return out;
  }

  function normalize(text: string): string {
    let out = '';
    for (const w of words(text)) {
      if (w.stop) continue;
      out += w.han ? w.word : ` ${w.word} `;
    }
    return out.replace(/\s+/g, ' ').trim();
  }

  function analyze(text: string): AnalyzedText {
    const terms = new Map<string, number>();
    const lengths = new Float64Array(KIND_COUNT);
    const add = (kind: number, term: string, weight = 1): void => {
      const key = kind + term;
      terms.set(key, (terms.get(key) ?? 0) + weight);
      lengths[kind]! += weight;
    };
    let previousWord = '';
    let kept = '';
    for (const { word, han, stop } of words(text)) {
      if (stop || !han) {
        // Characters of function words stay out of the n-grams too: 我的卡 and 卡 should look alike.
        if (kept) charGrams(kept);
        kept = '';
      }
      if (stop) {
        if (!word) previousWord = '';
        continue;
      }
      if (han) {
        kept += word;
        if (want.word) {
          add(KIND.word, word);
          if (searchCut && word.length > 2) for (const sub of cutter.cutForSearch(word, false)) if (sub !== word) add(KIND.word, sub, 0.5);
        }
        if (want.wbigram && previousWord) add(KIND.wbigram, previousWord + '_' + word);
        previousWord = word;
        if (want.char1) for (const ch of word) add(KIND.char1, ch);
      } else {
        const isNumber = /^\p{N}+$/u.test(word);
        const stem = isNumber || !/^[a-z]+$/.test(word) ? word : stemmer(word);
        if (want.enword) add(KIND.enword, stem);
        if (want.wbigram && previousWord) add(KIND.wbigram, previousWord + '_' + stem);
        previousWord = stem;
        // Trigrams with boundary marks: 'refunds' and 'refnd' still share most of them.
        if (want.engram && !isNumber && word.length > 2) {
          const padded = `^${word}$`;
          for (let i = 0; i + 3 <= padded.length; i++) add(KIND.engram, padded.slice(i, i + 3));
        }
      }
    }
    if (kept) charGrams(kept);
    return { terms, lengths };

    function charGrams(run: string): void {
      const chars = [...run];
      if (want.char2) for (let i = 0; i + 1 < chars.length; i++) add(KIND.char2, chars[i]! + chars[i + 1]!);
      if (want.char3) for (let i = 0; i + 2 < chars.length; i++) add(KIND.char3, chars[i]! + chars[i + 1]! + chars[i + 2]!);
    }
  }

  return { analyze, normalize };
}
