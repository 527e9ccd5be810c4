/** Running a short helper command (ps, lsof, ss, a version check) with a timeout. */
import { execa } from 'execa';

export interface CommandResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** The command could not be started (missing binary) or timed out. */
  failed: boolean;
}

export type RunCommand = (file: string, args: readonly string[], options?: { timeoutMs?: number; env?: NodeJS.ProcessEnv }) => Promise<CommandResult>;

export const runCommand: RunCommand = async (file, args, options = {}) => {
  const result = await execa(file, args, {
    reject: false,
    timeout: options.timeoutMs ?? 5000,
    env: options.env,
    stdin: 'ignore',
    encoding: 'utf8',
    stripFinalNewline: false,
  });
  const failed = result.failed && (result.exitCode === undefined || result.timedOut);
  return { exitCode: result.exitCode ?? null, stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? ''), failed };
};
