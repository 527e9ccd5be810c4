import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lowerBound } from './lower-bound.js';
import { parseScenario } from './scenario.js';
import { simulatePolicy } from './simulate-policy.js';

const scenario = (name: string): ReturnType<typeof parseScenario> =>
  parseScenario(JSON.parse(readFileSync(new URL(`../../scenarios/${name}.json`, import.meta.url), 'utf8')));

describe('simulatePolicy', () => {
  it('is deterministic: same seed, same makespan; another seed, another', async () => {
    const seedProfile = scenario('seed-profile');
    const first = await simulatePolicy(seedProfile, 'auto', 3);
    const again = await simulatePolicy(seedProfile, 'auto', 3);
    const other = await simulatePolicy(seedProfile, 'auto', 4);
    expect(again).toEqual(first);
    expect(other.makespan_s).not.toBe(first.makespan_s);
  });

  it('reproduces the prototype: 50/50 waits for the slow engine, auto lands near the bound', async () => {
    const seedProfile = scenario('seed-profile');
    const bound = lowerBound(seedProfile).lowerBound_s;
    const staticSplit = await simulatePolicy(seedProfile, 'seed-static-50-50', 1);
    const adaptive = await simulatePolicy(seedProfile, 'seed-adaptive', 1);
    const auto = await simulatePolicy(seedProfile, 'auto', 1);
    // 50 ads on 2 LLaVA workers at 45–90 s: about 25 × 67.5 s.
    expect(staticSplit.makespan_s).toBeGreaterThan(1400);
    expect(staticSplit.makespan_s).toBeLessThan(2000);
    expect(adaptive.makespan_s).toBeGreaterThan(2 * bound);
    expect(auto.makespan_s).toBeLessThan(1.08 * bound);
    for (const outcome of [staticSplit, adaptive, auto]) expect(outcome.done).toBe(100);
  });

  it('every shipped scenario parses', () => {
    for (const name of ['seed-profile', 'seed-profile-10k', 'flaky', 'cold-start', 'interference', 'speed-change']) {
      expect(scenario(name).name).toBe(name);
    }
  });
});
