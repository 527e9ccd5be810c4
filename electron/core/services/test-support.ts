/** Helpers shared by this folder's tests (not used by the app). */
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DiscoveryHost } from './discovery.js';
import { findFreePort } from './ports.js';

export const TINY_SERVER = fileURLToPath(new URL('../../../test/fixtures/services/tiny-server.mjs', import.meta.url));

/** Never less than this: a wait guards against a hang, it is not a speed budget (CI may be loaded). */
const HANG_GUARD_MS = 60_000;

export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = HANG_GUARD_MS, what = 'condition'): Promise<void> {
  timeoutMs = Math.max(timeoutMs, HANG_GUARD_MS);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(25);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export const CRASHING_APP = fileURLToPath(new URL('../../../test/fixtures/services/crashing-app.ts', import.meta.url));
export const FAKE_OLLAMA = fileURLToPath(new URL('../../../test/fixtures/fake-ollama/ollama', import.meta.url));
export const DEEPSEEK_DIR = fileURLToPath(new URL('../../../scripts/deepseek/', import.meta.url));
export const DEEPSEEK_TEST_PYTHON = fileURLToPath(new URL('../../../scripts/deepseek/.venv/bin/python', import.meta.url));

/** Pids of this process's direct children whose command line matches `pattern` (from the process table). */
export async function childProcesses(pattern: RegExp): Promise<string[]> {
  const { runCommand } = await import('./commands.js');
  const table = await runCommand('ps', ['-eo', 'pid=,ppid=,args=']);
  return table.stdout
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([, ppid, ...args]) => Number(ppid) === process.pid && pattern.test(args.join(' ')))
    .map(([pid]) => pid as string);
}

/** A Mac with nothing installed: no executables anywhere, no login shell answer. */
export const NOTHING_INSTALLED: DiscoveryHost = {
  platform: 'darwin',
  env: { PATH: '/nowhere' },
  homeDir: '/Users/nobody',
  isExecutable: async () => false,
  listDir: async () => [],
  run: async () => ({ exitCode: 1, stdout: '', stderr: '', failed: false }),
};

/**
 * Free ports for both managed services, so a manager under test never meets a real
 * Ollama or DeepSeek service someone is running on the default ports.
 */
export async function freeServicePorts(): Promise<{ ollama: number; deepseek: number }> {
  const ollama = await findFreePort(45_000 + Math.floor(Math.random() * 5000));
  return { ollama, deepseek: await findFreePort(ollama + 1) };
}
