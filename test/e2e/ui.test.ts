/**
 * The UI end to end: real Chromium, browser mode, the real backend with deterministic
 * test engines (injected by startBrowserMode's testEngine), ad images served on 127.0.0.1.
 * Screenshots of each screen go to test-artifacts/ui-*.png.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS_DIR, openChromium, startBrowserMode, type BrowserMode } from './harness.js';
import { adListCsv, dropFile, scrollResultsAndTimeFrames, startAdImageServer } from './ui-harness.js';

let app: BrowserMode;
let browser: Awaited<ReturnType<typeof openChromium>>;
let images: Awaited<ReturnType<typeof startAdImageServer>>;
/** The test engine stands in for Ollama's model, so an `ollama` program must be found too: a lane whose service is not installed cannot run. Never started here. */
const fakeOllamaDir = mkdtempSync(path.join(tmpdir(), 'pv-e2e-ollama-'));
writeFileSync(path.join(fakeOllamaDir, 'ollama'), '#!/bin/sh\nexit 1\n');
chmodSync(path.join(fakeOllamaDir, 'ollama'), 0o755);
const withOllama = { PATH: `${fakeOllamaDir}${path.delimiter}${process.env.PATH ?? ''}` };

beforeAll(async () => {
  images = await startAdImageServer();
  app = await startBrowserMode(withOllama, { testEngine: { delayByEngine: { embedded: 40, ollama: 400 } } });
  browser = await openChromium();
});
afterAll(async () => {
  await browser?.close();
  await app?.stop();
  await images?.close();
  rmSync(fakeOllamaDir, { recursive: true, force: true });
});

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(ARTIFACTS_DIR, `ui-${name}.png`) });
const progressOf = async (page: Page, label: string) => Number(await page.getByRole('progressbar', { name: label }).getAttribute('aria-valuenow'));
const laneDone = (text: string | null) => Number((text ?? '').replace(/,/g, ''));
const shareOf = async (page: Page, laneId: string) => parseFloat((await page.locator(`[data-lane="${laneId}"] [data-testid="lane-share"]`).textContent()) ?? '0');

