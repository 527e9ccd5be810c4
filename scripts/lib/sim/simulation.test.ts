import { describe, expect, it } from 'vitest';
import { EngineError } from '../../../electron/core/engines/types.js';
import { VirtualClock } from '../../../electron/core/orchestrator/index.js';
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
});
