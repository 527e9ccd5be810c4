/** What a CLI command writes to and reads from, injectable for tests. */
import { resolve } from 'node:path';
import { Writable } from 'node:stream';
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
