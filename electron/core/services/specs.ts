/**
 * The two managed services: the DeepSeek/RapidOCR Python service (scripts/deepseek) and
 * `ollama serve`. Each spec says how to find and launch the server and how to recognise it.
 */
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { isRecord } from './health.js';
import type { BinaryFinder } from './discovery.js';
import type { DeepSeekServiceBackend } from '../../../shared/deepseek-routes.js';
import { ENGINE_LABELS, type ServiceState } from '../../../shared/domain.js';
import type { ConcreteDeepSeekBackend } from './deepseek-backend.js';
import type { ServiceSpec } from './supervisor.js';

const DEEPSEEK_DEFAULT_PORT = 8001;
const OLLAMA_DEFAULT_PORT = 11434;

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The base venv inside the app's data folder; mlx and torch have theirs beside it (deepseek-backend.ts). */
export function deepseekVenvDir(dataDir: string): string {
  return join(dataDir, 'deepseek-venv');
}

export function venvPython(venvDir: string): string {
  return join(venvDir, process.platform === 'win32' ? 'Scripts/python.exe' : 'bin/python');
}

export type DeepSeekBackend = DeepSeekServiceBackend;

/** DeepSeek-OCR needs a GPU to be useful (Metal on Apple Silicon: mlx, else torch); elsewhere the CPU backend. */
export function defaultDeepSeekBackend(platform: NodeJS.Platform = process.platform, arch: string = process.arch): DeepSeekBackend {
  return platform === 'darwin' && arch === 'arm64' ? 'deepseek' : 'rapidocr';
}

/** What the next start runs: read at every start, so a new choice applies at the next (re)start. */
interface DeepSeekLaunch {
  backend: ConcreteDeepSeekBackend;
  /** `--model`: a local folder (mlx, torch) or a Hugging Face id in the cache (torch). */
  model?: string;
  /** The interpreter of this backend's venv. */
  python: string;
  /** This backend's venv, and the command that creates it, for when its interpreter is missing. */
  venvDir: string;
  setupCommand: string;
  /** The user's saved choice (else this machine's default). */
  saved: boolean;
}

export interface DeepSeekSpecOptions {
  /** The folder with server.py. */
  serviceDir: string;
  launch: () => DeepSeekLaunch;
  env?: NodeJS.ProcessEnv;
  startTimeoutMs?: number;
}

const isModelBackend = (backend: ConcreteDeepSeekBackend) => backend !== 'rapidocr';

/** A service that is not installed: `missing` says what (for the app, whose Set up or advice follows), `todo` what a terminal user runs. */
function notInstalled(missing: string, todo: string): Extract<ServiceState, { type: 'not-installed' }> {
  return { type: 'not-installed', hint: `${missing}: ${todo}`, missing };
}

export function deepseekSpec(options: DeepSeekSpecOptions): ServiceSpec {
  return {
    name: 'deepseek',
    // Whatever backend it runs (RapidOCR included): that is ServiceInfo.backend.
    label: ENGINE_LABELS.deepseek,
    engine: 'deepseek',
    defaultPort: DEEPSEEK_DEFAULT_PORT,
    readyLine: /^READY port=\d+/,
    errorLine: /^ERROR /,
    healthPath: '/health',
    // Loading weights answers 200 with status "loading": ready means ready.
    isHealthy: (status, body) => status === 200 && isRecord(body) && body.status === 'ready' && 'backend' in body,
    // Loading DeepSeek-OCR onto the GPU takes a while the first time; RapidOCR is quick.
    get startTimeoutMs() {
      return options.startTimeoutMs ?? (isModelBackend(options.launch().backend) ? 300_000 : 60_000);
    },
    extraInfo: () => {
      const { backend, model, saved } = options.launch();
      return { backend: { backend, ...(model ? { model } : {}), saved } };
    },
    plan: async ({ port }) => {
      const launch = options.launch();
      if (!(await isExecutable(launch.python))) return notInstalled(`the ${launch.backend} backend's Python environment ${launch.venvDir} is missing`, `set it up with \`${launch.setupCommand}\``);
      return {
        type: 'plan',
        plan: {
          file: launch.python,
          args: [
            join(options.serviceDir, 'server.py'),
            '--host', '127.0.0.1',
            '--port', String(port),
            '--backend', launch.backend,
            ...(launch.model ? ['--model', launch.model] : []),
          ],
          env: { ...process.env, ...options.env, PYTORCH_ENABLE_MPS_FALLBACK: '1', PYTHONUNBUFFERED: '1' },
          cwd: options.serviceDir,
        },
      };
    },
  };
}

export interface OllamaSpecOptions {
  finder: BinaryFinder;
  /** An explicit binary (settings, tests); null means "do not look" (not installed). */
  binary?: string | null;
  keepAlive?: string;
  env?: NodeJS.ProcessEnv;
  startTimeoutMs?: number;
}

/** Where Ollama was looked for and how to install it, for this kind of machine (its app and Homebrew are macOS-only). */
export function ollamaNotInstalled(platform: NodeJS.Platform = process.platform): Extract<ServiceState, { type: 'not-installed' }> {
  if (platform === 'darwin') return notInstalled("Ollama was not found in /opt/homebrew/bin, /usr/local/bin, /Applications/Ollama.app or the login shell's PATH", 'install it from https://ollama.com/download or with `brew install ollama`');
  return notInstalled('Ollama was not found in /usr/local/bin or on the PATH', 'install it from https://ollama.com/download (on Linux: `curl -fsSL https://ollama.com/install.sh | sh`)');
}

export function ollamaSpec(options: OllamaSpecOptions): ServiceSpec {
  let found: Promise<string | null> | null = null;
  const locate = (): Promise<string | null> => {
    if (options.binary !== undefined) return Promise.resolve(options.binary);
    found ??= options.finder.findOllama();
    return found;
  };
  return {
    name: 'ollama',
    label: ENGINE_LABELS.ollama,
    engine: 'ollama',
    defaultPort: OLLAMA_DEFAULT_PORT,
    readyLine: /Listening on [\w.:[\]]+:\d+/,
    healthPath: '/api/version',
    isHealthy: (status, body) => status === 200 && isRecord(body) && typeof body.version === 'string',
    startTimeoutMs: options.startTimeoutMs ?? 30_000,
    plan: async ({ port, workers }) => {
      const binary = await locate();
      if (binary === null) {
        found = null; // look again next time: the user may install it meanwhile
        return ollamaNotInstalled();
      }
      return {
        type: 'plan',
        plan: {
          file: binary,
          args: ['serve'],
          env: {
            ...process.env,
            ...options.env,
            OLLAMA_HOST: `127.0.0.1:${port}`,
            OLLAMA_NUM_PARALLEL: String(workers),
            OLLAMA_KEEP_ALIVE: options.keepAlive ?? '30m',
          },
        },
      };
    },
  };
}
