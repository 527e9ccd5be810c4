import { afterEach, describe, expect, it, vi } from 'vitest';
import { LOG_COALESCE_MS, LogChannel } from './log-channel.js';

afterEach(() => vi.useRealTimers());

describe('LogChannel', () => {
  it('keeps the last lines and sends a burst as one event', () => {
    vi.useFakeTimers();
    const sent: string[][] = [];
    const channel = new LogChannel((lines) => sent.push(lines), 3);
    channel.push(['a', 'b']);
    channel.note('restarting');
    channel.push(['c']);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(LOG_COALESCE_MS);
    expect(sent).toEqual([['a', 'b', '[parallel-vision] restarting', 'c']]);
    expect(channel.tail()).toEqual(['b', '[parallel-vision] restarting', 'c']);
    channel.push(['d']);
    channel.close();
    expect(sent.at(-1)).toEqual(['d']);
    vi.advanceTimersByTime(LOG_COALESCE_MS);
    expect(sent).toHaveLength(2);
  });
});
