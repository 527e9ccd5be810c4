/**
 * Local API benchmark, against a real `parallel-vision api` child process on a zero-latency
 * test engine:
 *   - 1 000 ads submitted with POST /v1/runs, every result read from the NDJSON stream: ads/s
 *   - POST /v1/ocr of a local image (raw body), p50/p95, against the same preparation and
 *     engine called in-process: the API's added latency (target < 5 ms p50)
 *   - a 100 000-ad run submitted and streamed through the API in a fresh server: its peak
 *     RSS (target < 500 MB, the CLI's bound)
 *
 *   npm run bench:api -- --out bench-results/api.json [--ads 1000] [--ocr-calls 300] [--big 100000] (--big 0 skips it)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { createTestEngine } from '../electron/core/engines/test-engine.js';
import { testEngineCliArgs } from '../test/helpers/test-engine-cli.js';
import { prepareImage } from '../electron/core/fetch/index.js';
import { DEFAULT_MAX_SIDE } from '../electron/core/app/runs.js';
import { renderTextAd, startAdImageServer } from '../test/helpers/ad-image-server.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    ads: { type: 'string', default: '1000' },
    'ocr-calls': { type: 'string', default: '300' },
    big: { type: 'string', default: '100000' },
  },
});
const ADS = Number(values.ads);
const OCR_CALLS = Number(values['ocr-calls']);
const BIG = Number(values.big);
const TARGET_ADDED_P50_MS = 5;
const TARGET_RSS_MB = 500;
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

interface Server {
  child: ChildProcess;
  url: string;
  key: string;
}

async function startServer(dataDir: string): Promise<Server> {
  // `node --import tsx`: one process, so its peak RSS is the server's own.
  // The zero-latency test engine, injected by the test fixture's entry (the product never picks it).
  const child = spawn(process.execPath, ['--import', 'tsx', ...testEngineCliArgs({ delayMs: 0 }, ['api', '--data-dir', dataDir, '--port', '0'])], {
    env: process.env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk;
      const match = /API at (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(output);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`api exited with ${code}: ${output}`)));
  });
  return { child, url, key: readFileSync(join(dataDir, 'api-key'), 'utf8').trim() };
}

async function stopServer(server: Server): Promise<number | null> {
  const hwm = peakRssMb(server.child.pid!);
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  await exited;
  return hwm;
}

/** Peak resident memory of a process (Linux /proc; null elsewhere). */
function peakRssMb(pid: number): number | null {
  try {
    const kb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
    return Math.round(kb / 1024);
  } catch {
    return null;
  }
}

function send(server: Server, method: string, path: string, body?: Buffer | string, type?: string, onData?: (chunk: Buffer) => void): Promise<{ status: number; text: string }> {
  const url = new URL(path, server.url);
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, agent, headers: { authorization: `Bearer ${server.key}`, ...(type ? { 'content-type': type } : {}) } }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (onData ? onData(chunk) : (text += chunk)));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** Submit `count` ads and read every result from the NDJSON stream; memory stays flat on this side (lines are counted, not kept). */
async function submitAndStream(server: Server, imageUrl: (n: number) => string, count: number, workers: number) {
  const started = performance.now();
  const body = JSON.stringify({ ads: Array.from({ length: count }, (_, n) => ({ creative_id: `ad${n}`, image_url: imageUrl(n) })), engines: ['embedded'], workers: { embedded: workers } });
  const created = await send(server, 'POST', '/v1/runs', body, 'application/json');
  if (created.status !== 201) throw new Error(`POST /v1/runs: ${created.status} ${created.text}`);
  const submittedMs = performance.now() - started;
  const { runId } = JSON.parse(created.text) as { runId: string };
  let rows = 0;
  let partial = '';
  const ids = new Set<string>();
  await send(server, 'GET', `/v1/runs/${runId}/results?stream=1`, undefined, undefined, (chunk) => {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (!line) continue;
      rows++;
      if (count <= 10_000) ids.add((JSON.parse(line) as { creative_id: string }).creative_id);
    }
  });
  const totalMs = performance.now() - started;
  return { rows, distinct: count <= 10_000 ? ids.size : null, submitMs: Math.round(submittedMs), totalMs: Math.round(totalMs), adsPerSecond: Math.round((rows / totalMs) * 1000) };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const round2 = (ms: number) => Math.round(ms * 100) / 100;

