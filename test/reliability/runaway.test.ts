/**
 * Generative engines that run away, through the real orchestrator and the real SQLite
 * store, against fake servers in their own processes: DeepSeek-OCR through Ollama
 * repeating one line forever, an OpenAI-compatible server sending a 1 GB body, and a
 * batch spread over several OpenAI-compatible endpoints (one lane each). Lost and
 * done-twice are counted from the SQLite rows and from the export, not from the
 * orchestrator's own events; engine answers received twice from the engines' side.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ad, RecognizeResult } from '../../shared/domain.js';
import { createOllamaEngine } from '../../electron/core/engines/ollama.js';
import { createOpenAIEngine } from '../../electron/core/engines/openai.js';
import type { Engine, EngineImage } from '../../electron/core/engines/types.js';
import { exportResults } from '../../electron/core/export/index.js';
import { openStore, type Store } from '../../electron/core/store/index.js';
import { startFakeOllama, type FakeOllama } from '../fixtures/fake-ollama/start.js';
import { startFakeOpenAI, type FakeOpenAI } from '../fixtures/fake-openai/start.js';
import { formatFigures, readFigures, recordFigures, tallyOutcomes, type FigureRow } from './figures.js';
import { adPng, defaultReasonKind, lane, makeAds, runScenario } from './harness.js';

const workDir = mkdtempSync(join(tmpdir(), 'pv-runaway-'));
const servers: Array<FakeOllama | FakeOpenAI> = [];
let png: Uint8Array;

beforeAll(async () => {
  png = await adPng();
});
afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
  rmSync(workDir, { recursive: true, force: true });
  console.log(`\nReliability figures so far:\n${formatFigures(readFigures())}\n`);
});

/** Engine answers per ad, counted on the engines' side (an answer the run then dropped still counts). */
class AnswerLedger {
  readonly #adOf = new WeakMap<EngineImage, string>();
  readonly answers = new Map<string, number>();
  truncated = 0;

  image(ad: Ad, bytes: Uint8Array): EngineImage {
    const image: EngineImage = { bytes, mime: 'image/png', width: 360, height: 100 };
    this.#adOf.set(image, ad.creativeId);
    return image;
  }

  wrap(engine: Engine): Engine {
    return {
      ...engine,
      recognize: async (image, signal): Promise<RecognizeResult> => {
        const result = await engine.recognize(image, signal);
        const id = this.#adOf.get(image) ?? '?';
        this.answers.set(id, (this.answers.get(id) ?? 0) + 1);
        if (result.truncated) this.truncated++;
        return result;
      },
    };
  }

  get answeredTwice(): number {
    return [...this.answers.values()].filter((count) => count > 1).length;
  }
}

interface Counted {
  row: FigureRow;
  /** Rows per ad in SQLite's results table and in the JSONL export. */
  storedTwice: number;
  exportedTwice: number;
  exportedLost: number;
  truncatedExported: number;
  results: ReturnType<typeof tallyOutcomes>;
}

