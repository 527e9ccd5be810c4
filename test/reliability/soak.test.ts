/**
 * CI soak: 100 000 ads through fast fake engines (1% random transient failures) on the real
 * orchestrator and SQLite store. It must finish with no ad lost or finished twice, stored
 * exactly once, with coalesced progress events. Its stalls and memory are figures, not
 * assertions (they depend on the machine): printed here against their targets and measured
 * by `npm run bench:soak` (scripts/soak.ts), which also runs bigger or slower variants.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { formatFigures, readFigures, recordFigures } from './figures.js';
import { describeSoak, runSoak } from './soak-run.js';

afterAll(() => console.log(`\nReliability figures so far:\n${formatFigures(readFigures())}\n`));

describe('soak', () => {
  it('100 000 ads, 1% random failures: finishes, nothing lost or doubled, progress coalesced', async () => {
    const report = await runSoak({ ads: 100_000, failureRate: 0.01, latencyMs: 0, store: 'sqlite', seed: 7 });
    console.log(describeSoak(report));
    recordFigures(report.figures);
    expect(report.figures.lost, 'ads lost').toBe(0);
    expect(report.figures.twice, 'ads finished twice').toBe(0);
    expect(report.figures.done + report.figures.failed).toBe(100_000);
    expect(report.storedOnce, 'one result row per ad in SQLite').toBe(true);
    expect(report.injectedFailures, 'failures were injected').toBeGreaterThan(500);
    // Coalesced: at most ~10 progress events per second, never one per ad.
    expect(report.progressEvents).toBeLessThan(report.seconds * 15 + 5);
  });
});
