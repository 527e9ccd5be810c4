import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from './index.js';
import type { CliIo } from './io.js';
import { testEngineCliArgs } from '../../test/helpers/test-engine-cli.js';
import type { TestEngineSettingsInput } from '../core/engines/test-engine.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const AD_COUNT = 30;
let dir: string;
let server: Server;
const images = new Map<string, Buffer>();
const hashToId = new Map<string, string>();
let listPath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pv-cli-'));
  for (let i = 0; i < AD_COUNT; i++) {
    const png = await sharp({ create: { width: 20 + i, height: 16, channels: 3, background: { r: i * 8, g: 100, b: 50 } } }).png().toBuffer();
    images.set(`/ad${i}.png`, png);
    hashToId.set(createHash('sha256').update(png).digest('hex'), `ad${i}`);
  }
  server = createServer((req, res) => {
    const png = images.get(req.url ?? '');
    res.writeHead(png ? 200 : 404, { 'content-type': 'image/png' });
    res.end(png ?? 'missing');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  listPath = join(dir, 'ads.csv');
  const rows = Array.from({ length: AD_COUNT }, (_, i) => `ad${i},${base}/ad${i}.png,text ${i}`);
  await writeFile(listPath, `creative_id,image_url,ad_text\n${rows.join('\n')}\n`);
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function startCli(args: string[], engine: TestEngineSettingsInput): { child: ChildProcess; finished: Promise<Finished> } {
  const child = spawn(process.execPath, ['--import', 'tsx', ...testEngineCliArgs(engine, args)], { cwd: repoRoot, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk));
  const finished = new Promise<Finished>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, finished };
}

function doneIds(dbPath: string): Set<string> {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return new Set(db.prepare<[], { creative_id: string }>("SELECT creative_id FROM results WHERE status = 'done'").all().map((row) => row.creative_id));
  } finally {
    db.close();
  }
}

