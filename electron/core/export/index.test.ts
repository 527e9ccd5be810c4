import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { importAdsFromText } from '../ingest/index.js';
import { openStore, type Store } from '../store/index.js';
import { csvLine, exportRecord, exportResults, inputColumnsOf, writeRecords, type ExportProgress } from './index.js';

let dir: string;
let store: Store;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pv-export-'));
  store = openStore(join(dir, 'pv.db'));
});
afterEach(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

/** Import a list, run it with fake results (every third ad fails), return the run id. */
function runOf(list: string, filename: string): string {
  const imported = importAdsFromText(list, { filename });
  const batch = store.saveBatch({ source: filename, format: imported.format, columns: imported.columns, fieldColumns: imported.fieldColumns, ads: imported.ads });
  const run = store.createRun({ batchId: batch.id, policy: 'auto' });
  imported.ads.forEach((ad, index) => {
    const failed = index % 3 === 2;
    store.runStore.saveResult({
      runId: run.id,
      creativeId: ad.creativeId,
      status: failed ? 'failed' : 'done',
      engine: failed ? null : 'deepseek',
      laneId: failed ? null : 'deepseek',
      model: failed ? null : 'deepseek-ocr',
      text: failed ? '' : `TEXT "${ad.creativeId}",\nline 2`,
      description: failed ? undefined : 'a banner',
      blocks: failed ? [] : [{ text: 'TEXT', box: [1, 2, 30, 40], confidence: 0.9 }],
      durationMs: failed ? null : 1234.4,
      error: failed ? 'not an image (an HTML page)' : undefined,
      attempts: [],
    });
  });
  return run.id;
}

const list = 'Creative ID,Image URL,Ad Text,Campaign\nc1,https://x.test/1.png,"Buy, now",spring\nc2,https://x.test/2.png,,summer\nc3,https://x.test/3.png,Hi,fall\nc4,https://x.test/4.png,"multi\nline",\n';

describe('exportResults', () => {
  it('round-trips CSV: input columns kept, vision fields added', async () => {
    const runId = runOf(list, 'ads.csv');
    const path = join(dir, 'out', 'results.csv');
    const summary = await exportResults(store, runId, { format: 'csv' }, path);
    expect(summary).toEqual({ rows: 4, path });
    const records = parse(await readFile(path, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(Object.keys(records[0]!)).toEqual(['Creative ID', 'Image URL', 'Ad Text', 'Campaign', '_vision_model', '_vision_text', '_vision_time', '_vision_status', '_vision_error', '_vision_description', '_vision_truncated']);
    expect(records[0]).toMatchObject({ 'Creative ID': 'c1', 'Ad Text': 'Buy, now', Campaign: 'spring', _vision_model: 'deepseek-ocr', _vision_text: 'TEXT "c1",\nline 2', _vision_time: '1.234', _vision_status: 'done', _vision_description: 'a banner' });
    expect(records[2]).toMatchObject({ 'Creative ID': 'c3', _vision_status: 'failed', _vision_error: 'not an image (an HTML page)', _vision_time: '', _vision_text: '' });
    expect(records[3]!['Ad Text']).toBe('multi\nline');
    // The export reads back as the same ads.
    const reimported = importAdsFromText(await readFile(path, 'utf8'), { filename: 'results.csv' });
    expect(reimported.ads.map((ad) => [ad.creativeId, ad.imageUrl, ad.adText])).toEqual(importAdsFromText(list).ads.map((ad) => [ad.creativeId, ad.imageUrl, ad.adText]));
    expect((await readdir(join(dir, 'out'))).filter((name) => name.includes('partial'))).toEqual([]);
  });

  it.each(['csv', 'json', 'jsonl'] as const)('%s: ad_text goes out as it came in, and imports again the same', async (format) => {
    const texts = ['  Buy now  ', 'two lines\nend\n', ' ', 'plain'];
    const runId = runOf(`creative_id,image_url,ad_text\n${texts.map((text, i) => `c${i},https://x.test/${i}.png,"${text}"`).join('\n')}\n`, 'ads.csv');
    const path = join(dir, `results.${format}`);
    await exportResults(store, runId, { format }, path);
    const again = importAdsFromText(await readFile(path, 'utf8'), { filename: path });
    expect(again.ads.map((ad) => ad.adText)).toEqual(texts);
  });

  it.each(['csv', 'json', 'jsonl'] as const)('%s: writeRecords over the records a client got (the API rows) writes the export byte for byte', async (format) => {
    const runId = runOf(`creative_id,image_url,ad_text\nc1,https://x.test/1.png,=cmd\nc2,https://x.test/2.png,-5\nc3,https://x.test/3.png,\n`, 'ads.csv');
    const exported = join(dir, `export.${format}`);
    await exportResults(store, runId, { format }, exported);
    // As `run --to-app` has them: records after a trip through JSON, no columns given, from an async source.
    const { columns, valueOf } = inputColumnsOf(store, runId);
    const records = [...store.exportRows(runId, 'all')].map((row) => JSON.parse(JSON.stringify(exportRecord(row, columns, valueOf))) as Record<string, unknown>);
    const chunks: string[] = [];
    const out = new Writable({ write: (chunk, _encoding, done) => (chunks.push(String(chunk)), done()) });
    const written = await writeRecords((async function* () { yield* records; })(), out, { format });
    expect(written).toBe(3);
    expect(chunks.join('')).toBe(await readFile(exported, 'utf8'));
  });

  it('writeRecords: a CSV with known columns has its header (and BOM) without any record; JSON is an empty array', async () => {
    const collect = async (options: Parameters<typeof writeRecords>[2]) => {
      const chunks: string[] = [];
      await writeRecords([], new Writable({ write: (chunk, _encoding, done) => (chunks.push(String(chunk)), done()) }), options);
      return chunks.join('');
    };
    expect(await collect({ format: 'csv', columns: ['creative_id', '=x'], bom: true })).toBe("\uFEFFcreative_id,'=x\r\n");
    expect(await collect({ format: 'csv' })).toBe('');
    expect(await collect({ format: 'json' })).toBe('[]\n');
    expect(await collect({ format: 'jsonl' })).toBe('');
  });

  it('writes JSON and JSONL with boxes, filtered by status', async () => {
    const runId = runOf(list, 'ads.csv');
    await exportResults(store, runId, { format: 'json', rows: 'done' }, join(dir, 'done.json'));
    const json = JSON.parse(await readFile(join(dir, 'done.json'), 'utf8')) as Record<string, unknown>[];
    expect(json.map((row) => row['Creative ID'])).toEqual(['c1', 'c2', 'c4']);
    expect(json[0]).toMatchObject({ _vision_time: 1.234, _vision_blocks: [{ text: 'TEXT', box: [1, 2, 30, 40], confidence: 0.9 }] });
    await exportResults(store, runId, { format: 'jsonl', rows: 'failed' }, join(dir, 'failed.jsonl'));
    const lines = (await readFile(join(dir, 'failed.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual([expect.objectContaining({ 'Creative ID': 'c3', _vision_status: 'failed', _vision_time: null, _vision_blocks: [] })]);
    await exportResults(store, runId, { format: 'json', rows: 'failed' }, join(dir, 'f.json'));
    expect(JSON.parse(await readFile(join(dir, 'f.json'), 'utf8'))).toHaveLength(1);
  });

  it('exports a result cut by the repetition guard or a budget as _vision_truncated, and the store reads it back', async () => {
    const imported = importAdsFromText('creative_id,image_url\nc1,https://x.test/1.png\nc2,https://x.test/2.png\n', { filename: 'ads.csv' });
    const batch = store.saveBatch({ source: 'ads.csv', format: imported.format, columns: imported.columns, fieldColumns: imported.fieldColumns, ads: imported.ads });
    const run = store.createRun({ batchId: batch.id, policy: 'auto' });
    for (const [index, ad] of imported.ads.entries()) {
      store.runStore.saveResult({
        runId: run.id, creativeId: ad.creativeId, status: 'done', engine: 'ollama', laneId: 'ollama', model: 'deepseek-ocr', text: 'SALE', blocks: [], durationMs: 10, attempts: [],
        ...(index === 0 ? { truncated: true } : {}),
      });
    }
    await exportResults(store, run.id, { format: 'jsonl' }, join(dir, 't.jsonl'));
    const rows = (await readFile(join(dir, 't.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows.map((row) => row._vision_truncated)).toEqual([true, false]);
    await exportResults(store, run.id, { format: 'csv' }, join(dir, 't.csv'));
    const records = parse(await readFile(join(dir, 't.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    expect(records.map((row) => row._vision_truncated)).toEqual(['true', 'false']);
    expect(store.getResult(run.id, 'c1')?.results[0]?.truncated).toBe(true);
    expect(store.getResult(run.id, 'c2')?.results[0]?.truncated).toBeUndefined();
  });

  it('an exported list run again gets one set of _vision_* columns, the new results', async () => {
    const first = join(dir, 'first.csv');
    await exportResults(store, runOf(list, 'ads.csv'), { format: 'csv' }, first);
    const again = join(dir, 'again.csv');
    await exportResults(store, runOf(await readFile(first, 'utf8'), 'first.csv'), { format: 'csv' }, again);
    const text = await readFile(again, 'utf8');
    const header = parse(text, { to: 1 })[0] as string[];
    expect(header).toEqual(['Creative ID', 'Image URL', 'Ad Text', 'Campaign', '_vision_model', '_vision_text', '_vision_time', '_vision_status', '_vision_error', '_vision_description', '_vision_truncated']);
    const chunks: string[] = [];
    await exportResults(store, runOf(await readFile(first, 'utf8'), 'first.csv'), { format: 'jsonl' }, new Writable({ write: (chunk, _enc, done) => (chunks.push(String(chunk)), done()) }));
    expect(Object.keys(JSON.parse(chunks.join('').split('\n')[0]!) as object).filter((key) => key.startsWith('_vision_'))).toHaveLength(8);
  });

  it('with bom, starts a CSV with a UTF-8 byte order mark that the import reads past', async () => {
    const path = join(dir, 'excel.csv');
    await exportResults(store, runOf('creative_id,image_url,ad_text\né1,https://x.test/1.png,Café €9\n', 'ads.csv'), { format: 'csv', bom: true }, path);
    const bytes = await readFile(path);
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(importAdsFromText(bytes.toString('utf8'), { filename: 'excel.csv' }).ads.map((ad) => [ad.creativeId, ad.adText])).toEqual([['é1', 'Café €9']]);
    const plain = join(dir, 'plain.csv');
    await exportResults(store, runOf('creative_id,image_url\nx,https://x.test/1.png\n', 'ads.csv'), { format: 'csv' }, plain);
    expect((await readFile(plain, 'utf8')).startsWith('creative_id')).toBe(true);
  });

  it('adds creative_id and image_url columns when the input had none', async () => {
    const runId = runOf('https://x.test/1.png\nhttps://x.test/2.png\n', 'urls.txt');
    const chunks: string[] = [];
    await exportResults(store, runId, { format: 'csv' }, new Writable({ write: (chunk, _enc, done) => (chunks.push(String(chunk)), done()) }));
    const records = parse(chunks.join(''), { columns: true }) as Record<string, string>[];
    expect(records.map((row) => [row.creative_id!.startsWith('ad-'), row.image_url])).toEqual([
      [true, 'https://x.test/1.png'],
      [true, 'https://x.test/2.png'],
    ]);
  });

  it('neutralises formulas in CSV cells (header, input columns, OCR text) but keeps numbers and JSON exact', async () => {
    const hostileList = 'creative_id,image_url,ad_text,=cmd(),change\nc1,https://x.test/1.png,"=HYPERLINK(""http://evil.example"",""x"")",@SUM(1),-5\nc2,https://x.test/2.png,-2+3,+1 555 0100,+2.5\n';
    const imported = importAdsFromText(hostileList, { filename: 'hostile.csv' });
    const batch = store.saveBatch({ source: 'hostile.csv', format: imported.format, columns: imported.columns, fieldColumns: imported.fieldColumns, ads: imported.ads });
    const run = store.createRun({ batchId: batch.id, policy: 'auto' });
    for (const [creativeId, text] of [['c1', '=1+1'], ['c2', '\t@x']] as const) {
      store.runStore.saveResult({ runId: run.id, creativeId, status: 'done', engine: 'deepseek', laneId: 'ds', model: 'm', text, blocks: [], durationMs: 5, attempts: [] });
    }
    store.runStore.flush();

    await exportResults(store, run.id, { format: 'csv' }, join(dir, 'hostile.csv'));
    const rows = parse(await readFile(join(dir, 'hostile.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!).slice(0, 5)).toEqual(['creative_id', 'image_url', 'ad_text', "'=cmd()", 'change']);
    expect(rows.map((row) => [row.ad_text, row["'=cmd()"], row.change, row._vision_text, row._vision_time])).toEqual([
      ['\'=HYPERLINK("http://evil.example","x")', "'@SUM(1)", '-5', "'=1+1", '0.005'],
      ["'-2+3", "'+1 555 0100", '+2.5', "'\t@x", '0.005'],
    ]);

    await exportResults(store, run.id, { format: 'jsonl' }, join(dir, 'hostile.jsonl'));
    const lines = (await readFile(join(dir, 'hostile.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => [line.ad_text, line['=cmd()'], line.change, line._vision_text])).toEqual([
      ['=HYPERLINK("http://evil.example","x")', '@SUM(1)', '-5', '=1+1'],
      ['-2+3', '+1 555 0100', '+2.5', '\t@x'],
    ]);
  });

  it('streams with backpressure and reports progress', async () => {
    const rows = Array.from({ length: 2500 }, (_, i) => `c${i},https://x.test/${i}.png`).join('\n');
    const runId = runOf(`id,url\n${rows}\n`, 'big.csv');
    let bytes = 0;
    let slowWrites = 0;
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        slowWrites++;
        setImmediate(done);
      },
    });
    const progress: ExportProgress[] = [];
    const summary = await exportResults(store, runId, { format: 'jsonl' }, slow, (p) => progress.push(p));
    expect(summary.rows).toBe(2500);
    expect(slowWrites).toBeGreaterThan(1);
    expect(bytes).toBeGreaterThan(2500 * 100);
    expect(progress.map((p) => p.written)).toEqual([1000, 2000, 2500]);
    expect(progress.every((p) => p.total === 2500)).toBe(true);
  });
});

describe('csvLine', () => {
  it('quotes only what needs quoting', () => {
    expect(csvLine(['a', 'b c', 'x,y', 'say "hi"', 'l1\nl2', ''])).toBe('a,b c,"x,y","say ""hi""","l1\nl2",\r\n');
  });
});
