/**
 * The run's queued work, per queue key ('' for the shared queue; one per engine in
 * `compare`): fresh ads in list order (an index array and a head), retries waiting for
 * their backoff in a heap ordered by due time, and retries that are due in a FIFO. Every
 * operation a scheduling pass makes is O(1) or O(log n), so 20 000 ads waiting for a retry
 * cost nothing until they are due (a linear scan per pass made that quadratic).
 */
import type { Task } from './lane.js';

/** A retry that avoids the lane asking is looked past, but only this far into the due list. */
const MAX_SKIPPED = 64;

interface Waiting {
  task: Task;
  seq: number;
}

function earlier(a: Waiting, b: Waiting): boolean {
  return a.task.notBefore < b.task.notBefore || (a.task.notBefore === b.task.notBefore && a.seq < b.seq);
}

/** Min-heap of retries by due time (ties: first queued first). */
class DueHeap {
  private readonly items: Waiting[] = [];
  private seq = 0;

  get size(): number {
    return this.items.length;
  }

  peek(): Task | undefined {
    return this.items[0]?.task;
  }

  push(task: Task): void {
    const items = this.items;
    items.push({ task, seq: this.seq++ });
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!earlier(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): Task | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (!top || !last || items.length === 0) return top?.task;
    items[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < items.length && earlier(items[left]!, items[smallest]!)) smallest = left;
      if (right < items.length && earlier(items[right]!, items[smallest]!)) smallest = right;
      if (smallest === i) return top.task;
      [items[i], items[smallest]] = [items[smallest]!, items[i]!];
      i = smallest;
    }
  }
}

/** A double-ended queue with removal near the front (for a retry that another lane should take). */
class Deque {
  private items: Array<Task | undefined> = [];
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  at(offset: number): Task | undefined {
    return this.items[this.head + offset];
  }

  pushBack(task: Task): void {
    this.items.push(task);
  }

  pushFront(task: Task): void {
    if (this.head === 0) {
      const slack = Math.max(16, this.size);
      this.items = [...new Array<Task | undefined>(slack), ...this.items.slice(this.head)];
      this.head = slack;
    }
    this.items[--this.head] = task;
  }

  /** Removes the item at `offset` from the front: O(offset). */
  removeAt(offset: number): Task {
    const items = this.items;
    const task = items[this.head + offset]!;
    for (let j = this.head + offset; j > this.head; j--) items[j] = items[j - 1];
    items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > items.length) {
      this.items = items.slice(this.head);
      this.head = 0;
    }
    return task;
  }
}

interface KeyQueue {
  fresh: Int32Array;
  head: number;
  waiting: DueHeap;
  ready: Deque;
}

export class TaskQueue {
  private readonly queues = new Map<string, KeyQueue>();
  private total = 0;

  addFresh(key: string, indices: Int32Array): void {
    this.queues.set(key, { fresh: indices, head: 0, waiting: new DueHeap(), ready: new Deque() });
    this.total += indices.length;
  }

  keys(): IterableIterator<string> {
    return this.queues.keys();
  }

  /** Everything queued (fresh and retries), over all keys. */
  get size(): number {
    return this.total;
  }

  sizeOf(key: string): number {
    const queue = this.queues.get(key);
    return queue ? queue.fresh.length - queue.head + queue.waiting.size + queue.ready.size : 0;
  }

  freshLeft(key: string): number {
    const queue = this.queues.get(key);
    return queue ? queue.fresh.length - queue.head : 0;
  }

  /** Calls `each` with the indices of the next `count` fresh ads of `key`, without taking them. */
  peekFresh(key: string, count: number, each: (index: number) => void): void {
    const queue = this.queues.get(key);
    if (!queue) return;
    const end = Math.min(queue.fresh.length, queue.head + count);
    for (let i = queue.head; i < end; i++) each(queue.fresh[i]!);
  }

  takeFresh(key: string): number | undefined {
    const queue = this.queues.get(key);
    if (!queue || queue.head >= queue.fresh.length) return undefined;
    this.total--;
    return queue.fresh[queue.head++]!;
  }

  /** Queues a retry for `task.notBefore`. */
  retry(task: Task): void {
    this.require(task.key).waiting.push(task);
    this.total++;
  }

  /** A call aborted for scheduling reasons: its ad is due now and first in line. */
  requeueFront(task: Task): void {
    this.require(task.key).ready.pushFront(task);
    this.total++;
  }

  /**
   * The first due retry of `key` that `skip` does not pass over (looking at most
   * MAX_SKIPPED deep), removed from the queue if `admit` agrees; null when there is none,
   * false when `admit` refused it (the lane takes nothing now).
   */
  takeDue(key: string, now: number, skip: (task: Task) => boolean, admit: () => boolean): Task | null | false {
    const queue = this.queues.get(key);
    if (!queue) return null;
    this.promote(queue, now);
    const depth = Math.min(queue.ready.size, MAX_SKIPPED);
    for (let offset = 0; offset < depth; offset++) {
      if (skip(queue.ready.at(offset)!)) continue;
      if (!admit()) return false;
      this.total--;
      return queue.ready.removeAt(offset);
    }
    return null;
  }

  /** Whether any retry of `key` is due now. */
  hasDue(key: string, now: number): boolean {
    const queue = this.queues.get(key);
    return !!queue && (queue.ready.size > 0 || (queue.waiting.size > 0 && queue.waiting.peek()!.notBefore <= now));
  }

  /** The next moment something queued changes: a retry becomes due, or a due retry stops avoiding its lane. */
  nextChange(now: number, preferOtherLaneMs: number): number {
    let next = Infinity;
    for (const queue of this.queues.values()) {
      this.promote(queue, now);
      const top = queue.waiting.peek();
      if (top) next = Math.min(next, top.notBefore);
      const depth = Math.min(queue.ready.size, MAX_SKIPPED);
      for (let offset = 0; offset < depth; offset++) {
        const task = queue.ready.at(offset)!;
        const end = task.notBefore + preferOtherLaneMs;
        if (task.avoidLaneId !== null && end > now) next = Math.min(next, end);
      }
    }
    return next;
  }

  /** Empties the queue of `key`: fresh ads as indices, retries as tasks (the stranded work of an outage). */
  drain(key: string, onFresh: (adIndex: number) => void, onRetry: (task: Task) => void): void {
    const queue = this.queues.get(key);
    if (!queue) return;
    while (queue.head < queue.fresh.length) {
      this.total--;
      onFresh(queue.fresh[queue.head++]!);
    }
    while (queue.ready.size > 0) {
      this.total--;
      onRetry(queue.ready.removeAt(0));
    }
    while (queue.waiting.size > 0) {
      this.total--;
      onRetry(queue.waiting.pop()!);
    }
  }

  /** Retries whose backoff is over move to the due list, in due order. */
  private promote(queue: KeyQueue, now: number): void {
    while (queue.waiting.size > 0 && queue.waiting.peek()!.notBefore <= now) queue.ready.pushBack(queue.waiting.pop()!);
  }

  private require(key: string): KeyQueue {
    const queue = this.queues.get(key);
    if (!queue) throw new Error(`no queue ${JSON.stringify(key)}`);
    return queue;
  }
}
