/**
 * The orchestrator's own CPU on a large, unhealthy run: 100 000 ads of which 20 000 have
 * dead image links (every load times out, so each is retried to maxAttempts with backoff),
 * in one block (an image host gone), and one of two lanes down (every call refused) for the first half of the run. Engines
 * answer on a virtual clock, so what the process spends is the scheduler's work (plus the
 * virtual clock's timer heap and the fake engines, which only makes the figure an upper bound).
 * Side by side in one invocation: a healthy run, dead links alone, the outage alone, both.
 *
 *   npm run bench:orchestrator -- --out bench-results/orchestrator.json [--ads 100000] [--dead 20000]
 *
 * Target (issue 17): the run with both faults under 3 s of CPU.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import type { Ad, LaneConfig, RecognizeResult } from '../shared/domain.js';
import { EngineError, type Engine, type EngineImage } from '../electron/core/engines/types.js';
import { startRun, type OrchestratorLane } from '../electron/core/orchestrator/index.js';
import { VirtualClock } from '../electron/core/orchestrator/clock.js';
import { MemoryRunStore } from '../electron/core/orchestrator/memory-store.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    ads: { type: 'string', default: '100000' },
    dead: { type: 'string', default: '20000' },
    workers: { type: 'string', default: '8' },
  },
});

const AD_COUNT = Number(values.ads);
const DEAD = Number(values.dead);
const WORKERS = Number(values.workers);
const CPU_TARGET_S = 3;
const CALL_MS = 100;

interface Config {
  name: string;
  deadLinks: boolean;
  outage: boolean;
}

interface Row {
  name: string;
  ads: number;
  deadLinks: number;
  done: number;
  failed: number;
  simulated_s: number;
  cpu_s: number;
  wall_s: number;
  peakRssMb: number;
}

const CONFIGS: Config[] = [
  { name: 'healthy', deadLinks: false, outage: false },
  { name: 'dead links', deadLinks: true, outage: false },
  { name: 'one lane down half the run', deadLinks: false, outage: true },
  { name: 'dead links + lane down', deadLinks: true, outage: true },
];

/** The dead links are one block in the middle of the list (one image host gone), so thousands wait for their retries at once. */
function isDead(index: number): boolean {
  const first = Math.floor((AD_COUNT - DEAD) / 2);
  return index >= first && index < first + DEAD;
}

function fixedLatencyEngine(clock: VirtualClock, kind: Engine['kind'], down: () => boolean): Engine {
  const result: RecognizeResult = { text: 'text', blocks: [], model: 'bench', timings: {} };
  return {
    kind,
    label: kind,
    recognize: (_image, signal) =>
      new Promise<RecognizeResult>((resolve, reject) => {
        const failing = down();
        const timer = clock.setTimer(failing ? 5 : CALL_MS, () => {
          signal.removeEventListener('abort', onAbort);
          if (failing) reject(new EngineError('unavailable', 'connection refused'));
          else resolve(result);
        });
        const onAbort = (): void => {
          timer.cancel();
          reject(new EngineError('aborted', 'aborted'));
        };
        signal.addEventListener('abort', onAbort, { once: true });
      }),
  };
}

async function runConfig(config: Config): Promise<Row> {
  const clock = new VirtualClock();
  const ads: Ad[] = Array.from({ length: AD_COUNT }, (_, i) => ({ creativeId: `ad-${i}`, imageUrl: `https://ads.example/${i}.png` }));
  const deadIds = new Set(config.deadLinks ? ads.filter((_, i) => isDead(i)).map((ad) => ad.creativeId) : []);
  let finished = 0;
  const downUntil = config.outage ? AD_COUNT / 2 : 0;
  const lanes: OrchestratorLane[] = (['deepseek', 'ollama'] as const).map((engine) => ({
    config: { id: engine, engine, workers: WORKERS, enabled: true } satisfies LaneConfig,
    engine: fixedLatencyEngine(clock, engine, engine === 'ollama' ? () => finished < downUntil : () => false),
    prior_s: CALL_MS / 1000,
    coldStart_s: 0,
  }));
  const image: EngineImage = { bytes: new Uint8Array(1), mime: 'image/png' };
  const deadLink = new EngineError('transient', 'image download timed out');
  let seed = 1;
  const random = (): number => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const run = startRun({
    runId: 'bench',
    ads,
    lanes,
    store: new MemoryRunStore(),
    clock,
    random,
    maxAttempts: 3,
    loadImage: (ad) => (deadIds.has(ad.creativeId) ? Promise.reject(deadLink) : Promise.resolve(image)),
    onResult: () => {
      finished++;
    },
  });
  const summary = await clock.runUntil(run.done);
  const wall_s = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  if (summary.done + summary.failed !== AD_COUNT) throw new Error(`${config.name}: ${summary.done + summary.failed}/${AD_COUNT} ads ended`);
  return {
    name: config.name,
    ads: AD_COUNT,
    deadLinks: deadIds.size,
    done: summary.done,
    failed: summary.failed,
    simulated_s: round(clock.now() / 1000),
    cpu_s: round((cpu.user + cpu.system) / 1e6, 2),
    wall_s: round(wall_s, 2),
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

function round(value: number, digits = 1): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

async function main(): Promise<void> {
  const load = loadavg().map((value) => value.toFixed(2)).join(' ');
  console.log(`bench:orchestrator: ${AD_COUNT} ads, ${DEAD} dead links, 2 lanes × ${WORKERS} workers, ${CALL_MS} ms per call (virtual clock); load average ${load}`);
  const rows: Row[] = [];
  for (const config of CONFIGS) rows.push(await runConfig(config));
  const header = ['configuration', 'done', 'failed', 'simulated s', 'CPU s', 'wall s', 'peak RSS MB'];
  const body = rows.map((row) => [row.name, String(row.done), String(row.failed), row.simulated_s.toFixed(1), row.cpu_s.toFixed(2), row.wall_s.toFixed(2), String(row.peakRssMb)]);
  const widths = header.map((title, column) => Math.max(title.length, ...body.map((cells) => cells[column]!.length)));
  const line = (cells: readonly string[]): string => `| ${cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join(' | ')} |`;
  console.log([line(header), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...body.map(line)].join('\n'));
  const worst = rows.at(-1)!;
  const target = { target: `${CONFIGS.at(-1)!.name}: orchestrator CPU < ${CPU_TARGET_S} s`, ok: worst.cpu_s < CPU_TARGET_S, actual: `${worst.cpu_s} s` };
  console.log(`\ntarget: ${target.ok ? 'ok  ' : 'MISS'} ${target.target}: ${target.actual}`);
  if (values.out) {
    mkdirSync(dirname(values.out), { recursive: true });
    writeFileSync(values.out, `${JSON.stringify({ loadAverage: loadavg(), ads: AD_COUNT, deadLinks: DEAD, workers: WORKERS, callMs: CALL_MS, rows, target }, null, 2)}\n`);
    console.log(`wrote ${values.out}`);
  }
}

await main();
