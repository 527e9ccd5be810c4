/**
 * Ingest / store / export benchmark at 100 000 ads:
 *   - parse a 100 000-row CSV (target < 2 s)
 *   - record 100 000 results in the SQLite store, one transaction per state change (target ≥ 5 000/s)
 *   - page the results table (sort, filter, search) on 100 000 rows
 *   - export them to CSV (target < 5 s) and JSONL
 *   - the whole pipeline (ingest → fetch from a local image server → prepare → orchestrator
 *     with a zero-latency fake engine → SQLite store → CSV export) in a child process,
 *     for its peak RSS (target < 500 MB)
 *
 *   npm run bench:ingest -- --out bench-results/ingest.json [--ads 100000] [--skip-pipeline]
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import type { AdResult, LaneConfig } from '../shared/domain.js';
import type { Engine } from '../electron/core/engines/types.js';
import { exportResults } from '../electron/core/export/index.js';
import { createImageFetcher, prepareImage } from '../electron/core/fetch/index.js';
import { importAdsFromFiles, importAdsFromText } from '../electron/core/ingest/index.js';
import { startRun } from '../electron/core/orchestrator/index.js';
import { openStore } from '../electron/core/store/index.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    ads: { type: 'string', default: '100000' },
    'skip-pipeline': { type: 'boolean', default: false },
    /** Internal: run only the pipeline phase (in a child process) and print its JSON. */
    'pipeline-child': { type: 'boolean', default: false },
    'pipeline-workers': { type: 'string', default: '16' },
  },
});
const AD_COUNT = Number(values.ads);

function seconds(ms: number): number {
  return Math.round(ms) / 1000;
}

/** Wall time and this process's CPU time: on a busy shared machine the CPU time is the stable number. */
interface Timed<T> {
  value: T;
  ms: number;
  cpuMs: number;
}

function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

function timed<T>(action: () => T): Timed<T> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = action();
  return { value, ms: performance.now() - started, cpuMs: cpuMsSince(cpu) };
}

async function timedAsync<T>(action: () => Promise<T>): Promise<Timed<T>> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = await action();
  return { value, ms: performance.now() - started, cpuMs: cpuMsSince(cpu) };
}

const wallAndCpu = (t: Timed<unknown>) => `${seconds(t.ms)} s (cpu ${seconds(t.cpuMs)} s)`;

function makeCsv(count: number, urlOf: (i: number) => string): string {
  const lines = ['creative_id,image_url,ad_text,campaign,placement'];
  for (let i = 0; i < count; i++) {
    lines.push(`cr-${i},${urlOf(i)},"Summer sale, ${i % 90}% off — ""today"" only",campaign-${i % 37},feed`);
  }
  return `${lines.join('\n')}\n`;
}

/** A plausible OCR result with a few boxes. */
function fakeResult(runId: string, creativeId: string, i: number): AdResult {
  const failed = i % 50 === 49;
  return {
    runId,
    creativeId,
    status: failed ? 'failed' : 'done',
    engine: failed ? null : i % 3 === 0 ? 'deepseek' : 'embedded',
    laneId: failed ? null : i % 3 === 0 ? 'deepseek' : 'embedded',
    model: failed ? null : 'bench-model',
    text: failed ? '' : `SUMMER SALE ${i % 90}% OFF\nShop now at example.com\nOffer ${i}`,
    description: failed ? undefined : 'A banner with a beach and large white text.',
    blocks: failed ? [] : [{ text: 'SUMMER SALE', box: [10, 10, 200, 40], confidence: 0.98 }, { text: 'Shop now', box: [10, 50, 120, 70] }],
    durationMs: failed ? null : 200 + (i % 1000),
    error: failed ? 'not an image (an HTML page)' : undefined,
    attempts: [],
  };
}

interface PipelineReport {
  ads: number;
  done: number;
  failed: number;
  total_s: number;
  import_s: number;
  run_s: number;
  export_s: number;
  adsPerSecond: number;
  /** CPU time of the whole pipeline process (all threads). */
  cpu_s: number;
  peakRssMb: number;
  /** At the end of the run phase, for telling heap from native memory. */
  memoryAfterRunMb: Record<string, number>;
}

