/**
 * What it costs to learn which of two engines on one shared budget is faster, for a scenario
 * like cpu-pair-noisy (two CPU lanes whose calls vary a lot, one somewhat faster). Reference
 * policies that are not told the latencies — explore-then-commit after n answers per lane,
 * Thompson sampling — against best-single, which is told; explore-then-the-faster (told), which
 * prices the exploring answers alone; and `auto` (the orchestrator) on
 * the same scenario. It shows how far below the "≤ 2 % behind best-single" target any policy
 * that has to find out can go: a simple decision model of the problem, not a proof.
 * Direct Monte Carlo over the scenario's own latency model (cold starts, lognormal draws).
 *
 *   npm run bench:explore -- [--scenario scripts/scenarios/cpu-pair-noisy.json] [--runs 2000] [--out FILE.json]
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { parseScenario, meanLatency_s, type Scenario, type ScenarioLane } from './lib/sim/scenario.js';
import { sampleLatency_s, seededRandom } from './lib/sim/simulation.js';
import { simulatePolicy } from './lib/sim/simulate-policy.js';

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'scripts/scenarios/cpu-pair-noisy.json' },
    runs: { type: 'string', default: '2000' },
    'auto-seeds': { type: 'string', default: '100' },
    out: { type: 'string' },
  },
});

/** Seeds away from bench:schedule's tune (1…) and check (1 000 001…) sets. */
const SEED_BASE = 5_000_000;

type Chooser = (answers: readonly number[][], freedLane: number, random: () => number) => number;

interface Policy {
  name: string;
  /** Lane of each slot at the start. */
  start: (scenario: Scenario) => number[];
  choose: Chooser;
}

function fastestLane(scenario: Scenario): number {
  const means = scenario.lanes.map((lane) => meanLatency_s(lane.latency));
  return means.indexOf(Math.min(...means));
}

const mean = (xs: readonly number[]): number => xs.reduce((sum, x) => sum + x, 0) / xs.length;

function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function policies(scenario: Scenario): Policy[] {
  const oneEach = (s: Scenario): number[] => s.lanes.map((_, index) => index);
  const best = fastestLane(scenario);
  const list: Policy[] = [
    { name: 'best-single (told which is faster)', start: (s) => s.lanes.map(() => best), choose: () => best },
    { name: 'one slot each, throughout', start: oneEach, choose: (_answers, freed) => freed },
  ];
  // The cost of the answers alone: what exploring would cost if the choice after it were always right.
  for (const n of [1, 3, 5]) {
    list.push({
      name: `explore ${n} each, then the faster (told)`,
      start: oneEach,
      choose: (answers, freed) => (answers.some((lane) => lane.length < n) ? freed : best),
    });
  }
  for (const n of [3, 5, 8, 12, 20]) {
    list.push({
      name: `explore-then-commit after ${n} answers each`,
      start: oneEach,
      choose: (answers, freed) => {
        if (answers.some((lane) => lane.length < n)) return freed;
        const means = answers.map(mean);
        return means.indexOf(Math.min(...means));
      },
    });
  }
  list.push({
    name: 'Thompson sampling (log-latency)',
    start: oneEach,
    choose: (answers, freed, random) => {
      if (answers.some((lane) => lane.length < 2)) return freed;
      const draws = answers.map((lane) => {
        const logs = lane.map((x) => Math.log(x));
        const m = mean(logs);
        const sd = Math.sqrt(logs.reduce((sum, x) => sum + (x - m) ** 2, 0) / (logs.length - 1));
        return m + (sd / Math.sqrt(logs.length)) * normal(random);
      });
      return draws.indexOf(Math.min(...draws));
    },
  });
  return list;
}

/** One batch: the budget's slots each take the next ad on the lane the policy picks when they free up. */
function makespan_s(scenario: Scenario, policy: Policy, seed: number): number {
  const random = seededRandom(seed);
  const lanes: readonly ScenarioLane[] = scenario.lanes;
  const loadedAt: Array<number | null> = lanes.map(() => null);
  const answers: number[][] = lanes.map(() => []);
  const running: Array<{ end: number; lane: number; seconds: number }> = [];
  let started = 0;
  const start = (now: number, lane: number): void => {
    loadedAt[lane] ??= now + lanes[lane]!.coldStart_s;
    const seconds = sampleLatency_s(lanes[lane]!.latency, random);
    running.push({ end: Math.max(now, loadedAt[lane]!) + seconds, lane, seconds });
    started++;
  };
  for (const lane of policy.start(scenario).slice(0, scenario.ads)) start(0, lane);
  let end = 0;
  while (running.length > 0) {
    running.sort((a, b) => a.end - b.end);
    const call = running.shift()!;
    answers[call.lane]!.push(call.seconds);
    end = call.end;
    if (started < scenario.ads) start(call.end, policy.choose(answers, call.lane, random));
  }
  return end;
}

const scenario = parseScenario(JSON.parse(readFileSync(values.scenario, 'utf8')));
const budget = Object.values(scenario.resources)[0]?.capacity;
if (scenario.lanes.length !== 2 || budget === undefined || scenario.lanes.some((lane) => lane.workers < budget || lane.failureRate > 0)) {
  throw new Error(`${values.scenario}: this model needs two lanes without failures on one shared budget, each able to take all of it`);
}
const runs = Number(values.runs);
const rows = policies(scenario).map((policy) => {
  let sum = 0;
  for (let run = 0; run < runs; run++) sum += makespan_s(scenario, policy, SEED_BASE + run);
  return { policy: policy.name, makespan_s: sum / runs };
});
const autoSeeds = Number(values['auto-seeds']);
let autoSum = 0;
for (let seed = SEED_BASE; seed < SEED_BASE + autoSeeds; seed++) autoSum += (await simulatePolicy(scenario, 'auto', seed)).makespan_s;
const oracle = rows[0]!.makespan_s;
const table = [...rows, { policy: `auto (orchestrator, ${autoSeeds} seeds)`, makespan_s: autoSum / autoSeeds }].map((row) => ({ ...row, behindBestSingle: row.makespan_s / oracle - 1 }));

console.log(`${scenario.name} (${scenario.ads} ads, ${runs} runs each; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')})`);
for (const row of table) console.log(`  ${row.policy.padEnd(46)} ${row.makespan_s.toFixed(2).padStart(8)} s  ${(row.behindBestSingle * 100).toFixed(1).padStart(5)} % behind best-single`);
if (values.out) {
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(values.out, JSON.stringify({ scenario: scenario.name, ads: scenario.ads, runs, rows: table, loadAverage: loadavg() }, null, 2));
  console.log(`wrote ${values.out}`);
}
