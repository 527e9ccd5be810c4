/**
 * Waiting for a child to be ready: its ready line (fast path) and health polling (the
 * truth), with a timeout whose message names what it waited for and what it saw.
 */
import type { HealthProbe } from './health.js';

export class ReadinessError extends Error {
  override readonly name = 'ReadinessError';
  constructor(message: string, readonly reason: 'timeout' | 'exited' | 'aborted' | 'failed') {
    super(message);
  }
}

export interface ReadinessOptions {
  service: string;
  url: string;
  readyLine: RegExp;
  /** A line that means the start failed for good (e.g. the model did not load). */
  errorLine?: RegExp;
  /** Subscribe to the child's lines; returns an unsubscribe function. */
  subscribe(onLines: (lines: string[]) => void): () => void;
  probe(): Promise<HealthProbe>;
  /** Resolves when the child exits (readiness then fails at once). */
  exited: Promise<{ code: number | null; signal: string | null }>;
  timeoutMs: number;
  intervalMs?: number;
  signal?: AbortSignal;
}

export function describeWait(readyLine: RegExp, url: string): string {
  return `the line /${readyLine.source}/ and a healthy GET ${url}`;
}

export function waitForReady(options: ReadinessOptions): Promise<{ sawReadyLine: boolean; elapsedMs: number }> {
  const startedAt = Date.now();
  const intervalMs = options.intervalMs ?? 200;
  return new Promise((resolve, reject) => {
    let sawReadyLine = false;
    let lastProbe = 'not probed yet';
    let settled = false;
    let pollTimer: NodeJS.Timeout | undefined;
    let probing = false;

    const finish = (error: ReadinessError | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(pollTimer);
      clearTimeout(deadline);
      unsubscribe();
      options.signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve({ sawReadyLine, elapsedMs: Date.now() - startedAt });
    };
    const poll = async () => {
      if (settled || probing) return;
      probing = true;
      const result = await options.probe();
      probing = false;
      lastProbe = result.detail;
      if (result.healthy) return finish(null);
      if (!settled) {
        clearTimeout(pollTimer);
        pollTimer = setTimeout(poll, intervalMs);
      }
    };
    const unsubscribe = options.subscribe((lines) => {
      const failure = options.errorLine ? lines.find((line) => options.errorLine?.test(line)) : undefined;
      if (failure !== undefined) {
        finish(new ReadinessError(`${options.service} failed to start: ${failure}`, 'failed'));
        return;
      }
      if (!sawReadyLine && lines.some((line) => options.readyLine.test(line))) {
        sawReadyLine = true;
        void poll();
      }
    });
    const deadline = setTimeout(() => {
      finish(new ReadinessError(
        `${options.service} was not ready after ${Math.round(options.timeoutMs / 1000)} s: waited for ${describeWait(options.readyLine, options.url)}; ` +
          `ready line ${sawReadyLine ? 'seen' : 'not seen'}, last health check: ${lastProbe}`,
        'timeout',
      ));
    }, options.timeoutMs);
    const onAbort = () => finish(new ReadinessError(`${options.service}: start cancelled`, 'aborted'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    void options.exited.then((exit) => {
      const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
      finish(new ReadinessError(`${options.service} ${how} before it was ready`, 'exited'));
    });
    void poll();
  });
}
