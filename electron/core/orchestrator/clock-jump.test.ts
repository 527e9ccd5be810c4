import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AdResult, RecognizeResult } from '../../../shared/domain.js';
import { EngineError, type Engine } from '../engines/types.js';
import { MemoryRunStore } from './memory-store.js';
import { startRun, type OrchestratorLane } from './orchestrator.js';

const HOUR_MS = 3_600_000;

/** An engine on real timers; `failing()` makes calls fail fast, as a server that is down. */
function timedEngine(id: string, ms: number, failing: () => boolean = () => false): OrchestratorLane {
  const engine: Engine = {
    kind: 'deepseek',
    label: id,
    recognize: (_image, signal) =>
      new Promise<RecognizeResult>((resolve, reject) => {
        const down = failing();
        const timer = setTimeout(() => (down ? reject(new EngineError('unavailable', 'connection refused')) : resolve({ text: 'ok', blocks: [], model: id, timings: {} })), down ? 1 : ms);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(new EngineError('aborted', 'aborted'));
        });
      }),
  };
  return { config: { id, engine: 'deepseek', workers: 2, enabled: true }, engine, prior_s: ms / 1000, coldStart_s: 0 };
}

describe('a wall-clock jump mid-run (sleep, a clock change)', () => {
  afterEach(() => vi.useRealTimers());

  it('+2 h: no lane fails, no duration or cool-down is distorted, attempts keep wall-clock start times', async () => {
    // Only Date moves; timers and performance.now() stay real, as on a Mac whose clock is set forward.
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true });
    const results: AdResult[] = [];
    let jumped = false;
    let jumpedAt = 0;
    const downUntil = { results: 0 };
    const run = startRun({
      runId: 'jump',
      ads: Array.from({ length: 120 }, (_, i) => ({ creativeId: `ad-${i}`, imageUrl: `x://${i}` })),
      lanes: [timedEngine('steady', 3), timedEngine('flaky', 3, () => results.length < downUntil.results)],
      store: new MemoryRunStore(),
      loadImage: () => Promise.resolve({ bytes: new Uint8Array(1), mime: 'image/png' }),
      // A long cool-down that the jump would end at once on a wall clock, and an outage timer it would trip.
      tuning: { breaker: { threshold: 2, baseCooldownMs: 60_000, maxCooldownMs: 60_000 }, giveUpAfterMs: 30 * 60_000, giveUpMinFailedProbes: 0, warmupMaxMs: 0 },
      onResult: (result) => {
        results.push(result);
        if (results.length === 20) downUntil.results = 60;
        if (results.length === 40 && !jumped) {
          jumped = true;
          jumpedAt = Date.now();
          vi.setSystemTime(Date.now() + 2 * HOUR_MS);
        }
      },
    });
    const summary = await run.done;
    expect(jumped).toBe(true);
    expect(summary).toMatchObject({ status: 'finished', done: 120, failed: 0 });
    // Bounds far above any run here and far below the jump: what they catch is the 2 h, not speed.
    expect(summary.elapsed_s, 'elapsed is monotonic: the 2 h jump is not in it').toBeLessThan(HOUR_MS / 1000);
    const attempts = results.flatMap((result) => result.attempts);
    expect(Math.max(...attempts.map((attempt) => attempt.durationMs)), 'no call took 2 h').toBeLessThan(HOUR_MS);
    expect(attempts.some((attempt) => attempt.startedAt >= jumpedAt + 2 * HOUR_MS), 'start times follow the wall clock').toBe(true);
    // The flaky lane was cooling down (60 s) when the clock jumped: it must not have come back early.
    const flakyAfterJump = attempts.filter((attempt) => attempt.laneId === 'flaky' && attempt.startedAt >= jumpedAt + 2 * HOUR_MS);
    expect(flakyAfterJump, 'the 60 s cool-down was not ended by the jump').toHaveLength(0);
    expect(run.progress().lanes.every((lane) => lane.state.type !== 'dead')).toBe(true);
  });
});
