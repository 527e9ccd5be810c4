/**
 * A pool of worker threads that each load a model once and then handle one job at a time,
 * with a FIFO queue. The model-specific parts (which script, what a result looks like, the
 * per-job options) come from the engine that owns the pool, so the pool's lifecycle lives
 * in one place apart from any model pipeline.
 *
 * - Its size follows `setConcurrency` (1…maxWorkers): a new worker is added only when
 *   `canAddWorker` says memory allows; a surplus worker finishes its job and then leaves.
 * - A crashed worker is replaced, unless more than `restartBudget.crashes` crashes happened
 *   within `restartBudget.windowMs` (a sliding window: a long run may lose a worker now and then).
 * - A worker is never terminated while it loads its models or runs a job: tearing a thread
 *   down inside onnxruntime aborts the whole process (`terminate called after throwing an
 *   instance of 'Napi::Error'`). Closing asks each worker to leave once it is between jobs
 *   (a worker still loading reads the request when its models are in), so `close()` is safe
 *   at any moment.
 *
 * Worker protocol: first `{ type: 'ready', ... }` or `{ type: 'init-error', message }`, then
 * per job `{ type: 'result', id, result }` or `{ type: 'error', id, message, decode }`
 * (`decode`: the input itself is unreadable); `{ type: 'close' }` asks it to release its
 * models and exit. Messages posted before the worker listens are queued by its port.
 */
import { Worker } from 'node:worker_threads';
import { z } from 'zod';
import { EngineError } from '../types.js';

const WorkerMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }).passthrough(),
  z.object({ type: z.literal('init-error'), message: z.string() }),
  z.object({ type: z.literal('result'), id: z.number(), result: z.unknown() }),
  z.object({ type: z.literal('error'), id: z.number(), message: z.string(), decode: z.boolean() }),
]);
/** The first `ready` message (without its type): what the worker tells about its models. */
export type ReadyInfo = Record<string, unknown>;

/** The part of a worker thread the pool uses (a fake in tests). */
export interface PoolThread {
  postMessage(value: unknown, transferList?: readonly ArrayBuffer[]): void;
  terminate(): Promise<number>;
  unref(): void;
  on(event: 'message', listener: (value: unknown) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'exit', listener: (code: number) => void): unknown;
}

export interface RestartBudget {
  crashes: number;
  windowMs: number;
}

const DEFAULT_RESTART_BUDGET: RestartBudget = { crashes: 5, windowMs: 60_000 };
/** How long close waits for a worker to finish its job or its model load before letting go of it. */
const DEFAULT_CLOSE_TIMEOUT_MS = 60_000;

export interface WorkerPoolOptions<Result> {
  /** What the pool and its errors are called, e.g. "embedded OCR". */
  name: string;
  script: string | URL;
  workerData?: unknown;
  /** Workers to start with (the lane's starting concurrency). */
  size: number;
  /** The most workers setConcurrency may ask for (the lane's ceiling); default `size`. */
  maxWorkers?: number;
  /**
   * Loaded workers kept beyond the target, up to maxWorkers (memory permitting), idle until the
   * target grows: a tuner that adds a slot gets a worker at once instead of a model load, and one
   * that takes a slot back and returns it later does not load the models again. Default 0.
   */
  spareWorkers?: number;
  /** Validates a job's raw result (zod); a result that does not parse fails the job. */
  parseResult(raw: unknown): Result;
  /** Sent with every job beside its bytes. */
  jobOptions?: unknown;
  restartBudget?: RestartBudget;
  /** Whether one more worker fits (free memory); the first worker is always started. */
  canAddWorker?: () => boolean;
  /** Monotonic milliseconds (the restart window). */
  now?: () => number;
  createThread?: () => PoolThread;
  closeTimeoutMs?: number;
}

interface Job<Result> {
  id: number;
  bytes: Uint8Array;
  handle: JobHandle<Result>;
  resolve: (result: Result) => void;
  reject: (error: EngineError) => void;
}

