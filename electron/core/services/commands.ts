/**
 * Running a short helper command (ps, lsof, ss, sysctl, a version check) with a timeout.
 * node:child_process directly: these run every few seconds while services are watched, and
 * execFile costs about a third of the CPU of execa per call.
 */
import { execFile } from 'node:child_process';

export interface CommandResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** The command could not be started (missing binary) or was killed by the timeout. */
  failed: boolean;
}

export type RunCommand = (file: string, args: readonly string[], options?: { timeoutMs?: number; env?: NodeJS.ProcessEnv }) => Promise<CommandResult>;

export const runCommand: RunCommand = (file, args, options = {}) =>
  new Promise((resolve) => {
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
    // Nothing to say on stdin; an interactive login shell must not wait for it.
    child.stdin?.end();
  });
