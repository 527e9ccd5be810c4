import { describe, expect, it } from 'vitest';
import { Semaphore } from './semaphore.js';

/** A task that runs until its `finish` is called, recording when it started. */
function gate(started: string[], name: string): { task: () => Promise<string>; finish: () => void } {
  let finish = (): void => {};
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    task: async () => {
      started.push(name);
      await done;
      return name;
    },
    finish: () => finish(),
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('Semaphore', () => {
  it('runs at most `limit` tasks at once, the others in arrival order as slots free up', async () => {
    const semaphore = new Semaphore(2);
    const started: string[] = [];
    const gates = ['a', 'b', 'c', 'd'].map((name) => gate(started, name));
    const results = gates.map((g) => semaphore.run(g.task));
    await settle();
    expect(started).toEqual(['a', 'b']);
    expect({ active: semaphore.active, waiting: semaphore.waiting }).toEqual({ active: 2, waiting: 2 });
    gates[1]!.finish();
    await settle();
    expect(started).toEqual(['a', 'b', 'c']);
    expect({ active: semaphore.active, waiting: semaphore.waiting }).toEqual({ active: 2, waiting: 1 });
    gates[0]!.finish();
    gates[2]!.finish();
    gates[3]!.finish();
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c', 'd']);
    expect({ active: semaphore.active, waiting: semaphore.waiting }).toEqual({ active: 0, waiting: 0 });
  });

  it('frees the slot of a task that fails', async () => {
    const semaphore = new Semaphore(1);
    await expect(semaphore.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(semaphore.active).toBe(0);
    expect(await semaphore.run(async () => 'next')).toBe('next');
  });

  it('a waiting task whose signal fires leaves the queue with the reason; the task holding the slot keeps it', async () => {
    const semaphore = new Semaphore(1);
    const started: string[] = [];
    const holder = gate(started, 'holder');
    const held = semaphore.run(holder.task);
    const controller = new AbortController();
    const waiting = semaphore.run(async () => 'never', controller.signal);
    await settle();
    expect(semaphore.waiting).toBe(1);
    controller.abort(new Error('cancelled'));
    await expect(waiting).rejects.toThrow('cancelled');
    expect({ active: semaphore.active, waiting: semaphore.waiting }).toEqual({ active: 1, waiting: 0 });
    holder.finish();
    expect(await held).toBe('holder');
    expect(semaphore.active).toBe(0);
  });

  it('a task with an already-aborted signal that would have to wait is rejected at once', async () => {
    const semaphore = new Semaphore(1);
    const holder = gate([], 'holder');
    const held = semaphore.run(holder.task);
    await expect(semaphore.run(async () => 'never', AbortSignal.abort(new Error('gone')))).rejects.toThrow('gone');
    expect(semaphore.waiting).toBe(0);
    holder.finish();
    await held;
  });

  it('rejects a limit that is not a positive integer', () => {
    expect(() => new Semaphore(0)).toThrow(/positive integer, got 0/);
    expect(() => new Semaphore(1.5)).toThrow(/positive integer, got 1.5/);
  });
});
