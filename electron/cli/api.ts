/**
 * `parallel-vision api`: the local HTTP API without a window (servers with no display):
 * the same backend as the app, on 127.0.0.1. `--print-key` prints the install's key.
 */
import { parseArgs } from 'node:util';
import type { EngineFactory } from '../core/app/lanes.js';
import { ensureApiKey } from '../core/api/auth.js';
import { DEFAULT_API_PORT, startApiServer } from '../core/api/server.js';
import { cliVersion, createCliBackend } from './backend.js';
import { resolveDataDir, type CliIo } from './io.js';
import { UsageError } from '../core/app/run-settings.js';

export const API_USAGE = `Usage: parallel-vision api [--port N] [--data-dir DIR] [--print-key]
  Serves the local API (/v1, docs at /v1/docs) on 127.0.0.1:${DEFAULT_API_PORT} (or a free port when it is taken;
  <data dir>/api.json says which). --print-key prints the API key and exits.
  environment: PARALLEL_VISION_DEEPSEEK_PORT, PARALLEL_VISION_OLLAMA_PORT (where the model services are, instead of 8001, 11434)`;

export async function runApi(args: string[], io: CliIo, deps: { createEngine?: EngineFactory } = {}): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { port: { type: 'string' }, 'data-dir': { type: 'string' }, 'print-key': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    io.out(`${API_USAGE}\n`);
    return 0;
  }
  const dataDir = resolveDataDir(values['data-dir'], io.env);
  if (values['print-key']) {
    io.out(`${ensureApiKey(dataDir)}\n`);
    return 0;
  }
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) throw new UsageError(`--port: expected a port number, got ${JSON.stringify(values.port)}`);
  const version = cliVersion(io.env);
  const backend = await createCliBackend(dataDir, io.env, deps.createEngine);
  const server = await startApiServer({ backend: { ...backend, core: backend.core! }, dataDir, version, ...(port !== undefined ? { port } : {}) });
  io.out(`Parallel Vision API at ${server.url}/v1 (docs: ${server.url}/v1/docs, key in ${server.keyFile})\n`);
  io.out(`Data folder: ${dataDir}. Press Ctrl-C to stop.\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  io.err('Stopping…\n');
  await server.close();
  await backend.dispose();
  return 0;
}
