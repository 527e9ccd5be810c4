/**
 * The long soak: N ads through fast fake engines with random transient failures on the real
 * orchestrator and SQLite store. Prints peak RSS over time, the worst event-loop stall and
 * the loss/duplicate counts beside the targets (SOAK_TARGETS), writes the whole report as
 * JSON, and exits 1 on any loss (a missed speed or memory target is reported, not an exit code).
 *
 *   npm run bench:soak -- --out soak.json
 *   npx tsx scripts/soak.ts --ads 1000000 --failure-rate 0.01 --latency-ms 0 --store sqlite --out soak.json
 *   node --expose-gc --import tsx scripts/soak.ts …   (collects garbage before each sample: the heap column shows live data)
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_SOAK, describeSoak, runSoak } from '../test/reliability/soak-run.js';

const { values } = parseArgs({
  options: {
    ads: { type: 'string', default: String(DEFAULT_SOAK.ads) },
    'failure-rate': { type: 'string', default: String(DEFAULT_SOAK.failureRate) },
    'latency-ms': { type: 'string', default: String(DEFAULT_SOAK.latencyMs) },
    store: { type: 'string', default: DEFAULT_SOAK.store },
    seed: { type: 'string', default: String(DEFAULT_SOAK.seed) },
    out: { type: 'string' },
  },
});
const store = values.store === 'memory' ? 'memory' : 'sqlite';
const report = await runSoak({ ads: Number(values.ads), failureRate: Number(values['failure-rate']), latencyMs: Number(values['latency-ms']), store, seed: Number(values.seed) });
console.log(describeSoak(report));
if (values.out) writeFileSync(values.out, `${JSON.stringify(report, null, 2)}\n`);
const broken = report.figures.lost > 0 || report.figures.twice > 0 || report.storedOnce === false;
if (broken) console.error('FAILED: ads were lost or finished twice');
process.exit(broken ? 1 : 0);
