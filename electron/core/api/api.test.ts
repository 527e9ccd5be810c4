/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are read field by field in the assertions */
/**
 * The local API against the real backend (store, ingest, run manager, orchestrator) with
 * the deterministic test engine for runs and the real embedded engine for OCR.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createBackend, type Backend } from '../app/backend.js';
import type { EngineFactory } from '../app/lanes.js';
import { createEngine } from '../engines/create.js';
import { createServiceManager } from '../services/manager.js';
import { freeServicePorts } from '../services/test-support.js';
import { testEngineFactory } from '../engines/test-engine.js';
import { KNOWN_TEXT, renderTextAd, solidAd, startAdImageServer, type AdImageServer } from '../../../test/helpers/ad-image-server.js';
import { apiDiscoveryPath } from './auth.js';
import { startApiServer, type ApiServer } from './server.js';

let dataDir: string;
let backend: Backend;
let api: ApiServer;
let images: AdImageServer;

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: () => any;
}

function request(method: string, pathname: string, options: { body?: string | Buffer; type?: string; headers?: Record<string, string>; key?: string | null } = {}): Promise<Reply> {
  const headers: Record<string, string> = { host: `127.0.0.1:${api.port}`, ...(options.key === null ? {} : { authorization: `Bearer ${options.key ?? api.key}` }), ...(options.type ? { 'content-type': options.type } : {}), ...options.headers };
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: api.port, method, path: pathname, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
      });
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const postJson = (pathname: string, body: unknown) => request('POST', pathname, { body: JSON.stringify(body), type: 'application/json' });

function ads(count: number, from = 0) {
  return Array.from({ length: count }, (_, i) => ({ creative_id: `ad${from + i}`, image_url: images.url(from + i), ad_text: `text ${from + i}`, advertiser: `brand ${(from + i) % 3}` }));
}

async function waitForStatus(runId: string, wanted: (status: string, progress: any) => boolean): Promise<any> {
  for (;;) {
    const progress = (await request('GET', `/v1/runs/${runId}`)).json();
    if (wanted(progress.status, progress)) return progress;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// Injected into the backend: each test picks the deterministic fake (with its settings) or the real engines.
let testEngine: Record<string, unknown> | null = null;
function setTestEngine(settings: Record<string, unknown> | null) {
  testEngine = settings;
}
const switchableEngine: EngineFactory = (config, deps) => (testEngine ? testEngineFactory(testEngine)(config) : createEngine(config, deps));

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'pv-api-'));
  images = await startAdImageServer();
  // Its own ports: a DeepSeek service running on this machine's 8001 would become the default engine.
  // No Ollama, even where one is installed: a start must fail the same everywhere.
  const services = createServiceManager({ dataDir, deepseekDir: path.resolve('scripts/deepseek'), ports: await freeServicePorts(), binaries: { ollama: null } });
  backend = await createBackend({ mode: 'browser', version: 'test', dataDir, pythonServiceDir: path.resolve('scripts/deepseek'), createEngine: switchableEngine, services });
  api = await startApiServer({ backend: { ...backend, core: backend.core! }, dataDir, version: 'test', port: 0 });
}, 60_000);

afterAll(async () => {
  setTestEngine(null);
  await api?.close();
  await backend?.dispose();
  await images?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(() => setTestEngine({ delayMs: 0 }));

describe('security', () => {
  it('keeps the key in the data folder with 0600 and writes the discovery file', async () => {
    expect(statSync(api.keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(apiDiscoveryPath(dataDir)).mode & 0o777).toBe(0o600);
    const info = await backend.handlers['app.info']({});
    expect(info.api).toEqual({ url: api.url, key: api.key, keyFile: api.keyFile });
  });

  it('refuses a request without a key or with a wrong key', async () => {
    const none = await request('GET', '/v1/runs', { key: null });
    expect(none.status).toBe(401);
    expect(none.json().error.message).toMatch(/missing API key.*Authorization: Bearer/);
    const wrong = await request('GET', '/v1/runs', { key: 'pv_wrong' });
    expect(wrong.status).toBe(401);
    expect(wrong.json().error.message).toBe('wrong API key');
  });

  it('refuses a foreign Origin and a foreign Host, even with the key', async () => {
    const origin = await request('GET', '/v1/runs', { headers: { origin: 'https://evil.example' } });
    expect(origin.status).toBe(403);
    expect(origin.json().error.message).toMatch(/foreign Origin "https:\/\/evil.example"/);
    const host = await request('GET', '/v1/runs', { headers: { host: `evil.example:${api.port}` } });
    expect(host.status).toBe(403);
    expect(host.json().error.message).toMatch(/foreign Host/);
    expect((await request('GET', '/v1/runs', { headers: { origin: `http://127.0.0.1:${api.port}` } })).status).toBe(200);
  });

  it('serves the OpenAPI document and the docs page without a key, under a CSP that allows nothing external', async () => {
    expect((await request('GET', '/v1/openapi.json', { key: null })).status).toBe(200);
    const docs = await request('GET', '/v1/docs', { key: null });
    expect(docs.status).toBe(200);
    expect(docs.headers['content-security-policy']).toBe("default-src 'none'; style-src 'unsafe-inline'");
    expect(docs.text).toContain('/v1/runs/{id}/results');
    expect(docs.text).not.toMatch(/<script|https?:\/\/(?!127\.0\.0\.1)/);
  });
});

describe('POST /v1/ocr', () => {
  it('reads an image sent as the body with the embedded engine', async () => {
    setTestEngine(null);
    const reply = await request('POST', '/v1/ocr?engine=embedded', { body: await renderTextAd(), type: 'image/png' });
    expect(reply.status).toBe(200);
    const body = reply.json();
    expect(body.text).toBe(KNOWN_TEXT);
    expect(body.engine).toBe('embedded');
    expect(body.blocks.length).toBeGreaterThanOrEqual(2);
    expect(body.blocks[0].box).toHaveLength(4);
    expect(typeof body.timings.prepareMs).toBe('number');
    // A body under 4 KB arrives in Node's shared buffer pool; the engine's worker thread still gets it.
    const tiny = await request('POST', '/v1/ocr?engine=embedded', { body: await solidAd(3), type: 'image/png' });
    expect([tiny.status, tiny.json().text]).toEqual([200, '']);
  }, 120_000);

  it('reads a URL, a base64 image and a multipart file; without an engine the default one reads it', async () => {
    const byUrl = (await postJson('/v1/ocr', { url: images.url(7) })).json();
    // The engine that read the first image stays warm for the next ones (here the real embedded one).
    expect(byUrl.engine).toBe('embedded');
    expect(byUrl.text).toBe('');
    const png = await renderTextAd();
    const byBase64 = (await postJson('/v1/ocr', { image: png.toString('base64'), engine: 'embedded' })).json();
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'ad.png');
    const multipart = new Response(form);
    const body = Buffer.from(await multipart.arrayBuffer());
    const byForm = (await request('POST', '/v1/ocr', { body, type: multipart.headers.get('content-type')! })).json();
    expect(byForm.text).toBe(byBase64.text);
  });

  it('answers bad input with 4xx naming the problem', async () => {
    const notImage = await request('POST', '/v1/ocr', { body: Buffer.from('<html>hi</html>'), type: 'application/octet-stream' });
    expect(notImage.status).toBe(422);
    expect(notImage.json().error.message).toMatch(/image: not an image \(an HTML page\)/);
    const both = await postJson('/v1/ocr', { url: images.url(1), image: 'aGk=' });
    expect(both.status).toBe(400);
    expect(both.json().error.issues).toEqual(['body.url: give exactly one of url or image']);
    const engine = await request('POST', '/v1/ocr?engine=gpt9', { body: await renderTextAd(), type: 'image/png' });
    expect(engine.status).toBe(400);
    expect(engine.json().error.issues[0]).toMatch(/^query\.engine: Invalid option/);
    const fileUrl = await postJson('/v1/ocr', { url: 'file:///etc/passwd' });
    expect(fileUrl.status).toBe(400);
    expect(fileUrl.json().error.message).toMatch(/url: not an http\(s\) URL/);
    // An image host that does not answer is not an engine outage (503 made scripts retry a dead link forever).
    const unreachable = await postJson('/v1/ocr', { url: 'http://127.0.0.1:1/x.png' });
    expect(unreachable.status).toBe(502);
    expect(unreachable.json().error).toMatchObject({ code: 'image-unreachable', message: expect.stringMatching(/^image http:\/\/127\.0\.0\.1:1\/x\.png could not be downloaded: .*ECONNREFUSED/) });
    const type = await request('POST', '/v1/ocr', { body: 'x', type: 'text/html' });
    expect(type.status).toBe(415);
    expect(type.json().error.message).toMatch(/Content-Type "text\/html" is not accepted/);
  });
});

describe('runs', () => {
  it('runs a JSON list and answers progress and the export-shaped results, paged', async () => {
    const created = await postJson('/v1/runs', { ads: ads(30), engines: ['embedded'], workers: { embedded: 2 } });
    expect(created.status).toBe(201);
    const { runId, accepted, rejected, lanes } = created.json();
    expect([accepted, rejected, lanes]).toEqual([30, [], [{ id: 'embedded', engine: 'embedded', workers: 2, enabled: true }]]);
    const progress = await waitForStatus(runId, (status) => status === 'finished');
    expect(progress.done).toBe(30);
    const first = (await request('GET', `/v1/runs/${runId}/results?limit=20`)).json();
    expect([first.total, first.offset, first.next, first.rows.length]).toEqual([30, 0, 20, 20]);
    const second = (await request('GET', `/v1/runs/${runId}/results?offset=20&limit=20`)).json();
    expect(second.next).toBeNull();
    const rows = [...first.rows, ...second.rows];
    expect(rows.map((row: any) => row.creative_id)).toEqual(ads(30).map((ad) => ad.creative_id));
    expect(rows[3]).toMatchObject({ creative_id: 'ad3', image_url: images.url(3), ad_text: 'text 3', advertiser: 'brand 0', _vision_model: 'test-embedded', _vision_status: 'done', _vision_time: expect.any(Number) });
    expect(rows[3]._vision_text).toMatch(/^text [0-9a-f]{12}$/);
    const list = (await request('GET', '/v1/runs')).json();
    expect(list.some((run: any) => run.runId === runId && run.status === 'finished')).toBe(true);
  });

  it('pages done and failed rows by matching row, with their own total', async () => {
    const dead = new Set([3, 7, 9]);
    const list = ads(12, 600).map((ad, i) => (dead.has(i) ? { ...ad, image_url: ad.image_url.replace('/ad-', '/missing-') } : ad));
    const { runId } = (await postJson('/v1/runs', { ads: list, engines: ['embedded'] })).json();
    await waitForStatus(runId, (status) => status === 'finished');
    const page = async (query: string) => (await request('GET', `/v1/runs/${runId}/results?${query}`)).json();
    const failed = await page('rows=failed&limit=2');
    expect([failed.total, failed.next, failed.rows.map((row: any) => row.creative_id)]).toEqual([3, 2, ['ad603', 'ad607']]);
    const lastFailed = await page('rows=failed&limit=2&offset=2');
    expect([lastFailed.next, lastFailed.rows.map((row: any) => row.creative_id)]).toEqual([null, ['ad609']]);
    const done = [await page('rows=done&limit=5'), await page('rows=done&limit=5&offset=5')];
    expect(done.map((p) => [p.total, p.next, p.rows.length])).toEqual([[9, 5, 5], [9, null, 4]]);
    expect(done.flatMap((p) => p.rows.map((row: any) => row.creative_id))).toEqual(list.filter((_, i) => !dead.has(i)).map((ad) => ad.creative_id));
    expect((await page('limit=5')).total).toBe(12);
  });

  it('takes a CSV body through the import and reports its rejected rows by line', async () => {
    const csv = `creative_id,image_url\nc1,${images.url(101)}\nc2,not-a-url\nc3,${images.url(103)}\n`;
    const created = await request('POST', '/v1/runs?engines=embedded&filename=scrape.csv', { body: csv, type: 'text/csv' });
    expect(created.status).toBe(201);
    const body = created.json();
    expect(body.accepted).toBe(2);
    expect(body.rejected).toEqual([expect.objectContaining({ line: 3, reason: expect.stringMatching(/not a valid URL: not-a-url/) })]);
    await waitForStatus(body.runId, (status) => status === 'finished');
    expect((await request('GET', '/v1/runs')).json().find((run: any) => run.runId === body.runId).source).toBe('scrape.csv');
    const none = await request('POST', '/v1/runs', { body: 'creative_id,image_url\nc1,nope\n', type: 'text/csv' });
    expect(none.status).toBe(422);
    expect(none.json().error.message).toMatch(/No ads found in the request body \(line 2, image_url: not a valid URL: nope\)/);
  });

  it('names where a bad ad is in what the script sent: ads[i].field of a JSON body, the line of a list body — never a file it never had', async () => {
    const list = [...ads(3, 700), { creative_id: 'bad', image_url: 'nope' }];
    const mixed = await postJson('/v1/runs', { ads: list, engines: ['embedded'] });
    expect(mixed.status).toBe(201);
    expect(mixed.json().rejected).toEqual([{ line: 4, column: 'image_url', reason: 'ads[3].image_url: not a valid URL: nope', raw: expect.any(String) }]);
    await waitForStatus(mixed.json().runId, (status) => status === 'finished');

    const none = await postJson('/v1/runs', { ads: [{ creative_id: 'x1', image_url: 'ftp://a.test/x.png' }, { creative_id: 'x2' }], engines: ['embedded'] });
    expect(none.status).toBe(422);
    expect(none.json().error.message).toBe('No ads found in the request body (ads[0].image_url: not an http(s) URL: ftp://a.test/x.png; ads[1]: no URL).');
    expect(none.json().error.rejected.map((row: { reason: string }) => row.reason)).toEqual(['ads[0].image_url: not an http(s) URL: ftp://a.test/x.png', 'ads[1]: no URL']);

    const ndjson = await request('POST', '/v1/runs?engines=embedded', { body: '{"creative_id":"n1","image_url":"nope"}\n', type: 'application/x-ndjson' });
    expect(ndjson.status).toBe(422);
    expect(ndjson.json().error.message).toBe('No ads found in the request body (line 1, image_url: not a valid URL: nope).');
  });

  it('tells a duplicate id of a JSON body by its place in `ads`, and lists the run as from the request body, not a made-up file', async () => {
    const list = [...ads(2, 720), { creative_id: 'ad720', image_url: images.url(722) }];
    const created = await postJson('/v1/runs', { ads: list, engines: ['embedded'] });
    expect(created.status).toBe(201);
    expect(created.json().rejected).toEqual([expect.objectContaining({ line: 3, column: 'creative_id', reason: 'ads[2].creative_id: duplicate id "ad720" (first at ads[0])' })]);
    await waitForStatus(created.json().runId, (status) => status === 'finished');
    const listed = (await request('GET', '/v1/runs')).json().find((run: any) => run.runId === created.json().runId);
    expect(listed).toMatchObject({ source: 'request body', total: 2 });
    // A script may name it (in the body, or ?filename= as for a file body); the name does not make the JSON a CSV.
    for (const [pathname, body, source] of [
      ['/v1/runs', { ads: ads(2, 730), engines: ['embedded'], name: 'scrape 2026-12-04.csv' }, 'scrape 2026-12-04.csv'],
      ['/v1/runs?filename=nightly.tsv', { ads: ads(2, 740), engines: ['embedded'] }, 'nightly.tsv'],
    ] as const) {
      const named = await postJson(pathname, body);
      expect([named.status, named.json().accepted]).toEqual([201, 2]);
      await waitForStatus(named.json().runId, (status) => status === 'finished');
      expect((await request('GET', '/v1/runs')).json().find((run: any) => run.runId === named.json().runId)).toMatchObject({ source, total: 2, done: 2 });
    }
  });

  it('reads a UTF-16 list body (Excel\'s "Unicode text") as the window\'s import does', async () => {
    const csv = `creative_id,image_url\nü1,${images.url(101)}\n`;
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(csv, 'utf16le')]);
    const created = await request('POST', '/v1/runs?engines=embedded&filename=unicode.csv', { body: utf16, type: 'text/csv' });
    expect(created.status).toBe(201);
    expect(created.json()).toMatchObject({ accepted: 1, rejected: [] });
    await waitForStatus(created.json().runId, (status) => status === 'finished');
  });

  it('refuses a split that names no engine of the run, in the JSON body or the query of a list body', async () => {
    const asObject = await postJson('/v1/runs', { ads: ads(2, 500), engines: ['embedded', 'openai'], policy: 'ratio', split: { embeded: 0.75, openai: 0.25 } });
    const asText = await request('POST', `/v1/runs?engines=embedded,openai&policy=ratio&split=${encodeURIComponent('embeded=0.75,openai=0.25')}`, { body: `creative_id,image_url\nq1,${images.url(510)}\n`, type: 'text/csv' });
    for (const reply of [asObject, asText]) {
      expect(reply.status).toBe(400);
      expect(reply.json().error.message).toMatch(/^split names "embeded", not among this run's engines \(embedded, openai\)/);
    }
    // Worded for the query parameter the script sent, not the CLI's flag.
    const badShare = await request('POST', `/v1/runs?policy=ratio&split=abc`, { body: `creative_id,image_url\nq2,${images.url(511)}\n`, type: 'text/csv' });
    expect([badShare.status, badShare.json().error.message]).toEqual([400, 'split expects a number from 0 to 1, got "abc"']);
  });

  it('answers wrong types, a 20 MB body and unknown fields with 4xx naming the problem', async () => {
    const wrong = await postJson('/v1/runs', { ads: 'ads.csv', policy: 'fast' });
    expect(wrong.status).toBe(400);
    expect(wrong.json().error.issues).toEqual([expect.stringMatching(/^body\.ads: Invalid input: expected array/), expect.stringMatching(/^body\.policy: Invalid option/)]);
    const unknown = await postJson('/v1/runs', { ads: ads(1), colour: 'red' });
    expect(unknown.json().error.issues).toEqual(['body: Unrecognized key: "colour"']);
    const huge = await request('POST', '/v1/runs', { body: JSON.stringify({ ads: [{ creative_id: 'x', image_url: 'x'.repeat(20 * 1024 * 1024) }] }), type: 'application/json' });
    expect(huge.status).toBe(413);
    expect(huge.json().error.message).toMatch(/body: \d+ bytes is more than the 16777216 bytes this route accepts/);
    const badJson = await request('POST', '/v1/runs', { body: '{"ads": [', type: 'application/json' });
    expect(badJson.status).toBe(400);
    expect(badJson.json().error.message).toMatch(/^body: not valid JSON/);
    const workers = await postJson('/v1/runs', { ads: ads(1), workers: { embedded: 0 } });
    expect(workers.json().error.issues[0]).toMatch(/^body\.workers\.embedded: Too small/);
  });

  it('pauses, resumes and cancels a run; a cancelled run resumes without redoing finished ads', async () => {
    setTestEngine({ delayMs: 30 });
    const { runId } = (await postJson('/v1/runs', { ads: ads(60, 200), engines: ['embedded'], workers: { embedded: 1 } })).json();
    await waitForStatus(runId, (_status, progress) => progress.done >= 2);
    expect((await request('POST', `/v1/runs/${runId}/pause`)).json()).toEqual({ ok: true });
    await waitForStatus(runId, (status) => status === 'paused');
    expect((await request('POST', `/v1/runs/${runId}/resume`)).status).toBe(200);
    await waitForStatus(runId, (status) => status === 'running');
    expect((await request('POST', `/v1/runs/${runId}/cancel`)).status).toBe(200);
    const cancelled = await waitForStatus(runId, (status) => status === 'cancelled');
    expect(cancelled.done).toBeLessThan(60);
    const again = await request('POST', `/v1/runs/${runId}/cancel`);
    expect(again.status).toBe(409);
    expect(again.json().error.message).toMatch(/is not running/);
    const doneBefore = new Set(((await request('GET', `/v1/runs/${runId}/results?rows=done&limit=100`)).json().rows as any[]).map((row) => row.creative_id));
    setTestEngine({ delayMs: 0 });
    expect((await request('POST', `/v1/runs/${runId}/resume`)).status).toBe(200);
    const finished = await waitForStatus(runId, (status) => status === 'finished');
    expect(finished.done).toBe(60);
    expect(doneBefore.size).toBe(cancelled.done);
    expect((await request('POST', `/v1/runs/${runId}/resume`)).status).toBe(409);
    expect((await request('POST', '/v1/runs/run_nope/pause')).status).toBe(404);
  });

  it('changes the split of a running ratio run, and names a bad split', async () => {
    setTestEngine({ delayMs: 20 });
    const { runId } = (await postJson('/v1/runs', { ads: ads(40, 400), engines: ['embedded', 'openai'], policy: 'ratio', split: 0.5 })).json();
    const bad = await request('PUT', `/v1/runs/${runId}/split`, { body: JSON.stringify({ embedded: 2 }), type: 'application/json' });
    expect(bad.status).toBe(400);
    expect(bad.json().error.issues[0]).toMatch(/^body\.embedded: Too big/);
    expect((await request('PUT', `/v1/runs/${runId}/split`, { body: JSON.stringify({ embedded: 0.8, openai: 0.2 }), type: 'application/json' })).json()).toEqual({ ok: true });
    await request('POST', `/v1/runs/${runId}/cancel`);
    await waitForStatus(runId, (status) => status === 'cancelled');
  });

  it('streams every result of a live run exactly once as NDJSON, and SSE progress until the end', async () => {
    setTestEngine({ delayMs: 3 });
    const { runId } = (await postJson('/v1/runs', { ads: ads(300, 1000), engines: ['embedded'], workers: { embedded: 4 } })).json();
    const events = request('GET', `/v1/runs/${runId}/events`);
    const stream = await request('GET', `/v1/runs/${runId}/results?stream=1`);
    expect(stream.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const rows = stream.text.trim().split('\n').map((line) => JSON.parse(line));
    expect(rows).toHaveLength(300);
    expect(new Set(rows.map((row) => row.creative_id)).size).toBe(300);
    expect(rows.every((row) => row._vision_status === 'done' && row.advertiser !== undefined)).toBe(true);
    const sse = (await events).text;
    expect(sse).toMatch(/^event: run\.progress\ndata: /);
    expect(sse.trim().split('\n\n').at(-1)).toBe(`event: end\ndata: ${JSON.stringify({ runId, status: 'finished' })}`);
    // A finished run's stream is what the store has, and ends.
    const replay = (await request('GET', `/v1/runs/${runId}/results?stream=1`)).text.trim().split('\n');
    expect(replay).toHaveLength(300);
  });
});

describe('engines, services, routes and the OpenAPI document', () => {
  it('lists engines and services, and names a bad service', async () => {
    expect((await request('GET', '/v1/engines')).json().map((engine: any) => engine.engine)).toContain('embedded');
    expect((await request('GET', '/v1/services')).json().map((service: any) => service.name)).toContain('deepseek');
    const bad = await request('POST', '/v1/services/redis/start');
    expect(bad.status).toBe(400);
    expect(bad.json().error.issues).toEqual(['path.name: unknown service name']);
    // deepseek's backend choice rides in the body, checked like the IPC command's.
    const badBackend = await postJson('/v1/services/deepseek/start', { backend: 'cuda' });
    expect([badBackend.status, badBackend.json().error.issues[0]]).toEqual([400, expect.stringMatching(/^body\.backend: /)]);
    const notDeepSeek = await postJson('/v1/services/ollama/start', { backend: 'mlx' });
    expect([notDeepSeek.status, notDeepSeek.json().error.message]).toEqual([422, 'backend: only the deepseek service has backends, not ollama']);
    // A start that fails is not a 200: a script checking the status learns why.
    const notInstalled = await request('POST', '/v1/services/ollama/start');
    expect([notInstalled.status, notInstalled.json().error.code]).toEqual([503, 'unavailable']);
    expect(notInstalled.json().error.message).toMatch(/^Ollama did not start: .*ollama/i);
    expect((await request('GET', '/v1/nothing')).status).toBe(404);
    const method = await request('DELETE', '/v1/runs');
    expect([method.status, method.headers.allow]).toEqual([405, 'POST, GET']);
  });

  it('validates as OpenAPI 3.1 and lists exactly the routes served', async () => {
    const document = (await request('GET', '/v1/openapi.json')).json();
    const validator = new Validator();
    const result = await validator.validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    const { runId } = (await postJson('/v1/runs', { ads: ads(2, 5000), engines: ['embedded'] })).json();
    await waitForStatus(runId, (status) => status === 'finished');
    const operations = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(([pathname, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${pathname}`));
    expect(operations.length).toBe(16);
    for (const operation of operations) {
      const [method, pathname] = operation.split(' ') as [string, string];
      const concrete = pathname.replace('{id}', runId).replace('{name}', 'embedded');
      const reply = await request(method, concrete, { body: method === 'PUT' ? '{"embedded":1}' : undefined, type: method === 'PUT' ? 'application/json' : undefined });
      // Served: whatever the answer, it is not "no such route" or "method not allowed".
      expect([operation, reply.status === 405 || (reply.status === 404 && /^No route/.test(reply.text.includes('"error"') ? JSON.parse(reply.text).error.message : ''))]).toEqual([operation, false]);
    }
    expect(Object.keys(document.paths['/v1/runs/{id}/results'].get.responses['200'].content)).toEqual(['application/json', 'application/x-ndjson']);
  });
});
