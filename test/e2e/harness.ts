/**
 * Shared pieces of the end-to-end tests: start browser mode as the real CLI does, and
 * open it in Debian's Chromium driven by playwright-core.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { chromium, type BrowserContext } from 'playwright-core';
import type { TestEngineSettingsInput } from '../../electron/core/engines/test-engine.js';
import { testEngineCliArgs } from '../helpers/test-engine-cli.js';
import { freeServicePorts } from '../../electron/core/services/test-support.js';

export const ARTIFACTS_DIR = path.resolve('test-artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface BrowserMode {
  url: string;
  origin: string;
  token: string;
  dataDir: string;
  process: ResultPromise;
  output(): string;
  stop(): Promise<void>;
}

/** `parallel-vision serve` as a child process (with the test engine when given); resolves once it printed its URL. */
export async function startBrowserMode(env: Record<string, string> = {}, options: { testEngine?: TestEngineSettingsInput } = {}): Promise<BrowserMode> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'pv-e2e-data-'));
  const serve = ['serve', '--port', '0', '--data-dir', dataDir];
  // With testEngine, every lane gets the test engine (injected by the fixture entry, never by the product).
  const entry = options.testEngine ? testEngineCliArgs(options.testEngine, serve) : ['electron/cli/index.ts', ...serve];
  // Ports of its own for the model services: an Ollama running on this machine's 11434 would show up in the tests.
  const ports = await freeServicePorts();
  const child = execa(process.execPath, ['--import', 'tsx', ...entry], {
    env: { PARALLEL_VISION_DEEPSEEK_PORT: String(ports.deepseek), PARALLEL_VISION_OLLAMA_PORT: String(ports.ollama), ...env, PARALLEL_VISION_DATA_DIR: dataDir },
    all: true,
    buffer: false,
    reject: false,
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`browser mode printed no URL in 60 s:\n${output}`)), 60_000);
    child.all!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /running at (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    void child.then(() => reject(new Error(`browser mode exited early:\n${output}`)));
  });
  const parsed = new URL(url);
  return {
    url,
    origin: parsed.origin,
    token: parsed.searchParams.get('token')!,
    dataDir,
    process: child,
    output: () => output,
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([child, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Chromium with a fresh profile; closes and removes it with `close()`. */
export async function openChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(path.join(tmpdir(), 'pv-chromium-'));
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 820 },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
