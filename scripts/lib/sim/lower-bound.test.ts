import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bestConcurrency, fluidMakespan_s, lowerBound, renewalMakespan_s } from './lower-bound.js';
import { meanLatency_s, parseScenario, type Scenario, type ScenarioInput } from './scenario.js';
import { enginesOf, simulatePolicy, type BenchPolicy } from './simulate-policy.js';

const seedProfile = (extra: Partial<ScenarioInput['lanes'][number]>[] = [{}, {}]): Scenario =>
  parseScenario({
    name: 't',
    ads: 100,
    lanes: [
      { engine: 'deepseek', workers: 2, latency: { dist: 'uniform', min_s: 3, max_s: 5 }, ...extra[0] },
      { engine: 'ollama', workers: 2, latency: { dist: 'uniform', min_s: 45, max_s: 90 }, ...extra[1] },
    ],
  });

const fixed = (value_s: number) => ({ dist: 'fixed' as const, value_s });

describe('lowerBound', () => {
  it('is the batch over both lanes at their mean rates for the seed profile (~189 s)', () => {
    const bound = lowerBound(seedProfile());
    expect(bound.bestLanes_s).toBeCloseTo(100 / (2 / 4 + 2 / 67.5), 6);
    // Ads are whole: the renewal bound sits a little above the fluid one.
    expect(bound.renewal_s).toBeGreaterThan(bound.bestLanes_s);
    expect(bound.lowerBound_s).toBe(bound.renewal_s);
    expect(bound.bestLanes).toEqual(['deepseek-0', 'ollama-1']);
    expect(bound.fastestEngineAlone_s).toBeCloseTo(200, 6);
    expect(bound.fastestEngine).toBe('deepseek');
  });

  it('is the fastest engine alone when running both slows the fast one down enough', () => {
    const bound = lowerBound(seedProfile([{ slowdownWhileBusy: { engine: 'ollama', factor: 1.4 } }, {}]));
    expect(bound.allLanes_s).toBeCloseTo(100 / (2 / 5.6 + 2 / 67.5), 6);
    expect(bound.lowerBound_s).toBeCloseTo(200, 6);
    expect(bound.bestLanes).toEqual(['deepseek-0']);
  });

  it('takes the best subset of lanes, not only all lanes or one engine', () => {
    // Ollama slows DeepSeek 4×: all three lanes do 0.5 + 1 + 1 ads/s, DeepSeek alone 2, DeepSeek + embedded 3.
    const scenario = parseScenario({
      name: 'subset',
      ads: 30,
      lanes: [
        { id: 'a', engine: 'deepseek', workers: 2, latency: fixed(1), slowdownWhileBusy: { engine: 'ollama', factor: 4 } },
        { id: 'b', engine: 'ollama', workers: 2, latency: fixed(2) },
        { id: 'c', engine: 'embedded', workers: 2, latency: fixed(2) },
      ],
    });
    const bound = lowerBound(scenario);
    expect(bound.allLanes_s).toBeCloseTo(30 / 2.5, 9);
    expect(bound.fastestEngineAlone_s).toBeCloseTo(15, 9);
    expect(bound.lowerBound_s).toBeCloseTo(10, 9);
    expect(bound.bestLanes).toEqual(['a', 'c']);
  });

  it('runs a lane at its best concurrency: no more than its capacity', () => {
    const scenario = parseScenario({ name: 'cap', ads: 10, lanes: [{ engine: 'deepseek', workers: 4, capacity: 2, overloadCost: 0.5, latency: fixed(1) }] });
    expect(bestConcurrency(scenario.lanes[0]!)).toBe(2);
    expect(lowerBound(scenario).lowerBound_s).toBeCloseTo(5, 9);
  });

  it('spends a shared resource’s slots on the lanes that finish ads fastest', () => {
    const input = (capacity: number): ScenarioInput => ({
      name: 'cpu',
      ads: 10,
      resources: { cpu: { capacity } },
      lanes: [
        { id: 'fast', engine: 'embedded', workers: 2, resource: 'cpu', latency: fixed(1) },
        { id: 'slow', engine: 'deepseek', workers: 2, resource: 'cpu', latency: fixed(2) },
      ],
    });
    // 2 slots: both on the fast lane (2 ads/s); 3 slots: one more on the slow lane (+0.5/s); 8: every worker busy (3/s).
    expect(lowerBound(parseScenario(input(2))).lowerBound_s).toBeCloseTo(5, 9);
    expect(lowerBound(parseScenario(input(3))).lowerBound_s).toBeCloseTo(4, 9);
    expect(lowerBound(parseScenario(input(8))).lowerBound_s).toBeCloseTo(10 / 3, 9);
  });

  it('leaves out of a small batch a lane that cannot finish an ad in time', () => {
    // Both lanes: 12 / (2/4 + 2/60) = 22.5 s, but Ollama's first ad ends at 60 s; DeepSeek alone: 24 s.
    const scenario = parseScenario({
      name: 'small',
      ads: 12,
      lanes: [
        { id: 'fast', engine: 'deepseek', workers: 2, latency: fixed(4) },
        { id: 'slow', engine: 'ollama', workers: 2, latency: fixed(60) },
      ],
    });
    const bound = lowerBound(scenario);
    expect(bound.allLanes_s).toBeCloseTo(22.5, 9);
    expect(bound.lowerBound_s).toBeCloseTo(24, 9);
    expect(bound.bestLanes).toEqual(['fast']);
  });

  it('adds the cold start during which a lane does nothing', () => {
    const bound = lowerBound(seedProfile([{ coldStart_s: 30 }, { coldStart_s: 30 }]));
    expect(bound.bestLanes_s).toBeCloseTo(30 + 100 / (2 / 4 + 2 / 67.5), 6);
    expect(bound.renewal_s! - lowerBound(seedProfile()).renewal_s!).toBeCloseTo(30, 6);
  });

  it('loses a lane once the batch reaches its death fraction', () => {
    const scenario = seedProfile([{}, { dieAtFraction: 0.3 }]);
    const rate = 2 / 4 + 2 / 67.5;
    expect(fluidMakespan_s(scenario, scenario.lanes)).toBeCloseTo(30 / rate + 70 / 0.5, 6);
  });

  it('counts failed attempts as lost time', () => {
    const plain = lowerBound(seedProfile()).lowerBound_s;
    const flaky = lowerBound(seedProfile([{ failureRate: 0.1 }, { failureRate: 0.1 }])).lowerBound_s;
    expect(flaky).toBeGreaterThan(plain * 1.05);
  });

  it('counts ads whole on a small batch: 5 one-second ads on 2 slots take 3 s, not the fluid 2.5', () => {
    const scenario = parseScenario({ name: 'whole', ads: 5, lanes: [{ engine: 'deepseek', workers: 2, latency: fixed(1) }] });
    expect(fluidMakespan_s(scenario, scenario.lanes)).toBeCloseTo(2.5, 9);
    expect(lowerBound(scenario).renewal_s).toBeCloseTo(3, 9);
    expect(lowerBound(scenario).lowerBound_s).toBeCloseTo(3, 9);
  });

  it('for random latencies, lies between the fluid bound and what any policy achieves, and meets the fluid one on long batches', async () => {
    const lanes: ScenarioInput['lanes'] = [
      { engine: 'deepseek', workers: 2, latency: { dist: 'uniform', min_s: 3, max_s: 5 } },
      { engine: 'embedded', workers: 2, latency: { dist: 'uniform', min_s: 4, max_s: 6 } },
    ];
    const small = parseScenario({ name: 'small', ads: 15, lanes });
    const renewal = renewalMakespan_s(small)!;
    expect(renewal).toBeGreaterThan(fluidMakespan_s(small, small.lanes) * 1.05);
    let auto = 0;
    const seeds = 30;
    for (let seed = 1; seed <= seeds; seed++) auto += (await simulatePolicy(small, 'auto', seed)).makespan_s / seeds;
    expect(renewal).toBeLessThan(auto);
    const long = parseScenario({ name: 'long', ads: 1000, lanes });
    expect(renewalMakespan_s(long)! / fluidMakespan_s(long, long.lanes)).toBeLessThan(1.01);
  });

  it('leaves the renewal bound out where a call could end sooner by starting again (lognormal) or lanes are coupled', () => {
    expect(renewalMakespan_s(parseScenario({ name: 'l', ads: 10, lanes: [{ engine: 'deepseek', workers: 2, latency: { dist: 'lognormal', median_s: 1, sigma: 0.5 } }] }))).toBeNull();
    expect(renewalMakespan_s(parseScenario({ name: 'r', ads: 10, resources: { cpu: { capacity: 1 } }, lanes: [{ engine: 'embedded', workers: 2, resource: 'cpu', latency: fixed(1) }] }))).toBeNull();
    expect(renewalMakespan_s(seedProfile([{ failureRate: 0.1 }, {}]))).toBeNull();
  });

  it('is never below one ad’s time', () => {
    const scenario = parseScenario({ name: 'one', ads: 1, lanes: [{ engine: 'ollama', workers: 8, latency: { dist: 'fixed', value_s: 60 } }] });
    expect(lowerBound(scenario).lowerBound_s).toBe(60);
  });

  it('is infinite when every lane dies before the batch is done', () => {
    const scenario = parseScenario({ name: 'dead', ads: 10, lanes: [{ engine: 'deepseek', workers: 1, latency: { dist: 'fixed', value_s: 1 }, dieAtFraction: 0.5 }] });
    expect(fluidMakespan_s(scenario, scenario.lanes)).toBe(Infinity);
  });
});

