/**
 * The bot's console pages in real Chromium against Huiliu started as a user starts it: an admin writes two
 * intents with examples, trains and reads the per-intent report; imports the FAQ fixture (a GBK-encoded
 * CSV) through the Import button and watches the job finish; asks the retrieval tester a paraphrased
 * question and gets the right FAQ; and, in the workbench, a customer's question brings knowledge
 * suggestions beside the composer that insert into it with one click.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startHuiliuProcess, type HuiliuProcess } from './helpers/huiliu-process.ts';
import { launchBrowser, loginAgent, newContext } from './helpers/browser.ts';

const FAQ_CSV = join(import.meta.dirname, '..', 'fixtures', 'kb', 'faq.csv');
/** People look at these (the brief asks for /tmp); the helpers' screenshot() writes to scratch/. */
const shot = (page: Page, name: string) => page.screenshot({ path: `/tmp/bot-${name}.png`, fullPage: false });

let huiliu: HuiliuProcess;
let browser: Browser;
let context: BrowserContext;
let admin: Page;

beforeAll(async () => {
  [huiliu, browser] = await Promise.all([startHuiliuProcess(), launchBrowser()]);
  context = await newContext(browser, { locale: 'zh-CN' });
  admin = await context.newPage();
  await loginAgent(admin, huiliu.url, huiliu.demo.adminEmail, huiliu.demo.password);
});
afterAll(async () => {
  await browser?.close();
  await huiliu?.close();
});

const RETURN_EXAMPLES = ['我要退货', '这个东西不想要了怎么退', '退货流程是什么', '怎么申请退货', '买错了可以退吗', '衣服不合适想退掉', '七天无理由退货怎么弄', '收到的商品有问题要退货', '退货地址是哪里', '我想把鞋子退了'];
const SHIPPING_EXAMPLES = ['我的快递到哪了', '什么时候发货', '物流信息怎么查', '订单怎么还没发货', '快递单号是多少', '包裹几天能到', '查一下物流', '发货了吗', '快递一直不动', '帮我看看物流进度'];

async function createIntent(page: Page, name: string, examples: string[]): Promise<void> {
  await page.getByTestId('intent-create').click();
  const drawer = page.getByTestId('intent-drawer');
  await drawer.waitFor();
  await drawer.getByTestId('intent-name').fill(name);
  // A new intent opens in bulk mode: one example per line, as pasted from a spreadsheet.
  await drawer.getByTestId('intent-examples').fill(examples.join('\n'));
  await expect.poll(() => drawer.getByTestId('intent-example-count').textContent()).toBe(String(examples.length));
  await drawer.getByTestId('intent-save').click();
  await page.locator(`[data-testid="intent-row"][data-intent="${name}"]`).waitFor();
}