/** A queued job: its id (to cancel it), its result, and whether it ran cold (known once it has started). */
export interface JobHandle<Result> {
  id: number;
  result: Promise<Result>;
  /**
   * It waited for a worker that was still loading its models, or was a new worker's first job
   * (onnxruntime's first run of a session is slower): its time is not the pool's speed.
   */
  coldStart: boolean;
}

interface PoolWorker<Result> {
  thread: PoolThread;
  /** Jobs it has been given (its first one is cold). */
  jobsTaken: number;
  state: 'loading' | 'ready';
  /** Asked to leave: takes no new job, exits after the current one (or after loading). */
  leaving: boolean;
  closeSent: boolean;
  job: Job<Result> | null;
  exited: Promise<void>;
}

export interface WorkerPoolStats {
  /** Workers the pool aims for now. */
  target: number;
  loading: number;
  ready: number;
  busy: number;
  /** Asked to leave, not yet exited. */
  leaving: number;
  /** The last grow was held back because memory was short. */
  memoryLimited: boolean;
  /** Crashes inside the restart window now. */
  recentCrashes: number;
  started: number;
}

export class WorkerPool<Result> {
  readonly #options: WorkerPoolOptions<Result>;
  readonly #maxWorkers: number;
  readonly #spareWorkers: number;
  readonly #budget: RestartBudget;
  readonly #now: () => number;
  #target: number;
  #workers: PoolWorker<Result>[] = [];
  /** Workers asked to leave, until they exit. */
  #leaving = new Set<PoolWorker<Result>>();
  #queue: Job<Result>[] = [];
  #nextId = 1;
  #crashTimes: number[] = [];
  #started = 0;
  #memoryLimited = false;
  #running = false;
  #closing: Promise<void> | null = null;
  #fatal: EngineError | null = null;
  #readyInfo: ReadyInfo | null = null;
  #readyWaiters: Array<{ resolve: () => void; reject: (e: EngineError) => void }> = [];

