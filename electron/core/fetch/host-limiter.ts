/** At most N requests in flight per host, so one slow CDN does not see 64 connections at once. */
export class HostLimiter {
  private readonly hosts = new Map<string, { active: number; waiting: Array<() => void> }>();
  constructor(private readonly perHost: number) {}

  async run<T>(host: string, task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(host, signal);
    try {
      return await task();
    } finally {
      this.release(host);
    }
  }

  activeFor(host: string): number {
    return this.hosts.get(host)?.active ?? 0;
  }

  private acquire(host: string, signal?: AbortSignal): Promise<void> {
    let slot = this.hosts.get(host);
    if (!slot) {
      slot = { active: 0, waiting: [] };
      this.hosts.set(host, slot);
    }
    if (slot.active < this.perHost) {
      slot.active++;
      return Promise.resolve();
    }
    const entry = slot;
    return new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        const index = entry.waiting.indexOf(grant);
        if (index >= 0) entry.waiting.splice(index, 1);
        reject(signal?.reason ?? new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      entry.waiting.push(grant);
    });
  }

  private release(host: string): void {
    const slot = this.hosts.get(host);
    if (!slot) return;
    const next = slot.waiting.shift();
    // The slot passes straight to the next waiter; active stays the same.
    if (next) return next();
    slot.active--;
    if (slot.active === 0) this.hosts.delete(host);
  }
}
