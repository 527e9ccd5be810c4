/**
 * UI performance in real Chromium: main-thread long tasks during a 10 000-ad run with fast
 * engines, and frame times while scrolling a 100 000-row results table. These are speed
 * figures, so they are measured by `npm run bench:ui` (scripts/bench-ui.ts), never asserted
 * by a test: the e2e tests check the same screens for behaviour only.
 *   backend 'real': `parallel-vision serve` with the deterministic test engines (what users run)
 *   backend 'fake': the fake-backend harness page (the fake runs in the page, so its own cost
 *                   is included: an upper bound on the UI's cost)
 */
import type { Page } from 'playwright-core';
import { openChromium, startBrowserMode } from './harness.js';
import { adListCsv, dropFile, longTasks, observeLongTasks, scrollResultsAndTimeFrames, startAdImageServer, startHarnessServer } from './ui-harness.js';

export interface UiPerf {
  backend: 'real' | 'fake';
  run: { ads: number; seconds: number; longTasks: number; maxLongTaskMs: number };
  scroll: { rows: number; frames: number; maxFrameMs: number; p95FrameMs: number; framesOver50ms: number; longTasks: number; maxLongTaskMs: number; reachedBottom: boolean; lastRowShown: boolean };
  pageErrors: string[];
}

/** What the UI should achieve on an idle machine (printed beside the figures by bench:ui). */
export const UI_TARGETS = { runMaxLongTaskMs: 100, scrollFramesOver50ms: 0, scrollP95FrameMs: 34 } as const;

function frameFigures(frames: number[], tasks: number[]) {
  const sorted = [...frames].sort((a, b) => a - b);
  return {
    frames: frames.length,
    maxFrameMs: sorted.at(-1) ?? 0,
    p95FrameMs: sorted[Math.floor(sorted.length * 0.95)] ?? 0,
    framesOver50ms: frames.filter((f) => f > 50).length,
    longTasks: tasks.length,
    maxLongTaskMs: Math.max(0, ...tasks),
  };
}

async function timedRun(page: Page): Promise<{ seconds: number; tasks: number[] }> {
  await observeLongTasks(page);
  const started = performance.now();
  await page.getByRole('button', { name: 'Start', exact: true }).click();
  await page.locator('[data-testid="run-status"][data-status="finished"]').waitFor({ timeout: 600_000 });
  return { seconds: (performance.now() - started) / 1000, tasks: await longTasks(page) };
}

/** The real backend: a 10 000-ad run on two fast test lanes, then 100 000 rows started, cancelled and scrolled. */
export async function measureRealBackend(ads = 10_000, rows = 100_000): Promise<UiPerf> {
  const images = await startAdImageServer();
  const app = await startBrowserMode({}, { testEngine: { delayByEngine: { embedded: 1, ollama: 5 } } });
  const browser = await openChromium();
  try {
    const page = await browser.context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.setViewportSize({ width: 1280, height: 1000 });
    await page.goto(app.url);
    await page.getByRole('checkbox', { name: 'Ollama', exact: true }).check();
    await dropFile(page, 'run.csv', adListCsv(ads, (i) => `${images.origin}/ads/${i}.png`));
    await page.getByRole('region', { name: 'Imported ads' }).waitFor();
    const run = await timedRun(page);

    await dropFile(page, 'scroll.csv', adListCsv(rows, (i) => `${images.origin}/ads/${i}.png`));
    await page.getByTestId('accepted-count').filter({ hasText: rows.toLocaleString('en-US') }).waitFor({ timeout: 300_000 });
    await page.getByRole('button', { name: 'Start again' }).click();
    await page.getByRole('button', { name: 'Cancel' }).and(page.locator(':enabled')).click({ timeout: 300_000 });
    await page.locator('[data-testid="run-status"][data-status="cancelled"]').waitFor({ timeout: 300_000 });
    await page.getByRole('tab', { name: 'Results' }).click();
    await page.getByText(`${rows.toLocaleString('en-US')} rows`).waitFor({ timeout: 300_000 });
    await observeLongTasks(page);
    const { frames, reachedBottom } = await scrollResultsAndTimeFrames(page);
    const scrollTasks = await longTasks(page);
    const lastRow = page.locator(`[role="row"][data-index="${rows - 1}"][data-creative]`);
    const lastRowShown = await lastRow.waitFor({ timeout: 300_000 }).then(
      () => true,
      () => false,
    );
    return {
      backend: 'real',
      run: { ads, seconds: run.seconds, longTasks: run.tasks.length, maxLongTaskMs: Math.max(0, ...run.tasks) },
      scroll: { rows, ...frameFigures(frames, scrollTasks), reachedBottom, lastRowShown },
      pageErrors,
    };
  } finally {
    await browser.close();
    await app.stop();
    await images.close();
  }
}

/** The fake-backend harness page: the same run and scroll with the backend inside the page. */
export async function measureFakeBackend(ads = 10_000, rows = 100_000): Promise<UiPerf> {
  const server = await startHarnessServer();
  const browser = await openChromium();
  try {
    const page = await browser.context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${server.url}?delay=2`);
    await page.getByRole('checkbox', { name: 'Ollama · llava' }).waitFor();
    await dropFile(page, 'ads.csv', adListCsv(ads));
    await page.getByRole('region', { name: 'Imported ads' }).waitFor();
    const run = await timedRun(page);

    await page.goto(`${server.url}?finished=${rows}`);
    await page.getByRole('tab', { name: 'Results' }).click();
    await page.getByRole('combobox', { name: 'Run' }).selectOption({ index: 1 });
    await page.locator('[data-creative="ad-000000"]').waitFor();
    await observeLongTasks(page);
    const { frames, reachedBottom } = await scrollResultsAndTimeFrames(page);
    const lastRowShown = (await page.locator(`[data-creative="ad-${String(rows - 1).padStart(6, '0')}"]`).count()) === 1;
    const scrollTasks = await longTasks(page);
    return {
      backend: 'fake',
      run: { ads, seconds: run.seconds, longTasks: run.tasks.length, maxLongTaskMs: Math.max(0, ...run.tasks) },
      scroll: { rows, ...frameFigures(frames, scrollTasks), reachedBottom, lastRowShown },
      pageErrors,
    };
  } finally {
    await browser.close();
    await server.close();
  }
}
