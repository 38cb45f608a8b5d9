/**
 * The China channels end to end, in real Chromium with the console in 简体中文, against Huiliu started as a
 * user starts it and local fakes of the platforms (packages/channels/test/fakes/wechat-fake.ts and
 * wecom-fake.ts), which also build what WeChat and WeCom post to us: signed and encrypted.
 *
 * WeChat Official Account: the admin creates the inbox in the console and fills AppID, encryption mode and
 * the three secrets through the form drawn from the channel's schema, sees the URL to paste into the
 * WeChat console, and "test connection" gets an access token from the fake. A follower's encrypted
 * (safe mode) text push appears live in the workbench with the WeChat icon; the agent's reply reaches
 * custom/send for that OpenID and shows as sent. A forged push is answered 401 and shows nothing.
 *
 * WeCom customer service (set up over the API): an encrypted kf_msg_or_event callback makes Huiliu pull
 * the customer's message (sync_msg), which appears in the workbench; the agent takes the conversation
 * (WeCom's session goes to "API" state 1) and replies; after five replies the composer is blocked with
 * WeCom's 5-messages-per-customer-message rule, the server refuses a sixth, and the customer writing
 * again reopens it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startWechatFake, wechatPush, type WechatAccount, type WechatFake } from '../../../../packages/channels/test/fakes/wechat-fake.ts';
import { startWecomFake, type WecomFake } from '../../../../packages/channels/test/fakes/wecom-fake.ts';
import { startHuiliuProcess, type HuiliuProcess } from './helpers/huiliu-process.ts';
import { launchBrowser, loginAgent, newContext, screenshot } from './helpers/browser.ts';

const FIXTURES = join(import.meta.dirname, '../../../../packages/channels/test/fixtures');

/**
 * An Official Account as its 设置与开发 → 基本配置 page shows it: AppID "wx" + 16, AppSecret 32 hex, Token
 * 3-32 letters or digits, EncodingAESKey 43 characters (https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Access_Overview.html).
 */
const OA: WechatAccount = { appId: 'wxe2e0c0ffee1a2b3c', token: 'huiliuE2eWechatToken', encodingAesKey: 'SHVpbGl1IGUyZTogV2VDaGF0IHNhZmUgbW9kZSBrZXk' };
const OA_SECRET = '5f0e2d1c9b8a7f6e5d4c3b2a1f0e9d8c';
/** The account's original id (gh_…), ToUserName of every push. */
const OA_ORIGINAL_ID = 'gh_e2e3c884a361';
const FOLLOWER = 'oE2eFollowerWxQ7r8s9T0u1V2w3';

/** A WeCom organization with one kf account (微信客服) managed through the API. */
const WECOM = { corpId: 'wwe2e0a1b2c3d4e5f6', secret: 'kf-app-secret-e2e-4b7d1c9e0a2f', token: 'HuiliuE2eKfCallback', encodingAesKey: 'SHVpbGl1IGUyZTogV2VDb20ga2YgY2FsbGJhY2sgay4' };
const KF = 'wkE2eGCAAASSm4_FhToWMFea0xAFfd3Q';
const CUSTOMER = 'wmE2eGCAAAme1XQRC-NI-q0_ZM9ukoAw';
const CUSTOMER_NICKNAME = '李雷';

let huiliu: HuiliuProcess;
let browser: Browser;
let wechat: WechatFake;
let wecom: WecomFake;

beforeAll(async () => {
  [huiliu, browser, wechat, wecom] = await Promise.all([
    startHuiliuProcess(),
    launchBrowser(),
    startWechatFake({ appId: OA.appId, appSecret: OA_SECRET, followers: { [FOLLOWER]: null } }),
    startWecomFake({ corpId: WECOM.corpId, secret: WECOM.secret, accounts: { [KF]: '售后咨询' }, callbackToken: WECOM.token, encodingAesKey: WECOM.encodingAesKey }),
  ]);
  wecom.addCustomer({ externalUserId: CUSTOMER, nickname: CUSTOMER_NICKNAME });
});
afterAll(async () => {
  await browser?.close();
  await huiliu?.close();
  await wechat?.close();
  await wecom?.close();
});

/** Script errors in the page fail the test (a blank page otherwise only shows up as a timeout). */
const pageErrors: string[] = [];
function watchErrors(page: Page): void {
  page.on('pageerror', (e) => pageErrors.push(e.stack ?? e.message));
}
afterAll(() => {
  expect(pageErrors).toEqual([]);
});