describe('the UI in real Chromium against the real backend', () => {
  it('imports, runs two lanes, follows the split, cancels, shows a detail and exports', async () => {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.setViewportSize({ width: 1280, height: 1000 });
    await page.goto(app.url);
    await page.getByRole('heading', { name: 'Parallel Vision' }).waitFor();
    const slowLane = page.getByRole('checkbox', { name: 'Ollama', exact: true });
    await slowLane.waitFor();
    await shot(page, 'run-empty');

    // Drop a CSV: preview and the rejected row.
    await dropFile(page, 'ads.csv', adListCsv(600, (i) => `${images.origin}/ads/${i}.png`));
    const preview = page.getByRole('region', { name: 'Imported ads' });
    await preview.waitFor();
    expect(await preview.getByTestId('accepted-count').textContent()).toBe('600');
    const rejected = preview.getByRole('list', { name: 'Rejected rows' });
    expect(await rejected.textContent()).toMatch(/line 602/);

    // Two lanes (the embedded default and a slow fake), fixed split: 20 % on the fast lane.
    await slowLane.check();
    await page.getByText('Fixed split').click();
    const slider = page.getByRole('slider', { name: 'Split' });
    await slider.fill('20');
    expect(await page.getByTestId('split-first').textContent()).toBe('20 %');
    await shot(page, 'run-imported');
    // Started from the keyboard: Start is disabled once the run is on, and the focus moves to Pause.
    await page.getByRole('button', { name: 'Start', exact: true }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent), { timeout: 30_000 }).toBe('Pause');
    await expect.poll(() => progressOf(page, 'PaddleOCR (embedded) progress'), { timeout: 30_000 }).toBeGreaterThan(0);
    await expect.poll(() => progressOf(page, 'Ollama progress'), { timeout: 30_000 }).toBeGreaterThan(0);
    const embeddedBefore = await progressOf(page, 'PaddleOCR (embedded) progress');
    const ollamaBefore = await progressOf(page, 'Ollama progress');
    // The fast lane moves on, unless it had already done its whole 20 % share at the first look.
    await expect.poll(async () => { const now = await progressOf(page, 'PaddleOCR (embedded) progress'); return now > embeddedBefore || now >= 20; }, { timeout: 30_000 }).toBe(true);
    await expect.poll(() => progressOf(page, 'Ollama progress'), { timeout: 30_000 }).toBeGreaterThan(ollamaBefore);
    await shot(page, 'run-running');

    // The fast lane stops at its 20 % (120 of 600 ads) and waits ...
    const fastLane = page.locator('[data-lane="embedded"]');
    await expect.poll(() => fastLane.getAttribute('data-lane-state'), { timeout: 60_000 }).toBe('paused-by-scheduler');
    expect(laneDone(await fastLane.getByTestId('lane-done').textContent())).toBe(120);
    const shareBefore = await shareOf(page, 'embedded');
    await shot(page, 'run-split-held');
    // ... until the slider gives it 95 % of the rest: it works again and its share climbs.
    await slider.fill('95');
    await expect.poll(async () => laneDone(await fastLane.getByTestId('lane-done').textContent()), { timeout: 30_000 }).toBeGreaterThan(140);
    await expect.poll(() => shareOf(page, 'embedded'), { timeout: 30_000 }).toBeGreaterThan(shareBefore);
    await shot(page, 'run-split-moved');
    // Back to 20 % of the rest: the fast lane stops at its share again, so the run can only end
    // after the slow lane's hundreds of 400 ms ads — Cancel meets a live run on any machine.
    await slider.fill('20');
    await expect.poll(() => fastLane.getAttribute('data-lane-state'), { timeout: 60_000 }).toBe('paused-by-scheduler');

    // Pause and resume by keyboard: the focus stays on the button as it turns from Pause to Resume and back.
    await page.getByRole('button', { name: 'Pause' }).focus();
    await page.keyboard.press('Enter');
    await page.locator('[data-testid="run-status"][data-status="paused"]').waitFor({ timeout: 30_000 });
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Resume');
    await page.keyboard.press('Enter');
    await page.locator('[data-testid="run-status"][data-status="running"]').waitFor({ timeout: 30_000 });
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Pause');

    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('[data-testid="run-status"][data-status="cancelled"]').waitFor({ timeout: 30_000 });
    const counts = (await page.getByTestId('run-counts').textContent()) ?? '';
    const finished = Number(/([\d,]+) done/.exec(counts)?.[1]?.replace(/,/g, '')) + Number(/([\d,]+) failed/.exec(counts)?.[1]?.replace(/,/g, ''));
    expect(finished).toBeGreaterThan(0);
    await shot(page, 'run-cancelled');

    // Results: a done row's detail with its image and boxes.
    await page.getByRole('tab', { name: 'Results' }).click();
    await page.getByLabel('Status').selectOption('done');
    const firstRow = page.locator('[role="row"][data-creative]').first();
    await firstRow.waitFor();
    await firstRow.click();
    const detail = page.getByRole('complementary', { name: 'Result detail' });
    await detail.getByTestId('boxes').waitFor({ timeout: 20_000 });
    expect(await detail.getByTestId('boxes').locator('rect').count()).toBeGreaterThan(0);
    expect(await detail.getByRole('img', { name: 'The ad' }).evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);
    expect(await detail.getByTestId('result-text').textContent()).toMatch(/\S/);
    await shot(page, 'results-detail');

    // Export CSV of every row and check it through the download link.
    await page.getByRole('tab', { name: 'Export' }).click();
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const done = page.getByTestId('export-done');
    await done.waitFor({ timeout: 30_000 });
    const href = await done.getByRole('link').getAttribute('href');
    expect(href).toBeTruthy();
    const csv = await page.evaluate(async (url) => (await fetch(url)).text(), href!);
    const lines = csv.trim().split(/\r?\n/);
    expect(lines[0]).toContain('_vision_text');
    expect(lines.length - 1).toBe(600);
    expect(await done.textContent()).toContain('Exported 600 rows');
    await shot(page, 'export');

    // Compare: a quick test of three URLs on both engines, side by side.
    await page.getByRole('tab', { name: 'Compare' }).click();
    await page.getByLabel(/Quick test/).fill([0, 1, 2].map((i) => `${images.origin}/ads/${9000 + i}.png`).join('\n'));
    await page.getByRole('button', { name: 'Compare 3 images' }).click();
    const table = page.getByRole('table', { name: 'Outputs side by side' });
    await expect.poll(async () => (await table.getByRole('columnheader').allTextContents()).join('|'), { timeout: 30_000 }).toBe('Creative|Agreement|PaddleOCR (embedded)|Ollama');
    // Every ad done on both engines; the test engines read the same text, so they agree fully.
    await expect.poll(async () => (await table.locator('tbody tr').allTextContents()).filter((row) => row.includes('100 %')).length, { timeout: 30_000 }).toBe(3);
    await shot(page, 'compare');

    await page.getByRole('tab', { name: 'Services' }).click();
    await page.locator('[data-service-card="deepseek"]').waitFor();
    await shot(page, 'services');
    expect(errors).toEqual([]);
    await page.close();
  });

  it('finishes a 10 000-ad run and scrolls to the last of 100 000 rows', async () => {
    const fast = await startBrowserMode(withOllama, { testEngine: { delayByEngine: { embedded: 1, ollama: 5 } } });
    const page = await browser.context.newPage();
    try {
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.setViewportSize({ width: 1280, height: 1000 });
      await page.goto(fast.url);
      await page.getByRole('checkbox', { name: 'Ollama', exact: true }).check();

      // 10 000 ads on two fast lanes, watched on the Run screen. (How smooth this is — long
      // tasks, frame times — is measured by `npm run bench:ui`, never asserted here.)
      await dropFile(page, 'ten-thousand.csv', adListCsv(10_000, (i) => `${images.origin}/ads/${i}.png`));
      await page.getByRole('region', { name: 'Imported ads' }).waitFor();
      await page.getByRole('button', { name: 'Start', exact: true }).click();
      await page.locator('[data-testid="run-status"][data-status="finished"]').waitFor({ timeout: 600_000 });
      const doneCounts = (await page.getByTestId('run-counts').textContent()) ?? '';
      expect(Number(/([\d,]+) done/.exec(doneCounts)?.[1]?.replace(/,/g, ''))).toBe(10_000);
      await shot(page, 'perf-run-finished');

      // 100 000 ads: start and cancel at once; the table lists every ad of the run.
      await dropFile(page, 'hundred-thousand.csv', adListCsv(100_000, (i) => `${images.origin}/ads/${i}.png`));
      await page.getByTestId('accepted-count').filter({ hasText: '100,000' }).waitFor({ timeout: 120_000 });
      await page.getByRole('button', { name: 'Start again' }).click();
      await page.getByRole('button', { name: 'Cancel' }).and(page.locator(':enabled')).click({ timeout: 60_000 });
      await page.locator('[data-testid="run-status"][data-status="cancelled"]').waitFor({ timeout: 60_000 });
      await page.getByRole('tab', { name: 'Results' }).click();
      await page.getByText('100,000 rows').waitFor({ timeout: 60_000 });
      const { reachedBottom } = await scrollResultsAndTimeFrames(page);
      // The last row's data arrived (rows without data render as placeholders).
      await page.locator('[role="row"][data-index="99999"][data-creative]').waitFor({ timeout: 20_000 });
      await shot(page, 'perf-results-bottom');
      expect(errors).toEqual([]);
      expect(reachedBottom).toBe(true);
    } finally {
      await page.close();
      await fast.stop();
    }
  }, 900_000);
});
