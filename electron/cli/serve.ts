/**
 * `parallel-vision serve` / `npm run serve`: browser mode. Serves the built renderer and
 * the VisionApi on 127.0.0.1 and prints the link with this launch's token.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { EngineFactory } from '../core/app/lanes.js';
import { startBrowserServer } from '../core/app/browser-server.js';
import { createDispatcher } from '../core/app/dispatch.js';
import { startApiServer } from '../core/api/server.js';
import { defaultDataDir, findUpwards } from '../core/paths.js';
import { cliVersion, createCliBackend } from './backend.js';
import { startOnKnownPort } from './serve-port.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** dist/renderer, from the sources (electron/cli) or from the bundle (dist/cli). */
export function findRendererDir(): string | null {
  const indexHtml = findUpwards(here, path.join('dist', 'renderer', 'index.html'));
  return indexHtml ? path.dirname(indexHtml) : null;
}

export async function runServe(args: string[], deps: { createEngine?: EngineFactory } = {}): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      'data-dir': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    allowPositionals: false,
  });
  if (values.help) {
    console.log(
      'Usage: parallel-vision serve [--port N] [--data-dir DIR]\nServes the app on 127.0.0.1 for a browser; prints the link with a per-launch token.\nThe port is the one of the last start (kept in the data folder, so the page keeps its settings), or a free one when that is taken; --port N: that one (0: any free port).\nEnvironment: PARALLEL_VISION_DEEPSEEK_PORT, PARALLEL_VISION_OLLAMA_PORT (where the model services are, instead of 8001, 11434).',
    );
    return 0;
  }
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    console.error(`--port: expected a port number, got ${JSON.stringify(values.port)}`);
    return 2;
  }
  const rendererDir = findRendererDir();
  if (!rendererDir) {
    console.error('The UI is not built: run `npm run build:renderer` first (npm run serve does it for you).');
    return 1;
  }
  const dataDir = values['data-dir'] ?? defaultDataDir();
  const downloadsDir = path.join(dataDir, 'exports');
  mkdirSync(downloadsDir, { recursive: true });
  const version = cliVersion(process.env);
  const backend = await createCliBackend(dataDir, process.env, deps.createEngine);
  const dispatch = createDispatcher(backend.handlers, (channel, error) => console.error(`${channel} failed:`, error));
  const { server, note } = await startOnKnownPort(dataDir, port, (listenOn) => startBrowserServer({ rendererDir, downloadsDir, port: listenOn, dispatch, subscribe: (listener) => backend.subscribe(listener) })).catch(async (error: unknown) => {
    await backend.dispose();
    throw error;
  });
  console.log(note);
  const api = await startApiServer({ backend: { ...backend, core: backend.core! }, dataDir, version });
  console.log(`Parallel Vision (browser mode) is running at ${server.url}`);
  console.log(`Local API for scripts: ${api.url}/v1 (docs: ${api.url}/v1/docs)`);
  console.log(`Data folder: ${dataDir}. Press Ctrl-C to stop.`);

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  console.log('Stopping…');
  await server.close();
  await api.close();
  await backend.dispose();
  return 0;
}