async function waitFor<T>(probe: () => T | null, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = probe();
      if (value !== null) return value;
    } catch {
      // The database may not exist yet.
    }
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function engineCalls(logFile: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const text = await readFile(logFile, 'utf8').catch(() => '');
  for (const line of text.split('\n').filter(Boolean)) {
    const id = hashToId.get(line.split(' ')[1]!)!;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

describe('parallel-vision run', () => {
  it('resumes after kill -9 without losing or rerunning a finished ad', async () => {
    const dataDir = join(dir, 'data-kill');
    const logFile = join(dir, 'engine-kill.log');
    const out = join(dir, 'results-kill.jsonl');
    const engine: TestEngineSettingsInput = { delayMs: 120, logFile };
    const args = ['run', listPath, '--engines', 'embedded', '--workers', 'embedded=2', '--data-dir', dataDir, '--out', out];
    const dbPath = join(dataDir, 'parallel-vision.db');

    // The first process stalls after 12 calls, so the kill lands mid-run on any machine.
    const first = startCli(args, { ...engine, holdAfterCalls: 12 });
    const finishedBeforeKill = await waitFor(() => {
      const ids = doneIds(dbPath);
      return ids.size >= 8 ? ids : null;
    }, 60_000);
    first.child.kill('SIGKILL');
    const killed = await first.finished;
    expect(killed.signal).toBe('SIGKILL');
    // Whatever committed before the kill, including anything after our probe.
    const savedAtKill = doneIds(dbPath);
    expect(savedAtKill.size).toBeGreaterThanOrEqual(finishedBeforeKill.size);
    expect(savedAtKill.size).toBeLessThan(AD_COUNT);

    const second = await startCli(args, engine).finished;
    expect(second.stderr).toMatch(/Resuming run run_\S+ \(interrupted\)/);
    expect(second.code).toBe(0);
    const rows = (await readFile(out, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows.map((row) => row.creative_id)).toEqual(Array.from({ length: AD_COUNT }, (_, i) => `ad${i}`));
    expect(rows.every((row) => row._vision_status === 'done')).toBe(true);
    const calls = await engineCalls(logFile);
    // Finished before the kill: recognized exactly once, never again after the resume.
    for (const id of savedAtKill) expect(calls.get(id)).toBe(1);
    for (let i = 0; i < AD_COUNT; i++) expect(calls.get(`ad${i}`)).toBeGreaterThanOrEqual(1);
  });

  it('stops cleanly on Ctrl-C (exit 130, run cancelled) and a second run finishes it', async () => {
    const dataDir = join(dir, 'data-int');
    const logFile = join(dir, 'engine-int.log');
    const engine: TestEngineSettingsInput = { delayMs: 120, logFile };
    const args = ['run', listPath, '--engines', 'embedded', '--workers', 'embedded=2', '--data-dir', dataDir];
    const dbPath = join(dataDir, 'parallel-vision.db');
    const first = startCli(args, { ...engine, holdAfterCalls: 8 });
    await waitFor(() => (doneIds(dbPath).size >= 4 ? true : null), 60_000);
    first.child.kill('SIGINT');
    const stopped = await first.finished;
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toMatch(/Stopping/);
    const db = new Database(dbPath, { readonly: true });
    expect(db.prepare('SELECT status FROM runs').pluck().all()).toEqual(['cancelled']);
    db.close();
    const savedAtStop = doneIds(dbPath);

    const second = await startCli([...args, '--json'], engine).finished;
    expect(second.code).toBe(0);
    const lastProgress = JSON.parse(second.stdout.trim().split('\n').pop()!) as { status: string; done: number; total: number };
    expect(lastProgress).toMatchObject({ status: 'finished', total: AD_COUNT });
    expect(doneIds(dbPath).size).toBe(AD_COUNT);
    const calls = await engineCalls(logFile);
    for (const id of savedAtStop) expect(calls.get(id)).toBe(1);
  });
});

describe('parallel-vision export and runs', () => {
  function captureIo(): CliIo & { stdout: string[]; stderr: string[] } {
    const stdout: string[] = [];
    const stderr: string[] = [];
    return { stdout, stderr, out: (text) => void stdout.push(text), err: (text) => void stderr.push(text), env: {}, isTerminal: false };
  }

  it('exports the latest run and lists runs', async () => {
    const dataDir = join(dir, 'data-kill');
    const io = captureIo();
    expect(await main(['export', 'latest', '--format', 'csv', '--out', join(dir, 'export.csv'), '--data-dir', dataDir], io)).toBe(0);
    const csv = await readFile(join(dir, 'export.csv'), 'utf8');
    expect(csv.split('\r\n')[0]).toBe('creative_id,image_url,ad_text,_vision_model,_vision_text,_vision_time,_vision_status,_vision_error,_vision_description,_vision_truncated');
    expect(csv.trim().split('\r\n')).toHaveLength(AD_COUNT + 1);
    const listing = captureIo();
    expect(await main(['runs', '--data-dir', dataDir, '--json'], listing)).toBe(0);
    const runs = JSON.parse(listing.stdout.join('')) as Array<{ status: string; done: number; source: string }>;
    expect(runs).toEqual([expect.objectContaining({ status: 'finished', done: AD_COUNT, source: 'ads.csv' })]);
  });

  it('runs through the bin launcher', async () => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'parallel-vision.mjs'), 'runs', '--data-dir', join(dir, 'data-kill')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(stdout).toMatch(/^run\s+status/);
    expect(stdout).toMatch(/finished\s+30\/30/);
  });

  it('exports to standard output with --out -', async () => {
    const io = captureIo();
    expect(await main(['export', 'latest', '--format', 'jsonl', '--out', '-', '--data-dir', join(dir, 'data-kill')], io)).toBe(0);
    const rows = io.stdout.join('').trim().split('\n').map((line) => JSON.parse(line) as { _vision_status: string });
    expect(rows).toHaveLength(AD_COUNT);
    expect(io.stderr.join('')).toBe(`Wrote ${AD_COUNT} rows to standard output\n`);
    expect(await main(['export', 'latest', '--out', '-', '--data-dir', join(dir, 'data-kill')], captureIo())).toBe(2);
  });

  it('ends quietly when the reader closes the pipe (runs | head)', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'electron', 'cli', 'index.ts'), 'export', 'latest', '--format', 'csv', '--out', '-', '--data-dir', join(dir, 'data-kill')], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    // Closed before the command writes: its first write fails with EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(stderr).not.toMatch(/EPIPE|Unhandled/);
    expect(code).toBe(0);
  });

  it('refuses a --db file that is not there instead of creating an empty store', async () => {
    const io = captureIo();
    const missing = join(dir, 'typo.db');
    expect(await main(['export', 'latest', '--out', join(dir, 'x.csv'), '--db', missing], io)).toBe(1);
    expect(io.stderr.join('')).toContain(`--db ${missing}: no such results store`);
    expect(existsSync(missing)).toBe(false);
  });

  it('answers --help for export and runs, and help COMMAND', async () => {
    for (const argv of [['export', '--help'], ['export', '-h'], ['help', 'export']]) {
      const io = captureIo();
      expect(await main(argv, io)).toBe(0);
      expect(io.stdout.join('')).toMatch(/^Usage: parallel-vision export RUN --out FILE[\s\S]*--rows R/);
    }
    const runs = captureIo();
    expect(await main(['runs', '--help'], runs)).toBe(0);
    expect(runs.stdout.join('')).toMatch(/^Usage: parallel-vision runs/);
    // Those two printed the general help.
    const services = captureIo();
    expect(await main(['help', 'services'], services)).toBe(0);
    expect(services.stdout.join('')).toMatch(/^usage: parallel-vision services <command>/);
    const api = captureIo();
    expect(await main(['help', 'api'], api)).toBe(0);
    expect(api.stdout.join('')).toMatch(/^Usage: parallel-vision api/);
  });

  it('reports usage errors with exit status 2', async () => {
    const io = captureIo();
    expect(await main(['export', 'latest'], io)).toBe(2);
    expect(io.stderr.join('')).toMatch(/--out/);
    expect(await main(['frobnicate'], captureIo())).toBe(2);
    expect(await main(['run', listPath, '--policy', 'fastest'], captureIo())).toBe(2);
  });

  it('shows the embedded model and language options in run --help and rejects bad values as usage errors', async () => {
    const help = captureIo();
    expect(await main(['run', '--help'], help)).toBe(0);
    expect(help.stdout.join('')).toMatch(/--embedded-model M\s+embedded OCR model: accurate \(PP-OCRv6 small, default\) \| fast/);
    expect(help.stdout.join('')).toMatch(/--embedded-language L/);
    const bad = captureIo();
    expect(await main(['run', listPath, '--embedded-model', 'huge'], bad)).toBe(2);
    expect(bad.stderr.join('')).toMatch(/model/);
    const unreadable = captureIo();
    expect(await main(['run', listPath, '--embedded-model', 'fast', '--embedded-language', 'fr'], unreadable)).toBe(2);
    expect(unreadable.stderr.join('')).toMatch(/setting "language": "fr" \(French\) needs the PP-OCRv6 recogniser/);
  });
});
