import { describe, expect, it } from 'vitest';
import type { Task } from './lane.js';
import { TaskQueue } from './task-queue.js';

const task = (adIndex: number, notBefore: number, avoidLaneId: string | null = null): Task => ({
  adIndex,
  ad: { creativeId: `ad-${adIndex}`, imageUrl: '' },
  key: '',
  target: null,
  attempts: [],
  failures: 1,
  notBefore,
  avoidLaneId,
  running: [],
  finished: false,
});

const take = (queue: TaskQueue, now: number, skip: (t: Task) => boolean = () => false): Task | null | false => queue.takeDue('', now, skip, () => true);

describe('TaskQueue', () => {
  it('hands out retries by due time, whatever order they failed in, and fresh ads in list order', () => {
    const queue = new TaskQueue();
    queue.addFresh('', Int32Array.from([7, 8, 9]));
    queue.retry(task(1, 3000));
    queue.retry(task(2, 1000));
    queue.retry(task(3, 2000));
    expect(queue.size).toBe(6);
    expect(take(queue, 500)).toBeNull();
    expect(queue.nextChange(500, 0)).toBe(1000);
    expect((take(queue, 2500) as Task).adIndex).toBe(2);
    expect((take(queue, 2500) as Task).adIndex).toBe(3);
    expect(take(queue, 2500)).toBeNull();
    expect(queue.takeFresh('')).toBe(7);
    expect((take(queue, 3000) as Task).adIndex).toBe(1);
    expect(queue.size).toBe(2);
  });

  it('looks past a due retry that avoids the asking lane, puts re-queued calls first, and drains everything', () => {
    const queue = new TaskQueue();
    queue.addFresh('', Int32Array.from([5]));
    queue.retry(task(1, 0, 'lane-a'));
    queue.retry(task(2, 0));
    const avoidsA = (t: Task): boolean => t.avoidLaneId === 'lane-a';
    expect((take(queue, 10, avoidsA) as Task).adIndex).toBe(2);
    expect(take(queue, 10, avoidsA)).toBeNull();
    expect(queue.nextChange(10, 5000)).toBe(5000);
    queue.requeueFront(task(4, 10));
    expect(queue.takeDue('', 10, () => false, () => false), 'refused by admission: nothing taken').toBe(false);
    expect((take(queue, 10) as Task).adIndex).toBe(4);
    const drained: number[] = [];
    queue.drain('', (i) => drained.push(i), (t) => drained.push(t.adIndex));
    expect(drained.sort()).toEqual([1, 5]);
    expect(queue.size).toBe(0);
  });

  it('keeps 20 000 waiting retries in due order', () => {
    const queue = new TaskQueue();
    queue.addFresh('', new Int32Array(0));
    for (let i = 0; i < 20_000; i++) queue.retry(task(i, 20_000 - i));
    let last = -Infinity;
    for (let i = 0; i < 20_000; i++) {
      const next = take(queue, 1e9) as Task;
      expect(next.notBefore).toBeGreaterThanOrEqual(last);
      last = next.notBefore;
    }
    expect(queue.size).toBe(0);
  });
});
