import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startHuiliuProcess, type HuiliuProcess } from './helpers/huiliu-process.ts';
import { launchBrowser, loginAgent, newContext, screenshot } from './helpers/browser.ts';

let huiliu: HuiliuProcess;
let browser: Browser;

beforeAll(async () => {
  [huiliu, browser] = await Promise.all([startHuiliuProcess(), launchBrowser()]);
});
afterAll(async () => {
  await browser?.close();
  await huiliu?.close();
});

describe('workbench: sign-in, language, session expiry', () => {
  it('prints where to click, serves the workbench and rejects a wrong password with a clear message', async () => {
    expect(huiliu.output()).toContain(`Agent workbench ${huiliu.url}/`);
    expect(huiliu.output()).toContain(`Demo shop page  ${huiliu.url}/demo/${huiliu.demo.widgetInboxPublicId}`);
    const context = await newContext(browser, { locale: 'zh-CN' });
    const page = await context.newPage();
    await page.goto(`${huiliu.url}/conversations`);
    await page.waitForURL(/\/login\?next=/);
    // Ant Design spaces out two-character Chinese button labels ("登 录").
    expect((await page.locator('button[type=submit]').textContent())?.replace(/\s/g, '')).toBe('登录');
    await page.locator('input#email').fill(huiliu.demo.adminEmail);
    await page.locator('input#password').fill('wrong password');
    await page.locator('button[type=submit]').click();
    await page.getByText('邮箱或密码不正确').waitFor();
    await screenshot(page, 'login-zh');
    await context.close();
  });

  it('switches between 简体中文 and English, and remembers the choice', async () => {
    const context = await newContext(browser, { locale: 'zh-CN' });
    const page = await context.newPage();
    await loginAgent(page, huiliu.url, huiliu.demo.adminEmail, huiliu.demo.password);
    const nav = page.locator('.ant-layout-sider .ant-menu-root');
    await expect(nav.textContent()).resolves.toContain('会话');
    await page.getByTestId('locale-switch').getByText('EN').click();
    await page.waitForFunction(() => document.querySelector('.ant-layout-sider .ant-menu-root')?.textContent?.includes('Conversations'));
    await screenshot(page, 'workbench-en');
    await page.reload();
    await page.getByTestId('conv-list').waitFor();
    await expect(nav.textContent()).resolves.toContain('Conversations');
    await page.getByTestId('locale-switch').getByText('中文').click();
    await page.waitForFunction(() => document.querySelector('.ant-layout-sider .ant-menu-root')?.textContent?.includes('会话'));
    await context.close();
  });

  it('an expired session sends the agent to the login page and keeps the draft', async () => {
    const context = await newContext(browser);
    const page = await context.newPage();
    await loginAgent(page, huiliu.url, huiliu.demo.adminEmail, huiliu.demo.password);
    await page.getByTestId('filter-all').click();
    await page.getByTestId('conv-item').first().click();
    const draft = '草稿：您的订单明天发货 <b>not bold</b>';
    await page.getByTestId('composer-input').fill(draft);
    const conversationUrl = page.url();
    // The session ends server-side (as when it expires or an admin signs the agent out elsewhere).
    const token = await page.evaluate(() => localStorage.getItem('huiliu.token'));
    const res = await fetch(`${huiliu.url}/api/v1/auth/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBeLessThan(300);
    await page.waitForURL(/\/login/, { timeout: 20_000 });
    await page.getByTestId('session-expired').waitFor();
    await page.locator('input#email').fill(huiliu.demo.adminEmail);
    await page.locator('input#password').fill(huiliu.demo.password);
    await page.locator('button[type=submit]').click();
    await page.waitForURL(conversationUrl);
    await expect(page.getByTestId('composer-input').inputValue()).resolves.toBe(draft);
    await context.close();
  });
});
