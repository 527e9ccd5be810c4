/** `services start` in the foreground, as its own process: it must outlive the service's crashes. */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { findFreePort } from '../core/services/ports.js';
import { FAKE_OLLAMA, waitUntil } from '../core/services/test-support.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
let dataDir = '';
afterEach(async () => rm(dataDir, { recursive: true, force: true }));

it('restarts a service killed under it and says so, and Ctrl-C still stops it', async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'pv-fg-'));
  const port = await findFreePort(46_000 + Math.floor(Math.random() * 4000));
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'electron', 'cli', 'index.ts'), 'services', 'start', 'ollama', '--port', String(port), '--data-dir', dataDir], {
    cwd: repoRoot,
    env: { ...process.env, PARALLEL_VISION_OLLAMA_BIN: FAKE_OLLAMA },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) => child.on('exit', (code) => ((exitCode = code), resolve())));
  try {
    await waitUntil(() => /ready at .* \(pid \d+\)/.test(out) || exitCode !== undefined, 60_000, 'ready');
    const pid = Number(/ready at .* \(pid (\d+)\)/.exec(out)?.[1]);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    // Before: the command's process ran out of work and exited 13 with nothing said.
    await waitUntil(() => out.includes('ollama ready again at') || exitCode !== undefined, 60_000, 'restart');
    expect(exitCode).toBeUndefined();
    expect(err).toMatch(/restart 1 of \d+/);
    expect((await fetch(`http://127.0.0.1:${port}/api/version`)).status).toBe(200);
    child.kill('SIGINT');
    await exited;
    expect(exitCode).toBe(0);
    expect(out).toContain('ollama stopped');
  } finally {
    if (exitCode === undefined) child.kill('SIGKILL');
  }
}, 180_000);
