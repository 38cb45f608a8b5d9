/**
 * Per-message sentiment for Chinese and English customer-service messages: a hand-written lexicon plus
 * rules (negation, intensifiers, contrast, exclamation, questions, emoji, complaint and sarcasm cues), no
 * training data and no model weights. The lexicon was written from general knowledge of how customers
 * complain and thank; only the probability calibration (CALIBRATION below) is fitted on data — see
 * apps/server/eval/sentiment.ts, which fits it by cross-validation and reports cross-validated figures.
 *
 * Why rules and not a trained classifier: there is no public Chinese customer-service sentiment corpus we
 * can ship, a few hundred labelled messages would be memorised rather than learned, and the product needs a
 * score that an admin can reason about ("退钱" is a complaint) and that works on day one for every tenant.
 */

export type SentimentLabel = 'negative' | 'neutral' | 'positive';
export interface SentimentResult {
  label: SentimentLabel;
  score: number; // -1..1
  confidence: number; // calibrated probability of label
}

/** Raw evidence sum at or beyond which a message is positive / negative. */
export const POSITIVE_AT = 0.6;
export const NEGATIVE_AT = -0.6;

/** Messages beyond this are scored on their beginning; nobody's mood is in character 5,001. */
const MAX_CHARS = 2_000;

// ---------------------------------------------------------------------------------------------------------
// Lexicons. Weights: ±0.3–0.8 mild (polite thanks, small problems), ±1–1.5 clear, ±2–2.5 strong
// (complaints, insults, fraud accusations). "Resolution" entries (解决了, fixed) are marked: they keep their
// weight when the message also describes a problem, because "it was broken but you fixed it" is praise.

interface Entry {
  w: number;
  resolution?: boolean;
  /** Already contains its own negation (不满意, 没问题): a negator before it is part of the word. */
  negated?: boolean;
  /** A courtesy (thanks): "no thanks" declines politely, it does not turn the thanks into anger. */
  polite?: boolean;
}

