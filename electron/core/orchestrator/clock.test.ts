import { describe, expect, it } from 'vitest';
import { EngineError } from '../engines/types.js';
import { realClock, sleep, VirtualClock } from './clock.js';

describe('VirtualClock', () => {
  it('fires timers in time order, ties in creation order, without real waiting', async () => {
    const clock = new VirtualClock();
    const fired: string[] = [];
    const work = (async () => {
      await Promise.all([
        sleep(clock, 3_600_000).then(() => fired.push(`hour@${clock.now()}`)),
        sleep(clock, 5).then(() => fired.push(`a@${clock.now()}`)),
        sleep(clock, 5).then(() => fired.push(`b@${clock.now()}`)),
      ]);
      return clock.now();
    })();
    // A real hour's sleep would end in the test timeout, long before the hour.
    expect(await clock.runUntil(work)).toBe(3_600_000);
    expect(fired).toEqual(['a@5', 'b@5', 'hour@3600000']);
  });

  it('lets promise chains settle before moving time on', async () => {
    const clock = new VirtualClock();
    const seen: number[] = [];
    const work = (async () => {
      await sleep(clock, 10);
      await Promise.resolve();
      await Promise.resolve();
      seen.push(clock.now());
      await sleep(clock, 10);
      seen.push(clock.now());
    })();
    await clock.runUntil(work);
    expect(seen).toEqual([10, 20]);
  });

  it('a cancelled timer never fires', async () => {
    const clock = new VirtualClock();
    let fired = false;
    clock.setTimer(5, () => { fired = true; }).cancel();
    await clock.runUntil(sleep(clock, 10));
    expect(fired).toBe(false);
  });

  it('reports a deadlock instead of hanging', async () => {
    const clock = new VirtualClock();
    await expect(clock.runUntil(new Promise(() => undefined))).rejects.toThrow(/no timer left/);
  });

  it('fires background timers alongside the work, but reports a deadlock when only they are left', async () => {
    const clock = new VirtualClock();
    let beats = 0;
    const beat = () => {
      beats++;
      clock.setTimer(1000, beat, { background: true });
    };
    clock.setTimer(1000, beat, { background: true });
    await clock.runUntil(sleep(clock, 3500));
    expect(beats).toBe(3);
    // A heartbeat forever re-armed must not keep a stuck simulation spinning.
    await expect(clock.runUntil(new Promise(() => undefined))).rejects.toThrow(/no timer left/);
    const cancelled = clock.setTimer(10, () => undefined);
    cancelled.cancel();
    cancelled.cancel();
    await expect(clock.runUntil(new Promise(() => undefined))).rejects.toThrow(/no timer left/);
  });
});

describe('sleep', () => {
  it('rejects with an aborted EngineError when the signal fires', async () => {
    const controller = new AbortController();
    const pending = sleep(realClock, 60_000, controller.signal);
    controller.abort();
    await expect(pending).rejects.toSatisfy((error: unknown) => error instanceof EngineError && error.kind === 'aborted');
  });

  it('rejects at once on an already aborted signal', async () => {
    await expect(sleep(new VirtualClock(), 1, AbortSignal.abort())).rejects.toBeInstanceOf(EngineError);
  });
});
