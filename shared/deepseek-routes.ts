/**
 * The ways this machine can run DeepSeek-OCR, and which one to use. The backend detects
 * the facts (weights in the models folder, Ollama's models, the platform); the UI adds
 * the OpenAI-compatible endpoints the user configured, ranks them with this one
 * function, and lets the user override the pick.
 */
import { z } from 'zod';

const DEEPSEEK_ROUTES = ['mlx', 'torch', 'ollama', 'vllm'] as const;
export const DeepSeekRouteKind = z.enum(DEEPSEEK_ROUTES);
export type DeepSeekRouteKind = z.infer<typeof DeepSeekRouteKind>;

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
};

/**
 * Every route, best first: the available ones in order of preference, then the rest.
 * On Apple Silicon MLX is the native, fastest local route, PyTorch on MPS the exact
 * fallback (with the model's known MPS issues), Ollama the one without Python, and a
 * remote endpoint last (it is an extra lane anyway). Elsewhere a configured vLLM
 * endpoint (a GPU) comes first.
 */
export function rankDeepSeekRoutes(facts: DeepSeekRouteFacts): DeepSeekRoute[] {
  const routes: Record<DeepSeekRouteKind, DeepSeekRoute> = {
    mlx: {
      route: 'mlx',
      label: LABELS.mlx,
      available: facts.appleSilicon && facts.mlxWeights !== null,
      detail: !facts.appleSilicon ? 'needs a Mac with Apple Silicon' : facts.mlxWeights ? `weights in ${facts.mlxWeights}` : 'no MLX weights yet: set up the DeepSeek service with the MLX backend',
    },
    torch: {
      route: 'torch',
      label: LABELS.torch,
      available: facts.torchWeights !== null,
      detail: facts.torchWeights ? `weights in ${facts.torchWeights}` : 'no PyTorch weights yet: set up the DeepSeek service with the torch backend',
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
  };
  const order: DeepSeekRouteKind[] = facts.appleSilicon ? ['mlx', 'torch', 'ollama', 'vllm'] : ['vllm', 'torch', 'ollama', 'mlx'];
  const ranked = order.map((route) => routes[route]);
  return [...ranked.filter((r) => r.available), ...ranked.filter((r) => !r.available)];
}

/** The route to use: the user's choice while it is available, else the best available one (null: none). */
export function chooseDeepSeekRoute(routes: readonly DeepSeekRoute[], override: DeepSeekRouteKind | null = null): DeepSeekRouteKind | null {
  if (override && routes.some((r) => r.route === override && r.available)) return override;
  return routes.find((r) => r.available)?.route ?? null;
}
