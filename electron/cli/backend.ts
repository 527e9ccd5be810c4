/**
 * The backend of the window-less commands (`api`, `serve`): browser mode on a data folder,
 * this checkout's (or bundle's) DeepSeek service sources, and the model services' ports
 * from PARALLEL_VISION_*_PORT.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBackend, type Backend } from '../core/app/backend.js';
import type { EngineFactory } from '../core/app/lanes.js';
import { findUpwards } from '../core/paths.js';
import { servicePortsFromEnv } from '../core/services/ports.js';

/** scripts/deepseek of this checkout, found from the sources or from the bundle in dist/cli. */
export const DEFAULT_DEEPSEEK_DIR = findUpwards(dirname(fileURLToPath(import.meta.url)), join('scripts', 'deepseek')) ?? join(process.cwd(), 'scripts', 'deepseek');

export function createCliBackend(dataDir: string, env: NodeJS.ProcessEnv, createEngine?: EngineFactory): Promise<Backend> {
  return createBackend({
    mode: 'browser',
    version: cliVersion(env),
    dataDir,
    pythonServiceDir: DEFAULT_DEEPSEEK_DIR,
    servicePorts: servicePortsFromEnv(env),
    ...(createEngine ? { createEngine } : {}),
  });
}

/** The version npm gives a script it runs, else the package's. */
export function cliVersion(env: NodeJS.ProcessEnv): string {
  return env.npm_package_version ?? '0.1.0';
}