  constructor(options: WorkerPoolOptions<Result>) {
    this.#options = options;
    this.#maxWorkers = Math.max(1, Math.floor(options.maxWorkers ?? options.size));
    this.#target = clamp(options.size, 1, this.#maxWorkers);
    this.#spareWorkers = Math.max(0, Math.floor(options.spareWorkers ?? 0));
    this.#budget = options.restartBudget ?? DEFAULT_RESTART_BUDGET;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Workers the pool aims for now. */
  get size(): number {
    return this.#target;
  }

  get maxWorkers(): number {
    return this.#maxWorkers;
  }

  /** What the first ready worker said about its models; throws before any is ready. */
  get readyInfo(): ReadyInfo {
    if (!this.#readyInfo) throw new EngineError('unavailable', `${this.#options.name} is not ready`);
    return this.#readyInfo;
  }

  stats(): WorkerPoolStats {
    const live = this.#workers;
    return {
      target: this.#target,
      loading: live.filter((w) => w.state === 'loading').length,
      ready: live.filter((w) => w.state === 'ready').length,
      busy: live.filter((w) => w.job !== null).length,
      leaving: this.#leaving.size,
      memoryLimited: this.#memoryLimited,
      recentCrashes: this.#recentCrashes(),
      started: this.#started,
    };
  }

  /** Starts the workers if needed and resolves once at least one has loaded the models. */
  async ready(): Promise<void> {
    this.#throwIfUnusable();
    this.#running = true;
    this.#resize();
    if (this.#workers.some((w) => w.state === 'ready')) return;
    await new Promise<void>((resolve, reject) => this.#readyWaiters.push({ resolve, reject }));
  }

  /** Grows (memory permitting) or shrinks the pool to `n` workers, within 1…maxWorkers. */
  setConcurrency(n: number): void {
    if (!Number.isFinite(n)) return;
    this.#target = clamp(n, 1, this.#maxWorkers);
    if (this.#running && !this.#closing && !this.#fatal) this.#resize();
  }

  run(bytes: Uint8Array): JobHandle<Result> {
    const id = this.#nextId++;
    const handle: JobHandle<Result> = { id, result: Promise.resolve() as Promise<Result>, coldStart: false };
    handle.result = new Promise<Result>((resolve, reject) => {
      if (this.#fatal) return reject(this.#fatal);
      if (this.#closing) return reject(new EngineError('aborted', `${this.#options.name} engine closed`));
      this.#running = true;
      this.#queue.push({ id, bytes, handle, resolve, reject });
      this.#resize();
      this.#dispatch();
      // Not started at once while a worker loads: it waits for that load (or for a busy worker the load should have freed it from).
      if (this.#queue.some((job) => job.id === id) && this.#workers.some((w) => w.state === 'loading')) handle.coldStart = true;
    });
    return handle;
  }

  /** Drops a queued job whose caller gave up; a job already running finishes and is ignored. */
  cancel(id: number): void {
    const index = this.#queue.findIndex((j) => j.id === id);
    if (index >= 0) this.#queue.splice(index, 1)[0]?.reject(new EngineError('aborted', 'cancelled'));
  }

  /** Safe at any moment; resolves once every worker has exited (or, stuck, been let go). */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const closing = new EngineError('aborted', `${this.#options.name} engine closed`);
    for (const waiter of this.#readyWaiters.splice(0)) waiter.reject(closing);
    for (const job of this.#queue.splice(0)) job.reject(closing);
    for (const entry of [...this.#workers]) {
      entry.job?.reject(closing);
      entry.job = null;
      this.#retire(entry);
    }
    await this.#allExited();
  }

  async #allExited(): Promise<void> {
    const timeoutMs = this.#options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    await Promise.all(
      [...this.#leaving].map(async (entry) => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(() => resolve('timeout'), timeoutMs);
          timer.unref?.();
        });
        const outcome = await Promise.race([entry.exited.then(() => 'exited' as const), timeout]);
        clearTimeout(timer);
        // Still inside a model load or a job: terminating it there could abort the process,
        // so it is let go (it no longer keeps the process alive) and exits when it is done.
        if (outcome === 'timeout') entry.thread.unref();
      }),
    );
  }

  #throwIfUnusable(): void {
    if (this.#fatal) throw this.#fatal;
    if (this.#closing) throw new EngineError('unavailable', `${this.#options.name} engine is closed`);
  }

  #resize(): void {
    const live = () => this.#workers.filter((w) => !w.leaving);
    const kept = Math.min(this.#maxWorkers, this.#target + this.#spareWorkers);
    while (live().length < kept) {
      if (live().length > 0 && this.#options.canAddWorker && !this.#options.canAddWorker()) break;
      this.#spawn();
    }
    // Short of memory for a spare is not short of memory for the target.
    this.#memoryLimited = live().length < this.#target;
    let surplus = live().length - kept;
    // Idle workers leave first, then ones still loading, then busy ones after their job.
    const order = (w: PoolWorker<Result>) => (w.state === 'ready' && !w.job ? 0 : w.state === 'loading' ? 1 : 2);
    for (const entry of live().sort((a, b) => order(a) - order(b))) {
      if (surplus <= 0) break;
      this.#retire(entry);
      surplus--;
    }
  }

  /** Stops giving it work and asks it to leave; it exits when it is between jobs. */
  #retire(entry: PoolWorker<Result>): void {
    entry.leaving = true;
    this.#workers = this.#workers.filter((w) => w !== entry);
    this.#leaving.add(entry);
    if (!entry.job) this.#sendClose(entry);
  }

  #sendClose(entry: PoolWorker<Result>): void {
    if (entry.closeSent) return;
    entry.closeSent = true;
    try {
      entry.thread.postMessage({ type: 'close' });
    } catch {
      // Already gone: its exit event settles it.
    }
  }

  #spawn(): void {
    const thread = this.#options.createThread ? this.#options.createThread() : new Worker(this.#options.script, { workerData: this.#options.workerData });
    let onExit: () => void = () => {};
    const exited = new Promise<void>((resolve) => (onExit = resolve));
    const entry: PoolWorker<Result> = { thread, jobsTaken: 0, state: 'loading', leaving: false, closeSent: false, job: null, exited };
    this.#started++;
    this.#workers.push(entry);
    thread.on('message', (raw: unknown) => this.#onMessage(entry, raw));
    thread.on('error', (error: Error) => this.#onCrash(entry, `crashed: ${error.message}`));
    thread.on('exit', (code: number) => {
      onExit();
      this.#leaving.delete(entry);
      this.#onCrash(entry, `exited with code ${code}`);
    });
  }

  #onMessage(entry: PoolWorker<Result>, raw: unknown): void {
    const parsed = WorkerMessage.safeParse(raw);
    if (!parsed.success) return;
    const message = parsed.data;
    switch (message.type) {
      case 'ready': {
        entry.state = 'ready';
        if (entry.leaving) return;
        const { type: _type, ...info } = message;
        this.#readyInfo ??= info;
        for (const waiter of this.#readyWaiters.splice(0)) waiter.resolve();
        this.#dispatch();
        return;
      }
      case 'init-error':
        if (entry.leaving) return;
        this.#fail(new EngineError('unavailable', `${this.#options.name} could not load its models: ${message.message.split('\n')[0] ?? ''}`));
        return;
      case 'result':
      case 'error': {
        const job = entry.job;
        entry.job = null;
        if (job && job.id === message.id) {
          if (message.type === 'result') {
            try {
              job.resolve(this.#options.parseResult(message.result));
            } catch (error) {
              job.reject(new EngineError('transient', `${this.#options.name}: unexpected worker output (${(error as Error).message.split('\n')[0]})`));
            }
          } else job.reject(new EngineError(message.decode ? 'permanent' : 'transient', `${this.#options.name}: ${message.message}`));
        }
        if (entry.leaving) this.#sendClose(entry);
        else this.#dispatch();
        return;
      }
    }
  }

  /** A worker that was not asked to leave went away: replace it, within the restart budget. */
  #onCrash(entry: PoolWorker<Result>, reason: string): void {
    const index = this.#workers.indexOf(entry);
    if (index < 0) return;
    this.#workers.splice(index, 1);
    entry.job?.reject(new EngineError('transient', `${this.#options.name} worker ${reason}`));
    entry.job = null;
    if (this.#closing || this.#fatal) return;
    this.#crashTimes.push(this.#now());
    if (this.#recentCrashes() > this.#budget.crashes) {
      this.#fail(new EngineError('unavailable', `${this.#options.name} workers keep failing (${this.#recentCrashes()} crashes within ${Math.round(this.#budget.windowMs / 1000)} s; last: ${reason})`));
      return;
    }
    this.#resize();
    this.#dispatch();
  }

  #recentCrashes(): number {
    const since = this.#now() - this.#budget.windowMs;
    while (this.#crashTimes.length > 0 && this.#crashTimes[0]! <= since) this.#crashTimes.shift();
    return this.#crashTimes.length;
  }

  #fail(error: EngineError): void {
    this.#fatal = error;
    for (const waiter of this.#readyWaiters.splice(0)) waiter.reject(error);
    for (const job of this.#queue.splice(0)) job.reject(error);
    for (const entry of [...this.#workers]) {
      entry.job?.reject(error);
      entry.job = null;
      this.#retire(entry);
    }
  }

  #dispatch(): void {
    for (const entry of this.#workers) {
      if (entry.state !== 'ready' || entry.job) continue;
      const job = this.#queue.shift();
      if (!job) return;
      entry.job = job;
      if (entry.jobsTaken++ === 0) job.handle.coldStart = true;
      // A copy in its own ArrayBuffer, transferred: the caller keeps its bytes. (Buffer#slice
      // is a view, often of Node's shared pool, which cannot be transferred: DataCloneError.)
      const copy = new Uint8Array(job.bytes);
      entry.thread.postMessage({ id: job.id, bytes: copy, options: this.#options.jobOptions }, [copy.buffer]);
    }
  }
}

function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.round(n)));
}
