import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './breaker.js';

describe('CircuitBreaker', () => {
  it('opens after `threshold` failures in a row, not before', () => {
    const breaker = new CircuitBreaker({ threshold: 3, baseCooldownMs: 1000 });
    expect(breaker.onFailure(0)).toBe(false);
    expect(breaker.onFailure(0)).toBe(false);
    expect(breaker.allows(0)).toBe(true);
    expect(breaker.onFailure(10)).toBe(true);
    expect(breaker.state(10)).toEqual({ type: 'open', until: 1010 });
    expect(breaker.allows(1009)).toBe(false);
  });

  it('a success in between resets the count', () => {
    const breaker = new CircuitBreaker({ threshold: 2 });
    breaker.onFailure(0);
    breaker.onSuccess();
    expect(breaker.onFailure(0)).toBe(false);
  });

  it('lets exactly one probe through when half-open; a good probe closes it', () => {
    const breaker = new CircuitBreaker({ threshold: 1, baseCooldownMs: 100 });
    breaker.onFailure(0);
    expect(breaker.allows(100)).toBe(true);
    breaker.onStart(100);
    expect(breaker.allows(100)).toBe(false);
    breaker.onSuccess();
    expect(breaker.state(100).type).toBe('closed');
  });

  it('a bad probe reopens it for twice as long, up to the maximum', () => {
    const breaker = new CircuitBreaker({ threshold: 1, baseCooldownMs: 100, maxCooldownMs: 300 });
    breaker.onFailure(0);
    breaker.onStart(100);
    expect(breaker.onFailure(100)).toBe(true);
    expect(breaker.state(100)).toEqual({ type: 'open', until: 300 });
    breaker.onStart(300);
    breaker.onFailure(300);
    expect(breaker.state(300)).toEqual({ type: 'open', until: 600 });
  });

  it('an abandoned probe frees the probe slot', () => {
    const breaker = new CircuitBreaker({ threshold: 1, baseCooldownMs: 10 });
    breaker.onFailure(0);
    breaker.onStart(10);
    breaker.onAbandon(10);
    expect(breaker.allows(10)).toBe(true);
  });
});

describe('CircuitBreaker: how long a lane has been failing', () => {
  it('remembers the first failure of the streak and counts failed probes; a success forgets both', () => {
    const breaker = new CircuitBreaker({ threshold: 2, baseCooldownMs: 100 });
    expect(breaker.failingSince).toBeNull();
    breaker.onFailure(50);
    breaker.onFailure(60);
    expect(breaker.failingSince).toBe(50);
    expect(breaker.failedProbes).toBe(0);
    breaker.onStart(160);
    breaker.onFailure(170);
    breaker.onStart(370);
    breaker.onFailure(380);
    expect(breaker.failedProbes).toBe(2);
    expect(breaker.failingSince).toBe(50);
    breaker.onStart(780);
    breaker.onSuccess();
    expect(breaker.failingSince).toBeNull();
    expect(breaker.failedProbes).toBe(0);
    breaker.onFailure(900);
    expect(breaker.failingSince).toBe(900);
  });
});
