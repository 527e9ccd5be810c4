import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WorkerPool, type PoolThread, type WorkerPoolOptions } from './worker-pool.js';

/**
 * A worker thread driven step by step by the test, with the real worker's order of events:
 * messages wait in its port until its models are loaded, it handles one message at a time,
 * and `close` makes it exit between jobs. terminate() while it loads or runs a job is what
 * aborts the real process (onnxruntime), so the fake records it as a violation.
 */
class FakeThread extends EventEmitter implements PoolThread {
  state: 'loading' | 'ready' | 'exited' = 'loading';
  inbox: unknown[] = [];
  job: number | null = null;
  violations: string[] = [];
  unrefed = false;
  constructor(readonly index: number) {
    super();
  }
  postMessage(value: unknown): void {
    if (this.state !== 'exited') this.inbox.push(value);
  }
  async terminate(): Promise<number> {
    if (this.state === 'loading') this.violations.push(`thread ${this.index} terminated while loading its models`);
    if (this.job !== null) this.violations.push(`thread ${this.index} terminated during a job`);
    this.exit(1);
    return 1;
  }
  unref(): void {
    this.unrefed = true;
  }
  /** Model load finishes (or fails: the real script then ends without listening). */
  load(ok: boolean): void {
    if (this.state !== 'loading') return;
    if (!ok) {
      this.emit('message', { type: 'init-error', message: 'cannot load onnxruntime' });
      this.exit(0);
      return;
    }
    this.state = 'ready';
    this.emit('message', { type: 'ready', dictionaryText: 'a' });
  }
  /** Takes the next message from its port, if idle. */
  tick(): void {
    if (this.state !== 'ready' || this.job !== null) return;
    const message = this.inbox.shift() as { type?: string; id?: number } | undefined;
    if (!message) return;
    if (message.type === 'close') this.exit(0);
    else this.job = message.id ?? -1;
  }
  finishJob(ok: boolean): void {
    if (this.state !== 'ready' || this.job === null) return;
    const id = this.job;
    this.job = null;
    this.emit('message', ok ? { type: 'result', id, result: { id } } : { type: 'error', id, message: 'bad image', decode: true });
  }
  crash(): void {
    if (this.state === 'exited') return;
    this.job = null;
    this.emit('error', new Error('segfault'));
    this.exit(1);
  }
  exit(code: number): void {
    if (this.state === 'exited') return;
    this.state = 'exited';
    this.job = null;
    this.emit('exit', code);
  }
  get busy(): boolean {
    return this.job !== null;
  }
}