describe('lowerBound against every policy', () => {
  const folder = new URL('../../scenarios/', import.meta.url);
  const shipped = readdirSync(folder)
    .filter((name) => name.endsWith('.json'))
    .map((name) => parseScenario(JSON.parse(readFileSync(new URL(name, folder), 'utf8'))))
    .filter((scenario) => scenario.ads <= 500);

  // Each latency at its mean, so a lucky draw cannot beat the bound; failures stay random, so scenarios with them get 3 %.
  it.each(shipped.map((scenario) => [scenario.name, scenario] as const))('is at most every policy’s makespan in %s', async (_name, scenario) => {
    const atMeans: Scenario = { ...scenario, lanes: scenario.lanes.map((lane) => ({ ...lane, latency: fixed(meanLatency_s(lane.latency)) })) };
    const bound = lowerBound(atMeans).lowerBound_s;
    const slack = atMeans.lanes.some((lane) => lane.failureRate > 0) ? 0.97 : 1 - 1e-9;
    const policies: BenchPolicy[] = ['seed-static-50-50', 'ratio', 'auto', ...enginesOf(atMeans).map((engine) => `single:${engine}` as const)];
    for (const policy of policies) {
      const outcome = await simulatePolicy(atMeans, policy, 1);
      expect(outcome.makespan_s, policy).toBeGreaterThanOrEqual(bound * slack);
    }
  });
});