const ZH: Record<string, number | Entry> = {
  // complaints, accusations, insults
  投诉: -2.5, 差评: -2.5, 骗子: -2.5, 骗人: -2.5, 骗钱: -2.5, 退钱: -2.2, 垃圾: -2.5, 坑人: -2.2, 假货: -2.5,
  恶劣: -2.2, 气死: -2.5, 最烂: -2.5, 太烂: -2.2, 放屁: -2.5, '12315': -2.5, 消协: -2.2, 曝光: -2, 欺诈: -2.5,
  诈骗: -2.5, 无耻: -2.5, 流氓: -2.5, 黑心: -2.5, 倒闭: -2, 忽悠: -2, 霸王条款: -2.2, 欺骗: -2.5, 坑爹: -2.2,
  要求赔偿: -2, 赔偿: -1.5, 要求退款: -1.8, 全额退款: -1.2, 退货退款: -1.2, 维权: -2, 起诉: -2.2, 律师: -1.5,
  // feelings
  失望: -1.8, 不满: -1.8, 不满意: { w: -1.8, negated: true }, 生气: -1.8, 愤怒: -2.2, 恼火: -1.8, 烦: -1.2,
  烦死: -2, 糟糕: -1.8, 差劲: -2, 太差: -2, 很差: -1.8, 质量差: -1.8, 态度差: -2, 无语: -1.5, 崩溃: -1.8,
  郁闷: -1.2, 难受: -1.2, 伤心: -1.5, 后悔: -1.5, 受够: -2, 忍无可忍: -2.5, 没有耐心: { w: -1.5, negated: true },
  服了: -1.5, 醉了: -1.5, 离谱: -1.8, 过分: -1.8, 不靠谱: { w: -1.8, negated: true }, 不像话: { w: -1.8, negated: true },
  不好: { w: -1.5, negated: true }, 不行: { w: -1.2, negated: true }, 敷衍: -1.8, 推卸: -1.8, 推诿: -1.8,
  踢皮球: -1.8, 摆设: -1.8, 忽视: -1.2, 不理: { w: -1.5, negated: true }, 没人理: { w: -1.8, negated: true },
  没人管: { w: -1.8, negated: true }, 坑: -1.5, 被坑: -2, 宰: -1.5, 乱收费: -2.2, 乱扣: -2, 偷偷: -1.5,
  莫名其妙: -1.5, 强制: -1.2, 骚扰: -1.8, 推销: -0.8, 耍: -1.5, 白跑: -1.5, 白交: -1.5, 白等: -1.5, 浪费: -1.5,
  // product and service failures
  坏了: -1.2, 坏的: -1.2, 破损: -1.5, 碎了: -1.5, 烂了: -1.5, 变质: -1.8, 发错: -1.5, 送错: -1.5, 开错: -1.2,
  错了: -1, 出错: -1.2, 报错: -1, 丢件: -1.8, 丢了: -1.2, 打不通: -1.5, 闪退: -1.5, 卡顿: -1.2, 卡死: -1.5,
  断网: -1.5, 故障: -1.2, 延迟: -1, 太慢: -1.5, 很慢: -1.2, 慢死: -2, 停机: -1, 冻结: -1.2, 扣费: -0.8,
  多扣: -1.8, 扣了两: -1.8, 重复扣: -1.8, 涨价: -1.2, 不符: { w: -1.5, negated: true }, 不一致: { w: -1.2, negated: true },
  不能用: { w: -1.5, negated: true }, 没法用: { w: -1.5, negated: true }, 用不了: { w: -1.5, negated: true },
  挂我电话: -2, 迟到: -1.2, 漏发: -1.5, 少发: -1.5, 少退: -1.5, 缺货: -0.6, 假的: -1.8, 乱七八糟: -1.8,
  看不懂: { w: -1, negated: true }, 开线: -1.2, 洒了: -1.5, 清零: -1.2, 数据丢: -2, 丢失: -1.5, 一直没: { w: -1.2, negated: true },
  凭什么: -1.8, 谁负责: -1.8, 负得起: -1.5, 有没有人: -1.2, 怎么搞的: -1.8, 搞什么: -1.8, 什么鬼: -2,
  再也不: { w: -2, negated: true }, 不会再买: { w: -2, negated: true }, 蜗牛: -1.2, 拖延: -1.5, 拖到: -1.5,
  急死: -1.8, 急: -0.6, 被宰: -2, 半个月: -0.6, 一个星期: -0.4, 好几天: -0.6, 第三次: -1, 第二次: -0.6, 又: -0.4,
  // thanks, praise, relief
  谢谢: { w: 0.8, polite: true }, 感谢: { w: 1, polite: true }, 多谢: { w: 0.9, polite: true }, 麻烦: 0, 不用了: { w: -0.3, negated: true }, 辛苦: 0.8, 满意: 1.5, 很好: 1.5, 挺好: 1.2, 真好: 1.5, 太好了: 1.8, 好评: 2,
  点赞: 1.8, 赞: 1.2, 不错: { w: 1.2, negated: true }, 棒: 1.5, 喜欢: 1.5, 专业: 1, 耐心: 1, 及时: 1, 很快: 1,
  真快: 1.2, 这么快: 1, 放心: 1, 贴心: 1.5, 靠谱: 1.5, 推荐: 1.2, 划算: 1.2, 值得: 1, 好用: 1.5, 稳定: 0.8,
  顺利: 1, 完美: 2, 给力: 1.5, 优秀: 1.5, 开心: 1.5, 高兴: 1.5, 惊喜: 1.5, 感动: 1.5, 方便: 0.8, 准时: 1,
  用心: 1.2, 好看: 1, 五星: 2, 物美价廉: 2, 性价比: 0.8, 效率: 0.5, 热情: 1.2, 周到: 1.2, 友好: 1, 清楚: 0.6,
  明白了: 0.5, 祝: 0.6, 支持: 0.6, 还行: 0.3, 挺满意: 1.5, 没话说: { w: 1.5, negated: true }, 厉害: 1, 省心: 1.2,
  满分: 2, 好极了: 2, 真棒: 1.8, 超赞: 2, 帮了大忙: 1.8, 没问题: { w: 0.8, negated: true },
  解决了: { w: 1.3, resolution: true }, 搞定: { w: 1.2, resolution: true }, 修复了: { w: 1.2, resolution: true },
  处理好了: { w: 1.2, resolution: true }, 收到了: 0.2, 已经收到: 0.3, 终于: 0.3,
};