/** The whole pipeline in this process; the parent reads our peak RSS. */
async function pipeline(): Promise<PipelineReport> {
  const dir = mkdtempSync(join(tmpdir(), 'pv-bench-pipe-'));
  const distinctImages = 200;
  const images: Buffer[] = [];
  for (let i = 0; i < distinctImages; i++) {
    images.push(await sharp({ create: { width: 320 + (i % 7), height: 100, channels: 3, background: { r: i, g: 80, b: 160 } } }).png().toBuffer());
  }
  const server = createServer((req, res) => {
    const index = Number(/\/img\/(\d+)\.png/.exec(req.url ?? '')?.[1] ?? NaN);
    const png = Number.isFinite(index) ? images[index % distinctImages] : undefined;
    res.writeHead(png ? 200 : 404, { 'content-type': 'image/png' });
    res.end(png ?? 'missing');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const listPath = join(dir, 'ads.csv');
  writeFileSync(listPath, makeCsv(AD_COUNT, (i) => `${base}/img/${i}.png`));

  const started = performance.now();
  const store = openStore(join(dir, 'pv.db'));
  const imported = await timedAsync(() => importAdsFromFiles([listPath]));
  const batch = store.saveBatch({ source: 'ads.csv', format: imported.value.format, columns: imported.value.columns, fieldColumns: imported.value.fieldColumns, ads: imported.value.ads });
  const run = store.createRun({ batchId: batch.id, policy: 'auto' });
  const importMs = performance.now() - started;

  const fetcher = createImageFetcher({ cacheDir: join(dir, 'cache'), perHostConcurrency: 16, allowFileUrls: false });
  const engine: Engine = {
    kind: 'embedded',
    label: 'zero-latency',
    async recognize(image) {
      return { text: `len ${image.bytes.length}`, blocks: [{ text: 'x', box: [0, 0, image.width ?? 0, image.height ?? 0] }], model: 'fake', timings: {} };
    },
  };
  const lane: LaneConfig = { id: 'fake', engine: 'embedded', workers: Number(values['pipeline-workers']), enabled: true };
  const runStarted = performance.now();
  const orchestrator = startRun({
    runId: run.id,
    ads: imported.value.ads,
    lanes: [{ config: lane, engine }],
    policy: 'single',
    store: store.runStore,
    loadImage: async (ad, signal) => prepareImage((await fetcher.fetchImage(ad.imageUrl, signal)).bytes, { maxSide: 2048 }),
  });
  const summary = await orchestrator.done;
  const runMs = performance.now() - runStarted;
  const memoryAfterRunMb = Object.fromEntries(Object.entries(process.memoryUsage()).map(([key, bytes]) => [key, Math.round(bytes / 1e6)]));
  const exported = await timedAsync(() => exportResults(store, run.id, { format: 'csv' }, join(dir, 'out.csv')));
  const totalMs = performance.now() - started;
  await fetcher.close();
  store.close();
  server.closeAllConnections();
  server.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    ads: AD_COUNT,
    done: summary.done,
    failed: summary.failed,
    total_s: seconds(totalMs),
    import_s: seconds(importMs),
    run_s: seconds(runMs),
    export_s: seconds(exported.ms),
    adsPerSecond: Math.round(AD_COUNT / (runMs / 1000)),
    cpu_s: seconds(cpuMsSince({ user: 0, system: 0 })),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    memoryAfterRunMb,
  };
}

async function runPipelineInChild(): Promise<PipelineReport> {
  const script = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ['--import', 'tsx', script, '--pipeline-child', '--ads', String(AD_COUNT), '--pipeline-workers', values['pipeline-workers']!], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`pipeline child exited with ${code}`);
  return JSON.parse(stdout.trim().split('\n').pop()!) as PipelineReport;
}

