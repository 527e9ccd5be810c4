import { describe, expect, it } from 'vitest';
import { PageCache } from './pageCache.js';

describe('PageCache', () => {
  it('asks only for pages that cover the range and are not loaded or loading', () => {
    const cache = new PageCache<number>(100);
    expect(cache.pagesToLoad(150, 420)).toEqual([1, 2, 3, 4]);
    cache.markLoading(1);
    cache.store(2, Array.from({ length: 100 }, (_, i) => 200 + i), 1000);
    expect(cache.pagesToLoad(150, 420)).toEqual([3, 4]);
    expect(cache.row(250)).toBe(250);
    expect(cache.row(150)).toBeUndefined();
  });

  it('keeps stale rows visible while asking for them again', () => {
    const cache = new PageCache<string>(2);
    cache.store(0, ['a', 'b'], 10);
    cache.markStale();
    expect(cache.row(1)).toBe('b');
    expect(cache.pagesToLoad(0, 1)).toEqual([0]);
  });

  it('marks other pages stale when the total changes', () => {
    const cache = new PageCache<string>(2);
    cache.store(0, ['a', 'b'], 10);
    cache.store(1, ['c', 'd'], 12);
    expect(cache.pagesToLoad(0, 3)).toEqual([0]);
  });

  it('evicts pages far from the viewport', () => {
    const cache = new PageCache<number>(10);
    for (let page = 0; page < 100; page++) cache.store(page, [page], 1000);
    cache.evictOutside(500, 510, 2);
    expect(cache.row(0)).toBeUndefined();
    expect(cache.row(500)).toBe(50);
    expect(cache.row(480)).toBe(48);
  });
});
