import { describe, expect, it } from 'vitest';
import { fluidMakespan_s, lowerBound } from './lower-bound.js';
import { parseScenario, type ScenarioInput } from './scenario.js';

const seedProfile = (extra: Partial<ScenarioInput['lanes'][number]>[] = [{}, {}]): ReturnType<typeof parseScenario> =>
  parseScenario({
    name: 't',
    ads: 100,
    lanes: [
      { engine: 'deepseek', workers: 2, latency: { dist: 'uniform', min_s: 3, max_s: 5 }, ...extra[0] },
      { engine: 'ollama', workers: 2, latency: { dist: 'uniform', min_s: 45, max_s: 90 }, ...extra[1] },
    ],
  });

describe('lowerBound', () => {
  it('is the batch over both lanes at their mean rates for the seed profile (~189 s)', () => {
    const bound = lowerBound(seedProfile());
    expect(bound.lowerBound_s).toBeCloseTo(100 / (2 / 4 + 2 / 67.5), 6);
    expect(bound.fastestEngineAlone_s).toBeCloseTo(200, 6);
    expect(bound.fastestEngine).toBe('deepseek');
  });

  it('is the fastest engine alone when running both slows the fast one down enough', () => {
    const bound = lowerBound(seedProfile([{ slowdownWhileBusy: { engine: 'ollama', factor: 1.4 } }, {}]));
    expect(bound.allLanes_s).toBeCloseTo(100 / (2 / 5.6 + 2 / 67.5), 6);
    expect(bound.lowerBound_s).toBeCloseTo(200, 6);
  });

  it('adds the cold start during which a lane does nothing', () => {
    const bound = lowerBound(seedProfile([{ coldStart_s: 30 }, { coldStart_s: 30 }]));
    expect(bound.lowerBound_s).toBeCloseTo(30 + 100 / (2 / 4 + 2 / 67.5), 6);
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

  it('is never below one ad’s time', () => {
    const scenario = parseScenario({ name: 'one', ads: 1, lanes: [{ engine: 'ollama', workers: 8, latency: { dist: 'fixed', value_s: 60 } }] });
    expect(lowerBound(scenario).lowerBound_s).toBe(60);
  });

  it('is infinite when every lane dies before the batch is done', () => {
    const scenario = parseScenario({ name: 'dead', ads: 10, lanes: [{ engine: 'deepseek', workers: 1, latency: { dist: 'fixed', value_s: 1 }, dieAtFraction: 0.5 }] });
    expect(fluidMakespan_s(scenario, scenario.lanes)).toBe(Infinity);
  });
});
