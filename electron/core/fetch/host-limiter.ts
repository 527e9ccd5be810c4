import { Semaphore } from '../lib/semaphore.js';

/**
 * At most N requests in flight per host, so one slow CDN does not see 64 connections at
 * once: one Semaphore per host, made when the host is first asked for and dropped when
 * it has nothing running or waiting (a list of ads can name thousands of hosts).
 */
export class HostLimiter {
  private readonly hosts = new Map<string, Semaphore>();
  constructor(private readonly perHost: number) {}

  async run<T>(host: string, task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    let slots = this.hosts.get(host);
    if (!slots) {
      slots = new Semaphore(this.perHost);
      this.hosts.set(host, slots);
    }
    try {
      return await slots.run(task, signal);
    } finally {
      if (slots.active === 0 && slots.waiting === 0 && this.hosts.get(host) === slots) this.hosts.delete(host);
    }
  }
}
