/**
 * Images from a slow host: the same run with and without downloading the upcoming ads' images
 * ahead (the run's image loader, fed by the orchestrator's onUpcoming), side by side.
 *
 *   npm run bench:prefetch -- --dataset ../shared/testdata/ads [--latency-ms 300] [--rounds 2] [--out FILE.json]
 *
 * The dataset's images are served on 127.0.0.1 with --latency-ms before each answer, as an ad
 * CDN far away would; one embedded lane (real models, one worker per core) reads them. Rounds
 * alternate the two configurations so that the machine's noise falls on both.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Ad, LaneConfig } from '../shared/domain.js';
import { createEmbeddedEngine } from '../electron/core/engines/embedded.js';
import { createImageFetcher, createImageLoader, prepareImage } from '../electron/core/fetch/index.js';
import { sniffImageMime } from '../electron/core/fetch/image-type.js';
import { MemoryRunStore } from '../electron/core/orchestrator/memory-store.js';
import { startRun } from '../electron/core/orchestrator/index.js';

const MAX_SIDE = 1600;

const { values } = parseArgs({
  options: { dataset: { type: 'string' }, 'latency-ms': { type: 'string', default: '300' }, rounds: { type: 'string', default: '2' }, out: { type: 'string' } },
});
if (!values.dataset) throw new Error('--dataset DIR is required');
const latencyMs = Number(values['latency-ms']);
const rounds = Number(values.rounds);

const files = new Map<string, Buffer>();
for (const name of (await readdir(values.dataset)).sort()) {
  const bytes = await readFile(path.join(values.dataset, name));
  if (sniffImageMime(bytes)) files.set(`/${name}`, bytes);
}
const server = createServer((request, response) => {
  const bytes = files.get(new URL(request.url ?? '/', 'http://x').pathname);
  setTimeout(() => (bytes ? response.writeHead(200).end(bytes) : response.writeHead(404).end()), latencyMs);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const workers = os.availableParallelism();
const lane: LaneConfig = { id: 'embedded', engine: 'embedded', workers, enabled: true };
const engine = createEmbeddedEngine(lane);
await engine.availability?.();

interface Row {
  config: 'ahead' | 'on demand';
  round: number;
  ads: number;
  seconds: number;
  adsPerSecond: number;
}

async function runOnce(config: Row['config'], round: number): Promise<Row> {
  // Each run its own URLs (a query per round) and no disk cache: every image is downloaded.
  const ads: Ad[] = [...files.keys()].map((name, n) => ({ creativeId: `r${round}-${n}`, imageUrl: `${base}${name}?round=${round}-${config}` }));
  const fetcher = createImageFetcher({ retries: 0 });
  const loader = createImageLoader({ fetcher, maxSide: MAX_SIDE, lookAhead: workers });
  const started = performance.now();
  const run = startRun({
    runId: `${config}-${round}`,
    ads,
    store: new MemoryRunStore(),
    lanes: [{ config: lane, engine }],
    policy: 'single',
    ...(config === 'ahead'
      ? { loadImage: loader.loadImage, onUpcoming: (upcoming) => loader.prefetch(upcoming) }
      : { loadImage: async (ad, signal) => prepareImage((await fetcher.fetchImage(ad.imageUrl, signal)).bytes, { maxSide: MAX_SIDE }) }),
  });
  const summary = await run.done;
  const seconds = (performance.now() - started) / 1000;
  loader.close();
  await fetcher.close();
  if (summary.failed > 0) throw new Error(`${config}: ${summary.failed} ads failed`);
  return { config, round, ads: summary.done, seconds, adsPerSecond: summary.done / seconds };
}

const rows: Row[] = [];
const loadBefore = os.loadavg();
for (let round = 1; round <= rounds; round++) {
  const order: Row['config'][] = round % 2 === 1 ? ['on demand', 'ahead'] : ['ahead', 'on demand'];
  for (const config of order) {
    const row = await runOnce(config, round);
    rows.push(row);
    console.log(`round ${round}  ${config.padEnd(9)}  ${row.ads} ads  ${row.seconds.toFixed(1).padStart(6)} s  ${row.adsPerSecond.toFixed(2).padStart(6)} ads/s`);
  }
}
const loadAfter = os.loadavg();
const total = (config: Row['config']) => {
  const mine = rows.filter((row) => row.config === config);
  return mine.reduce((sum, row) => sum + row.ads, 0) / mine.reduce((sum, row) => sum + row.seconds, 0);
};
const ahead = total('ahead');
const onDemand = total('on demand');
console.log(`\nimages served ${latencyMs} ms after each request; embedded, ${workers} workers; ${rounds} rounds`);
console.log(`config     ads/s`);
console.log(`on demand  ${onDemand.toFixed(2)}`);
console.log(`ahead      ${ahead.toFixed(2)}`);
console.log(`ahead / on demand: ${(ahead / onDemand).toFixed(2)}`);
console.log(`load average ${loadBefore.map((v) => v.toFixed(2)).join(' / ')} → ${loadAfter.map((v) => v.toFixed(2)).join(' / ')} on ${os.availableParallelism()} cores`);
if (values.out) {
  await writeFile(values.out, JSON.stringify({ latencyMs, workers, rounds, rows, adsPerSecond: { ahead, onDemand }, ratio: ahead / onDemand, loadAverage: { before: loadBefore, after: loadAfter }, date: new Date().toISOString() }, null, 2));
  console.log(`wrote ${values.out}`);
}
await engine.close?.();
server.close();
