/**
 * An admin creates a web-widget inbox in the console, changes its color (the live preview follows), copies
 * the embed snippet and puts it on a page of ANOTHER site (another origin); a visitor chats through it and
 * the agent sees the conversation. Then the inbox's Origin allowlist is set to a different site and the
 * widget on this page is refused.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startHuiliuProcess, type HuiliuProcess } from './helpers/huiliu-process.ts';
import { launchBrowser, loginAgent, newContext, screenshot } from './helpers/browser.ts';

let huiliu: HuiliuProcess;
let browser: Browser;
let site: Server;
let siteUrl = '';
let sitePage = '';

beforeAll(async () => {
  [huiliu, browser] = await Promise.all([startHuiliuProcess(), launchBrowser()]);
  // The customer's own website: a different origin that serves whatever snippet the admin copied.
  site = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html><head><title>ACME</title><style>button{all:unset}</style></head><body><h1>ACME Widgets</h1>${sitePage}</body></html>`);
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', () => r()));
  siteUrl = `http://localhost:${(site.address() as { port: number }).port}`;
});
afterAll(async () => {
  await browser?.close();
  await huiliu?.close();
  await new Promise((r) => site?.close(r));
});

describe('admin: inbox, live preview and embed snippet', () => {
  it('creates an inbox, previews its color, embeds the snippet on another site and chats through it', async () => {
    const adminContext = await newContext(browser, { locale: 'en-US' });
    const admin = await adminContext.newPage();
    await loginAgent(admin, huiliu.url, huiliu.demo.adminEmail, huiliu.demo.password);
    await admin.goto(`${huiliu.url}/admin/inboxes`);
    await admin.getByTestId('inbox-create').click();
    await admin.getByTestId('inbox-name-input').fill('ACME website');
    // The live preview follows the unsaved color.
    await admin.getByTestId('widget-color').fill('#eb2f96');
    await expect.poll(() => admin.getByTestId('widget-preview-header').evaluate((el) => getComputedStyle(el).backgroundColor)).toBe('rgb(235, 47, 150)');
    await admin.getByTestId('inbox-save').click();
    await admin.waitForURL(/\/admin\/inboxes\/[0-9a-f-]{36}$/);
    const inboxId = /([0-9a-f-]{36})$/.exec(admin.url())![1]!;

    const snippetEl = admin.getByTestId('inbox-embed-snippet');
    await snippetEl.waitFor();
    const snippet = (await snippetEl.textContent())!.trim();
    expect(snippet).toMatch(/^<script src="http:\/\/127\.0\.0\.1:\d+\/widget\.js" data-inbox="[A-Za-z0-9_-]+" async><\/script>$/);
    await screenshot(admin, 'admin-inbox-en');
    await admin.goto(`${huiliu.url}/admin/inboxes`);
    await admin.locator(`[data-testid="inbox-row"][data-inbox-id="${inboxId}"]`).filter({ hasText: 'ACME website' }).waitFor();

    // The snippet goes on the customer's site, as is.
    sitePage = snippet;
    const visitorContext = await newContext(browser, { locale: 'en-US' });
    const visitor = await visitorContext.newPage();
    await visitor.goto(`${siteUrl}/`);
    await visitor.getByTestId('hl-launcher').click();
    await visitor.getByTestId('hl-input').fill('Hello from the ACME site');
    await visitor.getByTestId('hl-send').click();
    await visitor.getByTestId('hl-msg').filter({ hasText: 'Hello from the ACME site' }).waitFor();
    await screenshot(visitor, 'widget-on-other-site');

    // The admin is a member of the new inbox? The admin sees all inboxes (conversation.read_all).
    await admin.goto(`${huiliu.url}/conversations`);
    await admin.getByTestId('filter-all').click();
    await admin.getByTestId('conv-item').filter({ hasText: 'Hello from the ACME site' }).first().waitFor({ timeout: 20_000 });

    // Only another site may embed it now: the widget on this site is refused with a clear console error.
    const token = await admin.evaluate(() => localStorage.getItem('huiliu.token'));
    const patch = await fetch(`${huiliu.url}/api/v1/inboxes/${inboxId}`, {
      method: 'PATCH', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ allowedOrigins: ['https://shop.example.com'] }),
    });
    expect(patch.status).toBe(200);
    const refused = await visitorContext.newPage();
    const config = refused.waitForResponse((r) => r.url().includes('/api/widget/v1/inboxes/'));
    await refused.goto(`${siteUrl}/`);
    expect((await config).status()).toBe(403);
    await visitorContext.close();
    await adminContext.close();
  });
});
