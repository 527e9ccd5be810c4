/** `run --to-app` against a real backend and API in this process (test engine). */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend, type Backend } from '../core/app/backend.js';
import { startApiServer, type ApiServer } from '../core/api/server.js';
import { testEngineFactory } from '../core/engines/test-engine.js';
import { startAdImageServer, type AdImageServer } from '../../test/helpers/ad-image-server.js';
import { main } from './index.js';
import type { CliIo } from './io.js';

let dir: string;
let backend: Backend;
let api: ApiServer;
let images: AdImageServer;

function captureIo(): CliIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return { out: (text) => void (out += text), err: (text) => void (err += text), env: {}, isTerminal: false, stdout: () => out, stderr: () => err };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'pv-to-app-'));
  images = await startAdImageServer();
  backend = await createBackend({ mode: 'browser', version: 'test', dataDir: path.join(dir, 'data'), pythonServiceDir: path.resolve('scripts/deepseek'), createEngine: testEngineFactory({ delayMs: 0 }) });
  api = await startApiServer({ backend: { ...backend, core: backend.core! }, dataDir: path.join(dir, 'data'), version: 'test', port: 0 });
}, 60_000);

afterAll(async () => {
  await api.close();
  await backend.dispose();
  await images.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('parallel-vision run --to-app', () => {
  it('hands the list to the running app, shows its skipped rows and writes the results', async () => {
    const list = path.join(dir, 'ads.csv');
    writeFileSync(list, `creative_id,image_url,advertiser\nx1,${images.url(1)},=HYPERLINK("x")\nx2,nope,b\nx3,${images.url(3)},c\n`);
    const out = path.join(dir, 'out.csv');
    const io = captureIo();
    const code = await main(['run', list, '--to-app', '--data-dir', path.join(dir, 'data'), '--engines', 'embedded', '--out', out], io);
    expect([code, io.stderr()]).toEqual([0, expect.stringContaining('skipped line 3, image_url: not a valid URL: nope')]);
    expect(io.stderr()).toMatch(new RegExp(`Run run_\\S+ in the app at ${api.url}: 2 ads`));
    const lines = readFileSync(out, 'utf8').trim().split(/\r?\n/);
    expect(lines[0]).toBe('creative_id,image_url,advertiser,_vision_model,_vision_text,_vision_time,_vision_status,_vision_error,_vision_description,_vision_truncated');
    expect(lines).toHaveLength(3);
    // The export's spreadsheet safety holds here too.
    expect(lines.find((line) => line.startsWith('x1,'))).toContain(`"'=HYPERLINK(""x"")",test-embedded,text `);
    const runs = await backend.handlers['runs.list']({});
    expect(runs[0]).toMatchObject({ source: 'ads.csv', status: 'finished', done: 2 });
  });

  it("names each skipped row where the user's file has it — its line (not the body the API was sent) and column — as the window does", async () => {
    const skipped = async (name: string, content: string) => {
      const list = path.join(dir, name);
      writeFileSync(list, content);
      const io = captureIo();
      await main(['run', list, '--to-app', '--data-dir', path.join(dir, 'data'), '--engines', 'embedded'], io);
      return io.stderr().split('\n').filter((line) => line.startsWith('skipped'));
    };
    // A quoted cell over two lines and a blank line: the rows after them keep the file's numbering.
    expect(await skipped('multi.csv', `creative_id,image_url,ad_text\r\nm1,${images.url(31)},"two\nlines"\r\n\r\nm2,nope,x\r\nm1,${images.url(32)},y\r\n`)).toEqual([
      'skipped line 5, image_url: not a valid URL: nope',
      'skipped line 6, creative_id: duplicate id "m1" (first on line 2)',
    ]);
    // A pretty-printed JSON array goes as the file, so its elements are told by the file's lines, not as ads[i].
    const json = `[\n  {\n    "creative_id": "p1",\n    "image_url": "${images.url(33)}"\n  },\n\n  {"creative_id": "p2", "image_url": "ftp://x.test/a.png"}\n]\n`;
    expect(await skipped('pretty.json', json)).toEqual(['skipped line 7, image_url: not an http(s) URL: ftp://x.test/a.png']);
  });

  it('counts every skipped row, past the first 1000 the app lists', async () => {
    const list = path.join(dir, 'many-bad.csv');
    writeFileSync(list, `creative_id,image_url\ngood,${images.url(41)}\n${Array.from({ length: 1500 }, (_, i) => `bad${i},nope`).join('\n')}\n`);
    const io = captureIo();
    expect(await main(['run', list, '--to-app', '--data-dir', path.join(dir, 'data'), '--engines', 'embedded'], io)).toBe(0);
    expect(io.stderr().split('\n').filter((line) => line.startsWith('skipped'))).toHaveLength(20);
    expect(io.stderr()).toContain('… and 1480 more skipped rows');
  });

  it('writes --out into a folder it creates, one row per ad in input order with the input columns first', async () => {
    const list = path.join(dir, 'dead.csv');
    writeFileSync(list, `creative_id,image_url,brand\nd1,${images.url(21)},a\nd2,${images.url(22).replace('/ad-', '/missing-')},b\nd3,${images.url(23)},c\n`);
    const out = path.join(dir, 'not', 'yet', 'there.jsonl');
    const io = captureIo();
    expect(await main(['run', list, '--to-app', '--data-dir', path.join(dir, 'data'), '--engines', 'embedded', '--out', out], io)).toBe(1);
    const rows = readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows.map((row) => [row.creative_id, row._vision_status])).toEqual([['d1', 'done'], ['d2', 'failed'], ['d3', 'done']]);
    expect(Object.keys(rows[0]!).slice(0, 4)).toEqual(['creative_id', 'image_url', 'brand', '_vision_model']);
    expect(io.stderr()).toContain(`Wrote 3 rows to ${out}`);
  });

  it('sends a UTF-16 list (Excel\'s "Unicode text") decoded, as the app reads the file itself', async () => {
    const list = path.join(dir, 'unicode.csv');
    writeFileSync(list, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`creative_id,image_url\nü1,${images.url(7)}\n`, 'utf16le')]));
    const io = captureIo();
    expect(await main(['run', list, '--to-app', '--data-dir', path.join(dir, 'data'), '--engines', 'embedded'], io)).toBe(0);
    expect(io.stderr()).toMatch(/: 1 ads?\b/);
    expect(io.stderr()).not.toMatch(/skipped line/);
  });

  it('says what it takes: one list, not two lists or image files', async () => {
    const two = captureIo();
    expect(await main(['run', 'a.csv', 'b.tsv', '--to-app', '--data-dir', path.join(dir, 'data')], two)).toBe(2);
    expect(two.stderr()).toContain('run --to-app sends one ad list at a time, got 2');
    const image = captureIo();
    expect(await main(['run', 'banner.png', '--to-app', '--data-dir', path.join(dir, 'data')], image)).toBe(2);
    expect(image.stderr()).toContain('not image files (banner.png); drop images on its window instead');
  });

  it('refuses a reply it does not understand (an older app) and says which request, what was wrong and which version answered', async () => {
    // A stand-in for an app of another version: it answers POST /v1/runs in a shape this CLI does not know.
    const old = http.createServer((request, response) => {
      request.resume();
      response.writeHead(201, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ id: 'run_old', accepted: '2', rejected: [] }));
    });
    await new Promise<void>((resolve) => old.listen(0, '127.0.0.1', resolve));
    try {
      const oldData = path.join(dir, 'old-app');
      mkdirSync(oldData, { recursive: true });
      writeFileSync(path.join(oldData, 'api-key'), 'pv_test_key_0123456789abcdef0123456789\n');
      const url = `http://127.0.0.1:${(old.address() as AddressInfo).port}`;
      writeFileSync(path.join(oldData, 'api.json'), JSON.stringify({ url, keyFile: path.join(oldData, 'api-key'), pid: 1, version: '0.0.9', startedAt: 0 }));
      const list = path.join(dir, 'for-old.csv');
      writeFileSync(list, `creative_id,image_url\no1,${images.url(1)}\n`);
      const io = captureIo();
      expect(await main(['run', list, '--to-app', '--data-dir', oldData, '--engines', 'embedded'], io)).toBe(1);
      expect(io.stderr()).toContain(`the app at ${url} (version 0.0.9) answered POST /v1/runs with something this command does not understand`);
      expect(io.stderr()).toMatch(/runId: [^;]*expected string/i);
      expect(io.stderr()).toMatch(/accepted: [^;]*expected number/i);
      expect(io.stderr()).not.toMatch(/ZodError|^\s+at /m);
    } finally {
      await new Promise<void>((resolve) => old.close(() => resolve()));
    }
  });

  it('says where it looked when no app is running', async () => {
    const io = captureIo();
    const empty = path.join(dir, 'nothing');
    const code = await main(['run', path.join(dir, 'ads.csv'), '--to-app', '--data-dir', empty], io);
    expect(code).toBe(1);
    expect(io.stderr()).toContain(`no running app found (no ${path.join(empty, 'api.json')})`);
  });
});