/** The REST API as the demo admin (for what a scenario sets up rather than shows); one sign-in (logins are rate limited). */
let adminToken: Promise<string> | undefined;
async function adminFetch(method: string, path: string, body?: unknown): Promise<Response> {
  adminToken ??= fetch(`${huiliu.url}/api/v1/auth/login`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: huiliu.demo.adminEmail, password: huiliu.demo.password }),
  }).then(async (r) => ((await r.json()) as { token: string }).token);
  const token = await adminToken;
  return fetch(`${huiliu.url}/api/v1${path}`, {
    method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}
async function adminApi<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await adminFetch(method, path, body);
  const text = await res.text();
  expect(res.ok, `${method} ${path}: ${res.status} ${text}`).toBe(true);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** The fakes listen on loopback, which the SSRF-safe client refuses unless the workspace allows it. */
const allowLoopback = () => adminApi('PATCH', '/workspace', { settings: { networkAllowlist: ['127.0.0.1'] } });

/** Ant Design fades content in after loading and shows toasts for a few seconds: let both finish before a screenshot. */
async function settled(page: Page): Promise<void> {
  await page.waitForFunction(() => Array.from(document.querySelectorAll('.ant-spin-container')).every((el) => getComputedStyle(el).opacity === '1'));
  await expect.poll(() => page.locator('.ant-message-notice').count(), { timeout: 10_000 }).toBe(0);
}

/** Labels of the channel form (settings and credentials) that have no Chinese in them: not translated. */
async function untranslatedLabels(page: Page): Promise<string[]> {
  const labels = await page.getByTestId('channel-form').locator('.ant-form-item-label, .ant-card-head-title').allInnerTexts();
  expect(labels.length).toBeGreaterThan(5);
  return labels.map((l) => l.trim()).filter((l) => !/[\u4e00-\u9fff]/.test(l));
}

/**
 * Untranslated i18n keys on screen ("admin.channel.wechat_oa", "channels.field.appId"): the dictionaries'
 * prefixes followed by a dotted name. URLs on the page ("/api/channels/v1/…") have no dot after the prefix.
 */
async function rawKeysOnScreen(page: Page): Promise<string[]> {
  const text = await page.evaluate(() => document.body.innerText);
  return text.match(/\b(?:admin|channels?|common|composer|delivery|list|status|routing|workbench)\.[a-z][A-Za-z_]*(?:\.[A-Za-z_]+)*/g) ?? [];
}

const bubble = (page: Page, text: string) => page.getByTestId('msg').filter({ hasText: text });
/** The status line under the bubble with this text. */
const statusOf = (page: Page, text: string) => page.locator('.wb-bubble-wrap').filter({ has: bubble(page, text) }).getByTestId('msg-status');
const nowSeconds = () => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------------------------------------------
// WeChat Official Account

let oaMsgId = 24_000_000_000_000_000n;
/**
 * A follower's text message as WeChat pushes it: the documented example
 * (https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_standard_messages.html,
 * fixtures/wechat_oa/text.xml) with our account, follower, text, a fresh MsgId and time.
 */
function followerText(text: string, from = FOLLOWER): string {
  return readFileSync(join(FIXTURES, 'wechat_oa/text.xml'), 'utf8')
    .replace('<![CDATA[toUser]]>', `<![CDATA[${OA_ORIGINAL_ID}]]>`)
    .replace('<![CDATA[fromUser]]>', `<![CDATA[${from}]]>`)
    .replace('<CreateTime>1348831860</CreateTime>', `<CreateTime>${nowSeconds()}</CreateTime>`)
    .replace('<![CDATA[this is a test]]>', `<![CDATA[${text}]]>`)
    .replace('<MsgId>1234567890123456</MsgId>', `<MsgId>${++oaMsgId}</MsgId>`);
}

/** POSTs a push to the webhook URL exactly as WeChat does in safe mode (signatures in the query, encrypted XML body). */
async function postWechatPush(webhookUrl: string, xml: string, account: WechatAccount = OA): Promise<{ status: number; text: string }> {
  const { query, body } = wechatPush(xml, account, { mode: 'safe' });
  const res = await fetch(`${webhookUrl}?${new URLSearchParams(query)}`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body });
  return { status: res.status, text: await res.text() };
}

// ---------------------------------------------------------------------------------------------------
// WeCom customer service

