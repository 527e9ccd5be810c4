/**
 * A pool of worker threads that each load a model once and then handle one job at a time,
 * with a FIFO queue; crashed workers are replaced. The model-specific parts (which script,
 * what a result looks like, the per-job options) come from the engine that owns the pool,
 * so the pool's lifecycle lives in one place apart from any model pipeline.
 *
 * Worker protocol: first `{ type: 'ready', ... }` or `{ type: 'init-error', message }`, then
 * per job `{ type: 'result', id, result }` or `{ type: 'error', id, message, decode }`
 * (`decode`: the input itself is unreadable); a `{ type: 'close' }` message asks it to
 * release its models and exit.
 */
import { Worker } from 'node:worker_threads';
import { z } from 'zod';
import { EngineError } from '../types.js';

const WORKER_CLOSE_TIMEOUT_MS = 10_000;

const WorkerMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready') }).passthrough(),
  z.object({ type: z.literal('init-error'), message: z.string() }),
  z.object({ type: z.literal('result'), id: z.number(), result: z.unknown() }),
  z.object({ type: z.literal('error'), id: z.number(), message: z.string(), decode: z.boolean() }),
]);
/** The first `ready` message (without its type): what the worker tells about its models. */
export type ReadyInfo = Record<string, unknown>;

export interface WorkerPoolOptions<Result> {
  /** What the pool and its errors are called, e.g. "embedded OCR". */
  name: string;
  script: string | URL;
  workerData?: unknown;
  size: number;
  /** Validates a job's raw result (zod); a result that does not parse fails the job. */
  parseResult(raw: unknown): Result;
  /** Sent with every job beside its bytes. */
  jobOptions?: unknown;
  maxRestarts: number;
}

interface Job<Result> {
  id: number;
  bytes: Uint8Array;
  resolve: (result: Result) => void;
  reject: (error: EngineError) => void;
}

interface PoolWorker<Result> {
  worker: Worker;
  ready: boolean;
  job: Job<Result> | null;
}

export class WorkerPool<Result> {
  #workers: PoolWorker<Result>[] = [];
  #queue: Job<Result>[] = [];
  #nextId = 1;
  #restarts = 0;
  #closed = false;
  #fatal: EngineError | null = null;
  #readyInfo: ReadyInfo | null = null;
  #readyWaiters: Array<{ resolve: () => void; reject: (e: EngineError) => void }> = [];

  constructor(readonly options: WorkerPoolOptions<Result>) {}

  get size(): number {
    return this.options.size;
  }

