import { describe, expect, it } from 'vitest';
import type { RunProgress } from '../../shared/domain.js';
import type { EngineImage } from '../core/engines/types.js';
import { dedupeByImageHash } from '../core/engines/dedupe.js';
import { parseEngineList, parseSplit, parseWorkers, UsageError } from '../core/app/run-settings.js';
import { checkToAppArgs, exportFormatOf, parseRunArgs } from './options.js';
import { jsonLinesReporter, renderProgressLines } from './progress.js';

describe('flag parsers', () => {
  it('parses engines, rejecting unknown ones', () => {
    expect(parseEngineList('embedded, deepseek,embedded')).toEqual(['embedded', 'deepseek']);
    expect(() => parseEngineList('tesseract')).toThrow(UsageError);
  });
  it('parses workers per engine', () => {
    expect([...parseWorkers(['embedded=2,deepseek=3', 'ollama=1', 'openai=auto'])]).toEqual([
      ['embedded', 2],
      ['deepseek', 3],
      ['ollama', 1],
      ['openai', 'auto'],
    ]);
    expect(() => parseWorkers(['embedded=0'])).toThrow(/1 to 64/);
    expect(() => parseWorkers(['embedded'])).toThrow(UsageError);
    expect(() => parseWorkers(['embedded=most'])).toThrow(/or engine=auto/);
    expect(() => parseWorkers(['embeded=1']), 'a typo would drop the limit silently').toThrow(/--workers names unknown engine "embeded"/);
  });
  it('reads --split as the first engine’s share or as named weights', () => {
    expect(parseSplit('0.7', ['deepseek', 'ollama'])).toEqual({ deepseek: 0.7, ollama: expect.closeTo(0.3, 10) });
    expect(parseSplit('0.5', ['deepseek', 'ollama', 'embedded'])).toEqual({ deepseek: 0.5, ollama: 0.25, embedded: 0.25 });
    expect(parseSplit('deepseek=0.9,ollama=0.1', ['deepseek', 'ollama'])).toEqual({ deepseek: 0.9, ollama: 0.1 });
    expect(() => parseSplit('1.5', ['deepseek'])).toThrow(UsageError);
    // A name the scheduler does not know would get weight 0: the whole list would go to the other engine.
    expect(() => parseSplit('embeded=0.75,openai=0.25', ['embedded', 'openai'])).toThrow(new UsageError('--split names "embeded", not among this run\'s engines (embedded, openai)'));
    expect(parseSplit('fast=0.6,openai=0.4', ['embedded', 'openai'], ['embedded', 'openai', 'fast']), 'a lane id is a name too').toEqual({ fast: 0.6, openai: 0.4 });
  });
  it('tells the export format from the file name', () => {
    expect(exportFormatOf('out/results.JSONL')).toBe('jsonl');
    expect(exportFormatOf('results.txt', 'csv')).toBe('csv');
    expect(() => exportFormatOf('results.txt')).toThrow(/--format/);
    expect(() => exportFormatOf('x.csv', 'xml'), 'a --format given is what is wrong, not the file name').toThrow(new UsageError('--format must be csv, json or jsonl, got "xml"'));
  });
  it('parses run and run --to-app with one set of flags; --to-app names the flags it would ignore', () => {
    const parsed = parseRunArgs(['ads.csv', '--to-app', '--engines', 'embedded', '--policy', 'ratio', '--out', 'r.csv']);
    expect(parsed.values).toMatchObject({ 'to-app': true, engines: 'embedded', policy: 'ratio', out: 'r.csv', 'max-side': '2048' });
    expect(() => checkToAppArgs(parsed)).not.toThrow();
    expect(() => checkToAppArgs(parseRunArgs(['ads.csv', '--to-app', '--db', 'x.db', '--max-side=512', '--db', 'y.db']))).toThrow(
      new UsageError('--db, --max-side are not used with --to-app: the app runs the list with its own database, services and image settings'),
    );
    expect(() => parseRunArgs(['ads.csv', '--to-app', '--tpyo'])).toThrow(/Unknown option '--tpyo'/);
  });
});

const progress: RunProgress = {
  runId: 'r',
  status: 'running',
  policy: 'auto',
  total: 100,
  done: 40,
  failed: 10,
  inFlight: 3,
  elapsed_s: 75,
  eta_s: 3700,
  lanes: [
    { laneId: 'deepseek', engine: 'deepseek', label: 'DeepSeek-OCR', state: { type: 'busy' }, workers: 4, concurrency: 2, done: 30, failed: 0, inFlight: 2, share: 0.75, adsPerMinute: 24, p50_s: 4.2, p95_s: 6, estimate_s: 4 },
    { laneId: 'ollama', engine: 'ollama', label: 'Ollama llava', state: { type: 'paused-by-scheduler', reason: 'slow' }, workers: 1, concurrency: 1, done: 10, failed: 0, inFlight: 1, share: 0.25, adsPerMinute: 1, p50_s: null, p95_s: null, estimate_s: 60 },
  ],
  notes: ['ollama paused: it slows the batch'],
};

describe('progress output', () => {
  it('draws a total line, one bar per lane and the notes, within the width', () => {
    const lines = renderProgressLines(progress, 120);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^running .* 50\/100 {2}failed 10 {2}elapsed 1m15s {2}eta 1h01m$/);
    expect(lines[1]).toMatch(/DeepSeek-OCR .* 30 done {2}2 busy {2}concurrency 2 of 4 {2}24\.0\/min {2}p50 4\.2s$/);
    expect(lines[2]).toMatch(/\[paused\]$/);
    expect(lines[3]).toBe('  · ollama paused: it slows the batch');
    expect(renderProgressLines(progress, 40).every((line) => line.length <= 40)).toBe(true);
    expect(renderProgressLines({ ...progress, imageFailed: 3 }, 120)[0]).toMatch(/ {2}failed 10 \(3 images unreachable\) {2}elapsed/);
  });

  it('writes JSON lines at most once per interval, plus status changes and the last one', () => {
    const lines: string[] = [];
    let clock = 0;
    const reporter = jsonLinesReporter((line) => lines.push(line), 1000, () => clock);
    reporter.update(progress);
    clock = 500;
    reporter.update({ ...progress, done: 41 });
    reporter.update({ ...progress, status: 'paused' });
    clock = 1600;
    const last = { ...progress, status: 'finished' as const, done: 90 };
    reporter.update(last);
    reporter.finish(last);
    expect(lines.map((line) => (JSON.parse(line) as RunProgress).status)).toEqual(['running', 'paused', 'finished']);
  });
});

describe('dedupeByImageHash', () => {
  it('recognizes identical images once, failures not shared', async () => {
    let calls = 0;
    let failNext = true;
    const engine = dedupeByImageHash({
      kind: 'embedded',
      label: 'x',
      async recognize(image) {
        calls++;
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (image.bytes[0] === 9 && failNext) {
          failNext = false;
          throw new Error('boom');
        }
        return { text: String(image.bytes[0]), blocks: [], model: 'm', timings: {} };
      },
    });
    const image = (byte: number): EngineImage => ({ bytes: new Uint8Array([byte, 1, 2]), mime: 'image/png' });
    const signal = new AbortController().signal;
    const [a, b] = await Promise.all([engine.recognize(image(1), signal), engine.recognize(image(1), signal)]);
    expect([a.text, b.text, calls, engine.savedCalls]).toEqual(['1', '1', 1, 1]);
    await expect(engine.recognize(image(9), signal)).rejects.toThrow('boom');
    expect((await engine.recognize(image(9), signal)).text).toBe('9');
    expect(calls).toBe(3);
  });
});
