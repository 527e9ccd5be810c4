import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS_DIR, openChromium, startBrowserMode, type BrowserMode } from './harness.js';

let app: BrowserMode;
let browser: Awaited<ReturnType<typeof openChromium>>;

beforeAll(async () => {
  app = await startBrowserMode();
  browser = await openChromium();
});
afterAll(async () => {
  await browser?.close();
  await app?.stop();
});

describe('browser mode in real Chromium', () => {
  it('shows the app shell and the services list from the VisionApi', async () => {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(app.url);
    await expect.poll(() => page.getByRole('heading', { name: 'Parallel Vision' }).count()).toBe(1);
    const services = page.getByRole('list', { name: 'Model services' });
    await services.waitFor();
    const names = await services.locator('[data-service]').evaluateAll((items) => items.map((item) => item.getAttribute('data-service')));
    expect(names).toEqual(expect.arrayContaining(['deepseek', 'ollama', 'embedded']));
    // The token left the address bar once the page had it.
    expect(page.url()).not.toContain('token=');
    await page.screenshot({ path: path.join(ARTIFACTS_DIR, 'shell.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('refuses a wrong token', async () => {
    // A stranger has no cookie: the first test's page was given one, which would let it in.
    await browser.context.clearCookies();
    const page = await browser.context.newPage();
    const response = await page.goto(`${app.origin}/?token=not-the-token`);
    expect(response?.status()).toBe(403);
    expect(await page.textContent('body')).toContain('Refused');
    await page.close();
  });
});
