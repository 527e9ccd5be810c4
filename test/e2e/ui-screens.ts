/**
 * Screenshots of every screen against the fake-backend harness, light and dark:
 *   npx tsx test/e2e/ui-screens.ts [--out test-artifacts/ui-fake]
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { openChromium } from './harness.js';
import { adListCsv, dropFile, startHarnessServer } from './ui-harness.js';

const outIndex = process.argv.indexOf('--out');
const outDir = path.resolve(outIndex > 0 ? (process.argv[outIndex + 1] ?? 'test-artifacts/ui-fake') : 'test-artifacts/ui-fake');
mkdirSync(outDir, { recursive: true });

const server = await startHarnessServer();
const browser = await openChromium();
try {
  for (const scheme of ['light', 'dark'] as const) {
    const page = await browser.context.newPage();
    page.on('pageerror', (e) => console.error('pageerror', e.message));
    await page.emulateMedia({ colorScheme: scheme });
    await page.setViewportSize({ width: 1280, height: 1000 });
    await page.goto(`${server.url}?delay=60`);
    await page.getByRole('heading', { name: 'Parallel Vision' }).waitFor();
    await page.getByRole('checkbox', { name: 'Ollama · llava' }).check();
    const shot = (name: string) => page.screenshot({ path: path.join(outDir, `${scheme}-${name}.png`), fullPage: true });
    await shot('run-empty');
    await dropFile(page, 'ads.csv', adListCsv(400));
    await page.getByRole('region', { name: 'Imported ads' }).waitFor();
    await page.getByText('Fixed split').click();
    await page.getByRole('slider', { name: 'Split' }).fill('75');
    await shot('run-imported');
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await page.waitForTimeout(4000);
    await shot('run-running');
    await page.getByRole('tab', { name: 'Results' }).click();
    await page.waitForTimeout(600);
    await shot('results');
    await page.locator('[data-creative="ad-000003"]').click();
    await page.getByRole('complementary', { name: 'Result detail' }).waitFor();
    await page.waitForTimeout(300);
    await shot('results-detail');
    await page.getByRole('tab', { name: 'Compare' }).click();
    await page.waitForTimeout(1200);
    await shot('compare');
    await page.getByRole('tab', { name: 'Services' }).click();
    await page.waitForTimeout(200);
    await shot('services');
    await page.getByRole('tab', { name: 'Export' }).click();
    await page.getByRole('button', { name: /^Export/ }).click();
    await page.getByTestId('export-done').waitFor();
    await shot('export');
    await page.close();
  }
  console.log(`screenshots in ${outDir}`);
} finally {
  await browser.close();
  await server.close();
}