function fakePool(options: Partial<WorkerPoolOptions<unknown>> & { clock?: { now: number } } = {}) {
  const threads: FakeThread[] = [];
  const clock = options.clock ?? { now: 0 };
  const pool = new WorkerPool<unknown>({
    name: 'test OCR',
    script: 'unused',
    size: 1,
    parseResult: (raw) => raw,
    now: () => clock.now,
    createThread: () => {
      const thread = new FakeThread(threads.length);
      threads.push(thread);
      return thread;
    },
    ...options,
  });
  return { pool, threads, clock };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
const live = (threads: FakeThread[]) => threads.filter((t) => t.state !== 'exited');
const askedToClose = (thread: FakeThread) => thread.inbox.some((m) => (m as { type?: string }).type === 'close');

describe('WorkerPool: size follows setConcurrency', () => {
  it('marks a job cold when it waited for a worker still loading, or was a new worker\'s first; warm ones not', async () => {
    const { pool, threads } = fakePool({ size: 1, maxWorkers: 2 });
    const ready = pool.ready();
    threads[0]!.load(true);
    await ready;
    const first = pool.run(new Uint8Array([1]));
    threads[0]!.tick();
    threads[0]!.finishJob(true);
    await first.result;
    expect(first.coldStart).toBe(true); // the worker's first run
    const warm = pool.run(new Uint8Array([2]));
    threads[0]!.tick();
    threads[0]!.finishJob(true);
    await warm.result;
    expect(warm.coldStart).toBe(false);
    // Grown to 2: the second worker loads; two jobs at once, the second has to wait.
    pool.setConcurrency(2);
    const a = pool.run(new Uint8Array([3]));
    const b = pool.run(new Uint8Array([4]));
    expect([a.coldStart, b.coldStart]).toEqual([false, true]);
    threads[0]!.tick();
    threads[1]!.load(true);
    threads[1]!.tick();
    threads.forEach((t) => t.finishJob(true));
    await Promise.all([a.result, b.result]);
    // Both workers warm: no job is cold.
    const c = pool.run(new Uint8Array([5]));
    const d = pool.run(new Uint8Array([6]));
    threads.forEach((t) => t.tick());
    threads.forEach((t) => t.finishJob(true));
    await Promise.all([c.result, d.result]);
    expect([c.coldStart, d.coldStart]).toEqual([false, false]);
    const closed = pool.close();
    threads.forEach((t) => t.tick());
    await closed;
  });

  it('grows to the new concurrency, and shrinks by letting idle workers go first and busy ones after their job', async () => {
    const { pool, threads } = fakePool({ size: 1, maxWorkers: 4 });
    const ready = pool.ready();
    threads[0]!.load(true);
    await ready;
    pool.setConcurrency(3);
    expect(threads).toHaveLength(3);
    threads.forEach((t) => t.load(true));
    const jobs = [pool.run(new Uint8Array([1])), pool.run(new Uint8Array([2]))];
    threads.forEach((t) => t.tick());
    expect(threads.filter((t) => t.busy)).toHaveLength(2);
    const idle = threads.find((t) => !t.busy)!;
    pool.setConcurrency(1);
    // The idle one is asked to leave at once; of the busy two, one more leaves after its job.
    expect(askedToClose(idle)).toBe(true);
    expect(threads.filter((t) => t.busy && askedToClose(t))).toHaveLength(0);
    expect(pool.stats()).toMatchObject({ target: 1, leaving: 2 });
    threads.forEach((t) => t.finishJob(true));
    await Promise.all(jobs.map((job) => job.result));
    threads.forEach((t) => t.tick());
    expect(live(threads)).toHaveLength(1);
    // Never above the ceiling, never below one.
    pool.setConcurrency(99);
    expect(live(threads).length).toBe(4);
    pool.setConcurrency(0);
    expect(pool.stats().target).toBe(1);
    const closed = pool.close();
    threads.forEach((t) => (t.load(true), t.tick()));
    await closed;
    expect(threads.flatMap((t) => t.violations)).toEqual([]);
  });

  it('keeps a loaded spare beyond its target: growing takes it at once, shrinking keeps one, never above the ceiling', async () => {
    let fits = true;
    const { pool, threads } = fakePool({ size: 1, maxWorkers: 3, spareWorkers: 1, canAddWorker: () => fits });
    const ready = pool.ready();
    // The target's worker and a spare load together.
    expect(threads).toHaveLength(2);
    threads.forEach((t) => t.load(true));
    await ready;
    // Grown by one: the spare takes the new slot (no model load to wait for) and a new spare loads.
    pool.setConcurrency(2);
    expect(threads).toHaveLength(3);
    threads[2]!.load(true);
    const a = pool.run(new Uint8Array([1]));
    const b = pool.run(new Uint8Array([2]));
    threads.forEach((t) => t.tick());
    expect(threads.filter((t) => t.busy)).toHaveLength(2);
    threads.forEach((t) => t.finishJob(true));
    await Promise.all([a.result, b.result]);
    // At the ceiling there is no spare; back to 1, one idle worker stays loaded beside it.
    pool.setConcurrency(3);
    expect(threads).toHaveLength(3);
    pool.setConcurrency(1);
    threads.forEach((t) => t.tick());
    expect(live(threads)).toHaveLength(2);
    expect(pool.stats()).toMatchObject({ target: 1, ready: 2, memoryLimited: false });
    // Up again: both slots have a loaded worker at once; only the new spare loads.
    pool.setConcurrency(2);
    expect(pool.stats()).toMatchObject({ ready: 2, loading: 1, started: 4 });
    // Memory too short for a spare is not reported as short for the target.
    pool.setConcurrency(1);
    threads.forEach((t) => t.tick());
    fits = false;
    expect(live(threads)).toHaveLength(2);
    live(threads)[0]!.crash();
    await turn();
    expect(pool.stats()).toMatchObject({ target: 1, memoryLimited: false });
    expect(live(threads)).toHaveLength(1);
    const closed = pool.close();
    threads.forEach((t) => (t.load(true), t.tick()));
    await closed;
    expect(threads.flatMap((t) => t.violations)).toEqual([]);
  });

  it('adds a worker only when memory allows, and says so', async () => {
    let fits = false;
    const { pool, threads } = fakePool({ size: 1, maxWorkers: 4, canAddWorker: () => fits });
    const ready = pool.ready();
    threads[0]!.load(true);
    await ready;
    pool.setConcurrency(3);
    expect(threads).toHaveLength(1);
    expect(pool.stats().memoryLimited).toBe(true);
    fits = true;
    pool.setConcurrency(3);
    expect(threads).toHaveLength(3);
    expect(pool.stats().memoryLimited).toBe(false);
    const closed = pool.close();
    threads.forEach((t) => (t.load(true), t.tick()));
    await closed;
  });

  it('loads models once per worker: a worker keeps serving jobs without being restarted', async () => {
    const { pool, threads } = fakePool({ size: 2, maxWorkers: 2 });
    const ready = pool.ready();
    threads.forEach((t) => t.load(true));
    await ready;
    for (let i = 0; i < 10; i++) {
      const job = pool.run(new Uint8Array([i]));
      threads.forEach((t) => t.tick());
      threads.forEach((t) => t.finishJob(true));
      await job.result;
    }
    expect(pool.stats().started).toBe(2);
    const closed = pool.close();
    threads.forEach((t) => t.tick());
    await closed;
  });
});

describe('WorkerPool: restart budget', () => {
  it('counts crashes in a sliding window: a crash now and then over a long run never stops the pool', async () => {
    const { pool, threads, clock } = fakePool({ size: 1, restartBudget: { crashes: 5, windowMs: 60_000 } });
    const ready = pool.ready();
    threads[0]!.load(true);
    await ready;
    for (let i = 0; i < 20; i++) {
      clock.now += 20_000;
      live(threads)[0]!.crash();
      live(threads)[0]!.load(true);
    }
    expect(threads).toHaveLength(21);
    await expect(pool.ready()).resolves.toBeUndefined();
    expect(pool.stats().recentCrashes).toBe(3);
    const closed = pool.close();
    threads.forEach((t) => t.tick());
    await closed;
  });

  it('gives up when crashes pile up inside the window, and fails queued work with the reason', async () => {
    const { pool, threads, clock } = fakePool({ size: 1, restartBudget: { crashes: 5, windowMs: 60_000 } });
    const ready = pool.ready();
    threads[0]!.load(true);
    await ready;
    const job = pool.run(new Uint8Array([1]));
    job.result.catch(() => undefined);
    for (let i = 0; i < 6; i++) {
      clock.now += 1_000;
      live(threads)[0]?.crash();
    }
    await expect(pool.ready()).rejects.toMatchObject({ kind: 'unavailable', message: expect.stringMatching(/keep failing \(6 crashes within 60 s/) });
    await expect(job.result).rejects.toMatchObject({ kind: 'transient' });
    await pool.close();
  });
});

type Command =
  | { type: 'run' }
  | { type: 'cancel' }
  | { type: 'concurrency'; n: number }
  | { type: 'load'; thread: number; ok: boolean }
  | { type: 'tick'; thread: number }
  | { type: 'finish'; thread: number; ok: boolean }
  | { type: 'crash'; thread: number }
  | { type: 'clock'; ms: number }
  | { type: 'ready' }
  | { type: 'close' };

const command: fc.Arbitrary<Command> = fc.oneof(
  fc.constant<Command>({ type: 'run' }),
  fc.constant<Command>({ type: 'cancel' }),
  fc.record({ type: fc.constant('concurrency' as const), n: fc.integer({ min: 0, max: 6 }) }),
  fc.record({ type: fc.constant('load' as const), thread: fc.nat(12), ok: fc.boolean().map((b) => b || Math.random() < 0.9) }),
  fc.record({ type: fc.constant('tick' as const), thread: fc.nat(12) }),
  fc.record({ type: fc.constant('finish' as const), thread: fc.nat(12), ok: fc.boolean() }),
  fc.record({ type: fc.constant('crash' as const), thread: fc.nat(12) }),
  fc.record({ type: fc.constant('clock' as const), ms: fc.integer({ min: 0, max: 30_000 }) }),
  fc.constant<Command>({ type: 'ready' }),
  fc.constant<Command>({ type: 'close' }),
);

describe('WorkerPool: closing at any point of its life', () => {
  it('never terminates a worker that is loading or busy, settles every call, and leaves no worker behind (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 60 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.boolean(), async (commands, size, extra, memoryShort) => {
        const maxWorkers = size + extra - 1;
        const { pool, threads, clock } = fakePool({ size: Math.min(size, maxWorkers), maxWorkers, canAddWorker: () => !memoryShort || Math.random() < 0.5 });
        const calls: Array<{ id: number; settled: boolean }> = [];
        let closing: Promise<void> | null = null;
        let threadsAtClose = 0;
        const track = (promise: Promise<unknown>, id = -1) => {
          const call = { id, settled: false };
          calls.push(call);
          promise.then(
            () => (call.settled = true),
            () => (call.settled = true),
          );
        };
        for (const step of commands) {
          const thread = 'thread' in step ? threads[step.thread % Math.max(1, threads.length)] : undefined;
          switch (step.type) {
            case 'run': {
              const job = pool.run(new Uint8Array([calls.length % 256]));
              track(job.result, job.id);
              break;
            }
            case 'cancel': {
              const open = calls.filter((c) => c.id >= 0 && !c.settled);
              if (open.length) pool.cancel(open[open.length - 1]!.id);
              break;
            }
            case 'concurrency':
              pool.setConcurrency(step.n);
              break;
            case 'load':
              thread?.load(step.ok);
              break;
            case 'tick':
              thread?.tick();
              break;
            case 'finish':
              thread?.finishJob(step.ok);
              break;
            case 'crash':
              thread?.crash();
              break;
            case 'clock':
              clock.now += step.ms;
              break;
            case 'ready':
              track(pool.ready());
              break;
            case 'close':
              closing ??= pool.close();
              threadsAtClose = threads.length;
              break;
          }
          await turn();
          // Never more workers taking work than the ceiling.
          expect(threads.filter((t) => t.state !== 'exited' && !askedToClose(t)).length).toBeLessThanOrEqual(maxWorkers);
        }
        if (!closing) threadsAtClose = threads.length;
        closing ??= pool.close();
        // The workers carry on with whatever they were doing, as real ones would.
        for (let round = 0; round < 4; round++) {
          for (const t of threads) {
            t.load(true);
            t.finishJob(true);
            t.tick();
          }
          await turn();
        }
        await closing;
        await turn();
        expect(threads.flatMap((t) => t.violations)).toEqual([]);
        expect(threads.filter((t) => t.state !== 'exited')).toEqual([]);
        expect(threads.length).toBe(threadsAtClose);
        expect(calls.filter((c) => !c.settled)).toEqual([]);
        await expect(pool.ready()).rejects.toMatchObject({ kind: 'unavailable' });
      }),
      { numRuns: 300 },
    );
  });
});

