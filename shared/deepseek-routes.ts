/**
 * The ways this machine can run DeepSeek-OCR, and which one to use. The backend detects
 * the facts (weights in the models folder, Ollama's models, the platform); the UI adds
 * the OpenAI-compatible endpoints the user configured, ranks them with this one
 * function, and lets the user override the pick.
 */
import { z } from 'zod';

const DEEPSEEK_ROUTES = ['mlx', 'torch', 'ollama', 'vllm', 'rapidocr'] as const;
export const DeepSeekRouteKind = z.enum(DEEPSEEK_ROUTES);
export type DeepSeekRouteKind = z.infer<typeof DeepSeekRouteKind>;

/**
 * The Python service's `--backend`: `mlx`, `torch` (DeepSeek-OCR), `rapidocr` (the CPU OCR
 * backend), `deepseek` (mlx on Apple Silicon when set up, else torch). Each of mlx and torch
 * has its own Python environment (they need different transformers versions).
 */
export const DEEPSEEK_SERVICE_BACKENDS = ['rapidocr', 'mlx', 'torch', 'deepseek'] as const;
export const DeepSeekServiceBackend = z.enum(DEEPSEEK_SERVICE_BACKENDS);
export type DeepSeekServiceBackend = z.infer<typeof DeepSeekServiceBackend>;

/** What the DeepSeek service runs with: a backend and, for mlx/torch, a local model folder (`--model`). */
export const DeepSeekBackendChoice = z
  .object({
    backend: DeepSeekServiceBackend,
    model: z.string().min(1).max(1000).optional(),
  })
  .strict();
export type DeepSeekBackendChoice = z.infer<typeof DeepSeekBackendChoice>;

/** The service backend a route runs on; null for the routes that are lanes of their own (Ollama, vLLM). */
export function serviceBackendOfRoute(route: DeepSeekRouteKind): 'mlx' | 'torch' | 'rapidocr' | null {
  return route === 'mlx' || route === 'torch' || route === 'rapidocr' ? route : null;
}

export const DeepSeekRouteFacts = z.object({
  /** macOS on Apple Silicon: MLX runs there only. */
  appleSilicon: z.boolean(),
  /** The MLX weights folder found (`<dataDir>/models/deepseek-ocr-mlx-8bit|bf16`), else null. */
  mlxWeights: z.string().nullable(),
  /** The PyTorch weights folder found (`<dataDir>/models/deepseek-ocr`), else null. */
  torchWeights: z.string().nullable(),
  /** Ollama: serves `deepseek-ocr`, runs without it, or is not running. */
  ollama: z.enum(['has-model', 'no-model', 'not-running']),
  /** OpenAI-compatible endpoints configured with a DeepSeek-OCR model (vLLM), by address. */
  endpoints: z.array(z.string()).default([]),
  /** Which of the service's Python environments exist (`npm run setup:python -- --backend …`); absent: not known. */
  venvs: z.object({ rapidocr: z.boolean(), mlx: z.boolean(), torch: z.boolean() }).optional(),
});
export type DeepSeekRouteFacts = z.infer<typeof DeepSeekRouteFacts>;

export interface DeepSeekRoute {
  route: DeepSeekRouteKind;
  label: string;
  available: boolean;
  /** Why it is (not) available, and what to do. */
  detail: string;
}

const LABELS: Record<DeepSeekRouteKind, string> = {
  mlx: 'MLX (native on Apple Silicon)',
  torch: 'PyTorch (MPS / CUDA)',
  ollama: 'Ollama deepseek-ocr',
  vllm: 'vLLM endpoints',
  rapidocr: 'RapidOCR (CPU, not DeepSeek-OCR)',
};

/**
 * Every route, best first: the available ones in order of preference, then the rest.
 * On Apple Silicon MLX is the native, fastest local route, PyTorch on MPS the exact
 * fallback (with the model's known MPS issues), Ollama the one without Python, and a
 * remote endpoint last (it is an extra lane anyway). Elsewhere a configured vLLM
 * endpoint (a GPU) comes first.
 */
export function rankDeepSeekRoutes(facts: DeepSeekRouteFacts): DeepSeekRoute[] {
  // Facts without `venvs` (an older backend) say nothing of the environments: take them as there.
  const venv = (backend: 'rapidocr' | 'mlx' | 'torch') => facts.venvs?.[backend] ?? true;
  const noVenv = (backend: 'mlx' | 'torch') => `its Python environment is missing: set up the DeepSeek service with the ${backend === 'mlx' ? 'MLX' : 'torch'} backend (npm run setup:python -- --backend ${backend})`;
  const routes: Record<DeepSeekRouteKind, DeepSeekRoute> = {
    mlx: {
      route: 'mlx',
      label: LABELS.mlx,
      available: facts.appleSilicon && facts.mlxWeights !== null && venv('mlx'),
      detail: !facts.appleSilicon ? 'needs a Mac with Apple Silicon' : !facts.mlxWeights ? 'no MLX weights yet: set up the DeepSeek service with the MLX backend' : venv('mlx') ? `weights in ${facts.mlxWeights}` : noVenv('mlx'),
    },
    torch: {
      route: 'torch',
      label: LABELS.torch,
      available: facts.torchWeights !== null && venv('torch'),
      detail: !facts.torchWeights ? 'no PyTorch weights yet: set up the DeepSeek service with the torch backend' : venv('torch') ? `weights in ${facts.torchWeights}` : noVenv('torch'),
    },
    ollama: {
      route: 'ollama',
      label: LABELS.ollama,
      available: facts.ollama === 'has-model',
      detail: facts.ollama === 'has-model' ? 'Ollama serves deepseek-ocr' : facts.ollama === 'no-model' ? 'Ollama runs without it: ollama pull deepseek-ocr' : 'Ollama is not running',
    },
    vllm: {
      route: 'vllm',
      label: LABELS.vllm,
      available: facts.endpoints.length > 0,
      detail: facts.endpoints.length > 0 ? `${facts.endpoints.length} endpoint${facts.endpoints.length === 1 ? '' : 's'}: ${facts.endpoints.join(', ')}` : 'no endpoint configured: add an OpenAI-compatible lane with model deepseek-ai/DeepSeek-OCR',
    },
    rapidocr: {
      route: 'rapidocr',
      label: LABELS.rapidocr,
      available: venv('rapidocr'),
      detail: venv('rapidocr') ? 'the service\'s CPU backend: plain text and boxes, no description' : 'its Python environment is missing: npm run setup:python',
    },
  };
  // RapidOCR is last everywhere: it is the fallback when no route to DeepSeek-OCR itself is there.
  const order: DeepSeekRouteKind[] = facts.appleSilicon ? ['mlx', 'torch', 'ollama', 'vllm', 'rapidocr'] : ['vllm', 'torch', 'ollama', 'mlx', 'rapidocr'];
  const ranked = order.map((route) => routes[route]);
  return [...ranked.filter((r) => r.available), ...ranked.filter((r) => !r.available)];
}

/** The route to use: the user's choice while it is available, else the best available one (null: none). */
export function chooseDeepSeekRoute(routes: readonly DeepSeekRoute[], override: DeepSeekRouteKind | null = null): DeepSeekRouteKind | null {
  if (override && routes.some((r) => r.route === override && r.available)) return override;
  return routes.find((r) => r.available)?.route ?? null;
}
