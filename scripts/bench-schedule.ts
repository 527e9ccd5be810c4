/**
 * Scheduling benchmark: every scenario in scripts/scenarios/*.json (plus any given with
 * --scenario FILE.json) simulated on a virtual clock — deterministic, no real sleeping —
 * for the prototype's baselines, the best single engine, `ratio` at an even split, and
 * `auto`, each the mean over a set of seeds, against the fluid lower bound. Failed ads
 * count against a policy (its score is its makespan stretched by them).
 * Two seed sets, fixed here: `tune` (seeds 1…the scenario's `seeds`), on which scheduler settings
 * are chosen, and `check` (CHECK_SEEDS seeds from CHECK_SEED_BASE), which no setting was chosen
 * on. The targets are judged on `check`, the default.
 * Then the scheduler's own overhead: 100 000 ads through zero-latency engines, real clock.
 *
 *   npm run bench:schedule -- --out bench-results/schedule.json [--scenario my.json] [--seed-set tune|check] [--seeds 5] [--only seed-profile]
 */
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { LaneConfig, RecognizeResult } from '../shared/domain.js';
import { startRun, type SchedulerTuning } from '../electron/core/orchestrator/index.js';
import { MemoryRunStore } from '../electron/core/orchestrator/memory-store.js';
import { lowerBound } from './lib/sim/lower-bound.js';
import { parseScenario, type Scenario } from './lib/sim/scenario.js';
import { enginesOf, makeAds, score_s, simulatePolicy, type BenchPolicy } from './lib/sim/simulate-policy.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    scenario: { type: 'string', multiple: true, default: [] },
    seeds: { type: 'string' },
    'seed-set': { type: 'string', default: 'check' },
    only: { type: 'string', multiple: true, default: [] },
    'overhead-ads': { type: 'string', default: '100000' },
    'skip-overhead': { type: 'boolean', default: false },
    /** JSON of SchedulerTuning overrides, to try scheduler settings without code changes. */
    tuning: { type: 'string', default: '{}' },
    /** Comma-separated subset of policies to run. */
    policies: { type: 'string' },
  },
});

const SeedSet = z.enum(['tune', 'check']);
const seedSet = SeedSet.parse(values['seed-set']);
/** The held-out seeds start far from the tuning ones (1…seeds) and are many: a policy's mean over 20 seeds moved by ±1 %. */
const CHECK_SEED_BASE = 1_000_000;
const CHECK_SEEDS = 100;

const tuning = z.record(z.string(), z.unknown()).parse(JSON.parse(values.tuning)) as Partial<SchedulerTuning>;
const selectedPolicies = values.policies ? new Set(values.policies.split(',')) : null;
const wants = (policy: string): boolean => selectedPolicies === null || selectedPolicies.has(policy);

const here = dirname(fileURLToPath(import.meta.url));
const BUILT_IN_ORDER = ['seed-profile', 'seed-profile-10k', 'flaky', 'cold-start', 'interference', 'speed-change'];

