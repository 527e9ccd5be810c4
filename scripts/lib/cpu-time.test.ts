import { describe, expect, it } from 'vitest';
import { cpuSnapshot, parseProcStatCpu, processCpuSeconds } from './cpu-time.js';

describe('cpu-time', () => {
  it('reads utime + stime + cutime + cstime from a /proc stat line whose command holds spaces and parentheses', () => {
    const line = '4242 (python (uvicorn) x) S 1 4242 4242 0 -1 4194304 100 0 0 0 250 50 7 3 20 0 4 0 1234 0 0';
    expect(parseProcStatCpu(line)).toBeCloseTo(3.1, 9);
    expect(() => parseProcStatCpu('4242 (x) S 1')).toThrow(/unexpected \/proc stat line/);
  });

  it('reads this process, and nothing for a pid that does not exist', () => {
    if (process.platform === 'linux') expect(processCpuSeconds(process.pid)).toBeGreaterThan(0);
    expect(processCpuSeconds(2 ** 30)).toBeNull();
    const snapshot = cpuSnapshot();
    expect(snapshot.process_s).toBeGreaterThan(0);
    if (snapshot.mainThread_s !== null) expect(snapshot.mainThread_s).toBeLessThanOrEqual(snapshot.process_s);
  });
});
