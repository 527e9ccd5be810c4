/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are read field by field in the assertions */
/**
 * Resume through the local API after the server is killed with SIGKILL mid-run: the
 * restarted `parallel-vision api` finds the run interrupted, POST /resume finishes it,
 * no finished ad is lost or recognized again, and the NDJSON stream gives every ad once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestEngineSettingsInput } from '../../electron/core/engines/test-engine.js';
import { testEngineCliArgs } from '../helpers/test-engine-cli.js';
import { solidAd, startAdImageServer, type AdImageServer } from '../helpers/ad-image-server.js';

const AD_COUNT = 120;
let dir: string;
let images: AdImageServer;
const children: ChildProcess[] = [];

interface Api {
  child: ChildProcess;
  url: string;
  key: string;
}

function startApi(dataDir: string, engine: TestEngineSettingsInput): Promise<Api> {
  const child = spawn(process.execPath, ['node_modules/tsx/dist/cli.mjs', ...testEngineCliArgs(engine, ['api', '--data-dir', dataDir, '--port', '0'])], {
    env: process.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk;
      const match = /Parallel Vision API at (http:\/\/127\.0\.0\.1:\d+)\/v1/.exec(output);
      if (match) resolve({ child, url: match[1]!, key: readFileSync(path.join(dataDir, 'api-key'), 'utf8').trim() });
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
    child.once('exit', (code) => reject(new Error(`api exited (${code}) before listening:\n${output}`)));
  });
}

/** SIGKILL the whole group (tsx runs the command in a child process). */
async function killHard(api: Api): Promise<void> {
  const exited = new Promise((resolve) => api.child.once('exit', resolve));
  process.kill(-api.child.pid!, 'SIGKILL');
  await exited;
}

async function call(api: Api, method: string, pathname: string, body?: unknown): Promise<{ status: number; json: any; text: string }> {
  const response = await fetch(`${api.url}${pathname}`, {
    method,
    headers: { authorization: `Bearer ${api.key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // NDJSON or empty.
  }
  return { status: response.status, json, text };
}

function doneIds(dbPath: string): Set<string> {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return new Set(db.prepare<[], { creative_id: string }>("SELECT creative_id FROM results WHERE status = 'done'").all().map((row) => row.creative_id));
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'pv-api-resume-'));
  images = await startAdImageServer();
});

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
  await images.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the local API after SIGKILL', () => {
  it('resumes the run through POST /resume: nothing lost, nothing done twice', async () => {
    const dataDir = path.join(dir, 'data');
    const logFile = path.join(dir, 'engine.log');
    const env: TestEngineSettingsInput = { delayMs: 60, logFile };
    const hashToId = new Map<string, string>();
    for (let n = 0; n < AD_COUNT; n++) hashToId.set(createHash('sha256').update(await solidAd(n)).digest('hex'), `ad${n}`);
    const ads = Array.from({ length: AD_COUNT }, (_, n) => ({ creative_id: `ad${n}`, image_url: images.url(n) }));

    // The first server stalls after 40 calls, so the kill lands mid-run on any machine.
    const first = await startApi(dataDir, { ...env, holdAfterCalls: 40 });
    const created = await call(first, 'POST', '/v1/runs', { ads, engines: ['embedded'], workers: { embedded: 2 } });
    expect(created.status).toBe(201);
    const runId: string = created.json.runId;
    for (;;) {
      if ((await call(first, 'GET', `/v1/runs/${runId}`)).json.done >= 15) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await killHard(first);
    const savedAtKill = doneIds(path.join(dataDir, 'parallel-vision.db'));
    expect(savedAtKill.size).toBeGreaterThanOrEqual(15);
    expect(savedAtKill.size).toBeLessThan(AD_COUNT);

    const second = await startApi(dataDir, env);
    expect((await call(second, 'GET', `/v1/runs/${runId}`)).json.status).toBe('interrupted');
    expect((await call(second, 'POST', `/v1/runs/${runId}/resume`)).status).toBe(200);
    const stream = await call(second, 'GET', `/v1/runs/${runId}/results?stream=1`);
    const rows = stream.text.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows).toHaveLength(AD_COUNT);
    expect(new Set(rows.map((row) => row.creative_id)).size).toBe(AD_COUNT);
    expect(rows.every((row) => row._vision_status === 'done')).toBe(true);
    const progress = (await call(second, 'GET', `/v1/runs/${runId}`)).json;
    expect([progress.status, progress.done, progress.failed]).toEqual(['finished', AD_COUNT, 0]);

    const calls = new Map<string, number>();
    for (const line of readFileSync(logFile, 'utf8').split('\n').filter(Boolean)) {
      const id = hashToId.get(line.split(' ')[1]!)!;
      calls.set(id, (calls.get(id) ?? 0) + 1);
    }
    // Saved before the kill: recognized once, never again after the resume.
    for (const id of savedAtKill) expect([id, calls.get(id)]).toEqual([id, 1]);
    for (const ad of ads) expect(calls.get(ad.creative_id)).toBeGreaterThanOrEqual(1);
    await killHard(second);
  });
});
