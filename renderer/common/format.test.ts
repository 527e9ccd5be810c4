import { describe, expect, it } from 'vitest';
import { formatCount, formatMs, formatPercent, formatSeconds, fraction } from './format.js';

describe('formatSeconds', () => {
  it('scales from seconds to hours', () => {
    expect(formatSeconds(3.42)).toBe('3.4 s');
    expect(formatSeconds(42.4)).toBe('42 s');
    expect(formatSeconds(185)).toBe('3 min 05 s');
    expect(formatSeconds(2 * 3600 + 4 * 60 + 10)).toBe('2 h 04 min');
  });
  it('shows a dash for unknown values', () => {
    expect(formatSeconds(null)).toBe('—');
    expect(formatSeconds(Number.NaN)).toBe('—');
    expect(formatSeconds(-1)).toBe('—');
  });
});

describe('other formatters', () => {
  it('formats milliseconds, percents and counts', () => {
    expect(formatMs(640)).toBe('640 ms');
    expect(formatMs(3400)).toBe('3.4 s');
    expect(formatMs(null)).toBe('—');
    expect(formatPercent(0.374)).toBe('37 %');
    expect(formatCount(100000)).toBe('100,000');
  });
  it('clamps fractions and treats an empty batch as zero', () => {
    expect(fraction(5, 10)).toBe(0.5);
    expect(fraction(12, 10)).toBe(1);
    expect(fraction(3, 0)).toBe(0);
  });
});
