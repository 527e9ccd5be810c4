import { describe, expect, it } from 'vitest';
import { chooseDeepSeekRoute, rankDeepSeekRoutes, type DeepSeekRouteFacts } from './deepseek-routes.js';

const none: DeepSeekRouteFacts = { appleSilicon: true, mlxWeights: null, torchWeights: null, ollama: 'not-running', endpoints: [] };

describe('rankDeepSeekRoutes', () => {
  it('on Apple Silicon prefers MLX, then PyTorch, then Ollama, then endpoints, among those available', () => {
    const all: DeepSeekRouteFacts = { appleSilicon: true, mlxWeights: '/d/models/deepseek-ocr-mlx-8bit', torchWeights: '/d/models/deepseek-ocr', ollama: 'has-model', endpoints: ['http://gpu:8000'] };
    expect(rankDeepSeekRoutes(all).map((r) => r.route)).toEqual(['mlx', 'torch', 'ollama', 'vllm', 'rapidocr']);
    const noMlx = rankDeepSeekRoutes({ ...all, mlxWeights: null });
    expect(noMlx.map((r) => [r.route, r.available])).toEqual([['torch', true], ['ollama', true], ['vllm', true], ['rapidocr', true], ['mlx', false]]);
    expect(noMlx.at(-1)!.detail).toMatch(/no MLX weights/);
  });

  it('elsewhere a configured endpoint comes first and MLX is never available', () => {
    const linux = rankDeepSeekRoutes({ ...none, appleSilicon: false, mlxWeights: '/d/models/deepseek-ocr-mlx-bf16', ollama: 'has-model', endpoints: ['http://a:8000', 'http://b:8000'] });
    expect(linux.map((r) => [r.route, r.available])).toEqual([['vllm', true], ['ollama', true], ['rapidocr', true], ['torch', false], ['mlx', false]]);
    expect(linux[0]!.detail).toBe('2 endpoints: http://a:8000, http://b:8000');
    expect(linux.at(-1)!.detail).toMatch(/Apple Silicon/);
  });

  it('says what to do for each missing route', () => {
    const details = Object.fromEntries(rankDeepSeekRoutes({ ...none, ollama: 'no-model' }).map((r) => [r.route, r.detail]));
    expect(details.ollama).toMatch(/ollama pull deepseek-ocr/);
    expect(details.vllm).toMatch(/add an OpenAI-compatible lane/);
  });

  it('needs the backend\'s Python environment for the service routes, naming its setup command', () => {
    const facts = { ...none, mlxWeights: '/m', torchWeights: '/t', venvs: { rapidocr: false, mlx: false, torch: true } };
    const routes = Object.fromEntries(rankDeepSeekRoutes(facts).map((r) => [r.route, r]));
    expect([routes.mlx?.available, routes.torch?.available, routes.rapidocr?.available]).toEqual([false, true, false]);
    expect(routes.mlx?.detail).toMatch(/Python environment is missing: .*npm run setup:python -- --backend mlx/);
    expect(routes.rapidocr?.detail).toMatch(/npm run setup:python$/);
  });
});

describe('chooseDeepSeekRoute', () => {
  const routes = rankDeepSeekRoutes({ ...none, torchWeights: '/t', ollama: 'has-model' });
  it('picks the best available route, or the user’s while it is available', () => {
    expect(chooseDeepSeekRoute(routes)).toBe('torch');
    expect(chooseDeepSeekRoute(routes, 'ollama')).toBe('ollama');
    expect(chooseDeepSeekRoute(routes, 'mlx')).toBe('torch');
    expect(chooseDeepSeekRoute(rankDeepSeekRoutes(none))).toBe('rapidocr');
    expect(chooseDeepSeekRoute(rankDeepSeekRoutes({ ...none, venvs: { rapidocr: false, mlx: false, torch: false } }))).toBeNull();
  });
});
