/**
 * The compare view at scale (issue 17): each ad's agreement is stored with its last engine
 * result, so a compare request reads SQL instead of recomputing Levenshtein over the run.
 * Compares, side by side on one store: a compare request now (one page + the per-engine
 * summary) and the old per-request work (textAgreement over every ad's outputs), plus what
 * storing the agreement adds to writing the results.
 *
 *   npm run bench:compare -- [--ads 5000] [--engines 3] [--chars 300] [--out FILE.json]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { AdResult, EngineKind } from '../shared/domain.js';
import { textAgreement } from '../electron/core/orchestrator/agreement.js';
import { openStore } from '../electron/core/store/index.js';

const { values } = parseArgs({ options: { ads: { type: 'string', default: '5000' }, engines: { type: 'string', default: '3' }, chars: { type: 'string', default: '300' }, out: { type: 'string' } } });
const adCount = Number(values.ads);
const engineCount = Number(values.engines);
const chars = Number(values.chars);
const ENGINES: EngineKind[] = ['embedded', 'deepseek', 'ollama', 'openai', 'apple-vision'];
if (!Number.isInteger(adCount) || adCount < 1 || !Number.isInteger(engineCount) || engineCount < 2 || engineCount > ENGINES.length || !Number.isInteger(chars) || chars < 1) {
  console.error(`--ads ≥ 1, --engines 2..${ENGINES.length} and --chars ≥ 1 (got ${values.ads}, ${values.engines}, ${values.chars})`);
  process.exit(2);
}
const engines = ENGINES.slice(0, engineCount);

// Ad-like texts that differ a little between engines (a few characters changed).
function textOf(ad: number, engine: number): string {
  const base = `SUMMER SALE ${ad % 90}% OFF everything in store, shop now at example.com/${ad} `.repeat(Math.ceil(chars / 60)).slice(0, chars);
  return engine === 0 ? base : base.replace(/e/g, (match, offset: number) => (offset % (7 + engine) === 0 ? '3' : match));
}

const dir = mkdtempSync(join(tmpdir(), 'pv-bench-compare-'));
const store = openStore(join(dir, 'pv.db'));
try {
  const ads = Array.from({ length: adCount }, (_, i) => ({ creativeId: `c${String(i).padStart(6, '0')}`, imageUrl: `https://ads.example/${i}.png` }));
  const batch = store.saveBatch({ source: 'bench.csv', format: 'csv', columns: [], fieldColumns: { id: null, url: null, text: null }, ads });
  const run = store.createRun({ batchId: batch.id, policy: 'compare', tasksPerAd: engineCount });
  const writeStart = performance.now();
  for (let i = 0; i < adCount; i++) {
    engines.forEach((engine, e) => {
      const result: AdResult = { runId: run.id, creativeId: ads[i]!.creativeId, status: 'done', engine, laneId: engine, model: 'bench', text: textOf(i, e), blocks: [], durationMs: 100 + e, attempts: [] };
      void store.runStore.saveResult(result);
    });
  }
  store.runStore.flush();
  const writeMs = performance.now() - writeStart;

  const timed = (work: () => void, repeat: number): number => {
    const started = performance.now();
    for (let i = 0; i < repeat; i++) work();
    return (performance.now() - started) / repeat;
  };
  const nowMs = timed(() => {
    store.comparePage(run.id, Math.floor(adCount / 2), 100);
    store.compareSummary(run.id);
  }, 5);
  // The old request: every result of the run, agreement recomputed for every ad.
  const beforeMs = timed(() => {
    let current: string | null = null;
    let texts: string[] = [];
    const account = () => {
      for (let a = 0; a < texts.length; a++) for (let b = a + 1; b < texts.length; b++) textAgreement(texts[a]!, texts[b]!);
    };
    for (const output of store.resultOutputs(run.id)) {
      if (output.creativeId !== current) {
        account();
        current = output.creativeId;
        texts = [];
      }
      texts.push(output.text);
    }
    account();
  }, 1);
  const result = {
    ads: adCount,
    engines: engineCount,
    chars,
    compareRequestMs: { storedAgreement: nowMs, recomputedPerRequest: beforeMs, ratio: beforeMs / nowMs },
    writeAllResultsMs: writeMs,
    loadAverage: loadavg()[0],
    cores: availableParallelism(),
  };
  console.table({
    'compare request (page of 100 + summary)': { 'stored agreement ms': nowMs.toFixed(1), 'recomputed per request ms': beforeMs.toFixed(0), ratio: `${(beforeMs / nowMs).toFixed(0)}×` },
    [`write ${adCount * engineCount} results (agreement included)`]: { 'stored agreement ms': writeMs.toFixed(0), 'recomputed per request ms': '-', ratio: '-' },
  });
  console.log(`${adCount} ads × ${engineCount} engines, ${chars}-character texts; load average ${result.loadAverage!.toFixed(2)} on ${result.cores} cores`);
  if (values.out) writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  store.close();
  rmSync(dir, { recursive: true, force: true });
}