describe('bot console', () => {
  it('intents: add intents with examples, train, and read the per-intent report', async () => {
    await admin.goto(`${huiliu.url}/admin/bot/intents`);
    await admin.getByTestId('intents-page').waitFor();
    // The menu group holds the bot pages.
    await expect(admin.locator('.ant-layout-sider').textContent()).resolves.toContain('意图训练');

    await createIntent(admin, '退货', RETURN_EXAMPLES);
    await createIntent(admin, '物流查询', SHIPPING_EXAMPLES);
    const row = admin.locator('[data-testid="intent-row"][data-intent="退货"]');
    await expect(row.getByTestId('intent-examples-count').textContent()).resolves.toBe(String(RETURN_EXAMPLES.length));

    // Editing in list mode: add one example, remove it again, nothing saved twice.
    await row.getByTestId('intent-row-name').click();
    const drawer = admin.getByTestId('intent-drawer');
    await drawer.getByTestId('intent-example-add').fill('不想要了能退吗');
    await drawer.getByTestId('intent-example-add').press('Enter');
    await expect.poll(() => drawer.getByTestId('intent-example-count').textContent()).toBe(String(RETURN_EXAMPLES.length + 1));
    await shot(admin, 'intent-drawer');
    await drawer.getByTestId('intent-save').click();
    await expect.poll(() => row.getByTestId('intent-examples-count').textContent()).toBe(String(RETURN_EXAMPLES.length + 1));

    await admin.getByTestId('bot-train').click();
    const report = admin.getByTestId('training-report');
    await report.waitFor({ timeout: 60_000 });
    await expect(report.getAttribute('data-status')).resolves.toBe('trained');
    for (const name of ['退货', '物流查询']) await report.locator(`[data-testid="report-intent-row"][data-intent="${name}"]`).waitFor();
    const accuracy = await report.getByTestId('report-accuracy').textContent();
    expect(accuracy).toMatch(/\d+(\.\d)?%/);
    await shot(admin, 'training-report');

    // The other tabs render without errors.
    await admin.getByTestId('tab-entities').click();
    await admin.getByTestId('entities-editor').waitFor();
    await admin.getByTestId('tab-misrecognized').click();
    await admin.getByText('客户真实发来').waitFor();
  });

  it('knowledge: import the FAQ sheet with progress, list the entries, test retrieval', async () => {
    await admin.goto(`${huiliu.url}/admin/bot/knowledge`);
    await admin.getByTestId('kb-page').waitFor();
    await admin.getByTestId('kb-import').click();
    await admin.getByTestId('kb-import-help').waitFor();
    await shot(admin, 'kb-import-dialog');
    await admin.getByTestId('kb-import-file').setInputFiles(FAQ_CSV);
    // Upload, then the server's job (polled) until it is done: the dialog ends on the result.
    const result = admin.getByTestId('kb-import-result');
    await result.waitFor({ timeout: 60_000 });
    await expect(result.getAttribute('data-status')).resolves.toBe('done');
    await expect(result.locator('.ant-progress').getAttribute('aria-valuenow')).resolves.toBe('100');
    await shot(admin, 'kb-import-done');
    await admin.getByTestId('kb-import-close').click();

    await expect.poll(() => admin.getByTestId('kb-row').count(), { timeout: 10_000 }).toBe(10);
    await admin.getByTestId('kb-row').filter({ hasText: '怎么申请退货' }).waitFor();
    await shot(admin, 'kb-entries');

    // The editor shows the answer's Markdown preview.
    await admin.getByTestId('kb-row').filter({ hasText: '怎么申请退货' }).getByTestId('kb-row-title').click();
    const drawer = admin.getByTestId('kb-entry-drawer');
    await expect(drawer.getByTestId('kb-entry-title').inputValue()).resolves.toBe('怎么申请退货？');
    await expect.poll(() => drawer.getByTestId('kb-entry-similar').count()).toBe(3);
    await drawer.getByRole('tab', { name: '预览' }).click();
    await drawer.getByTestId('kb-entry-preview').waitFor();
    await shot(admin, 'kb-entry-drawer');
    await admin.keyboard.press('Escape');

    // A paraphrase, not the stored wording.
    await admin.getByTestId('kb-tab-test').click();
    await admin.getByTestId('kb-test-input').fill('东西买错了，想退掉要怎么弄');
    await admin.getByTestId('kb-test-run').click();
    const first = admin.getByTestId('kb-test-hit').first();
    await first.waitFor();
    await expect(first.textContent()).resolves.toContain('怎么申请退货');
    await shot(admin, 'kb-test');
  });

  it('settings, LLM provider and analytics render', async () => {
    await admin.goto(`${huiliu.url}/admin/bot/settings`);
    await admin.getByTestId('bot-settings-form').waitFor();
    await shot(admin, 'settings');
    await admin.getByTestId('bot-settings-save').click();
    await admin.getByText('已保存').first().waitFor();
    await admin.getByTestId('tab-llm').click();
    await admin.getByTestId('llm-card').waitFor();
    await shot(admin, 'llm');
    await admin.getByTestId('tab-analytics').click();
    await admin.getByTestId('bot-analytics').locator('.ant-statistic').first().waitFor();
    await shot(admin, 'analytics');
  });

  it('workbench: knowledge suggestions beside the composer insert into it', async () => {
    const visitorContext = await newContext(browser, { locale: 'zh-CN' });
    const visitor = await visitorContext.newPage();
    await visitor.goto(`${huiliu.url}/demo/${huiliu.demo.widgetInboxPublicId}`);
    await visitor.getByTestId('hl-launcher').click();
    await visitor.getByTestId('hl-input').fill('退款多久能到账啊');
    await visitor.getByTestId('hl-send').click();

    await admin.goto(`${huiliu.url}/conversations`);
    await admin.getByTestId('filter-all').click();
    const item = admin.getByTestId('conv-item').filter({ hasText: '退款多久' }).first();
    await item.waitFor({ timeout: 20_000 });
    await item.click();
    const suggestion = admin.locator('[data-testid="bot-suggestion"][data-kind="knowledge"]').first();
    await suggestion.waitFor({ timeout: 15_000 });
    await expect(suggestion.textContent()).resolves.toContain('原路退款');
    await shot(admin, 'workbench-assist');
    await suggestion.click();
    await expect.poll(() => admin.getByTestId('composer-input').inputValue()).toContain('原路退款');
    await visitorContext.close();
  });
});
