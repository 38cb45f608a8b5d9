/** Article chunking for retrieval: heading paths, sizes, sentence-aware cuts in Chinese and English. */
import { describe, expect, it } from 'vitest';
import { chunkArticle, markdownToPlain, snippetOf, splitSentences } from '../../src/bot/knowledge/chunker.ts';

describe('splitSentences', () => {
  it('ends Chinese sentences at 。！？； with closing quotes, English ones at . ! ? before a space', () => {
    expect(splitSentences('请先登录。然后点击“申请售后！”可以吗？好的；谢谢')).toEqual(['请先登录。', '然后点击“申请售后！”', '可以吗？', '好的；', '谢谢']);
    expect(splitSentences('Version 3.5 is out. Update now! Why? Because e.g.x stays.')).toEqual(['Version 3.5 is out.', 'Update now!', 'Why?', 'Because e.g.x stays.']);
    expect(splitSentences('列表一\n列表二')).toEqual(['列表一', '列表二']);
  });
});

describe('chunkArticle', () => {
  it('splits at headings and keeps the heading path (the article title first)', () => {
    const md = '前言。\n\n## 退货条件\n\n七天内可退。\n\n### 例外\n\n定制商品不退。\n\n## 退款时效\n\n一到三个工作日。';
    expect(chunkArticle('退换货政策', md)).toEqual([
      { heading: '退换货政策', text: '前言。' },
      { heading: '退换货政策 › 退货条件', text: '七天内可退。' },
      { heading: '退换货政策 › 退货条件 › 例外', text: '定制商品不退。' },
      { heading: '退换货政策 › 退款时效', text: '一到三个工作日。' },
    ]);
  });

  it('does not repeat the title when the document H1 is the title, and reads Setext headings', () => {
    expect(chunkArticle('Guide', '# Guide\n\nIntro.\n\nReturns\n-------\n\nWithin 7 days.').map((c) => c.heading)).toEqual(['Guide', 'Guide › Returns']);
  });

  it('packs paragraphs up to maxChars, merges a short tail, and cuts long paragraphs at sentence ends', () => {
    const sentence = '这是一个关于退货政策的完整句子，用来测试分块的长度控制。'; // 28 characters
    const long = sentence.repeat(60); // 1680 characters, one paragraph
    const chunks = chunkArticle('T', `${long}\n\n短尾巴。`);
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    for (const c of chunks) expect(c.text.length).toBeLessThanOrEqual(800);
    // Every cut is at a sentence end: each chunk ends with 。
    for (const c of chunks) expect(c.text.endsWith('。')).toBe(true);
    // Nothing lost, nothing duplicated
    expect(chunks.map((c) => c.text).join('').replace(/\s/g, '')).toBe(`${long}短尾巴。`);
    // The short tail joined the chunk before it
    expect(chunks.some((c) => c.text === '短尾巴。')).toBe(false);
  });

  it('keeps English sentences separated by spaces when cutting', () => {
    const para = Array.from({ length: 40 }, (_, i) => `Sentence number ${i} explains the refund rules.`).join(' ');
    const chunks = chunkArticle('Refunds', para, { maxChars: 300 });
    expect(chunks.length).toBeGreaterThan(1);
    for (const c of chunks) {
      expect(c.text.length).toBeLessThanOrEqual(300);
      expect(c.text).toMatch(/^Sentence number \d+/);
      expect(c.text).not.toMatch(/\.Sentence/);
    }
  });

  it('never splits inside fenced code, even at heading-like lines', () => {
    const md = '## Setup\n\n```\n# not a heading\nrun it\n```\n\nDone.';
    const chunks = chunkArticle('Doc', md);
    expect(chunks).toEqual([{ heading: 'Doc › Setup', text: '```\n# not a heading\nrun it\n```\n\nDone.' }]);
  });

  it('gives an article without text one chunk: its title', () => {
    expect(chunkArticle('Only a title', '')).toEqual([{ heading: 'Only a title', text: 'Only a title' }]);
  });
});

describe('plain text and snippets', () => {
  it('strips Markdown but keeps link and image text', () => {
    expect(markdownToPlain('## 标题\n\n请看[帮助中心](https://x.cn)和![流程图](a.png)，**注意**：`代码`\n\n- 一\n- 二')).toBe('标题\n\n请看帮助中心和流程图，注意：代码\n\n一\n二');
  });
  it('cuts snippets at a sentence end when one is near', () => {
    const text = '第一句话很长很长很长很长很长很长很长很长很长很长很长很长。第二句话也很长很长很长很长很长很长很长很长。';
    expect(snippetOf(text, 40)).toBe('第一句话很长很长很长很长很长很长很长很长很长很长很长很长。');
    expect(snippetOf('short', 40)).toBe('short');
  });
});