const EN: Record<string, number | Entry> = {
  // complaints, accusations, insults
  complaint: -2.2, complain: -1.8, scam: -2.5, scammer: -2.5, fraud: -2.5, fraudulent: -2.5, 'rip-off': -2.2,
  ripoff: -2.2, 'rip off': -2.2, liar: -2.5, lied: -2, lying: -2, cheat: -2, cheated: -2, stolen: -2, steal: -2,
  'refund me': -2, 'money back': -1.8, 'refund now': -2.2, dispute: -1.5, disputing: -1.5, chargeback: -1.8,
  sue: -2.2, lawyer: -1.5, 'consumer protection': -2.2, 'report you': -2, counterfeit: -2.2, fake: -1.8,
  'never again': -2, 'last time': -1.2, 'done with': -1.5, 'never buying': { w: -2, negated: true },
  'never ordering': { w: -2, negated: true }, 'thanks for nothing': { w: -2.5, negated: true }, 'yeah right': -2,
  'a joke': -1.5, 'waste of': -1.8, waste: -1.5, 'hung up': -2, useless: -2.2, pathetic: -2.2, incompetent: -2.2,
  // feelings
  terrible: -2.2, awful: -2.2, worst: -2.5, horrible: -2.2, ridiculous: -2, disappointed: -1.8, disappointing: -1.8,
  unhappy: -1.8, angry: -2, furious: -2.5, frustrated: -2, frustrating: -2, annoyed: -1.5, annoying: -1.5,
  unacceptable: -2, insane: -1.5, unbelievable: -1.2, hate: -2, sucks: -2, bad: -1.5, poor: -1.2, mess: -1.5,
  rude: -2, ignored: -1.8, ignoring: -1.8, upset: -1.8, fed: -0.3, 'fed up': -2, sick: -0.8, nightmare: -2.2,
  // product and service failures
  broken: -1.5, broke: -1.2, damaged: -1.5, ruined: -1.8, shattered: -1.8, crushed: -1.5, missing: -1, wrong: -1.2,
  lost: -1.2, losing: -1, late: -1, delay: -1, delayed: -1.2, slow: -1.2, slower: -1.2, crash: -1.5, crashes: -1.5,
  crashing: -1.5, crashed: -1.5, error: -0.8, errors: -1, failing: -1.2, failed: -1.2, fails: -1.2, blocked: -1.2,
  suspended: -1.2, overcharged: -2, 'charged twice': -2, 'hidden fees': -2, 'double charged': -2, stuck: -1.2,
  overheats: -1.5, overheating: -1.5, burning: -1, lags: -1.2, laggy: -1.2, throttled: -1.5, mistake: -1.2,
  downhill: -1.5, glitch: -1.2, bug: -1, buggy: -1.5, 'on hold': -1, 'still waiting': -1.5, 'no answer': -1.5,
  'no reply': -1.5, 'no one': -0.8, nobody: -1, again: -0.4, 'third time': -1, 'fourth time': -1.2,
  'how many times': -1.8, 'do you even': -1.8, ugh: -1.5, whatever: -1,
  // thanks, praise, relief
  thanks: { w: 0.8, polite: true }, thank: { w: 0.8, polite: true }, thx: { w: 0.7, polite: true }, appreciate: 1.2, appreciated: 1.2, great: 1.5, excellent: 2, awesome: 2,
  amazing: 2, perfect: 1.8, perfectly: 1.5, love: 1.5, happy: 1.5, satisfied: 1.5, helpful: 1.5, fast: 0.8,
  quick: 0.8, quickly: 0.8, smooth: 1, smoothly: 1, easy: 0.8, good: 1, nice: 1, fantastic: 2, wonderful: 1.8,
  impressed: 1.5, impressive: 1.5, recommend: 1.5, friendly: 1.2, professional: 1, patient: 1, patience: 0.8,
  glad: 1.5, pleased: 1.5, best: 1.5, cheers: 0.6, kudos: 1.5, brilliant: 1.8, superb: 2, outstanding: 2,
  'keep it up': 1.5, 'made my day': 2, 'five stars': 2, 'well done': 1.5, 'good job': 1.5, 'great job': 1.8,
  'extra mile': 1.5, 'no problem': { w: 0.8, negated: true }, 'no problems': { w: 0.8, negated: true },
  'no issues': { w: 1, negated: true }, 'no complaints': { w: 1.2, negated: true }, 'not bad': { w: 1, negated: true },
  'all good': 1, fine: 0.3, okay: 0.1, works: 0.6, working: 0.4, 'works great': 1.5,
  fixed: { w: 1.2, resolution: true }, solved: { w: 1.2, resolution: true }, resolved: { w: 1.2, resolution: true },
  'sorted out': { w: 1.2, resolution: true }, 'sorting this out': { w: 1.2, resolution: true }, finally: 0.3,
  saves: 0.8, value: 0.3, wow: 0.8, exactly: 0.5,
};