function loadScenarios(): Scenario[] {
  const folder = join(here, 'scenarios');
  const files = readdirSync(folder).filter((name) => name.endsWith('.json')).map((name) => join(folder, name));
  const scenarios = [...files, ...values.scenario].map((file) => {
    try {
      return parseScenario(JSON.parse(readFileSync(file, 'utf8')));
    } catch (error) {
      throw new Error(`${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
  const rank = (name: string): number => (BUILT_IN_ORDER.includes(name) ? BUILT_IN_ORDER.indexOf(name) : BUILT_IN_ORDER.length);
  const chosen = values.only.length > 0 ? scenarios.filter((s) => values.only.includes(s.name)) : scenarios;
  return chosen.sort((a, b) => rank(a.name) - rank(b.name));
}

async function overhead(adsCount: number): Promise<{ ads: number; wall_s: number; cpu_s: number; peakRssMb: number }> {
  const result: RecognizeResult = { text: '', blocks: [], model: 'zero', timings: {} };
  const image = { bytes: new Uint8Array(1), mime: 'image/png' };
  const lanes = (['deepseek', 'ollama'] as const).map((engine) => ({
    config: { id: engine, engine, workers: 8, enabled: true } satisfies LaneConfig,
    engine: { kind: engine, label: engine, recognize: () => Promise.resolve(result) },
  }));
  const ads = makeAds(adsCount);
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const run = startRun({ runId: 'overhead', ads, lanes, policy: 'auto', store: new MemoryRunStore(), loadImage: () => Promise.resolve(image) });
  const summary = await run.done;
  const wall_s = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  if (summary.done !== adsCount) throw new Error(`overhead run finished ${summary.done}/${adsCount}`);
  return { ads: adsCount, wall_s, cpu_s: (cpu.user + cpu.system) / 1e6, peakRssMb: process.resourceUsage().maxRSS / 1024 };
}

interface PolicyResult {
  makespan_s: number;
  /** makespan_s stretched by the failed ads (see score_s): what the ratios and targets use. */
  score_s: number;
  ratioToLowerBound: number;
  failedAds?: number;
  engine?: string;
}

interface ScenarioReport {
  name: string;
  ads: number;
  seedSet: 'tune' | 'check';
  seeds: number;
  firstSeed: number;
  lowerBound_s: number;
  /** Lanes of the subset the bound is computed on. */
  boundLanes: string[];
  autoWithinBound: number;
  policies: Record<string, PolicyResult>;
}

async function main(): Promise<void> {
  const overheadResult = values['skip-overhead'] ? null : await overhead(Number(values['overhead-ads']));
  const scenarios = loadScenarios();
  const report: ScenarioReport[] = [];
  const benchStarted = performance.now();
  for (const scenario of scenarios) {
    const seeds = values.seeds ? Number(values.seeds) : seedSet === 'tune' ? scenario.seeds : CHECK_SEEDS;
    const firstSeed = seedSet === 'tune' ? 1 : CHECK_SEED_BASE + 1;
    const bound = lowerBound(scenario);
    const mean = async (policy: BenchPolicy): Promise<{ makespan_s: number; score_s: number; failed: number }> => {
      let makespan = 0;
      let score = 0;
      let failed = 0;
      for (let seed = firstSeed; seed < firstSeed + seeds; seed++) {
        const outcome = await simulatePolicy(scenario, policy, seed, tuning);
        makespan += outcome.makespan_s;
        score += score_s(outcome, scenario.ads);
        failed += outcome.failed;
      }
      return { makespan_s: makespan / seeds, score_s: score / seeds, failed: failed / seeds };
    };
    const entry = (value: { makespan_s: number; score_s: number; failed: number }, engine?: string): PolicyResult => ({
      makespan_s: round(value.makespan_s),
      score_s: round(value.score_s),
      ratioToLowerBound: round(value.score_s / bound.lowerBound_s, 3),
      ...(value.failed > 0 ? { failedAds: round(value.failed) } : {}),
      ...(engine ? { engine } : {}),
    });
    const policies: Record<string, PolicyResult> = {};
    if (wants('seed-static-50-50')) policies['seed-static-50-50'] = entry(await mean('seed-static-50-50'));
    if (wants('seed-adaptive')) policies['seed-adaptive'] = entry(await mean('seed-adaptive'));
    if (wants('best-single')) {
      let best: { engine: string; value: { makespan_s: number; score_s: number; failed: number } } | null = null;
      for (const engine of enginesOf(scenario)) {
        const value = await mean(`single:${engine}`);
        if (!best || value.score_s < best.value.score_s) best = { engine, value };
      }
      policies['best-single'] = entry(best!.value, best!.engine);
    }
    if (wants('ratio')) policies['ratio'] = entry(await mean('ratio'));
    if (wants('auto')) policies['auto'] = entry(await mean('auto'));
    report.push({ name: scenario.name, ads: scenario.ads, seedSet, seeds, firstSeed, lowerBound_s: round(bound.lowerBound_s), boundLanes: bound.bestLanes, autoWithinBound: scenario.autoWithinBound, policies });
    printScenario(report.at(-1)!);
  }
  const simulated_s = (performance.now() - benchStarted) / 1000;
  if (overheadResult) console.log(`\noverhead: ${overheadResult.ads} ads through zero-latency engines in ${overheadResult.wall_s.toFixed(2)} s wall (${overheadResult.cpu_s.toFixed(2)} s CPU), peak RSS ${overheadResult.peakRssMb.toFixed(0)} MB`);
  console.log(`simulations (${seedSet} seeds) took ${simulated_s.toFixed(1)} s wall; load average ${loadavg().map((load) => load.toFixed(2)).join(' ')}`);
  printSummary(report);
  const checks = targetChecks(report, overheadResult);
  console.log('\ntargets:');
  for (const check of checks) console.log(`  ${check.ok ? 'ok  ' : 'MISS'} ${check.target}: ${check.actual}`);
  const missed = checks.filter((check) => !check.ok).length;
  console.log(missed === 0 ? 'all targets met' : `${missed} of ${checks.length} targets missed`);
  if (values.out) {
    mkdirSync(dirname(values.out), { recursive: true });
    writeFileSync(values.out, `${JSON.stringify({ scenarios: report, overhead: overheadResult, checks, loadAverage: loadavg() }, null, 2)}\n`);
    console.log(`wrote ${values.out}`);
  }
}

/** Batches smaller than this may trail the best single engine a little more (no time to learn). */
const SMALL_BATCH_ADS = 20;

/**
 * The issue's targets: auto within each scenario's `autoWithinBound` of the bound (1.05 on the
 * original scenarios, 1.08 on the new ones), never more than 2 % behind the best single engine
 * (3 % on batches under 20 ads); overhead under 2 s and 300 MB.
 */
function targetChecks(report: readonly ScenarioReport[], overheadResult: { wall_s: number; peakRssMb: number } | null): Array<{ target: string; ok: boolean; actual: string }> {
  const checks: Array<{ target: string; ok: boolean; actual: string }> = [];
  for (const { name, ads, autoWithinBound, policies } of report) {
    const auto = policies['auto'];
    if (!auto) continue;
    checks.push({ target: `${name}: auto ≤ ${autoWithinBound} × bound`, ok: auto.ratioToLowerBound <= autoWithinBound, actual: `${auto.ratioToLowerBound}` });
    const best = policies['best-single'];
    if (best) {
      const allowed = ads < SMALL_BATCH_ADS ? 0.03 : 0.02;
      const behind = auto.score_s / best.score_s - 1;
      checks.push({ target: `${name}: auto ≤ ${allowed * 100} % behind best-single`, ok: behind <= allowed, actual: `${(behind * 100).toFixed(1)} %` });
    }
  }
  if (overheadResult) {
    checks.push({ target: 'overhead < 2 s wall', ok: overheadResult.wall_s < 2, actual: `${overheadResult.wall_s.toFixed(2)} s` });
    checks.push({ target: 'overhead < 300 MB peak RSS', ok: overheadResult.peakRssMb < 300, actual: `${overheadResult.peakRssMb.toFixed(0)} MB` });
  }
  return checks;
}

function round(value: number, digits = 1): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

function printScenario(entry: ScenarioReport): void {
  console.log(`\n${entry.name}: ${entry.ads} ads, ${entry.seeds} ${entry.seedSet} seeds from ${entry.firstSeed}, lower bound ${entry.lowerBound_s} s on ${entry.boundLanes.join(' + ')}`);
  console.log(`  ${'policy'.padEnd(28)}${'makespan_s'.padStart(12)}${'score_s'.padStart(12)}${'× bound'.padStart(10)}${'failed'.padStart(8)}`);
  for (const [name, result] of Object.entries(entry.policies)) {
    const label = result.engine ? `${name} (${result.engine})` : name;
    console.log(`  ${label.padEnd(28)}${result.makespan_s.toFixed(1).padStart(12)}${result.score_s.toFixed(1).padStart(12)}${result.ratioToLowerBound.toFixed(3).padStart(10)}${String(result.failedAds ?? 0).padStart(8)}`);
  }
}

/** One line per scenario: the bound, then each policy's score and its ratio to the bound. */
function printSummary(report: readonly ScenarioReport[]): void {
  const columns = ['seed-static-50-50', 'best-single', 'ratio', 'auto'].filter((name) => report.some((entry) => entry.policies[name]));
  const cell = (result: PolicyResult | undefined): string => (result ? `${result.score_s.toFixed(1)} (${result.ratioToLowerBound.toFixed(3)}×)` : '—');
  const header = ['scenario', 'bound_s', ...columns.map((name) => (name === 'seed-static-50-50' ? '50/50' : name === 'ratio' ? 'ratio 0.5' : name)), 'auto vs best'];
  const rows = report.map((entry) => {
    const auto = entry.policies['auto'];
    const best = entry.policies['best-single'];
    const versus = auto && best ? `${((auto.score_s / best.score_s - 1) * 100).toFixed(1)} %` : '—';
    return [`${entry.name} (${entry.ads})`, entry.lowerBound_s.toFixed(1), ...columns.map((name) => cell(entry.policies[name])), versus];
  });
  const widths = header.map((title, index) => Math.max(title.length, ...rows.map((row) => row[index]!.length)));
  console.log('\nscore_s (× bound); score = makespan stretched by failed ads');
  for (const row of [header, ...rows]) console.log(`  ${row.map((value, index) => (index === 0 ? value.padEnd(widths[index]!) : value.padStart(widths[index]!))).join('  ')}`);
}

await main();