  /** What the first ready worker said about its models; throws before any is ready. */
  get readyInfo(): ReadyInfo {
    if (!this.#readyInfo) throw new EngineError('unavailable', `${this.options.name} is not ready`);
    return this.#readyInfo;
  }

  /** Starts the workers if needed and resolves once at least one has loaded the models. */
  async ready(): Promise<void> {
    if (this.#fatal) throw this.#fatal;
    if (this.#closed) throw new EngineError('unavailable', `${this.options.name} engine is closed`);
    while (this.#workers.length < this.options.size) this.#spawn();
    if (this.#workers.some((w) => w.ready)) return;
    await new Promise<void>((resolve, reject) => this.#readyWaiters.push({ resolve, reject }));
  }

  run(bytes: Uint8Array): { id: number; result: Promise<Result> } {
    const id = this.#nextId++;
    const result = new Promise<Result>((resolve, reject) => {
      if (this.#fatal) return reject(this.#fatal);
      if (this.#closed) return reject(new EngineError('aborted', `${this.options.name} engine closed`));
      this.#queue.push({ id, bytes, resolve, reject });
      this.#dispatch();
    });
    return { id, result };
  }

  /** Drops a queued job whose caller gave up; a job already running finishes and is ignored. */
  cancel(id: number): void {
    const index = this.#queue.findIndex((j) => j.id === id);
    if (index >= 0) this.#queue.splice(index, 1)[0]?.reject(new EngineError('aborted', 'cancelled'));
  }

  async close(): Promise<void> {
    this.#closed = true;
    const closing = new EngineError('aborted', `${this.options.name} engine closed`);
    for (const job of this.#queue) job.reject(closing);
    this.#queue = [];
    const workers = this.#workers;
    this.#workers = [];
    await Promise.all(workers.map((w) => this.#stopGracefully(w, closing)));
  }

  /**
   * Asks a worker to finish its image and release its models, then waits for it to exit;
   * terminating a worker in the middle of an onnxruntime call can abort the process.
   */
  async #stopGracefully(entry: PoolWorker<Result>, reason: EngineError): Promise<void> {
    entry.job?.reject(reason);
    entry.job = null;
    const exited = new Promise<void>((resolve) => entry.worker.once('exit', () => resolve()));
    if (!entry.ready) {
      await entry.worker.terminate();
      return;
    }
    entry.worker.postMessage({ type: 'close' });
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), WORKER_CLOSE_TIMEOUT_MS).unref());
    if ((await Promise.race([exited, timeout])) === 'timeout') await entry.worker.terminate();
  }

  #spawn(): void {
    const worker = new Worker(this.options.script, { workerData: this.options.workerData });
    const entry: PoolWorker<Result> = { worker, ready: false, job: null };
    this.#workers.push(entry);
    worker.on('message', (raw: unknown) => this.#onMessage(entry, raw));
    worker.on('error', (error) => this.#onExit(entry, `crashed: ${error.message}`));
    worker.on('exit', (code) => this.#onExit(entry, `exited with code ${code}`));
  }

  #onMessage(entry: PoolWorker<Result>, raw: unknown): void {
    const parsed = WorkerMessage.safeParse(raw);
    if (!parsed.success) return;
    const message = parsed.data;
    switch (message.type) {
      case 'ready': {
        entry.ready = true;
        const { type: _type, ...info } = message;
        this.#readyInfo ??= info;
        for (const waiter of this.#readyWaiters.splice(0)) waiter.resolve();
        this.#dispatch();
        return;
      }
      case 'init-error':
        this.#fail(new EngineError('unavailable', `${this.options.name} could not load its models: ${message.message.split('\n')[0] ?? ''}`));
        return;
      case 'result':
      case 'error': {
        const job = entry.job;
        entry.job = null;
        if (job && job.id === message.id) {
          if (message.type === 'result') {
            try {
              job.resolve(this.options.parseResult(message.result));
            } catch (error) {
              job.reject(new EngineError('transient', `${this.options.name}: unexpected worker output (${(error as Error).message.split('\n')[0]})`));
            }
          } else job.reject(new EngineError(message.decode ? 'permanent' : 'transient', `${this.options.name}: ${message.message}`));
        }
        this.#dispatch();
        return;
      }
    }
  }

  #onExit(entry: PoolWorker<Result>, reason: string): void {
    const index = this.#workers.indexOf(entry);
    if (index < 0) return;
    this.#workers.splice(index, 1);
    entry.job?.reject(new EngineError('transient', `${this.options.name} worker ${reason}`));
    entry.job = null;
    if (this.#closed || this.#fatal) return;
    if (++this.#restarts > this.options.maxRestarts) {
      this.#fail(new EngineError('unavailable', `${this.options.name} workers keep failing (last: ${reason})`));
      return;
    }
    this.#spawn();
  }

  #fail(error: EngineError): void {
    this.#fatal = error;
    for (const waiter of this.#readyWaiters.splice(0)) waiter.reject(error);
    for (const job of this.#queue.splice(0)) job.reject(error);
    void Promise.all(this.#workers.map((w) => w.worker.terminate()));
  }

  #dispatch(): void {
    for (const entry of this.#workers) {
      if (!entry.ready || entry.job) continue;
      const job = this.#queue.shift();
      if (!job) return;
      entry.job = job;
      // A copy in its own ArrayBuffer, transferred: the caller keeps its bytes. (Buffer#slice
      // is a view, often of Node's shared pool, which cannot be transferred: DataCloneError.)
      const copy = new Uint8Array(job.bytes);
      entry.worker.postMessage({ id: job.id, bytes: copy, options: this.options.jobOptions }, [copy.buffer]);
    }
  }
}
