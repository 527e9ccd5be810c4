import { describe, expect, it } from 'vitest';
import { RestartBudget, backoffDelayMs } from './backoff.js';

describe('backoffDelayMs', () => {
  it('doubles from the base and stops at the cap', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelayMs(n, 100, 1000))).toEqual([100, 200, 400, 800]);
    expect(backoffDelayMs(5, 100, 1000)).toBe(1000);
    expect(backoffDelayMs(0, 100, 1000)).toBe(0);
  });
});

describe('RestartBudget', () => {
  it('restarts five times in a row with growing delays, then gives up', () => {
    const budget = new RestartBudget({ baseMs: 10, maxInARow: 5 });
    const decisions = Array.from({ length: 6 }, (_, i) => budget.onCrash(i));
    expect(decisions.slice(0, 5)).toEqual([10, 20, 40, 80, 160].map((delayMs, i) => ({ type: 'restart', attempt: i + 1, delayMs })));
    expect(decisions[5]).toEqual({ type: 'give-up', attempts: 5 });
  });

  it('gives a child that stayed ready long enough a fresh budget', () => {
    const budget = new RestartBudget({ baseMs: 10, maxInARow: 2, stableMs: 1000 });
    budget.onCrash(0);
    budget.markReady(100);
    expect(budget.onCrash(500)).toMatchObject({ attempt: 2 }); // ready only 400 ms: still in a row
    budget.markReady(600);
    expect(budget.onCrash(5000)).toMatchObject({ type: 'restart', attempt: 1 });
  });

  it('starts over after a deliberate start', () => {
    const budget = new RestartBudget({ maxInARow: 1 });
    budget.onCrash(0);
    expect(budget.onCrash(1).type).toBe('give-up');
    budget.reset();
    expect(budget.onCrash(2).type).toBe('restart');
  });
});
