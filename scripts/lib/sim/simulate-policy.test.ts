import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { lowerBound } from './lower-bound.js';
import { parseScenario } from './scenario.js';
import { score_s, simulatePolicy } from './simulate-policy.js';

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

  it('three engines: no seed of auto is held back by a slowdown blamed on the wrong engine', async () => {
    // Nothing interferes here; with overlaps counted against "any other engine", noise once paused deepseek for the
    // rest of a batch (1.46 × the bound). Blamed per pair, such a pause ends when the victim runs well without it.
    const threeEngines = scenario('three-engines');
    const bound = lowerBound(threeEngines).lowerBound_s;
    for (let seed = 1; seed <= threeEngines.seeds; seed++) {
      const outcome = await simulatePolicy(threeEngines, 'auto', seed);
      expect(outcome.done).toBe(threeEngines.ads);
      expect(outcome.makespan_s / bound, `seed ${seed}`).toBeLessThan(1.2);
    }
  });

  it('every shipped scenario parses and is named after its file', () => {
    const names = readdirSync(new URL('../../scenarios/', import.meta.url)).filter((file) => file.endsWith('.json')).map((file) => file.slice(0, -'.json'.length));
    expect(names.length).toBeGreaterThanOrEqual(16);
    for (const name of names) expect(scenario(name).name).toBe(name);
  });

  it('counts failed ads against a policy: the score stretches the makespan by them', () => {
    expect(score_s({ makespan_s: 100, done: 100, failed: 0 }, 100)).toBe(100);
    expect(score_s({ makespan_s: 100, done: 80, failed: 20 }, 100)).toBe(125);
    expect(score_s({ makespan_s: 5, done: 0, failed: 10 }, 10)).toBe(Infinity);
  });
});
