/**
 * Time as the scheduler sees it. The app uses the real clock; the benchmark and the tests
 * use `VirtualClock`, which jumps from timer to timer, so the very same scheduler code runs
 * a 10 000-ad batch of 90-second calls in well under a second of wall time.
 */
import { EngineError } from '../engines/types.js';

export interface Timer {
  cancel(): void;
}

export interface Clock {
  /**
   * Milliseconds on a monotonic clock, for every duration, back-off, cool-down and timer:
   * a Mac waking from sleep or a wall-clock change must neither fail lanes nor distort
   * timings. 0-based for a virtual clock.
   */
  now(): number;
  /** Wall-clock epoch milliseconds, for timestamps people read (attempt start, "cooling down until"); defaults to now(). */
  wall?(): number;
  /** `background`: a timer that only reports (a progress heartbeat); it never keeps simulated work going by itself. */
  setTimer(delayMs: number, callback: () => void, options?: { background?: boolean }): Timer;
}

/** A real clock from a monotonic and a wall source (injectable, to test a wall-clock jump). */
function createRealClock(sources: { monotonic?: () => number; wall?: () => number } = {}): Clock {
  const monotonic = sources.monotonic ?? (() => performance.now());
  const wall = sources.wall ?? (() => Date.now());
  return {
    now: monotonic,
    wall,
    setTimer(delayMs, callback) {
      // Node's timers run on a monotonic clock too.
      const handle = setTimeout(callback, Math.max(0, delayMs));
      return { cancel: () => clearTimeout(handle) };
    },
  };
}

export const realClock: Clock = createRealClock();

/** Wall-clock time of `clock` (its monotonic time when it has no wall clock, as a virtual one). */
export function wallNow(clock: Clock): number {
  return clock.wall ? clock.wall() : clock.now();
}

/** Resolves after `ms` on `clock`; rejects with EngineError('aborted') when `signal` fires. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new EngineError('aborted', 'aborted'));
      return;
    }
    const onAbort = (): void => {
      timer.cancel();
      reject(new EngineError('aborted', 'aborted'));
    };
    const timer = clock.setTimer(ms, () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    });
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

interface VirtualTimer {
  at: number;
  seq: number;
  callback: () => void;
  cancelled: boolean;
  background: boolean;
  fired: boolean;
}

function earlier(a: VirtualTimer, b: VirtualTimer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

const nextMacrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A deterministic clock for simulations: time only moves when `runUntil` fires the next
 * timer, and only after every promise chain started by the previous one has settled
 * (a macrotask boundary), so simulated work interleaves exactly as real work would.
 */
export class VirtualClock implements Clock {
  private time = 0;
  private seq = 0;
  private readonly heap: VirtualTimer[] = [];
  /** Timers neither fired nor cancelled that are not background ones: the simulated work still to come. */
  private foreground = 0;

  now(): number {
    return this.time;
  }

  setTimer(delayMs: number, callback: () => void, options: { background?: boolean } = {}): Timer {
    const background = options.background === true;
    const timer: VirtualTimer = { at: this.time + Math.max(0, delayMs), seq: this.seq++, callback, cancelled: false, background, fired: false };
    if (!background) this.foreground++;
    this.push(timer);
    return {
      cancel: () => {
        if (!timer.cancelled && !timer.fired && !timer.background) this.foreground--;
        timer.cancelled = true;
      },
    };
  }

  private fire(timer: VirtualTimer): void {
    timer.fired = true;
    if (!timer.background) this.foreground--;
    timer.callback();
  }

  /** Fires timers in time order until `until` settles; returns its value. */
  async runUntil<T>(until: Promise<T>): Promise<T> {
    let settled = false;
    until.then(() => { settled = true; }, () => { settled = true; });
    for (;;) {
      await nextMacrotask();
      if (settled) return until;
      // Only background timers left: nothing would ever end the awaited work.
      const next = this.foreground > 0 ? this.popLive() : undefined;
      if (!next) throw new Error('VirtualClock: no timer left but the awaited work has not ended (is something waiting on real I/O?)');
      this.time = next.at;
      this.fire(next);
      // Timers due at the very same instant fire together: they cannot observe each other's order.
      for (let peer = this.peekLive(); peer && peer.at === this.time; peer = this.peekLive()) {
        this.pop();
        this.fire(peer);
      }
    }
  }

  private peekLive(): VirtualTimer | undefined {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
    return this.heap[0];
  }

  private popLive(): VirtualTimer | undefined {
    const top = this.peekLive();
    if (top) this.pop();
    return top;
  }

  private push(timer: VirtualTimer): void {
    const heap = this.heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!earlier(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private pop(): void {
    const heap = this.heap;
    const last = heap.pop();
    if (!last || heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && earlier(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && earlier(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === i) return;
      [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
      i = smallest;
    }
  }
}