/** Runs `ads` on `lanes` with the SQLite store, then counts from the database and the export. */
async function runStored(name: string, ads: Ad[], lanes: Parameters<typeof runScenario>[0]['lanes'], ledger: AnswerLedger, maxAttempts = 3): Promise<Counted> {
  const store: Store = openStore(join(workDir, `${name.replace(/\W+/g, '-')}.db`));
  try {
    const batch = store.saveBatch({ source: `${name}.csv`, format: 'csv', columns: [], fieldColumns: { id: null, url: null, text: null }, ads });
    const run = store.createRun({ batchId: batch.id, policy: 'auto' });
    const outcome = await runScenario({
      name,
      runId: run.id,
      ads,
      lanes,
      loadImage: async (ad) => ledger.image(ad, png),
      store: store.runStore,
      maxAttempts,
      tuning: { breaker: { threshold: 3, baseCooldownMs: 100, maxCooldownMs: 200 } },
    });
    expect(outcome.error).toBeNull();
    store.runStore.flush();
    const stored = store.db.prepare<[string], { creative_id: string; status: 'done' | 'failed'; error: string | null; n: number }>(
      'SELECT creative_id, min(status) AS status, min(error) AS error, count(*) AS n FROM results WHERE run_id = ? GROUP BY creative_id',
    ).all(run.id);
    const path = join(workDir, `${run.id}.jsonl`);
    await exportResults(store, run.id, { format: 'jsonl' }, path);
    const exported = readFileSync(path, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const exportedPerAd = new Map<string, number>();
    for (const record of exported) if (record._vision_status !== 'pending') exportedPerAd.set(String(record.creative_id), (exportedPerAd.get(String(record.creative_id)) ?? 0) + 1);
    const results = tallyOutcomes(
      ads.map((ad) => ad.creativeId),
      stored.flatMap((row) => Array.from({ length: row.n }, () => ({ creativeId: row.creative_id, status: row.status, ...(row.error ? { error: row.error } : {}) }))),
      defaultReasonKind,
    );
    return {
      row: { ...outcome.figures, ...results },
      results,
      storedTwice: stored.filter((row) => row.n > 1).length,
      exportedTwice: [...exportedPerAd.values()].filter((n) => n > 1).length,
      exportedLost: ads.filter((ad) => !exportedPerAd.has(ad.creativeId)).length,
      truncatedExported: exported.filter((record) => record._vision_truncated === true).length,
    };
  } finally {
    store.close();
  }
}

function expectNothingLostOrTwice(counted: Counted, ledger: AnswerLedger): void {
  expect(counted.results.lost, 'ads without a row in SQLite').toBe(0);
  expect(counted.storedTwice, 'ads with two rows in SQLite').toBe(0);
  expect(counted.exportedLost, 'ads missing from the export').toBe(0);
  expect(counted.exportedTwice, 'ads exported twice').toBe(0);
  expect(ledger.answeredTwice, 'ads the engines answered twice').toBe(0);
}

describe('generative engines that run away', () => {
  it('DeepSeek-OCR through Ollama repeating one line forever: every ad done, cut at the loop, none lost or twice', async () => {
    const ollama = await startFakeOllama({ FAKE_OLLAMA_MODELS: 'deepseek-ocr:latest', FAKE_OLLAMA_FAIL: 'loop', FAKE_OLLAMA_DELAY_MS: '0' });
    servers.push(ollama);
    const config = lane('ollama-deepseek', 'ollama', 2, { endpoint: ollama.url, model: 'deepseek-ocr' });
    const ledger = new AnswerLedger();
    const ads = makeAds(12, (i) => `https://ads.example/${i}.png`);
    const counted = await runStored('engine repeating forever', ads, [{ config, engine: ledger.wrap(createOllamaEngine(config)), prior_s: 0.05, coldStart_s: 0 }], ledger);
    expectNothingLostOrTwice(counted, ledger);
    expect(counted.results.done).toBe(ads.length);
    expect(ledger.truncated, 'answers the repetition guard cut').toBe(ads.length);
    // Each generation was stopped: the server saw every connection close.
    await expect.poll(() => ollama.log.filter((line) => /chat body closed after/.test(line)).length).toBe(ads.length);
    recordFigures({
      ...counted.row,
      note: `engine answers twice: ${ledger.answeredTwice}; ${ledger.truncated} answers cut by the repetition guard; exported truncated: ${counted.truncatedExported} (needs the orchestrator to pass RecognizeResult.truncated on)`,
    });
  });

  it('an OpenAI-compatible server sending a 1 GB body: bounded, each ad fails with the reason after its retries, none lost or twice', async () => {
    // One 1 GB JSON body (the streamed 1 GB is in the engine's own tests).
    const huge = await startFakeOpenAI({ FAKE_OPENAI_FAIL: 'huge-body', FAKE_OPENAI_NO_STREAM: '1' });
    servers.push(huge);
    const config = lane('vllm-huge', 'openai', 2, { endpoint: huge.url, model: 'deepseek-ai/DeepSeek-OCR' });
    const ledger = new AnswerLedger();
    const ads = makeAds(4, (i) => `https://ads.example/${i}.png`, 'huge');
    const counted = await runStored('1 GB response body', ads, [{ config, engine: ledger.wrap(createOpenAIEngine(config)), prior_s: 0.05, coldStart_s: 0 }], ledger, 2);
    expectNothingLostOrTwice(counted, ledger);
    expect(counted.results.failed).toBe(ads.length);
    expect(Object.keys(counted.results.reasons).join(' ')).toMatch(/more than N/);
    await expect.poll(() => huge.closedAfterBytes().length).toBe(ads.length * 2);
    const most = Math.max(...huge.closedAfterBytes());
    expect(most, 'bytes the server got out before the client hung up').toBeLessThan(64 * 1024 * 1024);
    recordFigures({ ...counted.row, note: `engine answers twice: ${ledger.answeredTwice}; most bytes sent before the hang-up: ${(most / 1024 / 1024).toFixed(0)} MB of 1024` });
  });

  it('several OpenAI-compatible endpoints are several lanes, all of them working', async () => {
    const endpoints = await Promise.all([0, 1, 2].map(() => startFakeOpenAI({ FAKE_OPENAI_DELAY_MS: '2' })));
    servers.push(...endpoints);
    const ledger = new AnswerLedger();
    const ads = makeAds(60, (i) => `https://ads.example/${i}.png`, 'multi');
    const lanes = endpoints.map((server, i) => {
      const config = lane(`vllm-${i}`, 'openai', 2, { endpoint: server.url, model: 'deepseek-ai/DeepSeek-OCR' });
      return { config, engine: ledger.wrap(createOpenAIEngine(config)), prior_s: 0.05, coldStart_s: 0 };
    });
    const counted = await runStored('3 vLLM endpoints as 3 lanes', ads, lanes, ledger);
    expectNothingLostOrTwice(counted, ledger);
    expect(counted.results.done).toBe(ads.length);
    const perEndpoint = endpoints.map((server) => server.requests().length);
    for (const served of perEndpoint) expect(served, `requests per endpoint: ${perEndpoint.join(', ')}`).toBeGreaterThan(0);
    recordFigures({ ...counted.row, note: `requests per endpoint: ${perEndpoint.join(' / ')}; engine answers twice: ${ledger.answeredTwice}` });
  });
});
