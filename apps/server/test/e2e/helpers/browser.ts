import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/**
 * Real Chromium (Debian's `chromium` package; Playwright's own browser downloads are not used) driven by
 * playwright-core. CHROMIUM_PATH overrides the location. Screenshots go to scratch/screenshots/ (not
 * committed) for people to look at.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join(import.meta.dirname, '..', '..', '..', '..', '..', 'scratch', 'screenshots');

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

export async function newContext(browser: Browser, opts: { locale?: string; mobile?: boolean } = {}): Promise<BrowserContext> {
  return browser.newContext({
    locale: opts.locale ?? 'zh-CN',
    viewport: opts.mobile ? { width: 390, height: 844 } : { width: 1440, height: 900 },
    ...(opts.mobile ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}),
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

/** Signs an agent in through the login page and waits for the conversation list. */
export async function loginAgent(page: Page, baseUrl: string, email: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/`);
  await page.locator('input#email').fill(email);
  await page.locator('input#password').fill(password);
  await page.locator('button[type=submit]').click();
  await page.getByTestId('conv-list').waitFor();
}
