/**
 * Helpers for the UI's browser tests: the fake-backend harness page (built and served
 * in-process, so nothing is left running), and page actions shared by the tests.
 */
import type { Page } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { build, preview } from 'vite';

/**
 * The harness page as a production build (what users run; React's dev checks would
 * dominate any timing), served by `vite preview` on 127.0.0.1.
 */
export async function startHarnessServer(): Promise<{ url: string; close(): Promise<void> }> {
  const outDir = mkdtempSync(path.join(tmpdir(), 'pv-ui-harness-'));
  await build({
    configFile: 'vite.config.ts',
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, sourcemap: false, rollupOptions: { input: { harness: path.resolve('renderer/test/harness.html') } } },
  });
  const server = await preview({ configFile: 'vite.config.ts', logLevel: 'warn', build: { outDir }, preview: { host: '127.0.0.1', port: 0, strictPort: false } });
  const address = server.httpServer.address();
  if (!address || typeof address === 'string') throw new Error('vite preview has no port');
  return {
    url: `http://127.0.0.1:${address.port}/test/harness.html`,
    async close() {
      await server.close();
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}

/** A CSV of `count` ads plus one row the importer must reject. */
export function adListCsv(count: number, imageUrl: (i: number) => string = (i) => `https://ads.example/${i}.png`): string {
  const rows = Array.from({ length: count }, (_, i) => `ad-${String(i).padStart(6, '0')},${imageUrl(i)}`);
  return ['creative_id,image_url', ...rows, 'broken-row,not-a-url', ''].join('\n');
}

/** Drops a file on the drop zone the way a Finder drag does: a DataTransfer with a File. */
export async function dropFile(page: Page, name: string, content: string, type = 'text/csv'): Promise<void> {
  await page.evaluate(
    ({ name, content, type }) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([content], name, { type }));
      const zone = document.querySelector('[data-testid="drop-zone"]');
      if (!zone) throw new Error('no drop zone');
      zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: transfer, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
    },
    { name, content, type },
  );
}

/** Starts collecting main-thread long tasks; read them with `longTasks(page)`. */
export async function observeLongTasks(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __longTasks: number[] };
    w.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) w.__longTasks.push(entry.duration);
    }).observe({ type: 'longtask', buffered: false });
  });
}

export async function longTasks(page: Page): Promise<number[]> {
  return page.evaluate(() => (window as unknown as { __longTasks: number[] }).__longTasks ?? []);
}

/**
 * Scrolls the results table from top to bottom in steps, one per animation frame, and
 * returns every frame's duration (ms) while it happens.
 */
export async function scrollResultsAndTimeFrames(page: Page, steps = 240): Promise<{ frames: number[]; reachedBottom: boolean }> {
  return page.evaluate(async (steps) => {
    const scroller = document.querySelector<HTMLElement>('[data-testid="results-scroll"]');
    if (!scroller) throw new Error('no results table');
    const frames: number[] = [];
    // No named helpers in here: tsx would wrap them in a __name() the page does not have.
    let last = await new Promise<number>((resolve) => requestAnimationFrame(resolve));
    const max = scroller.scrollHeight - scroller.clientHeight;
    for (let i = 1; i <= steps; i++) {
      scroller.scrollTop = (max * i) / steps;
      const now = await new Promise<number>((resolve) => requestAnimationFrame(resolve));
      frames.push(now - last);
      last = now;
    }
    // Let the last pages arrive.
    for (let i = 0; i < 20; i++) {
      const now = await new Promise<number>((resolve) => requestAnimationFrame(resolve));
      frames.push(now - last);
      last = now;
    }
    return { frames, reachedBottom: Math.abs(scroller.scrollTop - max) < 2 };
  }, steps);
}

/**
 * Serves a distinct small PNG ad at /ads/<n>.png on 127.0.0.1: one picture rendered once
 * by sharp, made unique per n with a tEXt chunk (so no two ads share an image hash).
 */
export async function startAdImageServer(): Promise<{ origin: string; requests(): number; close(): Promise<void> }> {
  const { default: sharp } = await import('sharp');
  const { createServer: createHttpServer } = await import('node:http');
  const { crc32 } = await import('node:zlib');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="480" height="240"><rect width="480" height="240" fill="#fde047"/><text x="30" y="110" font-family="sans-serif" font-size="64" font-weight="bold" fill="#b91c1c">SALE 50%</text><text x="30" y="180" font-family="sans-serif" font-size="32" fill="#1f2937">Shop now at example.com</text></svg>`;
  const base = await sharp(Buffer.from(svg)).png().toBuffer();
  const IHDR_END = 8 + 25; // signature + IHDR chunk
  const uniquePng = (n: number): Buffer => {
    const data = Buffer.from(`Comment\0ad ${n}`, 'latin1');
    const type = Buffer.from('tEXt', 'latin1');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([type, data])) >>> 0);
    return Buffer.concat([base.subarray(0, IHDR_END), length, type, data, crc, base.subarray(IHDR_END)]);
  };
  let requests = 0;
  const server = createHttpServer((request, response) => {
    const match = /^\/ads\/(\d+)\.png$/.exec(request.url ?? '');
    if (!match) return void response.writeHead(404).end();
    requests++;
    const body = uniquePng(Number(match[1]));
    response.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('image server has no port');
  return {
    origin: `http://127.0.0.1:${address.port}`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
