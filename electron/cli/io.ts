/** What a CLI command writes to and reads from, injectable for tests. */
import { resolve } from 'node:path';
import { defaultDataDir } from '../core/paths.js';

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  isTerminal: boolean;
}

export function processIo(): CliIo {
  return {
    out: (text) => process.stdout.write(text),
    err: (text) => process.stderr.write(text),
    env: process.env,
    isTerminal: Boolean(process.stderr.isTTY),
  };
}

/** `--data-dir`, else PARALLEL_VISION_DATA_DIR, else the OS convention. */
export function resolveDataDir(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return resolve(flag ?? defaultDataDir({ env }));
}
