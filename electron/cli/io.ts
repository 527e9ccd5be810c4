/** What a CLI command writes to and reads from, injectable for tests. */
import { resolve } from 'node:path';
import { Writable } from 'node:stream';
import type { RejectedRow } from '../../shared/domain.js';
import { rowLocation } from '../core/ingest/index.js';
import { defaultDataDir } from '../core/paths.js';

export interface CliIo {
  out: (text: string) => void;
  /** Standard output as a stream (`--out -`); without it, writes go through `out`. */
  outStream?: Writable;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  isTerminal: boolean;
}

export function processIo(): CliIo {
  // A reader that closes the pipe early (`runs | head -3`) ends the output, not the command with a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  });
  return {
    out: (text) => process.stdout.write(text),
    outStream: process.stdout,
    err: (text) => process.stderr.write(text),
    env: process.env,
    isTerminal: Boolean(process.stderr.isTTY),
  };
}

/** Skipped rows printed by `run` (here or --to-app). */
const SKIPPED_SHOWN = 20;

/**
 * The rows an import skipped, the first few each where the window names it ("line 3,
 * image_url"); a row of no line (a file that could not be read) is its reason alone.
 */
export function reportSkipped(rejected: readonly RejectedRow[], io: CliIo, total = rejected.length): void {
  const shown = rejected.slice(0, SKIPPED_SHOWN);
  for (const row of shown) io.err(row.line === 0 ? `skipped ${row.reason}\n` : `skipped ${rowLocation(row)}: ${row.reason}\n`);
  if (total > shown.length) io.err(`… and ${total - shown.length} more skipped rows\n`);
}

/** `--data-dir`, else PARALLEL_VISION_DATA_DIR, else the OS convention. */
export function resolveDataDir(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return resolve(flag ?? defaultDataDir({ env }));
}

/** Where `--out` goes: standard output for `-` (as a stream), else the file's resolved path. */
export function outputTarget(out: string, io: CliIo): Writable | string {
  if (out !== '-') return resolve(out);
  return (
    io.outStream ??
    new Writable({
      write(chunk, _encoding, done) {
        io.out(String(chunk));
        done();
      },
    })
  );
}

/** `--out` could not be written after the run: the results are saved all the same, and this says how to get them. */
export function couldNotWriteOut(out: string, error: unknown, runId: string, where = ''): string {
  return `Could not write ${out}: ${error instanceof Error ? error.message : String(error)}\nThe results are saved${where}: export them with: parallel-vision export ${runId} --out FILE\n`;
}
