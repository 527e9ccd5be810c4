/**
 * Benchmark of the service supervisor (issue 7):
 *   - cold start to ready of the Python OCR service (CPU backend, RapidOCR)
 *   - time to stop all children (the Python service and `ollama serve`) on quit
 *   - the supervisor's own CPU and memory while idle-watching both services
 *
 *   npm run bench:services -- [--out FILE.json] [--runs 3] [--idle-seconds 20]
 *                             [--python scripts/deepseek/.venv/bin/python] [--ollama PATH]
 *
 * `--ollama` defaults to the fake ollama of the tests (test/fixtures/fake-ollama/ollama).
 * Targets: stop all within 5 s; idle watching < 1 % of a core.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServiceManager, type ServiceManager } from '../electron/core/services/index.js';
import { findFreePort } from '../electron/core/services/ports.js';
import { ensurePythonVenv, VENV_PYTHON } from './test-python.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && index + 1 < process.argv.length ? (process.argv[index + 1] as string) : fallback;
}

const outFile = option('out', '');
const runs = Number(option('runs', '3'));
const idleSeconds = Number(option('idle-seconds', '20'));
const python = resolve(option('python', VENV_PYTHON));
const ollama = resolve(option('ollama', join(root, 'test/fixtures/fake-ollama/ollama')));
const deepseekDir = join(root, 'scripts/deepseek');

// On a fresh clone the default venv is made first, as `npm test` does.
if (!existsSync(python) && python === VENV_PYTHON) {
  console.log(`${python} is missing: making the DeepSeek service's venv (npm run setup:python)`);
  try {
    ensurePythonVenv();
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}: run npm run setup:python first`);
    process.exit(1);
  }
}
if (!existsSync(python)) {
  console.error(`${python} is missing: run npm run setup:python (or pass --python)`);
  process.exit(1);
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

async function newManager(dataDir: string): Promise<ServiceManager> {
  const deepseekPort = await findFreePort(18_001);
  const manager = createServiceManager({
    dataDir,
    deepseekDir,
    binaries: { deepseekPython: python, ollama },
    deepseekBackend: 'rapidocr',
    ports: { deepseek: deepseekPort, ollama: await findFreePort(deepseekPort + 1) },
  });
  await manager.ready;
  return manager;
}

/** CPU (% of one core) and peak RSS of this process over `seconds`, sampling memory every 500 ms. */
async function measureIdle(seconds: number): Promise<{ cpuPercent: number; rssPeak: number }> {
  const cpuBefore = process.cpuUsage();
  const wallBefore = performance.now();
  let rssPeak = 0;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  }, 500);
  await new Promise((resolveWait) => setTimeout(resolveWait, seconds * 1000));
  clearInterval(sampler);
  const cpu = process.cpuUsage(cpuBefore);
  return { cpuPercent: ((cpu.user + cpu.system) / 1000 / (performance.now() - wallBefore)) * 100, rssPeak };
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'pv-bench-services-'));
  // What this Node process costs doing nothing (timers, GC, tsx), to tell the supervisor's share.
  const baseline = await measureIdle(Math.min(10, idleSeconds));
  const coldStarts: number[] = [];
  const stopAllTimes: number[] = [];
  try {
    for (let run = 0; run < runs; run += 1) {
      const manager = await newManager(dataDir);
      const startedAt = performance.now();
      const info = await manager.start('deepseek');
      if (info.state.type !== 'ready') throw new Error(`deepseek did not start: ${JSON.stringify(info.state)}`);
      coldStarts.push(performance.now() - startedAt);
      const ollamaInfo = await manager.start('ollama');
      if (ollamaInfo.state.type !== 'ready') throw new Error(`ollama did not start: ${JSON.stringify(ollamaInfo.state)}`);
      const stopAt = performance.now();
      await manager.stopAll();
      stopAllTimes.push(performance.now() - stopAt);
      await manager.dispose();
    }

    // Idle watching: both services ready, the supervisor only polls health and memory.
    const manager = await newManager(dataDir);
    await manager.start('deepseek');
    await manager.start('ollama');
    await new Promise((resolveWait) => setTimeout(resolveWait, 1000)); // let start-up work settle
    const { cpuPercent: idleCpuPercent, rssPeak } = await measureIdle(idleSeconds);
    const memory = process.memoryUsage();
    const childRss = Object.fromEntries(manager.list().filter((info) => info.managed).map((info) => [info.name, info.rssMb]));
    const stopAt = performance.now();
    await manager.stopAll();
    stopAllTimes.push(performance.now() - stopAt);
    await manager.dispose();

    const result = {
      date: new Date().toISOString(),
      machine: { platform: process.platform, arch: process.arch, node: process.version },
      backend: 'rapidocr',
      ollama: ollama.includes('fake-ollama') ? 'fake' : ollama,
      runs,
      coldStartToReady_ms: { median: Math.round(median(coldStarts)), min: Math.round(Math.min(...coldStarts)), max: Math.round(Math.max(...coldStarts)), all: coldStarts.map(Math.round) },
      stopAll_ms: { median: Math.round(median(stopAllTimes)), max: Math.round(Math.max(...stopAllTimes)), all: stopAllTimes.map(Math.round) },
      idleWatching: {
        seconds: idleSeconds,
        cpuPercentOfOneCore: Number(idleCpuPercent.toFixed(3)),
        baselineCpuPercentOfOneCore: Number(baseline.cpuPercent.toFixed(3)),
        supervisorCpuPercentOfOneCore: Number(Math.max(0, idleCpuPercent - baseline.cpuPercent).toFixed(3)),
        supervisorRssMb: Math.round(memory.rss / 1024 / 1024),
        supervisorRssPeakMb: Math.round(rssPeak / 1024 / 1024),
        supervisorHeapUsedMb: Math.round(memory.heapUsed / 1024 / 1024),
        childRssMb: childRss,
      },
      targets: { stopAllWithin_ms: 5000, idleCpuBelowPercent: 1 },
      pass: { stopAll: Math.max(...stopAllTimes) < 5000, idleCpu: idleCpuPercent < 1 },
    };

    const rows: Array<[string, string, string]> = [
      ['cold start → ready (deepseek, rapidocr)', `${result.coldStartToReady_ms.median} ms median (min ${result.coldStartToReady_ms.min}, max ${result.coldStartToReady_ms.max}, ${runs} runs)`, ''],
      ['stop all children', `${result.stopAll_ms.median} ms median (max ${result.stopAll_ms.max})`, result.pass.stopAll ? 'OK (< 5 s)' : 'FAIL (≥ 5 s)'],
      ['idle watching: CPU', `${result.idleWatching.cpuPercentOfOneCore} % of a core over ${idleSeconds} s (idle Node alone: ${result.idleWatching.baselineCpuPercentOfOneCore} %)`, result.pass.idleCpu ? 'OK (< 1 %)' : 'FAIL (≥ 1 %)'],
      ['idle watching: supervisor memory', `${result.idleWatching.supervisorRssMb} MB RSS (heap ${result.idleWatching.supervisorHeapUsedMb} MB)`, ''],
      ['children memory', Object.entries(childRss).map(([name, mb]) => `${name} ${mb ?? '?'} MB`).join(', '), ''],
    ];
    const width = Math.max(...rows.map(([label]) => label.length));
    console.log(`${'measure'.padEnd(width)}  value`);
    for (const [label, value, verdict] of rows) console.log(`${label.padEnd(width)}  ${value}${verdict ? `  ${verdict}` : ''}`);
    if (outFile) {
      await mkdir(dirname(resolve(outFile)), { recursive: true });
      await writeFile(outFile, `${JSON.stringify(result, null, 2)}\n`);
      console.log(`wrote ${outFile}`);
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
