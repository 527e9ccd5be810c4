/**
 * Starts the Python OCR service (scripts/deepseek/server.py) on a free port for tests and
 * benchmarks, and waits for its READY line. The app's own supervisor lives in
 * electron/core/services; this is the small version for scripts.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { backendVenvDir } from '../../electron/core/services/deepseek-backend.js';
import { venvPython } from '../../electron/core/services/specs.js';

const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
export const DEEPSEEK_VENV_PYTHON = path.join(REPO_ROOT, 'scripts/deepseek/.venv/bin/python');
const DEEPSEEK_SERVER_SCRIPT = path.join(REPO_ROOT, 'scripts/deepseek/server.py');

export interface StartedService {
  baseUrl: string;
  pid: number;
  /** The READY line, e.g. `READY port=41235 backend=rapidocr device=cpu model=…`. */
  readyLine: string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

/** server.py's --backend: `deepseek` picks mlx (Apple Silicon with MLX weights) or torch. */
export const DEEPSEEK_SERVICE_BACKENDS = ['rapidocr', 'deepseek', 'mlx', 'torch'] as const;
export type DeepSeekServiceBackend = (typeof DEEPSEEK_SERVICE_BACKENDS)[number];

export function isDeepSeekServiceBackend(value: string): value is DeepSeekServiceBackend {
  return (DEEPSEEK_SERVICE_BACKENDS as readonly string[]).includes(value);
}

export interface StartOptions {
  backend?: DeepSeekServiceBackend;
  /** Defaults to $PV_DEEPSEEK_PYTHON, else the repository's venv. */
  python?: string;
  extraArgs?: string[];
  timeoutMs?: number;
}

/** Parses `READY port=N ...`; null for any other line. */
export function parseReadyLine(line: string): { port: number } | null {
  const match = /^READY port=(\d+)(\s|$)/.exec(line);
  return match ? { port: Number(match[1]) } : null;
}

export async function startDeepSeekService(options: StartOptions = {}): Promise<StartedService> {
  // Each backend has its own venv beside the base one (.venv-mlx, .venv-torch), as in the app.
  const backend = options.backend ?? 'rapidocr';
  const own = backend === 'mlx' || backend === 'torch' ? backend : 'rapidocr';
  const python = options.python ?? (process.env.PV_DEEPSEEK_PYTHON?.trim() || venvPython(backendVenvDir(path.dirname(path.dirname(DEEPSEEK_VENV_PYTHON)), own)));
  if (!existsSync(python)) throw new Error(`${python} is missing: run \`npm run setup:python${own === 'rapidocr' ? '' : ` -- --backend ${own}`}\` first.`);
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn(
    python,
    [DEEPSEEK_SERVER_SCRIPT, '--host', '127.0.0.1', '--port', '0', '--backend', backend, ...(options.extraArgs ?? [])],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stderrTail: string[] = [];
  child.stderr.on('data', (chunk: Buffer) => {
    stderrTail.push(chunk.toString());
    if (stderrTail.length > 20) stderrTail.shift();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout });

  const stop = async (graceMs = 10_000): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };

  try {
    const readyLine = await new Promise<string>((resolve, reject) => {
      // Loading DeepSeek-OCR weights takes minutes the first time; RapidOCR seconds.
      const timeoutMs = options.timeoutMs ?? ((options.backend ?? 'rapidocr') === 'rapidocr' ? 60_000 : 600_000);
      const timer = setTimeout(() => reject(new Error(`no READY line within ${timeoutMs} ms: ${stderrTail.join('')}`)), timeoutMs);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`the service exited (code ${code}) before READY: ${stderrTail.join('')}`));
      });
      lines.on('line', (line) => {
        if (parseReadyLine(line)) {
          clearTimeout(timer);
          resolve(line);
        } else if (line.startsWith('ERROR')) {
          clearTimeout(timer);
          reject(new Error(line));
        }
      });
    });
    const { port } = parseReadyLine(readyLine)!;
    return { baseUrl: `http://127.0.0.1:${port}`, pid: child.pid!, readyLine, stop };
  } catch (error) {
    await stop(2_000);
    throw error;
  }
}
