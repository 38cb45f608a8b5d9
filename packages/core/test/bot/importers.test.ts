/**
 * Knowledge-base importers: every committed fixture (apps/server/test/fixtures/kb, regenerate with
 * make-fixtures.ts) parses to the expected entries, the Markdown FAQ shapes are recognised, and broken or
 * wrong files give errors naming the file and what was expected.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IMPORTERS, formatOf } from '../../src/bot/knowledge/importers/index.ts';
import { parseCsv } from '../../src/bot/knowledge/importers/csv.ts';
import { parseXlsx } from '../../src/bot/knowledge/importers/xlsx.ts';
import { parseMarkdownText } from '../../src/bot/knowledge/importers/markdown.ts';
import { parseHtml, htmlToMarkdown } from '../../src/bot/knowledge/importers/html.ts';
import { parsePdf } from '../../src/bot/knowledge/importers/pdf.ts';
import { parseDocx } from '../../src/bot/knowledge/importers/docx.ts';
import { validateImported } from '../../src/bot/knowledge/kb.service.ts';

const fixture = (name: string) => readFileSync(new URL(`../../../../apps/server/test/fixtures/kb/${name}`, import.meta.url));
const ARTICLE_TITLES = ['退换货政策', '退货条件', '退款时效', '换货流程', '不支持退换的商品'];

async function rejection(p: Promise<unknown> | (() => unknown)): Promise<{ code: string; message: string }> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    return err as { code: string; message: string };
  }
  throw new Error('expected an error');
}

describe('FAQ sheets', () => {
  it('reads the GBK CSV fixture with Chinese headers: questions, similar questions, answers, categories, tags', () => {
    // The fixture really is GBK, not UTF-8.
    expect(() => new TextDecoder('utf-8', { fatal: true }).decode(fixture('faq.csv'))).toThrow();
    const { entries, errors } = parseCsv(fixture('faq.csv'), 'faq.csv');
    expect(errors).toEqual([]);
    expect(entries).toHaveLength(10);
    expect(entries[0]).toEqual({
      kind: 'faq', title: '怎么申请退货？', similarQuestions: ['如何退货', '我要退货怎么操作', '退货流程是什么'],
      body: expect.stringContaining('申请售后'), category: '售后服务', tags: ['退货'], where: 'row 2',
    });
    expect(entries[2]!.tags).toEqual(['退货', '运费']);
    expect(entries.map((e) => e.category)).toContain('物流配送');
  });

  it('reads the XLSX fixture (English headers, similar questions on separate lines) to the same entries', async () => {
    const xlsx = await parseXlsx(fixture('faq.xlsx'), 'faq.xlsx');
    const csv = parseCsv(fixture('faq.csv'), 'faq.csv');
    expect(xlsx.errors).toEqual([]);
    expect(xlsx.entries.map(({ where: _w, ...e }) => e)).toEqual(csv.entries.map(({ where: _w, ...e }) => e));
  });

  it('accepts UTF-8 with BOM, English headers, semicolons, and reports bad rows by row number', () => {
    const text = '\uFEFFQuestion;Answer;Similar;Category\n"How do I return an item?";"Open My Orders, then Return.";"return item|send back";Returns\n;No question;;\nEmpty answer?;;;\n\n';
    const { entries, errors } = parseCsv(Buffer.from(text), 'en.csv');
    expect(entries).toEqual([{ kind: 'faq', title: 'How do I return an item?', similarQuestions: ['return item', 'send back'], body: 'Open My Orders, then Return.', category: 'Returns', tags: [], where: 'row 2' }]);
    expect(errors).toEqual([
      { where: 'row 3', message: 'the question is empty' },
      { where: 'row 4', message: expect.stringContaining('answer') },
    ]);
  });

  it('names the columns found and the ones expected when a required column is missing', async () => {
    const e = await rejection(() => parseCsv(Buffer.from('标题,内容\na,b\n'), '常见问题.csv'));
    expect(e.code).toBe('validation_failed');
    expect(e.message).toContain('常见问题.csv');
    expect(e.message).toContain('"标题", "内容"');
    expect(e.message).toContain('问题 (question)');
    expect(e.message).toContain('答案 (answer)');
    const onlyQ = await rejection(() => parseCsv(Buffer.from('question,notes\na,b\n'), 'q.csv'));
    expect(onlyQ.message).toContain('no 答案 (answer) column');
    expect(onlyQ.message).not.toContain('no 问题 (question) and');
  });

  it('refuses binaries, UTF-16, broken CSV, corrupt workbooks and empty sheets with clear messages', async () => {
    expect((await rejection(() => parseCsv(fixture('faq.xlsx'), 'faq.csv'))).message).toMatch(/faq\.csv: this is a zip file/);
    expect((await rejection(() => parseCsv(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('问题,答案', 'utf16le')]), 'u.csv'))).message).toContain('UTF-16');
    expect((await rejection(() => parseCsv(Buffer.from('问题,答案\n"未闭合,答\n'), 'b.csv'))).message).toContain('not valid CSV');
    expect((await rejection(() => parseCsv(Buffer.from('问题,答案\n'), 'h.csv'))).message).toContain('no FAQ rows');
    expect((await rejection(parseXlsx(Buffer.from('PK\x03\x04garbage'), 'bad.xlsx'))).message).toMatch(/bad\.xlsx: the workbook cannot be read/);
    expect((await rejection(parseXlsx(Buffer.from('question,answer\n'), 'text.xlsx'))).code).toBe('unsupported_media_type');
  });
});

describe('documents', () => {
  it('splits the Markdown guide into articles at ## headings, the # title as category, keeping images and links', async () => {
    const { entries, errors } = await IMPORTERS.md(fixture('guide.md'), 'guide.md');
    expect(errors).toEqual([]);
    expect(entries.map((e) => e.title)).toEqual(ARTICLE_TITLES);
    expect(entries.every((e) => e.kind === 'article' && e.category === '退换货政策')).toBe(true);
    expect(entries[1]!.body).toContain('![退货流程示意图](https://help.example.com/img/return-flow.png)');
    expect(entries[1]!.body).toContain('- 吊牌、包装盒和说明书需完整保留。');
    expect(entries[3]!.body).toContain('### 换货运费'); // deeper headings stay inside the article
    expect(entries[4]!.body).toContain('[售后服务中心](https://help.example.com/after-sales)');
  });

  it('reads the HTML guide like the Markdown one, without scripts, styles or navigation', async () => {
    const html = await parseHtml(fixture('guide.html'), 'guide.html');
    const md = await IMPORTERS.md(fixture('guide.md'), 'guide.md');
    expect(html.entries.map((e) => e.title)).toEqual(ARTICLE_TITLES);
    expect(html.entries.map((e) => e.body)).toEqual(md.entries.map((e) => e.body));
    expect(JSON.stringify(html)).not.toMatch(/analytics|不应出现|font-family|首页/);
  });

  it('reads the DOCX guide with its headings, lists and link (embedded images are left out)', async () => {
    const { entries } = await parseDocx(fixture('guide.docx'), 'guide.docx');
    expect(entries.map((e) => e.title)).toEqual(ARTICLE_TITLES);
    expect(entries[3]!.body).toContain('### 换货运费');
    expect(entries[1]!.body).toContain('吊牌、包装盒和说明书需完整保留');
    expect(entries[4]!.body).toContain('[售后服务中心](https://help.example.com/after-sales)');
  });

  it('reads the PDF guide: headings from font sizes, lines joined into paragraphs', async () => {
    const { entries } = await parsePdf(fixture('guide.pdf'), 'guide.pdf');
    expect(entries.map((e) => e.title)).toEqual(['Returns and Refunds Policy', 'Return conditions', 'Refund timing', 'How to exchange an item']);
    expect(entries[2]!.body).toBe('Once the warehouse receives and checks the return, we refund the original payment method within 1 to 3 business days. Bank cards may take another 3 to 5 business days.');
    expect(entries.every((e) => e.category === 'Returns and Refunds Policy')).toBe(true);
  });

  it('refuses corrupt or mislabelled documents naming the file', async () => {
    const pdf = await rejection(parsePdf(Buffer.from('%PDF-1.7\n1 0 obj garbage'), 'manual.pdf'));
    expect(pdf.message).toMatch(/manual\.pdf: the PDF cannot be read/);
    expect((await rejection(parsePdf(fixture('guide.docx'), 'guide.pdf'))).code).toBe('unsupported_media_type');
    const docx = await rejection(parseDocx(fixture('faq.xlsx'), 'sheet.docx'));
    expect(docx.message).toMatch(/sheet\.docx: the Word document cannot be read/);
    expect((await rejection(parseDocx(Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), 'old.docx'))).message).toContain('.doc');
    expect((await rejection(() => IMPORTERS.md(fixture('guide.pdf'), 'guide.md'))).message).toContain('PDF');
    expect((await rejection(() => IMPORTERS.md(Buffer.from('  \n'), 'empty.md'))).message).toContain('no text');
    expect((await rejection(() => formatOf('price-list.xls'))).message).toContain('save it as .xlsx');
  });
});

describe('Markdown FAQ shapes', () => {
  it('reads "Q: / A:" lines with similar questions, categories from headings, multi-line answers', () => {
    const md = ['# 售后', '', 'Q: 怎么退货？', '相似问题: 如何退货 | 退货流程', 'A: 在订单页点击申请售后。', '审核通过后寄回。', '', '**问：** 多久退款？', '**答：** 一到三个工作日。', '', '## Shipping', 'Q: When do you ship?', 'A: Within 24 hours.', 'Q: 没有答案的问题？'].join('\n');
    const { entries, errors } = parseMarkdownText(md, 'faq.md');
    expect(entries).toEqual([
      { kind: 'faq', title: '怎么退货？', similarQuestions: ['如何退货', '退货流程'], body: '在订单页点击申请售后。\n审核通过后寄回。', category: '售后', tags: [], where: 'line 3' },
      { kind: 'faq', title: '多久退款？', similarQuestions: [], body: '一到三个工作日。', category: '售后', tags: [], where: 'line 8' },
      { kind: 'faq', title: 'When do you ship?', similarQuestions: [], body: 'Within 24 hours.', category: 'Shipping', tags: [], where: 'line 12' },
    ]);
    expect(errors).toEqual([{ where: 'line 14', message: expect.stringContaining('no answer') }]);
  });

  it('reads "## question？" headings as FAQ entries with the heading above as category', () => {
    const md = '# 支付问题\n\n## 支持哪些支付方式？\n\n微信、支付宝。\n\n## 可以开发票吗？\n\n可以，下单时选择。\n\n- 电子发票\n- 专用发票\n';
    const { entries } = parseMarkdownText(md, 'pay.md');
    expect(entries.map((e) => [e.kind, e.title, e.category])).toEqual([
      ['faq', '支持哪些支付方式？', '支付问题'],
      ['faq', '可以开发票吗？', '支付问题'],
    ]);
    expect(entries[1]!.body).toBe('可以，下单时选择。\n\n- 电子发票\n- 专用发票');
  });

  it('makes one article per H1 when there are several, and one titled by the file name without headings', () => {
    const several = parseMarkdownText('# A\n\ntext a\n\n## a1\n\nmore\n\n# B\n\ntext b\n', 'x.md');
    expect(several.entries.map((e) => [e.title, e.body])).toEqual([['A', 'text a\n\n## a1\n\nmore'], ['B', 'text b']]);
    const plain = parseMarkdownText('Just a paragraph.\n\nAnd another.', 'docs/Shipping Notes.md');
    expect(plain.entries.map((e) => [e.kind, e.title, e.body])).toEqual([['article', 'Shipping Notes', 'Just a paragraph.\n\nAnd another.']]);
  });
});

describe('HTML to Markdown', () => {
  it('keeps headings, links, images, lists, tables and code; drops scripts, inline data images and javascript: links', () => {
    const { markdown, title } = htmlToMarkdown(`<html><head><title>T</title><script>x()</script></head><body>
      <h2>Sizes &amp; fit</h2><p>See <a href="https://e.com/s">the <b>chart</b></a> or <a href="javascript:alert(1)">this</a>.</p>
      <img alt="chart" src="/img/c.png"><img alt="inline" src="data:image/png;base64,AAAA">
      <ol><li>one</li><li>two</li></ol><table><tr><th>S</th><th>M</th></tr><tr><td>36</td><td>38</td></tr></table>
      <pre><code>a  b\n c</code></pre></body></html>`);
    expect(title).toBe('T');
    expect(markdown).toContain('## Sizes & fit');
    expect(markdown).toContain('See [the **chart**](https://e.com/s) or this.');
    expect(markdown).toContain('![chart](/img/c.png)');
    expect(markdown).not.toContain('data:');
    expect(markdown).toContain('1. one\n1. two');
    expect(markdown).toContain('S | M\n36 | 38');
    expect(markdown).toContain('```\na  b\n c\n```');
    expect(markdown).not.toContain('x()');
  });
});

describe('validation of imported entries', () => {
  it('applies the API rules, guesses the locale and splits over-long articles into parts', () => {
    const long = Array.from({ length: 3000 }, (_, i) => `Paragraph ${i} ${'x'.repeat(90)}`).join('\n\n');
    const { fields, errors } = validateImported([
      { kind: 'faq', title: '中文问题？', similarQuestions: [], body: '答案', category: null, tags: [], where: 'row 2' },
      { kind: 'faq', title: 'English?', similarQuestions: [], body: 'Answer', category: null, tags: [], where: 'row 3' },
      { kind: 'faq', title: 'x'.repeat(600), similarQuestions: [], body: '', category: null, tags: [], where: 'row 4' },
      { kind: 'article', title: 'Manual', similarQuestions: [], body: long, category: null, tags: [], where: 'the document' },
    ]);
    expect(fields.slice(0, 2).map((f) => f.locale)).toEqual(['zh-CN', 'en']);
    expect(errors).toEqual([{ where: 'row 4', message: expect.stringContaining('body') }]);
    const parts = fields.filter((f) => f.title.startsWith('Manual'));
    expect(parts.map((p) => p.title)).toEqual(['Manual (1/2)', 'Manual (2/2)']);
    expect(parts.every((p) => p.body.length <= 200_000)).toBe(true);
    expect(parts.map((p) => p.body).join('\n\n')).toBe(long);
  });
});
