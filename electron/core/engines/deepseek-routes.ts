/**
 * What the backend can see of the DeepSeek-OCR routes (shared/deepseek-routes.ts ranks
 * them): weight folders in `<dataDir>/models` — the names the Python service's setup
 * downloads into — and whether a running Ollama has `deepseek-ocr`.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { DeepSeekRouteFacts } from '../../../shared/deepseek-routes.js';
import { listOllamaModels } from './ollama.js';

const DEEPSEEK_MLX_MODEL_DIRS = ['deepseek-ocr-mlx-8bit', 'deepseek-ocr-mlx-bf16'] as const;
const DEEPSEEK_TORCH_MODEL_DIR = 'deepseek-ocr';

/** A finished model folder: config.json and at least one .safetensors, no download still in progress. */
function isCompleteModelFolder(folder: string): boolean {
  let names: string[];
  try {
    names = readdirSync(folder);
  } catch {
    return false;
  }
  if (!names.includes('config.json') || !names.some((name) => name.endsWith('.safetensors'))) return false;
  return !names.some((name) => /\.(incomplete|part|partial|tmp)$/.test(name));
}

export function findWeights(dataDir: string): { mlx: string | null; torch: string | null } {
  const models = path.join(dataDir, 'models');
  const mlx = DEEPSEEK_MLX_MODEL_DIRS.map((name) => path.join(models, name)).find(isCompleteModelFolder) ?? null;
  const torchDir = path.join(models, DEEPSEEK_TORCH_MODEL_DIR);
  return { mlx, torch: existsSync(torchDir) && isCompleteModelFolder(torchDir) ? torchDir : null };
}

export interface RouteDetection {
  dataDir: string;
  /** The running Ollama's address, null when it is not running. */
  ollamaUrl: string | null;
  platform?: NodeJS.Platform;
  arch?: string;
  signal?: AbortSignal;
}

/** The facts without endpoints (the UI knows the lanes the user configured). */
export async function detectDeepSeekRouteFacts(options: RouteDetection): Promise<DeepSeekRouteFacts> {
  const weights = findWeights(options.dataDir);
  let ollama: DeepSeekRouteFacts['ollama'] = 'not-running';
  if (options.ollamaUrl) {
    try {
      const models = await listOllamaModels(options.ollamaUrl, options.signal ?? AbortSignal.timeout(3_000));
      ollama = models.some((m) => /^deepseek-ocr(:|$)/.test(m.name)) ? 'has-model' : 'no-model';
    } catch {
      ollama = 'not-running';
    }
  }
  return {
    appleSilicon: (options.platform ?? process.platform) === 'darwin' && (options.arch ?? process.arch) === 'arm64',
    mlxWeights: weights.mlx,
    torchWeights: weights.torch,
    ollama,
    endpoints: [],
  };
}
