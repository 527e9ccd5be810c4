/**
 * First-run setup as named stages with progress: the DeepSeek venv (create, pip base, pip
 * model, verify, weights) run by scripts/deepseek/setup_venv.py, and `ollama pull`. Each
 * stage can be run again; a failure names its stage and the log keeps its output.
 */
import type { ConcreteDeepSeekBackend } from './deepseek-backend.js';
import type { SetupStage } from '../../../shared/domain.js';
import { pullOllamaModel } from '../engines/ollama.js';
import { spawnGroup, stopGroup } from './process-group.js';

export interface StageLine {
  stage: string;
  status: SetupStage['status'];
  progress: number | null;
  message: string;
}

const STAGE_LINE = /^STAGE name=([\w-]+) status=(pending|running|done|failed) progress=([\d.]+) message="((?:[^"\\]|\\.)*)"\s*$/;

/** `STAGE name=pip-base status=running progress=0.30 message="resolving numpy"` → its fields. */
export function parseStageLine(line: string): StageLine | null {
  const match = STAGE_LINE.exec(line.trim());
  if (!match) return null;
  const progress = Number(match[3]);
  return {
    stage: match[1] as string,
    status: match[2] as SetupStage['status'],
    progress: Number.isFinite(progress) ? Math.min(1, Math.max(0, progress)) : null,
    message: (match[4] as string).replace(/\\(.)/g, '$1'),
  };
}

/** huggingface_hub / tqdm progress bars: `Fetching 12 files:  42%|████      | 5/12`. */
export function parseDownloadPercent(line: string): number | null {
  const match = /(\d{1,3})%\|/.exec(line);
  if (!match) return null;
  const percent = Number(match[1]);
  return percent <= 100 ? percent / 100 : null;
}

/** Keeps the newest event of each stage, in first-seen order: the answer of `setup()`. */
export class StageBoard {
  private readonly stages = new Map<string, SetupStage>();

  constructor(private readonly service: string, private readonly emit: (stage: SetupStage) => void) {}

  update(stage: string, status: SetupStage['status'], progress: number | null, message: string): void {
    const event: SetupStage = { service: this.service, stage, status, progress, message };
    this.stages.set(stage, event);
    this.emit(event);
  }

  get(stage: string): SetupStage | undefined {
    return this.stages.get(stage);
  }

  running(): SetupStage | undefined {
    return [...this.stages.values()].find((stage) => stage.status === 'running');
  }

  list(): SetupStage[] {
    return [...this.stages.values()];
  }
}

const DEEPSEEK_STAGES = ['venv', 'pip-base', 'pip-model', 'pip-mlx', 'verify', 'weights'] as const;

export interface DeepSeekSetupOptions {
  /** A system Python ≥ 3.10 that creates the venv. */
  python: string;
  /** scripts/deepseek/setup_venv.py */
  script: string;
  venvDir: string;
  /**
   * Set up this backend's own venv (`--backend`: `venvDir` is then the base venv and
   * mlx/torch go beside it, deepseek-backend.ts), with its weights when `downloadWeights`.
   * Absent: the base venv, plus torch when `withModel`.
   */
  backend?: ConcreteDeepSeekBackend;
  withModel: boolean;
  downloadWeights: boolean;
  model?: string;
  env?: NodeJS.ProcessEnv;
  onStage: (stage: SetupStage) => void;
  onLines?: (lines: string[]) => void;
  signal?: AbortSignal;
}

export async function runDeepSeekSetup(options: DeepSeekSetupOptions): Promise<SetupStage[]> {
  const board = new StageBoard('deepseek', options.onStage);
  const torch = options.backend ? options.backend === 'torch' : options.withModel;
  const mlx = options.backend === 'mlx';
  const planned = DEEPSEEK_STAGES.filter((stage) => (stage !== 'pip-model' || torch) && (stage !== 'pip-mlx' || mlx) && (stage !== 'weights' || options.downloadWeights));
  for (const stage of planned) board.update(stage, 'pending', null, 'waiting');
  const args = [options.script, '--venv', options.venvDir];
  if (options.backend) args.push('--backend', options.backend);
  else if (options.withModel) args.push('--with-model');
  // The MLX weights come in 8-bit (half the size of bf16, what mlx-community recommends for OCR).
  if (options.downloadWeights) args.push(...(mlx ? ['--download-mlx', '8bit'] : ['--download-weights']));
  if (options.model && !mlx) args.push('--model', options.model);
  const tail: string[] = [];
  const child = spawnGroup({
    file: options.python,
    args,
    env: { ...process.env, ...options.env, PYTHONUNBUFFERED: '1' },
    onLines: (lines) => {
      options.onLines?.(lines);
      for (const line of lines) {
        const parsed = parseStageLine(line);
        if (parsed) {
          board.update(parsed.stage, parsed.status, parsed.progress, parsed.message);
          continue;
        }
        tail.push(line);
        if (tail.length > 20) tail.shift();
        const current = board.running();
        const percent = current?.stage === 'weights' ? parseDownloadPercent(line) : null;
        if (current && percent !== null && percent !== current.progress) board.update('weights', 'running', percent, `downloading the model weights: ${Math.round(percent * 100)}%`);
      }
    },
  });
  if (!('pid' in child)) {
    board.update('venv', 'failed', null, `could not run ${options.python}: ${child.spawnError}`);
    return board.list();
  }
  const onAbort = () => void stopGroup(child.pid, { graceMs: 2000 });
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const exit = await child.exited;
  options.signal?.removeEventListener('abort', onAbort);
  const failedAlready = board.list().some((stage) => stage.status === 'failed');
  if ((exit.code !== 0 || options.signal?.aborted) && !failedAlready) {
    const stuck = board.running() ?? board.list().find((stage) => stage.status === 'pending');
    const how = options.signal?.aborted ? 'cancelled' : exit.spawnError ?? (exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`);
    board.update(stuck?.stage ?? 'venv', 'failed', null, `setup ${how}: ${tail.slice(-3).join(' | ')}`);
  }
  return board.list();
}

export interface OllamaPullOptions {
  baseUrl: string;
  model: string;
  onStage: (stage: SetupStage) => void;
  onLines?: (lines: string[]) => void;
  signal?: AbortSignal;
}

/** `ollama pull` through the running server's /api/pull, with its byte progress. */
export async function runOllamaPull(options: OllamaPullOptions): Promise<SetupStage[]> {
  const board = new StageBoard('ollama', options.onStage);
  const stage = `pull ${options.model}`;
  board.update(stage, 'running', 0, `pulling ${options.model}`);
  let lastStatus = '';
  try {
    await pullOllamaModel(
      options.baseUrl,
      options.model,
      (progress) => {
        if (progress.status !== lastStatus) options.onLines?.([`pull ${options.model}: ${progress.status}`]);
        lastStatus = progress.status;
        const percent = progress.fraction === null ? '' : ` ${Math.round(progress.fraction * 100)}%`;
        board.update(stage, 'running', progress.fraction, `${progress.status}${percent}`);
      },
      options.signal,
    );
    board.update(stage, 'done', 1, `${options.model} is ready`);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    options.onLines?.([`pull ${options.model} failed: ${message}`]);
    board.update(stage, 'failed', null, message);
  }
  return board.list();
}
