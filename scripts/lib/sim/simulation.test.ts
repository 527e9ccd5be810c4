import { describe, expect, it } from 'vitest';
import { EngineError } from '../../../electron/core/engines/types.js';
import { VirtualClock } from '../../../electron/core/orchestrator/clock.js';
import { parseScenario, type ScenarioInput } from './scenario.js';
import { SimulatedMac, sampleLatency_s, seededRandom } from './simulation.js';

const image = (id: string): { bytes: Uint8Array; mime: string } => ({ bytes: new TextEncoder().encode(id), mime: 'image/png' });

function mac(input: Partial<ScenarioInput> & Pick<ScenarioInput, 'lanes'>): { clock: VirtualClock; sim: SimulatedMac } {
  const clock = new VirtualClock();
  return { clock, sim: new SimulatedMac(parseScenario({ name: 't', ads: 10, ...input }), { clock, seed: 1 }) };
}

describe('SimulatedMac', () => {
  it('is deterministic per seed', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    expect([a(), a(), a()]).toEqual([b(), b(), b()]);
    expect(seededRandom(43)()).not.toBe(seededRandom(42)());
  });

  it('samples lognormal latencies around their median', () => {
    const random = seededRandom(1);
    const samples = Array.from({ length: 2001 }, () => sampleLatency_s({ dist: 'lognormal', median_s: 60, sigma: 0.4 }, random)).sort((x, y) => x - y);
    expect(samples[1000]!).toBeGreaterThan(55);
    expect(samples[1000]!).toBeLessThan(65);
  });

  it('slows a lane down exactly while another engine is busy', async () => {
    const { clock, sim } = mac({
      lanes: [
        { engine: 'deepseek', workers: 1, latency: { dist: 'fixed', value_s: 10 }, slowdownWhileBusy: { engine: 'ollama', factor: 2 } },
        { engine: 'ollama', workers: 1, latency: { dist: 'fixed', value_s: 4 } },
      ],
    });
    const [fast, slow] = sim.orchestratorLanes();
    const signal = new AbortController().signal;
    const both = Promise.all([fast!.engine.recognize(image('a'), signal).then(() => clock.now()), slow!.engine.recognize(image('b'), signal)]);
    const [fastEnd] = await clock.runUntil(both);
    // 4 s at half speed (2 s of work), then 8 s alone.
    expect(fastEnd).toBe(12_000);
  });

  it('makes calls wait for the cold start, once per lane', async () => {
    const { clock, sim } = mac({ lanes: [{ engine: 'ollama', workers: 2, latency: { dist: 'fixed', value_s: 5 }, coldStart_s: 30 }] });
    const [lane] = sim.orchestratorLanes();
    const signal = new AbortController().signal;
    await clock.runUntil(Promise.all([lane!.engine.recognize(image('a'), signal), lane!.engine.recognize(image('b'), signal)]));
    expect(clock.now()).toBe(35_000);
    await clock.runUntil(lane!.engine.recognize(image('c'), signal));
    expect(clock.now()).toBe(40_000);
  });

  it('kills a lane once the batch reaches its death fraction: calls in flight and later ones fail as unavailable', async () => {
    const { clock, sim } = mac({
      ads: 2,
      lanes: [
        { engine: 'deepseek', workers: 1, latency: { dist: 'fixed', value_s: 1 } },
        { engine: 'ollama', workers: 1, latency: { dist: 'fixed', value_s: 10 }, dieAtFraction: 0.5 },
      ],
    });
    const [fast, doomed] = sim.orchestratorLanes();
    const signal = new AbortController().signal;
    const inFlight = doomed!.engine.recognize(image('b'), signal).catch((error: unknown) => error);
    await clock.runUntil(fast!.engine.recognize(image('a'), signal));
    const error = await clock.runUntil(inFlight);
    expect(error).toBeInstanceOf(EngineError);
    expect((error as EngineError).kind).toBe('unavailable');
    expect(clock.now()).toBe(1000);
    await expect(doomed!.engine.recognize(image('c'), signal)).rejects.toMatchObject({ kind: 'unavailable' });
  });

  it('stops work at once on abort and counts it', async () => {
    const { clock, sim } = mac({ lanes: [{ engine: 'ollama', workers: 1, latency: { dist: 'fixed', value_s: 60 } }] });
    const [lane] = sim.orchestratorLanes();
    const controller = new AbortController();
    clock.setTimer(5000, () => controller.abort());
    const outcome = lane!.engine.recognize(image('a'), controller.signal).catch((error: unknown) => error);
    expect(await clock.runUntil(outcome)).toMatchObject({ kind: 'aborted' });
    expect(clock.now()).toBe(5000);
    expect(sim.lanes[0]!.aborted).toBe(1);
    expect(sim.lanes[0]!.active).toBe(0);
  });

  it('shares a lane’s capacity among its calls in flight, and makes overload cost extra', async () => {
    const run = async (overloadCost: number): Promise<number[]> => {
      const { clock, sim } = mac({ lanes: [{ engine: 'deepseek', workers: 3, capacity: 1, overloadCost, latency: { dist: 'fixed', value_s: 4 } }] });
      const [lane] = sim.orchestratorLanes();
      const signal = new AbortController().signal;
      const first = lane!.engine.recognize(image('a'), signal).then(() => clock.now());
      const second = lane!.engine.recognize(image('b'), signal).then(() => clock.now());
      return clock.runUntil(Promise.all([first, second]));
    };
    // Two calls on one call's capacity: each at half speed, 8 s; with overload cost 0.5, 2 × 1.5 = 3 × slower.
    expect(await run(0)).toEqual([8000, 8000]);
    expect(await run(0.5)).toEqual([12_000, 12_000]);
  });

  it('shares a resource among the lanes on it, speeding calls up as others end', async () => {
    const { clock, sim } = mac({
      resources: { cpu: { capacity: 1 } },
      lanes: [
        { engine: 'embedded', workers: 1, resource: 'cpu', latency: { dist: 'fixed', value_s: 4 } },
        { engine: 'deepseek', workers: 1, resource: 'cpu', latency: { dist: 'fixed', value_s: 2 } },
        { engine: 'ollama', workers: 1, latency: { dist: 'fixed', value_s: 3 } },
      ],
    });
    const [long, short, apart] = sim.orchestratorLanes();
    const signal = new AbortController().signal;
    const ends = Promise.all([long, short, apart].map((lane, i) => lane!.engine.recognize(image(`ad-${i}`), signal).then(() => clock.now())));
    // The short call's 2 s at half speed end at 4 s, the long one has done 2 of its 4 s by then; the lane off the resource is unaffected.
    expect(await clock.runUntil(ends)).toEqual([6000, 4000, 3000]);
  });

  it('hands the scenario’s priors and tuner hints to the orchestrator', () => {
    const { sim } = mac({
      resources: { cpu: { capacity: 2 } },
      lanes: [
        { engine: 'embedded', workers: 2, startConcurrency: 1, resource: 'cpu', prior_s: 30, latency: { dist: 'fixed', value_s: 1 } },
        { engine: 'deepseek', workers: 2, latency: { dist: 'fixed', value_s: 1 } },
      ],
    });
    const [tuned, plain] = sim.orchestratorLanes();
    expect(tuned).toMatchObject({ prior_s: 30, startConcurrency: 1, resource: 'cpu' });
    expect(plain).not.toHaveProperty('prior_s');
    expect(plain).not.toHaveProperty('resource');
  });

  it('rejects a lane on an undeclared resource or starting above its workers, naming the lane', () => {
    expect(() => parseScenario({ name: 'x', ads: 1, lanes: [{ engine: 'embedded', workers: 1, resource: 'gpu', latency: { dist: 'fixed', value_s: 1 } }] })).toThrow(/unknown resource "gpu"[\s\S]*at lanes\[0\]\.resource/);
    expect(() => parseScenario({ name: 'x', ads: 1, lanes: [{ engine: 'embedded', workers: 1, startConcurrency: 2, latency: { dist: 'fixed', value_s: 1 } }] })).toThrow(/startConcurrency 2 is above workers 1/);
  });
});
