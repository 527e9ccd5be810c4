/**
 * CI soak: 100 000 ads through fast fake engines (1% random transient failures) on the real
 * orchestrator and SQLite store. It must finish with no ad lost or finished twice, stored
 * exactly once, no event-loop stall over 200 ms, coalesced progress events and bounded
 * memory. `scripts/soak.ts` runs bigger or slower variants.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { formatFigures, readFigures, recordFigures } from './figures.js';
import { describeSoak, runSoak } from './soak-run.js';

afterAll(() => console.log(`\nReliability figures so far:\n${formatFigures(readFigures())}\n`));

describe('soak', () => {
  it('100 000 ads, 1% random failures: finishes, nothing lost or doubled, no stall over 200 ms, memory bounded', async () => {
    const report = await runSoak({ ads: 100_000, failureRate: 0.01, latencyMs: 0, store: 'sqlite', seed: 7 });
    console.log(describeSoak(report));
    recordFigures(report.figures);
    expect(report.figures.lost, 'ads lost').toBe(0);
    expect(report.figures.twice, 'ads finished twice').toBe(0);
    expect(report.figures.done + report.figures.failed).toBe(100_000);
    expect(report.storedOnce, 'one result row per ad in SQLite').toBe(true);
    expect(report.injectedFailures, 'failures were injected').toBeGreaterThan(500);
    // Stalls are judged by this process's own CPU time in the gap (the test machine is shared; the wall-clock figures are printed).
    expect(report.maxStallMs, `worst event-loop stall by own work (ms): start-up ${JSON.stringify(report.startupGap)}, steady ${JSON.stringify(report.steadyGap)}`).toBeLessThan(200);
    // Coalesced: about 10 progress events per second, never one per ad.
    expect(report.progressEvents).toBeLessThan(report.seconds * 15 + 5);
    expect(report.peakRssMb, 'peak RSS (MB)').toBeLessThan(1024);
    expect(report.rssGrowthAfterQuarterMb, 'RSS growth after the first quarter (MB)').toBeLessThan(256);
  });
});