async function ocrLatency(server: Server, calls: number) {
  const png = await renderTextAd();
  const engine = createTestEngine({ id: 'bench', engine: 'embedded', workers: 1, enabled: true }, { delayMs: 0, delayByEngine: {} });
  const inProcess: number[] = [];
  const api: number[] = [];
  // Warm both paths first (sharp, the API's engine, sockets).
  for (let i = 0; i < 20; i++) {
    await engine.recognize(await prepareImage(png, { maxSide: DEFAULT_MAX_SIDE }), new AbortController().signal);
    await send(server, 'POST', '/v1/ocr?engine=embedded', png, 'image/png');
  }
  // Interleaved, so a load change on the shared machine hits both alike.
  for (let i = 0; i < calls; i++) {
    let t = performance.now();
    await engine.recognize(await prepareImage(png, { maxSide: DEFAULT_MAX_SIDE }), new AbortController().signal);
    inProcess.push(performance.now() - t);
    t = performance.now();
    const reply = await send(server, 'POST', '/v1/ocr?engine=embedded', png, 'image/png');
    api.push(performance.now() - t);
    if (reply.status !== 200) throw new Error(`POST /v1/ocr: ${reply.status} ${reply.text}`);
  }
  inProcess.sort((a, b) => a - b);
  api.sort((a, b) => a - b);
  return {
    calls,
    imageBytes: png.length,
    inProcessP50Ms: round2(percentile(inProcess, 50)),
    inProcessP95Ms: round2(percentile(inProcess, 95)),
    apiP50Ms: round2(percentile(api, 50)),
    apiP95Ms: round2(percentile(api, 95)),
    addedP50Ms: round2(percentile(api, 50) - percentile(inProcess, 50)),
    addedP95Ms: round2(percentile(api, 95) - percentile(inProcess, 95)),
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pv-bench-api-'));
  const images = await startAdImageServer();
  const load = loadavg().map((value) => Math.round(value * 100) / 100);
  try {
    const server = await startServer(join(dir, 'data'));
    const run = await submitAndStream(server, images.url, ADS, 8);
    const ocr = await ocrLatency(server, OCR_CALLS);
    await stopServer(server);
    let big: (Awaited<ReturnType<typeof submitAndStream>> & { serverPeakRssMb: number | null; ads: number }) | null = null;
    if (BIG > 0) {
      const bigServer = await startServer(join(dir, 'data-big'));
      const result = await submitAndStream(bigServer, (n) => images.url(n % 5000), BIG, 16);
      big = { ads: BIG, ...result, serverPeakRssMb: await stopServer(bigServer) };
    }
    const report = {
      when: new Date().toISOString(),
      loadAverage: load,
      loadAverageAfter: loadavg().map((value) => Math.round(value * 100) / 100),
      run: { ads: ADS, ...run },
      ocr,
      big,
      targets: {
        addedP50Ms: { target: `< ${TARGET_ADDED_P50_MS}`, measured: ocr.addedP50Ms, met: ocr.addedP50Ms < TARGET_ADDED_P50_MS },
        bigRunPeakRssMb: { target: `< ${TARGET_RSS_MB}`, measured: big?.serverPeakRssMb ?? null, met: big?.serverPeakRssMb != null ? big.serverPeakRssMb < TARGET_RSS_MB : null },
      },
    };
    console.log('\nLocal API benchmark (zero-latency test engine)');
    console.log(`  load average at start: ${load.join(' ')}`);
    console.log(`  ${'measure'.padEnd(44)} value`);
    console.log(`  ${`run of ${ADS} ads: submit + NDJSON stream`.padEnd(44)} ${run.adsPerSecond} ads/s (${run.rows} rows, ${run.distinct} distinct, ${run.totalMs} ms)`);
    console.log(`  ${'POST /v1/ocr p50 / p95'.padEnd(44)} ${ocr.apiP50Ms} / ${ocr.apiP95Ms} ms`);
    console.log(`  ${'in-process prepare + engine p50 / p95'.padEnd(44)} ${ocr.inProcessP50Ms} / ${ocr.inProcessP95Ms} ms`);
    console.log(`  ${'added by the API p50 / p95'.padEnd(44)} ${ocr.addedP50Ms} / ${ocr.addedP95Ms} ms   (target p50 < ${TARGET_ADDED_P50_MS} ms: ${report.targets.addedP50Ms.met ? 'met' : 'NOT met'})`);
    if (big) console.log(`  ${`run of ${BIG} ads through the API`.padEnd(44)} ${big.adsPerSecond} ads/s, ${big.rows} rows, server peak RSS ${big.serverPeakRssMb} MB   (target < ${TARGET_RSS_MB} MB: ${report.targets.bigRunPeakRssMb.met ? 'met' : 'NOT met'})`);
    if (values.out) {
      mkdirSync(dirname(values.out), { recursive: true });
      writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
      console.log(`  wrote ${values.out}`);
    }
  } finally {
    await images.close();
    agent.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
