/** The suite's own arithmetic: if these were wrong, "0 lost, 0 twice" would mean nothing. */
import { describe, expect, it } from 'vitest';
import { describeReasons, formatFigures, tallyOutcomes } from './figures.js';
import { defaultReasonKind } from './harness.js';
import { parseProcNetTcp } from './net.js';

describe('tallyOutcomes', () => {
  it('counts an ad with no final result as lost and one with two as processed twice', () => {
    const tally = tallyOutcomes(
      ['a', 'b', 'c', 'd'],
      [
        { creativeId: 'a', status: 'done' },
        { creativeId: 'b', status: 'failed', error: 'HTTP 500' },
        { creativeId: 'b', status: 'done' },
        { creativeId: 'd', status: 'failed', error: 'HTTP 500' },
      ],
    );
    expect(tally).toEqual({ adsIn: 4, done: 2, failed: 2, reasons: { 'HTTP 500': 2 }, lost: 1, twice: 1 });
  });

  it('gives a reason even when a failure has none', () => {
    expect(tallyOutcomes(['a'], [{ creativeId: 'a', status: 'failed' }]).reasons).toEqual({ '(no reason given)': 1 });
  });
});

describe('the figures table', () => {
  it('sums the rows and shows the worst stall', () => {
    const row = { adsIn: 10, done: 9, failed: 1, reasons: { 'timed out': 1 }, lost: 0, twice: 0, seconds: 1 };
    const table = formatFigures([
      { scenario: 'one', ...row, maxStallMs: 12 },
      { scenario: 'two', ...row, maxStallMs: 150 },
    ]);
    expect(table).toMatch(/\| TOTAL \(2 scenarios\)\s+\| 20\s+\| 18\s+\| 2\s+\| 0\s+\| 0\s+\| -\s+\| 150 /);
    // The optional column: engine answers received twice, summed where recorded.
    const withAnswers = formatFigures([
      { scenario: 'one', ...row, maxStallMs: 12, answeredTwice: 0 },
      { scenario: 'two', ...row, maxStallMs: 150 },
    ]);
    expect(withAnswers).toMatch(/\| one\s+\| 10\s+\| 9\s+\| 1\s+\| 0\s+\| 0\s+\| 0\s+\| 12 /);
    expect(withAnswers).toMatch(/\| TOTAL \(2 scenarios\)\s+\| 20\s+\| 18\s+\| 2\s+\| 0\s+\| 0\s+\| 0\s+\| 150 /);
    expect(describeReasons({ a: 1, b: 5, c: 2, d: 1 }, 2)).toBe('b ×5; c ×2; +2 more');
  });

  it('folds hosts, ports and numbers out of failure reasons', () => {
    expect(defaultReasonKind('fetch ok | ollama-bad: transient: 127.0.0.1:43121 failed (500) after 1200 ms')).toBe('transient: HOST failed (N) after N ms');
  });
});

describe('parseProcNetTcp', () => {
  it('reads listening sockets on a port, IPv4 and IPv6', () => {
    const tcp = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0',
      '   1: 00000000:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0',
      '   2: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0',
    ].join('\n');
    expect(parseProcNetTcp(tcp, 8080, 4)).toEqual(['127.0.0.1']);
    expect(parseProcNetTcp(tcp, 8081, 4)).toEqual(['0.0.0.0']);
    const tcp6 = [
      '  sl  local_address                         remote_address                        st',
      '   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A',
      '   1: 00000000000000000000000001000000:1F91 00000000000000000000000000000000:0000 0A',
    ].join('\n');
    expect(parseProcNetTcp(tcp6, 8080, 6)).toEqual(['::']);
    expect(parseProcNetTcp(tcp6, 8081, 6)).toEqual(['::1']);
  });
});