async function main(): Promise<void> {
  if (values['pipeline-child']) {
    console.log(JSON.stringify(await pipeline()));
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'pv-bench-ingest-'));
  // Shared machines skew timings: the load average is recorded with the numbers.
  const results: Record<string, unknown> = { ads: AD_COUNT, node: process.version, platform: `${process.platform}-${process.arch}`, cores: availableParallelism(), loadAverageAtStart: loadavg()[0] };
  const rows: Array<[string, string, string, string]> = [];
  const row = (name: string, value: string, target: string, ok: boolean | null) => rows.push([name, value, target, ok === null ? '' : ok ? 'ok' : 'MISSED']);
  try {
    // 1. Parse.
    const csv = makeCsv(AD_COUNT, (i) => `https://cdn.example.com/creatives/${createHash('md5').update(String(i)).digest('hex')}.png`);
    const bytes = new TextEncoder().encode(csv);
    importAdsFromText(bytes.subarray(0, 20_000), { filename: 'warmup.csv' });
    const parsed = timed(() => importAdsFromText(bytes, { filename: 'ads.csv' }));
    if (parsed.value.ads.length !== AD_COUNT) throw new Error(`parsed ${parsed.value.ads.length} ads`);
    results.parse = { ms: Math.round(parsed.ms), cpuMs: Math.round(parsed.cpuMs), megabytes: +(bytes.length / 1e6).toFixed(1), rowsPerSecond: Math.round(AD_COUNT / (parsed.ms / 1000)) };
    row(`parse ${AD_COUNT} CSV rows (${(bytes.length / 1e6).toFixed(1)} MB)`, wallAndCpu(parsed), '< 2 s', parsed.ms < 2000);

    // 2. Store: batch, run, one transaction per result.
    const dbPath = join(dir, 'pv.db');
    const store = openStore(dbPath);
    const batchTime = timed(() => store.saveBatch({ source: 'ads.csv', format: 'csv', columns: parsed.value.columns, fieldColumns: parsed.value.fieldColumns, ads: parsed.value.ads }));
    const runTime = timed(() => store.createRun({ batchId: batchTime.value.id, policy: 'auto' }));
    const runId = runTime.value.id;
    const ads = parsed.value.ads;
    const record = timed(() => {
      for (let i = 0; i < ads.length; i++) store.runStore.saveResult(fakeResult(runId, ads[i]!.creativeId, i));
    });
    const perSecond = Math.round(ads.length / (record.ms / 1000));
    const perCpuSecond = Math.round(ads.length / (record.cpuMs / 1000));
    // A realistic mix: an attempt row and a result per ad, plus the isFinished check of a resume.
    const run2 = store.createRun({ batchId: batchTime.value.id, policy: 'auto' }).id;
    const mixedCount = Math.min(20_000, ads.length);
    const mixed = timed(() => {
      for (let i = 0; i < mixedCount; i++) {
        const id = ads[i]!.creativeId;
        if (store.runStore.isFinished(run2, id, null)) continue;
        store.runStore.recordAttempt(run2, id, { laneId: 'embedded', engine: 'embedded', startedAt: Date.now(), durationMs: 300, outcome: 'ok' });
        store.runStore.saveResult(fakeResult(run2, id, i));
      }
    });
    const mixedPerSecond = Math.round((mixedCount * 2) / (mixed.ms / 1000));
    const mixedPerCpuSecond = Math.round((mixedCount * 2) / (mixed.cpuMs / 1000));
    // For comparison: every state change committed on its own (groupCommit.minIntervalMs = 0).
    const soloCount = Math.min(20_000, ads.length);
    const soloStore = openStore(join(dir, 'solo.db'), { groupCommit: { minIntervalMs: 0 } });
    const soloBatch = soloStore.saveBatch({ source: 'ads.csv', format: 'csv', columns: parsed.value.columns, fieldColumns: parsed.value.fieldColumns, ads: ads.slice(0, soloCount) });
    const soloRun = soloStore.createRun({ batchId: soloBatch.id, policy: 'auto' }).id;
    const solo = timed(() => {
      for (let i = 0; i < soloCount; i++) soloStore.runStore.saveResult(fakeResult(soloRun, ads[i]!.creativeId, i));
    });
    soloStore.close();
    const soloPerSecond = Math.round(soloCount / (solo.ms / 1000));
    const soloPerCpuSecond = Math.round(soloCount / (solo.cpuMs / 1000));
    results.store = {
      oneTransactionPerChangePerSecond: soloPerSecond,
      oneTransactionPerChangePerCpuSecond: soloPerCpuSecond,
      saveBatchMs: Math.round(batchTime.ms),
      createRunMs: Math.round(runTime.ms),
      saveResultPerSecond: perSecond,
      saveResultPerCpuSecond: perCpuSecond,
      attemptPlusResultStateChangesPerCpuSecond: mixedPerCpuSecond,
      saveResultTotalMs: Math.round(record.ms),
      attemptPlusResultStateChangesPerSecond: mixedPerSecond,
      databaseMb: +(statSync(dbPath).size / 1e6).toFixed(1),
    };
    row(`store ${AD_COUNT} results (group commit)`, `${perSecond.toLocaleString('en')} /s (cpu: ${perCpuSecond.toLocaleString('en')} /s)`, '≥ 5 000 /s', perSecond >= 5000);
    row('  attempt + result per ad (2 state changes)', `${mixedPerSecond.toLocaleString('en')} /s (cpu: ${mixedPerCpuSecond.toLocaleString('en')} /s)`, '≥ 5 000 /s', mixedPerSecond >= 5000);
    row(`  ${soloCount} results, one transaction each (no grouping)`, `${soloPerSecond.toLocaleString('en')} /s (cpu: ${soloPerCpuSecond.toLocaleString('en')} /s)`, '≥ 5 000 /s', soloPerSecond >= 5000);
    row(`  save batch of ${AD_COUNT} ads`, wallAndCpu(batchTime), '', null);
    row('  create run', wallAndCpu(runTime), '', null);

    // 3. Pages of the results table.
    const queries = {
      'first page, by finish time': { runId, sort: 'finishedAt' as const, limit: 200 },
      [`page at offset ${Math.floor(AD_COUNT / 2)}, by duration desc`]: { runId, sort: 'duration' as const, descending: true, offset: Math.floor(AD_COUNT / 2), limit: 200 },
      'failed only, by id': { runId, status: 'failed' as const, sort: 'creativeId' as const, limit: 200 },
      'engine deepseek, last page': { runId, engine: 'deepseek' as const, sort: 'finishedAt' as const, offset: Math.floor(AD_COUNT / 3) - 200, limit: 200 },
      'search "offer 4242"': { runId, search: 'Offer 4242', limit: 200 },
      'search with no match': { runId, search: 'zzzz-no-match', limit: 200 },
    };
    const pageTimes: Record<string, { ms: number; cpuMs: number; total: number }> = {};
    for (const [name, query] of Object.entries(queries)) {
      store.pageResults(query);
      const samples = Array.from({ length: 5 }, () => timed(() => store.pageResults(query)));
      const ms = samples.map((sample) => sample.ms).sort((a, b) => a - b)[2]!;
      const cpuMs = samples.map((sample) => sample.cpuMs).sort((a, b) => a - b)[2]!;
      pageTimes[name] = { ms: +ms.toFixed(1), cpuMs: +cpuMs.toFixed(1), total: samples[0]!.value.total };
      row(`  page: ${name}`, `${ms.toFixed(1)} ms (cpu ${cpuMs.toFixed(1)} ms)`, '< 100 ms', ms < 100);
    }
    results.pages = pageTimes;

    // 4. Export.
    const csvExport = await timedAsync(() => exportResults(store, runId, { format: 'csv' }, join(dir, 'out.csv')));
    const jsonlExport = await timedAsync(() => exportResults(store, runId, { format: 'jsonl' }, join(dir, 'out.jsonl')));
    results.export = {
      csvMs: Math.round(csvExport.ms),
      csvCpuMs: Math.round(csvExport.cpuMs),
      jsonlCpuMs: Math.round(jsonlExport.cpuMs),
      csvMb: +(statSync(join(dir, 'out.csv')).size / 1e6).toFixed(1),
      jsonlMs: Math.round(jsonlExport.ms),
      jsonlMb: +(statSync(join(dir, 'out.jsonl')).size / 1e6).toFixed(1),
      rows: csvExport.value.rows,
    };
    row(`export ${csvExport.value.rows} rows to CSV`, wallAndCpu(csvExport), '< 5 s', csvExport.ms < 5000);
    row(`export ${jsonlExport.value.rows} rows to JSONL (with boxes)`, wallAndCpu(jsonlExport), '', null);
    store.close();
    results.benchProcessPeakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);

    // 5. The whole pipeline, in its own process.
    if (!values['skip-pipeline']) {
      const report = await runPipelineInChild();
      results.pipeline = report;
      row(`pipeline: ${report.ads} ads, local images, zero-latency engine`, `${report.total_s} s (cpu ${report.cpu_s} s)`, '', null);
      row('  fetch + prepare + schedule + store', `${report.adsPerSecond.toLocaleString('en')} ads/s`, '', null);
      row('  peak RSS of the pipeline process', `${report.peakRssMb} MB`, '< 500 MB', report.peakRssMb < 500);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  results.loadAverageAtEnd = loadavg()[0];
  const widths = [0, 1, 2].map((column) => Math.max(...rows.map((r) => r[column]!.length), 6));
  const line = (r: readonly string[]) => `${r[0]!.padEnd(widths[0]!)}  ${r[1]!.padStart(widths[1]!)}  ${r[2]!.padEnd(widths[2]!)}  ${r[3]}`;
  console.log(`${AD_COUNT} ads, ${availableParallelism()} cores, load average ${(results.loadAverageAtStart as number).toFixed(1)} → ${(results.loadAverageAtEnd as number).toFixed(1)}`);
  console.log(line(['measure', 'value', 'target', '']));
  for (const r of rows) console.log(line(r));
  if (values.out) {
    mkdirSync(dirname(values.out), { recursive: true });
    writeFileSync(values.out, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`\nwrote ${values.out}`);
  }
}

await main();