describe('WorkerPool with real threads whose model load is slow', () => {
  const script = new URL('../__fixtures__/workers/slow-load-worker.mjs', import.meta.url);

  function realPool(workerData: { loadMs: number; jobMs?: number }, size = 2) {
    const exits: number[] = [];
    /** Per worker, whether it got through its model load before it exited (a terminated one does not). */
    const loaded: boolean[] = [];
    const pool = new WorkerPool<unknown>({
      name: 'test OCR',
      script,
      size,
      parseResult: (raw) => raw,
      createThread: () => {
        const worker = new Worker(script, { workerData });
        const index = loaded.push(false) - 1;
        worker.on('message', (message: { type?: string }) => message.type === 'ready' && (loaded[index] = true));
        worker.on('exit', (code) => exits.push(code));
        return worker;
      },
    });
    return { pool, exits, loaded };
  }

  it('closing while the models load lets each worker finish loading and exit by itself (never terminated mid-load)', async () => {
    const { pool, exits, loaded } = realPool({ loadMs: 400 });
    const ready = expect(pool.ready()).rejects.toMatchObject({ kind: 'aborted' });
    const job = expect(pool.run(new Uint8Array([1, 2, 3])).result).rejects.toMatchObject({ kind: 'aborted' });
    await pool.close();
    expect(exits).toEqual([0, 0]);
    expect(loaded).toEqual([true, true]);
    await ready;
    await job;
  });

  it('closing mid-job lets the job end first; the caller gets "closed" at once', async () => {
    const { pool, exits } = realPool({ loadMs: 0, jobMs: 300 }, 1);
    await pool.ready();
    // A ready worker gets the job at once; the close request queues behind it.
    const job = expect(pool.run(new Uint8Array([1])).result).rejects.toMatchObject({ kind: 'aborted' });
    expect(pool.stats().busy).toBe(1);
    await pool.close();
    expect(exits).toEqual([0]);
    await job;
  });
});
