/**
 * Running a short helper command (ps, lsof, ss, sysctl, a version check) with a timeout.
 * node:child_process directly: these run every few seconds while services are watched, and
 * execFile costs about a third of the CPU of execa per call.
 */
import { execFile } from 'node:child_process';
import { execa } from 'execa';

export interface CommandResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** The command could not be started (missing binary) or was killed by the timeout. */
  failed: boolean;
}

interface RunCommandOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** In its own session, without the terminal: an interactive shell must not take over our tty. */
  detached?: boolean;
}

export type RunCommand = (file: string, args: readonly string[], options?: RunCommandOptions) => Promise<CommandResult>;

export const runCommand: RunCommand = (file, args, options = {}) => (options.detached ? runDetached(file, args, options) : runAttached(file, args, options));

function runAttached(file: string, args: readonly string[], options: RunCommandOptions): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { timeout: options.timeoutMs ?? 5000, env: options.env, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, windowsHide: true },
      (error, stdout, stderr) => {
        if (!error) {
          resolve({ exitCode: 0, stdout, stderr, failed: false });
          return;
        }
        const exitCode = typeof error.code === 'number' ? error.code : null;
        resolve({ exitCode, stdout: stdout ?? '', stderr: stderr ?? '', failed: exitCode === null || error.killed === true });
      },
    );
    child.stdin?.end();
  });
}

/** execFile drops `detached`; execa keeps it (rare calls: the login shell). */
async function runDetached(file: string, args: readonly string[], options: RunCommandOptions): Promise<CommandResult> {
  const result = await execa(file, args, { detached: true, reject: false, timeout: options.timeoutMs ?? 5000, env: options.env, stdin: 'ignore', encoding: 'utf8', stripFinalNewline: false });
  const exitCode = result.exitCode ?? null;
  return { exitCode, stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? ''), failed: exitCode === null || result.timedOut };
}