let kfSeq = 0;
/** A customer's text as sync_msg returns it: the documented item (fixtures/wecom_kf/text.json) from our customer. */
function kfText(content: string): Record<string, unknown> {
  const item = JSON.parse(readFileSync(join(FIXTURES, 'wecom_kf/text.json'), 'utf8')) as Record<string, unknown>;
  return { ...item, msgid: `e2e_${++kfSeq}_${Date.now()}`, open_kfid: KF, external_userid: CUSTOMER, send_time: nowSeconds(), text: { content } };
}

/** The customer writes: the item joins WeCom's message log, and WeCom POSTs its encrypted kf_msg_or_event callback. */
async function kfCustomerWrites(webhookUrl: string, content: string): Promise<void> {
  wecom.pushItems(KF, [kfText(content)]);
  const cb = wecom.callback({ openKfId: KF, path: new URL(webhookUrl).pathname });
  const res = await fetch(`${huiliu.url}${cb.url}`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: cb.rawBody.toString('utf8') });
  expect([res.status, await res.text()]).toEqual([200, 'success']);
}

describe('China channels in the console and the workbench (简体中文)', () => {
  it('WeChat Official Account: configured in the console, an encrypted push appears live, the reply reaches custom/send, a forged push is refused', async () => {
    const context = await newContext(browser, { locale: 'zh-CN' });
    const page = await context.newPage();
    watchErrors(page);
    await loginAgent(page, huiliu.url, huiliu.demo.adminEmail, huiliu.demo.password);
    await allowLoopback();

    // --- The admin creates the inbox: 微信公众号 is among the channels the server runs.
    await page.goto(`${huiliu.url}/admin/inboxes`);
    await page.getByTestId('inbox-create').click();
    await page.getByTestId('inbox-name-input').fill('公众号客服');
    await page.getByTestId('inbox-channel-select').click();
    await page.locator('.ant-select-item-option:not(.ant-select-item-option-disabled)').filter({ hasText: /^微信公众号$/ }).click();
    await page.getByTestId('inbox-channel-next').waitFor();
    await page.getByTestId('inbox-save').click();
    await page.waitForURL(/\/admin\/inboxes\/[0-9a-f-]{36}$/);
    const inboxId = /([0-9a-f-]{36})$/.exec(page.url())![1]!;

    // --- Channel settings: not ready until the three secrets are there; the URL for the WeChat console.
    await page.getByTestId('channel-form').waitFor();
    await expect.poll(() => page.getByTestId('channel-ready').getAttribute('data-ready')).toBe('false');
    for (const name of ['appSecret', 'token', 'encodingAesKey']) {
      await expect(page.getByTestId(`channel-secret-${name}-state`).textContent()).resolves.toBe('未设置');
    }
    const webhookUrl = (await page.getByTestId('channel-webhook-url').textContent())!.trim();
    expect(webhookUrl).toMatch(new RegExp(`^${huiliu.url.replace(/[.]/g, '\\.')}/api/channels/v1/[A-Za-z0-9_-]+/webhook$`));
    await expect(page.getByTestId('channel-config-apiBaseUrl').inputValue()).resolves.toBe('https://api.weixin.qq.com');

    // An AppID that is not one is refused by the server, under its field.
    const appIdItem = page.locator('.ant-form-item').filter({ has: page.getByTestId('channel-config-appId') });
    await page.getByTestId('channel-config-appId').fill('wx123');
    await page.getByTestId('channel-save').click();
    await appIdItem.locator('.ant-form-item-explain-error').waitFor();
    await page.getByTestId('channel-config-appId').fill(OA.appId);
    await expect.poll(() => appIdItem.locator('.ant-form-item-explain-error').count()).toBe(0);
    // Encryption mode: safe (安全模式), chosen from the schema's options after looking at another one.
    const mode = page.getByTestId('channel-config-encryptionMode');
    await mode.click();
    // Choices are shown translated (channels.option.wechat_oa.encryptionMode.*), stored as their values.
    await page.locator('.ant-select-item-option').filter({ hasText: /^兼容模式$/ }).click();
    await expect.poll(() => mode.innerText()).toBe('兼容模式');
    await mode.click();
    await page.locator('.ant-select-item-option').filter({ hasText: /^安全模式（推荐）$/ }).click();
    await expect.poll(() => mode.innerText()).toBe('安全模式（推荐）');
    await page.getByTestId('channel-config-apiBaseUrl').fill(wechat.baseUrl);
    for (const [name, value] of [['appSecret', OA_SECRET], ['token', OA.token], ['encodingAesKey', OA.encodingAesKey]] as const) {
      await page.getByTestId(`channel-secret-${name}-replace`).click();
      await page.getByTestId(`channel-secret-${name}-input`).fill(value);
    }
    await page.getByTestId('channel-save').click();

    // Saved: the secrets show only as set with their last four characters; the channel is ready.
    await expect.poll(() => page.getByTestId('channel-secret-appSecret-state').textContent()).toBe(`已设置 ••••${OA_SECRET.slice(-4)}`);
    await expect(page.getByTestId('channel-secret-token-state').textContent()).resolves.toBe(`已设置 ••••${OA.token.slice(-4)}`);
    await expect(page.getByTestId('channel-secret-encodingAesKey-state').textContent()).resolves.toBe(`已设置 ••••${OA.encodingAesKey.slice(-4)}`);
    await expect.poll(() => page.getByTestId('channel-ready').getAttribute('data-ready')).toBe('true');
    const html = await page.content();
    for (const secret of [OA_SECRET, OA.token, OA.encodingAesKey]) expect(html).not.toContain(secret);
    const stored = await adminApi<{ config: Record<string, unknown>; capabilities: { sendWindow: unknown } }>('GET', `/inboxes/${inboxId}/channel`);
    expect(stored.config).toMatchObject({ appId: OA.appId, encryptionMode: 'safe', apiBaseUrl: wechat.baseUrl });
    // The 48 h rule shows among the channel's capabilities.
    await expect(page.getByTestId('channel-capabilities').textContent()).resolves.toContain('客户最后一条消息后 48 小时内可回复');

    // "Test connection" gets an access token from the fake with the AppID and AppSecret.
    await page.getByTestId('channel-check').click();
    const check = page.getByTestId('channel-check-result');
    await check.waitFor();
    await expect(check.getAttribute('data-ok')).resolves.toBe('true');
    await expect(check.textContent()).resolves.toContain('连接正常');
    expect(wechat.accepted.filter((r) => r.path === '/cgi-bin/stable_token').map((r) => (r.body as { appid: string }).appid)).toEqual([OA.appId]);
    expect(await rawKeysOnScreen(page)).toEqual([]);
    expect(await untranslatedLabels(page)).toEqual([]);
    await expect(page.locator('.ant-form-item').filter({ has: page.getByTestId('channel-secret-appSecret') }).locator('.ant-form-item-label').innerText()).resolves.toContain('开发者密码');
    await expect(page.getByTestId('channel-status-card').innerText()).resolves.toContain('服务器配置');
    await settled(page);
    await page.evaluate(() => document.querySelector('.ant-layout-content')?.scrollTo(0, 0));
    await screenshot(page, 'channels-china-admin-wechat-oa-zh');
    await page.getByTestId('channel-secret-encodingAesKey').scrollIntoViewIfNeeded();
    await screenshot(page, 'channels-china-admin-wechat-oa-secrets-zh');

    // --- The workbench is open when a follower writes: the conversation appears live, with the WeChat icon.
    await page.goto(`${huiliu.url}/conversations`);
    await page.getByTestId('filter-all').click();
    await page.getByTestId('conv-list').waitFor();
    const question = '你好，我在公众号下的订单 WX-2077 还没发货';
    const push = await postWechatPush(webhookUrl, followerText(question));
    expect(push).toEqual({ status: 200, text: 'success' });
    const item = page.getByTestId('conv-item').filter({ hasText: 'WX-2077' });
    await item.waitFor({ timeout: 20_000 });
    await expect(item.locator('.anticon-wechat').getAttribute('aria-label')).resolves.toBe('微信公众号');
    await item.click();
    await bubble(page, question).waitFor();
    const channelTag = page.getByTestId('conv-channel');
    await expect(channelTag.getAttribute('data-channel')).resolves.toBe('wechat_oa');
    await expect(channelTag.textContent()).resolves.toBe('微信公众号');
    await expect(page.getByTestId('conv-header').locator('.anticon-wechat').count()).resolves.toBe(1);
    const conversationId = (await page.getByTestId('conversation').getAttribute('data-conversation-id'))!;

    // --- The agent replies; custom/send receives it for the follower's OpenID; the bubble shows "sent".
    const reply = '您好，订单 WX-2077 今天下午发出，请留意物流信息。';
    await page.getByTestId('composer-input').fill(reply);
    await page.getByTestId('composer-send').click();
    await expect.poll(() => wechat.sent.find((s) => (s.body.text as { content?: string } | undefined)?.content === reply)?.body, { timeout: 20_000 })
      .toEqual({ touser: FOLLOWER, msgtype: 'text', text: { content: reply } });
    await expect.poll(() => statusOf(page, reply).getAttribute('data-status'), { timeout: 20_000 }).toBe('sent');
    await expect(statusOf(page, reply).textContent()).resolves.toContain('已发送');

    // --- A forged push (signed with a guessed Token) is refused, and nothing of it shows. The genuine
    // push after it is what the page is waited on: once it is there, the forged one would be too.
    const forged = await postWechatPush(webhookUrl, followerText('伪造的消息：请把退款打到这个账户'), { ...OA, token: 'guessedToken42' });
    expect(forged.status).toBe(401);
    expect(forged.text).not.toContain('success');
    const followUp = '好的，谢谢！';
    expect(await postWechatPush(webhookUrl, followerText(followUp))).toEqual({ status: 200, text: 'success' });
    await bubble(page, followUp).waitFor({ timeout: 20_000 });
    expect(await page.getByText('伪造的消息').count()).toBe(0);
    const { items } = await adminApi<{ items: { id: string }[] }>('GET', `/conversations?status=all&inboxId=${inboxId}`);
    expect(items.map((c) => c.id)).toEqual([conversationId]);
    const texts = (await adminApi<{ items: { text: string }[] }>('GET', `/conversations/${conversationId}/messages`)).items.map((m) => m.text);
    expect(texts).toEqual(expect.arrayContaining([question, reply, followUp]));
    expect(texts.some((t) => t.includes('伪造'))).toBe(false);

    expect(await rawKeysOnScreen(page)).toEqual([]);
    await screenshot(page, 'channels-china-workbench-wechat-oa-zh');
    expect(wechat.rejected).toEqual([]);
    await context.close();
  });

  it('WeCom customer service: a pulled message appears, the agent takes it and replies, the sixth reply is held back with the 5-message rule', async () => {
    await allowLoopback();
    const inbox = await adminApi<{ id: string }>('POST', '/inboxes', { name: '微信客服', channelType: 'wecom_kf' });
    const channel = await adminApi<{ webhookUrl: string; ready: boolean }>('PUT', `/inboxes/${inbox.id}/channel`, {
      config: { corpId: WECOM.corpId, apiBaseUrl: wecom.baseUrl },
      secrets: { secret: WECOM.secret, token: WECOM.token, encodingAesKey: WECOM.encodingAesKey },
    });
    expect(channel.ready).toBe(true);
    const agentEmail = huiliu.demo.agentEmails[0]!;
    const users = await adminApi<{ id: string; email: string }[]>('GET', '/users');
    const agent = users.find((u) => u.email === agentEmail)!;
    await adminApi('PUT', `/inboxes/${inbox.id}/members`, { userIds: [agent.id] });

    // The settings page of an inbox set up over the API, as the admin would check it.
    const adminContext = await newContext(browser, { locale: 'zh-CN' });
    const admin = await adminContext.newPage();
    watchErrors(admin);
    await loginAgent(admin, huiliu.url, huiliu.demo.adminEmail, huiliu.demo.password);
    await admin.goto(`${huiliu.url}/admin/inboxes/${inbox.id}`);
    await admin.getByTestId('channel-form').waitFor();
    await expect.poll(() => admin.getByTestId('channel-ready').getAttribute('data-ready')).toBe('true');
    await expect(admin.getByTestId('channel-webhook-url').textContent()).resolves.toBe(channel.webhookUrl);
    expect(await rawKeysOnScreen(admin)).toEqual([]);
    expect(await untranslatedLabels(admin)).toEqual([]);
    await expect(admin.getByTestId('channel-status-card').innerText()).resolves.toContain('接收事件服务器');
    await settled(admin);
    await screenshot(admin, 'channels-china-admin-wecom-kf-zh');
    await adminContext.close();

    // --- The agent's workbench is open when the customer writes: WeCom only says "there is something"
    // (kf_msg_or_event with a Token); Huiliu pulls it with sync_msg and it appears live.
    const context = await newContext(browser, { locale: 'zh-CN' });
    const page = await context.newPage();
    watchErrors(page);
    await loginAgent(page, huiliu.url, agentEmail, huiliu.demo.password);
    await page.getByTestId('filter-all').click();
    const question = '你好，退货地址是哪里？(WeCom-KF-7)';
    await kfCustomerWrites(channel.webhookUrl, question);
    const item = page.getByTestId('conv-item').filter({ hasText: 'WeCom-KF-7' });
    await item.waitFor({ timeout: 20_000 });
    await expect(item.locator('.wb-item-name').textContent()).resolves.toBe(CUSTOMER_NICKNAME);
    await expect(item.locator('.anticon-wechat-work').getAttribute('aria-label')).resolves.toBe('企业微信客服');
    expect(wecom.syncCalls.map((c) => [c.openKfId, c.token])).toEqual([[KF, true]]);
    await item.click();
    await bubble(page, question).waitFor();
    await expect(page.getByTestId('conv-channel').getAttribute('data-channel')).resolves.toBe('wecom_kf');
    await expect(page.getByTestId('conv-channel').textContent()).resolves.toBe('企业微信客服');
    const conversationId = (await page.getByTestId('conversation').getAttribute('data-conversation-id'))!;

    // --- The agent takes it: WeCom's session moves to "served through the API" (0 → 1).
    await page.getByTestId('action-assign-me').click();
    await expect.poll(() => wecom.transitions, { timeout: 20_000 }).toEqual([{ openKfId: KF, externalUserId: CUSTOMER, from: 0, to: 1, servicer: null }]);

    // --- Five replies: each reaches send_msg from the kf account, and the composer counts down.
    const windowLine = page.getByTestId('send-window-open');
    await expect.poll(() => windowLine.textContent()).toContain('还可发送 5 条');
    const replies = ['您好，退货地址：上海市浦东新区 XX 路 1 号', '收件人：售后部', '电话：021-5555 0000', '请在包裹里附上订单号', '收到后 3 个工作日内退款'];
    for (const [i, reply] of replies.entries()) {
      await page.getByTestId('composer-input').fill(reply);
      await page.getByTestId('composer-send').click();
      await expect.poll(() => statusOf(page, reply).getAttribute('data-status'), { timeout: 20_000 }).toBe('sent');
      if (i < replies.length - 1) await expect.poll(() => windowLine.textContent()).toContain(`还可发送 ${replies.length - 1 - i} 条`);
    }
    expect(wecom.sent.map((s) => [s.touser, s.openKfId, (s.body.text as { content: string }).content])).toEqual(replies.map((r) => [CUSTOMER, KF, r]));

    // --- A sixth: the composer is closed with WeCom's rule, in the agent's language and the server's words.
    const blocked = page.getByTestId('send-window-blocked');
    await blocked.waitFor({ timeout: 20_000 });
    await expect(blocked.getAttribute('data-reason')).resolves.toBe('quota_exhausted');
    const notice = (await blocked.textContent())!;
    expect(notice).toContain('本次时限内的可发送条数已用完');
    expect(notice).toMatch(/at most 5 messages per customer message within 48 hours/);
    await expect(page.getByTestId('composer-input').isDisabled()).resolves.toBe(true);
    await expect(page.getByTestId('composer-send').isDisabled()).resolves.toBe(true);
    expect(await rawKeysOnScreen(page)).toEqual([]);
    await screenshot(page, 'channels-china-workbench-wecom-kf-blocked-zh');
    // The server enforces the same rule (not only the composer): a sixth sent anyway is refused, never queued.
    const sixth = await adminFetch('POST', `/conversations/${conversationId}/messages`, { clientId: crypto.randomUUID(), text: '第六条' });
    expect(sixth.status).toBe(409);
    expect(((await sixth.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'send_window_closed', message: expect.stringMatching(/at most 5 messages/) });
    expect(wecom.sent).toHaveLength(5);

    // --- The customer writes again: the window reopens live, and the next reply goes out.
    await kfCustomerWrites(channel.webhookUrl, '好的，谢谢');
    await bubble(page, '好的，谢谢').waitFor({ timeout: 20_000 });
    await expect.poll(() => windowLine.textContent(), { timeout: 20_000 }).toContain('还可发送 5 条');
    await expect(page.getByTestId('composer-input').isDisabled()).resolves.toBe(false);
    const after = '不客气，有问题随时联系我们。';
    await page.getByTestId('composer-input').fill(after);
    await page.getByTestId('composer-send').click();
    await expect.poll(() => statusOf(page, after).getAttribute('data-status'), { timeout: 20_000 }).toBe('sent');
    expect(wecom.sent).toHaveLength(6);
    expect(await page.getByText('第六条').count()).toBe(0);
    expect(wecom.rejected).toEqual([]);
    await context.close();
  });
});