// Verbs of things that should have happened; negated ("hasn't arrived", "还没到账") they are a complaint.
const EN_EXPECTED = /\b(?:hasn'?t|has not|haven'?t|have not|never|not|didn'?t|did not|still not|still hasn'?t|won'?t|doesn'?t|does not|can'?t|cannot)\s+(?:been\s+|yet\s+|even\s+)?(?:arrived?|received?|reached|shipped|delivered|fixed|resolved|refunded|replied|called|answered|showed up|updated|work(?:ing|s)?|let me|load(?:ing)?|connect(?:ing)?|process(?:ed)?|appeared|honou?r)\b/gi;
const ZH_EXPECTED = /(?:还没有?|一直没有?|都没有?|仍然?没有?|迟迟没有?|根本没有?|没有?|未|不)(?:收到|到账|发货|到货|送到|解决|处理|回复|回电|打过来|更新|退回?|联系|上门|到|通知|提示|提醒|消息|理)/g;

const ZH_NEGATORS = ['一点也不', '一点都不', '并不', '并没有', '不太', '不是很', '不怎么', '没有', '没', '不', '别', '未', '无', '毫不', '绝不'];
const EN_NEGATORS = new Set(['not', 'no', 'never', "n't", 'dont', "don't", 'didnt', "didn't", 'isnt', "isn't", 'wasnt', "wasn't", 'cant', "can't", 'cannot', 'wont', "won't", 'hardly', 'without', 'aint', "ain't", 'nothing', 'neither', 'nor', 'doesnt', "doesn't", 'arent', "aren't"]);
const ZH_INTENSIFIERS: Array<[string, number]> = [['非常', 1.5], ['特别', 1.5], ['极其', 1.7], ['超级', 1.5], ['十分', 1.4], ['相当', 1.3], ['太', 1.4], ['真', 1.3], ['好', 1.2], ['很', 1.2], ['巨', 1.5], ['最', 1.5], ['实在', 1.4], ['严重', 1.5], ['完全', 1.3], ['根本', 1.4], ['真心', 1.3]];
const EN_INTENSIFIERS: Record<string, number> = { very: 1.4, so: 1.3, extremely: 1.7, really: 1.3, absolutely: 1.6, totally: 1.4, super: 1.4, too: 1.2, completely: 1.4, utterly: 1.6, incredibly: 1.6, highly: 1.4, truly: 1.3, most: 1.3, beyond: 1.3, such: 1.2, much: 1.2 };

// Markers of sarcasm or exasperation that flip praise into complaint.
const SARCASM = /(呵呵|真够可以|真厉害|真是谢谢|谢谢你们啊|好棒哦|真行|可真是|你们真是|yeah right|thanks a lot for|oh (?:great|wonderful|fantastic|perfect)|as always|totally normal|really impressive|sure, because|just great)/i;
const CONTRAST = /(但是|(?<!不)但(?!愿)|可是|不过|然而|\bbut\b|\bhowever\b|\bthough\b|\byet\b)/gi;
const ZH_QUESTION = /([?？]|[吗呢么][?？。]?\s*$|^\s*(请问|想问|咨询|问一下|能不能|可以|如何|怎么(?!又|还|回事)))/;
const EN_QUESTION = /(\?\s*$|^\s*(how|what|when|where|which|can|could|would|is|are|do|does|will|may|should)\b)/i;
const COMPLAINT_QUESTION = /(为什么|凭什么|到底|怎么又|怎么还|怎么回事|是不是|\bwhy\b|\bhow come\b|\bseriously\b)/i;
const POSITIVE_EMOJI = /[😊😀😁😃😄😆😍🥰😘👍👏🙏🙌🎉❤💯🌹✨😉🤗]/gu;
const NEGATIVE_EMOJI = /[😡😤😠🤬👎💢😭😞😔😩😫🙄😒💔🤮]/gu;

interface Term {
  start: number;
  end: number;
  w: number;
  resolution: boolean;
}

function compileLexicon(lex: Record<string, number | Entry>): Array<[string, Entry]> {
  return Object.entries(lex)
    .map(([k, v]): [string, Entry] => [k.toLowerCase(), typeof v === 'number' ? { w: v } : v])
    .sort((a, b) => b[0].length - a[0].length);
}

const ZH_LEX = compileLexicon(ZH);
const EN_LEX = compileLexicon(EN);
const EN_LEX_MAP = new Map(EN_LEX);
const EN_MAX_WORDS = Math.max(...EN_LEX.map(([k]) => k.split(' ').length));

/** Chinese terms: longest match at each position, so 不满意 is read once and not as 不 + 满意. */
function zhTerms(text: string): Term[] {
  const terms: Term[] = [];
  let i = 0;
  while (i < text.length) {
    const hit = ZH_LEX.find(([k]) => text.startsWith(k, i));
    if (!hit) {
      i++;
      continue;
    }
    const [k, e] = hit;
    let w = e.w;
    // Negators and intensifiers only reach within the clause: in 一点诚意都没有，敷衍 the 没有 is not about 敷衍.
    const before = text.slice(Math.max(0, i - 5), i).split(/[，,。.!！?？;；、\s]/).at(-1)!;
    if (k === '又' && text.slice(i + 1, i + 4).includes('又')) {
      i += 1; // 又快又好 is "both fast and good", not "again"
      continue;
    }
    if (!e.negated && !e.polite) {
      const neg = ZH_NEGATORS.find((n) => before.endsWith(n) || before.slice(0, -1).endsWith(n));
      // 不满意 → negative; 不差 → mildly positive: negating a complaint is weaker than praise.
      if (neg) w = w > 0 ? -0.8 * w : -0.4 * w;
    }
    const amp = ZH_INTENSIFIERS.find(([n]) => before.endsWith(n) || before.slice(0, -1).endsWith(n));
    if (amp) w *= amp[1];
    terms.push({ start: i, end: i + k.length, w, resolution: Boolean(e.resolution) });
    i += k.length;
  }
  return terms;
}

const EN_WORD = /[a-z0-9]+(?:[-'][a-z0-9]+)*|[$€£¥]/g;

function enTerms(text: string): Term[] {
  const words = [...text.toLowerCase().replace(/[’`]/g, "'").matchAll(EN_WORD)].map((m) => ({ w: m[0], start: m.index!, end: m.index! + m[0].length }));
  const terms: Term[] = [];
  for (let i = 0; i < words.length; ) {
    let matched = 0;
    for (let n = Math.min(EN_MAX_WORDS, words.length - i); n >= 1 && !matched; n--) {
      const phrase = words.slice(i, i + n).map((x) => x.w).join(' ');
      const e = EN_LEX_MAP.get(phrase);
      if (!e) continue;
      matched = n;
      let w = e.w;
      const clauseStart = Math.max(0, text.slice(0, words[i]!.start).search(/[,.;!?][^,.;!?]*$/));
      const window = words.slice(Math.max(0, i - 3), i).filter((x) => x.start >= clauseStart).map((x) => x.w);
      if (!e.negated && !e.polite && window.some((x) => EN_NEGATORS.has(x) || x.endsWith("n't"))) w = w > 0 ? -0.8 * w : -0.4 * w;
      const amp = window.slice(-2).reduce((a, x) => a * (EN_INTENSIFIERS[x] ?? 1), 1);
      w *= Math.min(amp, 2);
      // SHOUTING a sentiment word makes it stronger.
      const raw = text.slice(words[i]!.start, words[i + n - 1]!.end);
      if (raw.length > 2 && raw === raw.toUpperCase() && /[A-Z]/.test(raw)) w *= 1.3;
      terms.push({ start: words[i]!.start, end: words[i + n - 1]!.end, w, resolution: Boolean(e.resolution) });
    }
    i += matched || 1;
  }
  // ALL-CAPS words that are not in the lexicon still signal raised voice (AGAIN, NOW).
  for (const m of text.matchAll(/\b[A-Z]{3,}\b/g)) {
    if (!/^(API|SMS|SIM|USD|CNY|RMB|SSO|CSV|VAT|VIP|APP|URL|PDF|FAQ|ID|OK|ASAP)$/.test(m[0]) && !terms.some((t) => t.start === m.index)) {
      terms.push({ start: m.index!, end: m.index! + m[0].length, w: -0.5, resolution: false });
    }
  }
  return terms;
}

export interface SentimentEvidence {
  /** Sum of the evidence, before squashing: the label is decided on it. */
  raw: number;
  label: SentimentLabel;
  /** Distance from the nearest decision threshold (≥ 0), the input of the calibration. */
  margin: number;
}

/** The model's evidence for `text`; exported so the evaluation can fit and check the calibration. */
export function sentimentEvidence(input: string): SentimentEvidence {
  const text = input.normalize('NFKC').slice(0, MAX_CHARS);
  const lower = text.toLowerCase();
  const terms = [...zhTerms(lower), ...enTerms(text)];
  for (const m of lower.matchAll(EN_EXPECTED)) terms.push({ start: m.index!, end: m.index! + m[0].length, w: -1.4, resolution: false });
  for (const m of lower.matchAll(ZH_EXPECTED)) {
    // "没有收到验证码，可以再发一次吗" is a request; the question damping below handles that.
    if (!terms.some((t) => t.start <= m.index! && m.index! < t.end)) terms.push({ start: m.index!, end: m.index! + m[0].length, w: -1.3, resolution: false });
  }
  for (const m of text.matchAll(POSITIVE_EMOJI)) terms.push({ start: m.index!, end: m.index! + m[0].length, w: 1, resolution: false });
  for (const m of text.matchAll(NEGATIVE_EMOJI)) terms.push({ start: m.index!, end: m.index! + m[0].length, w: -1.5, resolution: false });

  // Contrast: what follows "but / 但是" is what the customer means; what precedes it counts for less.
  let pivot = -1;
  for (const m of lower.matchAll(CONTRAST)) if (m.index! > 0) pivot = m.index!;
  let pos = 0;
  let neg = 0;
  let resolution = 0;
  for (const t of terms) {
    const w = pivot < 0 ? t.w : t.start < pivot ? t.w * 0.5 : t.w * 1.4;
    if (t.resolution && w > 0) resolution += w;
    else if (w > 0) pos += w;
    else neg += w;
  }
  // Sarcasm: praise next to a described failure is not praise ("好棒哦，第三次送错地址了", "Great, another
  // hour on hold"). Without a contrast word a polite or ironic preface counts for little; resolution words
  // ("broken, but you fixed it") keep their weight.
  if (SARCASM.test(text)) {
    neg -= 1.5 + pos;
    pos = 0;
  } else if (pivot < 0 && neg <= -1 && pos > 0) pos *= 0.3;
  let raw = pos + neg + resolution;

  const question = ZH_QUESTION.test(text) || EN_QUESTION.test(text);
  if (COMPLAINT_QUESTION.test(text)) raw -= 0.6;
  else if (question && raw > -2.2 && raw < 1.5) raw *= 0.5; // a polite question about a problem is still a question

  const bangs = (text.match(/[!！]/g) ?? []).length;
  if (bangs) raw *= bangs >= 2 ? 1.4 : 1.2;
  if (/[?？]{2,}|[?？][!！]|[!！][?？]/.test(text)) raw -= 0.5;

  const label: SentimentLabel = raw >= POSITIVE_AT ? 'positive' : raw <= NEGATIVE_AT ? 'negative' : 'neutral';
  const margin = label === 'positive' ? raw - POSITIVE_AT : label === 'negative' ? NEGATIVE_AT - raw : Math.min(raw - NEGATIVE_AT, POSITIVE_AT - raw);
  return { raw, label, margin };
}

// ---------------------------------------------------------------------------------------------------------
// Calibration: P(label is right) = sigmoid(a + b · margin), one (a, b) per predicted label. The shipped
// values are a fit on the committed set (sentiment-set.tsv); the figures reported for it are the
// cross-validated ones from `npm run eval -- sentiment`, which refits on k−1 folds and scores the k-th.

export type Calibration = Record<SentimentLabel, { a: number; b: number }>;

export const CALIBRATION: Calibration = {
  negative: { a: 2.01, b: 2.46 },
  neutral: { a: 0.15, b: 2.67 },
  positive: { a: 1.47, b: 2.4 },
};
// Priors for fitCalibration's ridge term (and the starting point of Newton's method): "about 75% right
// at the threshold, more with distance", so a fold with few rows of one label stays sensible.
const CALIBRATION_PRIOR: Calibration = {
  negative: { a: 1.1, b: 1 },
  neutral: { a: 1.1, b: 1 },
  positive: { a: 1.1, b: 1 },
};

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Logistic regression of "was the label right" on the margin, per label, by Newton's method (2 parameters). */
export function fitCalibration(samples: Array<{ label: SentimentLabel; margin: number; correct: boolean }>, base: Calibration = CALIBRATION_PRIOR): Calibration {
  const out = { ...base } as Calibration;
  for (const label of ['negative', 'neutral', 'positive'] as const) {
    const xs = samples.filter((s) => s.label === label);
    if (xs.length < 5) continue;
    let a = base[label].a;
    let b = base[label].b;
    const l2 = 0.1; // keeps the fit finite when a fold is perfectly separated
    for (let it = 0; it < 50; it++) {
      let ga = -l2 * (a - base[label].a);
      let gb = -l2 * b;
      let haa = l2;
      let hab = 0;
      let hbb = l2;
      for (const s of xs) {
        const p = sigmoid(a + b * s.margin);
        const y = s.correct ? 1 : 0;
        ga += y - p;
        gb += (y - p) * s.margin;
        const v = p * (1 - p);
        haa += v;
        hab += v * s.margin;
        hbb += v * s.margin * s.margin;
      }
      const det = haa * hbb - hab * hab;
      if (Math.abs(det) < 1e-12) break;
      const da = (hbb * ga - hab * gb) / det;
      const db = (haa * gb - hab * ga) / det;
      a += da;
      b += db;
      if (Math.abs(da) + Math.abs(db) < 1e-9) break;
    }
    out[label] = { a, b };
  }
  return out;
}

export function createSentimentAnalyzer(options: { calibration?: Calibration } = {}): { analyze(text: string): SentimentResult } {
  const cal = options.calibration ?? CALIBRATION;
  return {
    analyze(text: string): SentimentResult {
      const { raw, label, margin } = sentimentEvidence(text);
      const { a, b } = cal[label];
      // Never claim certainty: a lexicon can always be fooled.
      const confidence = Math.min(0.99, Math.max(1 / 3, sigmoid(a + b * margin)));
      return { label, score: Math.round(Math.tanh(raw / 2) * 1000) / 1000, confidence: Math.round(confidence * 1000) / 1000 };
    },
  };
}

/**
 * Conversation-level mood: an exponentially weighted mean of the message scores (a message three messages
 * back weighs half as much as the last one), and a trend comparing the last three messages with the three
 * before them. Handoff rules use `score` (sustained anger) and `last` (a sudden outburst).
 */
export function conversationSentiment(messageScores: number[]): { score: number; trend: 'improving' | 'worsening' | 'stable'; last: number } {
  const xs = messageScores.filter((x) => Number.isFinite(x)).map((x) => Math.max(-1, Math.min(1, x)));
  if (xs.length === 0) return { score: 0, trend: 'stable', last: 0 };
  let num = 0;
  let den = 0;
  xs.forEach((x, i) => {
    const w = 0.5 ** ((xs.length - 1 - i) / 3);
    num += w * x;
    den += w;
  });
  const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
  const recent = xs.slice(-3);
  const earlier = xs.slice(-6, -3);
  let trend: 'improving' | 'worsening' | 'stable' = 'stable';
  if (earlier.length > 0) {
    const delta = mean(recent) - mean(earlier);
    if (delta > 0.2) trend = 'improving';
    else if (delta < -0.2) trend = 'worsening';
  } else if (xs.length >= 2) {
    const delta = xs.at(-1)! - xs[0]!;
    if (delta > 0.3) trend = 'improving';
    else if (delta < -0.3) trend = 'worsening';
  }
  return { score: Math.round((num / den) * 1000) / 1000, trend, last: xs.at(-1)! };
}

// ---------------------------------------------------------------------------------------------------------
// Evaluation helpers, shared by `npm run eval -- sentiment` and the regression test.

export interface SentimentRow {
  text: string;
  label: SentimentLabel;
  lang: string;
}

/** Parses `text<TAB>label<TAB>lang` with a header line; throws on a malformed row, naming its line. */
export function parseSentimentSet(tsv: string): SentimentRow[] {
  const rows: SentimentRow[] = [];
  tsv.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim() || (i === 0 && line.startsWith('text\t'))) return;
    const [text, label, lang] = line.split('\t');
    if (!text || !['negative', 'neutral', 'positive'].includes(label ?? '') || !lang) {
      throw new Error(`line ${i + 1}: expected text<TAB>negative|neutral|positive<TAB>lang`);
    }
    rows.push({ text, label: label as SentimentLabel, lang });
  });
  return rows;
}

export interface SentimentMetrics {
  n: number;
  accuracy: number;
  macro_f1: number;
  negative_recall: number;
  /** Expected calibration error over 10 equal-width confidence bins. */
  ece: number;
}

export function sentimentMetrics(results: Array<{ gold: SentimentLabel; label: SentimentLabel; confidence: number }>): SentimentMetrics {
  const n = results.length;
  const labels: SentimentLabel[] = ['negative', 'neutral', 'positive'];
  const f1s = labels.map((l) => {
    const tp = results.filter((r) => r.label === l && r.gold === l).length;
    const fp = results.filter((r) => r.label === l && r.gold !== l).length;
    const fn = results.filter((r) => r.label !== l && r.gold === l).length;
    return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
  });
  const goldNeg = results.filter((r) => r.gold === 'negative');
  const bins = Array.from({ length: 10 }, () => ({ n: 0, conf: 0, correct: 0 }));
  for (const r of results) {
    const b = bins[Math.min(9, Math.floor(r.confidence * 10))]!;
    b.n++;
    b.conf += r.confidence;
    b.correct += r.label === r.gold ? 1 : 0;
  }
  const ece = bins.reduce((s, b) => s + (b.n ? (b.n / n) * Math.abs(b.correct / b.n - b.conf / b.n) : 0), 0);
  return {
    n,
    accuracy: n ? results.filter((r) => r.label === r.gold).length / n : 0,
    macro_f1: f1s.reduce((a, b) => a + b, 0) / 3,
    negative_recall: goldNeg.length ? goldNeg.filter((r) => r.label === 'negative').length / goldNeg.length : 0,
    ece,
  };
}
