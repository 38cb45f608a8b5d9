import { createEntityExtractor } from './src/bot/nlu/entities.ts';
import { createSentimentAnalyzer } from './src/bot/nlu/sentiment.ts';
const x = createEntityExtractor({now:()=>new Date('2026-11-21T10:00:00+08:00')});
const s = createSentimentAnalyzer();
const cases = {
  plusDigits: '+1' + '2'.repeat(3990),
  plusGroups: '+1 ' + '22 '.repeat(1300),
  emailDom: 'a@' + 'a-'.repeat(1990),
  emailDots: 'a@' + 'aa.'.repeat(1300) + '1',
  local: 'a.'.repeat(1999),
  digits: '1'.repeat(4000),
  cn: '一二三'.repeat(1300),
  dian: '三点'.repeat(1900),
  alnum: 'A1'.repeat(2000),
  money: '$1,'.repeat(1300),
};
for (const [k,v] of Object.entries(cases)) { const t=performance.now(); x.extract(v); const t2=performance.now(); s.analyze(v); console.log(k, (t2-t).toFixed(1), (performance.now()-t2).toFixed(1)); }
