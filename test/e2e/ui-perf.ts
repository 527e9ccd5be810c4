/**
 * UI performance in real Chromium: main-thread long tasks during a 10 000-ad run with fast
 * engines, and frame times while scrolling a 100 000-row results table.
 *   npx tsx test/e2e/ui-perf.ts [--ads 10000] [--rows 100000] [--out perf.json]
 * Runs against the fake-backend harness page (the fake runs in the page, so its own cost is
 * included: an upper bound on the UI's cost).
 */
import { writeFileSync } from 'node:fs';
import { openChromium } from './harness.js';
import { adListCsv, dropFile, longTasks, observeLongTasks, scrollResultsAndTimeFrames, startHarnessServer } from './ui-harness.js';

function arg(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}
const ads = Number(arg('ads', '10000'));
const rows = Number(arg('rows', '100000'));
const out = arg('out', '');

const server = await startHarnessServer();
const browser = await openChromium();
try {
  const page = await browser.context.newPage();
  page.on('pageerror', (e) => console.error('pageerror', e.message));

  // 1. A 10 000-ad run on fast fake engines, watched on the Run screen.
  await page.goto(`${server.url}?delay=2`);
  await page.getByRole('checkbox', { name: 'Ollama · llava' }).waitFor();
  await dropFile(page, 'ads.csv', adListCsv(ads));
  await page.getByRole('region', { name: 'Imported ads' }).waitFor();
  await observeLongTasks(page);
  const started = Date.now();
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await page.locator('[data-testid="run-status"][data-status="finished"]').waitFor({ timeout: 120_000 });
  const runSeconds = (Date.now() - started) / 1000;
  const runTasks = await longTasks(page);

  // 2. Scroll 100 000 rows of a finished run.
  await page.goto(`${server.url}?finished=${rows}`);
  await page.getByRole('tab', { name: 'Results' }).click();
  await page.getByRole('combobox', { name: 'Run' }).selectOption({ index: 1 });
  await page.locator('[data-creative="ad-000000"]').waitFor();
  await observeLongTasks(page);
  const { frames, reachedBottom } = await scrollResultsAndTimeFrames(page);
  const lastRow = await page.locator(`[data-creative="ad-${String(rows - 1).padStart(6, '0')}"]`).count();
  const scrollTasks = await longTasks(page);

  const sorted = [...frames].sort((a, b) => a - b);
  const result = {
    backend: 'fake-in-page',
    run: { ads, seconds: runSeconds, longTasks: runTasks.length, maxLongTaskMs: Math.max(0, ...runTasks) },
    scroll: {
      rows,
      frames: frames.length,
      maxFrameMs: sorted.at(-1) ?? 0,
      p95FrameMs: sorted[Math.floor(sorted.length * 0.95)] ?? 0,
      framesOver50ms: frames.filter((f) => f > 50).length,
      longTasks: scrollTasks.length,
      maxLongTaskMs: Math.max(0, ...scrollTasks),
      reachedBottom,
      lastRowShown: lastRow === 1,
    },
  };
  console.table({
    [`run ${ads} ads`]: { seconds: result.run.seconds.toFixed(1), longTasks: result.run.longTasks, maxLongTaskMs: result.run.maxLongTaskMs.toFixed(0) },
    [`scroll ${rows} rows`]: { frames: result.scroll.frames, maxFrameMs: result.scroll.maxFrameMs.toFixed(1), p95FrameMs: result.scroll.p95FrameMs.toFixed(1), over50ms: result.scroll.framesOver50ms, longTasks: result.scroll.longTasks },
  });
  if (out) writeFileSync(out, JSON.stringify(result, null, 2));
} finally {
  await browser.close();
  await server.close();
}
