/**
 * The customer's chat (widget on the demo shop page) and the agent's workbench, both in real Chromium
 * against Huiliu started as a user starts it: a full conversation with attachments both ways, typing,
 * read receipts, HTML shown as text, upload errors; then the server is killed mid-conversation and
 * restarted, and nothing typed on either side is lost or duplicated.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
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

/** A 1×1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');

async function openWidget(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${huiliu.url}/demo/${huiliu.demo.widgetInboxPublicId}`);
  await page.getByTestId('hl-launcher').click();
  await page.getByTestId('hl-panel').waitFor();
  return page;
}

async function visitorSays(page: Page, text: string): Promise<void> {
  await page.getByTestId('hl-input').fill(text);
  await page.getByTestId('hl-send').click();
}

/**
 * The conversation whose last message has this text (looked up through the API as the admin). Polled: the
 * widget shows a message optimistically from its outbox, before the server has stored it.
 */
async function conversationWith(text: string): Promise<string> {
  const login = await fetch(`${huiliu.url}/api/v1/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: huiliu.demo.adminEmail, password: huiliu.demo.password }),
  });
  const { token } = (await login.json()) as { token: string };
  let id: string | undefined;
  await expect.poll(async () => {
    const r = await fetch(`${huiliu.url}/api/v1/search?q=${encodeURIComponent(text)}`, { headers: { authorization: `Bearer ${token}` } });
    const found = (await r.json()) as { messages?: { message: { conversationId: string } }[] };
    id = found.messages?.[0]?.message.conversationId;
    return id;
  }, { message: `a conversation with "${text}"`, timeout: 10_000 }).toBeTruthy();
  return id!;
}

const widgetBubbles = (page: Page, text: string) => page.getByTestId('hl-msg').filter({ hasText: text });
const agentBubbles = (page: Page, text: string) => page.getByTestId('msg').filter({ hasText: text });

describe('widget ↔ workbench', () => {
  it('a full conversation: live list, typing, read receipt, agent name, attachments both ways, HTML as text, upload errors', async () => {
    const agentContext = await newContext(browser, { locale: 'zh-CN' });
    const agent = await agentContext.newPage();
    await loginAgent(agent, huiliu.url, huiliu.demo.adminEmail, huiliu.demo.password);
    await agent.getByTestId('filter-all').click();

    const visitorContext = await newContext(browser, { locale: 'zh-CN' });
    const visitor = await openWidget(visitorContext);
    await screenshot(visitor, 'widget-open-zh');
    await visitorSays(visitor, '你好，我的订单 A123 什么时候发货？');
    await widgetBubbles(visitor, '我的订单 A123').waitFor();
    const conversationId = await conversationWith('订单 A123');

    // The new conversation appears in the agent's list without a reload.
    const item = agent.locator(`[data-testid="conv-item"][data-conversation-id="${conversationId}"]`);
    await item.waitFor({ timeout: 20_000 });
    await item.click();
    await agentBubbles(agent, '我的订单 A123').waitFor();
    // A supervisor sees why routing did what it did, on the timeline (nobody online: it waits).
    await agent.locator('[data-testid="routing-decision"][data-outcome="queued"]').first().waitFor({ timeout: 15_000 });

    // Typing: visitor → agent.
    await visitor.getByTestId('hl-input').pressSequentially('还在吗', { delay: 30 });
    await agent.getByTestId('typing').waitFor({ timeout: 10_000 });
    await visitor.getByTestId('hl-send').click();
    await agentBubbles(agent, '还在吗').waitFor();

    // The agent has read the visitor's messages: read receipt in the widget.
    await visitor.getByTestId('hl-read').first().waitFor({ timeout: 15_000 });

    // The agent replies; HTML shows as text; the widget shows the agent's name.
    const html = '<b>明天</b>发货 <script>window.__pwned = 1</script>';
    await agent.getByTestId('composer-input').fill(html);
    await agent.getByTestId('composer-send').click();
    const reply = widgetBubbles(visitor, '<b>明天</b>');
    await reply.waitFor();
    await expect(reply.textContent()).resolves.toContain('<b>明天</b>');
    expect(await visitor.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    await expect(visitor.getByTestId('hl-agent-name').first().textContent()).resolves.toContain('Admin');

    // A private note never reaches the visitor.
    await agent.getByTestId('composer-private').click();
    await agent.getByTestId('composer-input').fill('内部备注：VIP 客户');
    await agent.getByTestId('composer-send').click();
    await agent.locator('[data-testid="msg"][data-private="true"]').filter({ hasText: '内部备注' }).waitFor();
    await agent.getByTestId('composer-private').click();

    // Attachments both ways.
    await agent.getByTestId('composer-file').setInputFiles({ name: 'invoice.png', mimeType: 'image/png', buffer: PNG });
    await agent.getByTestId('composer-send').click().catch(() => undefined); // some composers send on pick; both are fine
    await visitor.locator('[data-testid="hl-msg"] img').first().waitFor({ timeout: 20_000 });
    await visitor.getByTestId('hl-file').setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: PNG });
    await agent.locator('[data-testid="msg"][data-direction="incoming"]').filter({ has: agent.locator('img, a') }).last().waitFor({ timeout: 20_000 });

    // Wrong type and oversized uploads: a clear message in the widget and in the workbench, nothing sent.
    await visitor.getByTestId('hl-file').setInputFiles({ name: 'setup.exe', mimeType: 'application/x-msdownload', buffer: Buffer.concat([Buffer.from('MZ'), Buffer.alloc(200)]) });
    await visitor.getByTestId('hl-error').waitFor();
    const big = Buffer.alloc(21 * 1024 * 1024, 1);
    await agent.getByTestId('composer-file').setInputFiles({ name: 'huge.pdf', mimeType: 'application/pdf', buffer: Buffer.concat([Buffer.from('%PDF-1.4\n'), big]) });
    await agent.getByTestId('composer-error').waitFor();
    await expect(agent.getByTestId('composer-error').textContent()).resolves.toMatch(/MB/);

    // Come back later: a new tab of the same browser shows the same conversation.
    await visitor.close();
    const again = await openWidget(visitorContext);
    await widgetBubbles(again, '我的订单 A123').waitFor();
    await widgetBubbles(again, '<b>明天</b>').waitFor();
    await screenshot(again, 'widget-conversation-zh');
    await screenshot(agent, 'workbench-conversation-zh');
    await visitorContext.close();
    await agentContext.close();
  });

  it('the widget follows the browser language and fits a phone screen', async () => {
    const context = await newContext(browser, { locale: 'en-US', mobile: true });
    const page = await openWidget(context);
    const panel = page.getByTestId('hl-panel');
    const box = (await panel.boundingBox())!;
    expect(box.width).toBeGreaterThan(380); // full width on a 390 px screen
    await expect(page.getByTestId('hl-send').getAttribute('aria-label')).resolves.toMatch(/send/i);
    await screenshot(page, 'widget-phone-en');
    await context.close();
  });

  it('the server is killed mid-conversation and restarted: nothing is lost or duplicated on either side', async () => {
    const agentContext = await newContext(browser);
    const agent = await agentContext.newPage();
    await loginAgent(agent, huiliu.url, huiliu.demo.adminEmail, huiliu.demo.password);
    const visitorContext = await newContext(browser);
    const visitor = await openWidget(visitorContext);
    await visitorSays(visitor, 'before the crash');
    await widgetBubbles(visitor, 'before the crash').waitFor();
    const conversationId = await conversationWith('before the crash');
    await agent.goto(`${huiliu.url}/conversations/${conversationId}`);
    await agentBubbles(agent, 'before the crash').waitFor();

    await huiliu.stop('SIGKILL');
    // While the server is down both sides keep typing; the messages wait in their outboxes.
    await visitorSays(visitor, 'visitor during the outage');
    await agent.getByTestId('composer-input').fill('agent during the outage');
    await agent.getByTestId('composer-send').click();
    await new Promise((r) => setTimeout(r, 1500));
    await huiliu.restart();

    for (const text of ['visitor during the outage', 'agent during the outage']) {
      await widgetBubbles(visitor, text).first().waitFor({ timeout: 45_000 });
      await agentBubbles(agent, text).first().waitFor({ timeout: 45_000 });
    }
    await visitorSays(visitor, 'after the restart');
    await agentBubbles(agent, 'after the restart').waitFor({ timeout: 20_000 });
    // Let any late duplicate arrive before counting.
    await new Promise((r) => setTimeout(r, 1500));
    for (const text of ['before the crash', 'visitor during the outage', 'agent during the outage', 'after the restart']) {
      expect(await widgetBubbles(visitor, text).count(), `widget: ${text}`).toBe(1);
      expect(await agentBubbles(agent, text).count(), `workbench: ${text}`).toBe(1);
    }
    // And in the database: each exactly once, seq without gaps.
    const token = await agent.evaluate(() => localStorage.getItem('huiliu.token'));
    const r = await fetch(`${huiliu.url}/api/v1/conversations/${conversationId}/messages`, { headers: { authorization: `Bearer ${token}` } });
    const { items } = (await r.json()) as { items: { seq: number; text: string }[] };
    const texts = items.map((m) => m.text);
    for (const text of ['before the crash', 'visitor during the outage', 'agent during the outage', 'after the restart']) {
      expect(texts.filter((t) => t === text), text).toHaveLength(1);
    }
    expect(items.map((m) => m.seq)).toEqual(items.map((_, i) => i + 1));
    await visitorContext.close();
    await agentContext.close();
  });
});
