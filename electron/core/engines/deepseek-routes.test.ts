import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startFakeOllama, type FakeOllama } from '../../../test/fixtures/fake-ollama/start.js';
import { detectDeepSeekRouteFacts, findWeights } from './deepseek-routes.js';

const dirs: string[] = [];
const fakes: FakeOllama[] = [];
afterAll(async () => {
  await Promise.all(fakes.map((f) => f.stop()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function dataDir(folders: Record<string, string[]>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pv-routes-'));
  dirs.push(dir);
  for (const [folder, files] of Object.entries(folders)) {
    mkdirSync(path.join(dir, 'models', folder), { recursive: true });
    for (const file of files) writeFileSync(path.join(dir, 'models', folder, file), '{}');
  }
  return dir;
}

describe('DeepSeek route detection', () => {
  it('finds finished MLX (8bit before bf16) and PyTorch weight folders, not half-downloaded ones', () => {
    const dir = dataDir({ 'deepseek-ocr-mlx-bf16': ['config.json', 'model.safetensors'], 'deepseek-ocr-mlx-8bit': ['config.json', 'model.safetensors'], 'deepseek-ocr': ['config.json', 'model-00001.safetensors.incomplete', 'model-00001.safetensors'] });
    expect(findWeights(dir)).toEqual({ mlx: path.join(dir, 'models', 'deepseek-ocr-mlx-8bit'), torch: null });
    expect(findWeights(dataDir({ 'deepseek-ocr-mlx-bf16': ['config.json', 'weights.safetensors'], 'deepseek-ocr': ['config.json'] }))).toMatchObject({ torch: null });
    expect(findWeights(dataDir({}))).toEqual({ mlx: null, torch: null });
  });

  it('asks a running Ollama whether it has deepseek-ocr, and knows Apple Silicon from the platform', async () => {
    const dir = dataDir({ 'deepseek-ocr': ['config.json', 'model.safetensors'] });
    const withModel = await startFakeOllama({ FAKE_OLLAMA_MODELS: 'llava:latest,deepseek-ocr:latest' });
    const without = await startFakeOllama();
    fakes.push(withModel, without);
    expect(await detectDeepSeekRouteFacts({ dataDir: dir, ollamaUrl: withModel.url, platform: 'darwin', arch: 'arm64' })).toEqual({
      appleSilicon: true,
      mlxWeights: null,
      torchWeights: path.join(dir, 'models', 'deepseek-ocr'),
      ollama: 'has-model',
      endpoints: [],
    });
    expect(await detectDeepSeekRouteFacts({ dataDir: dir, ollamaUrl: without.url, platform: 'linux', arch: 'x64' })).toMatchObject({ appleSilicon: false, ollama: 'no-model' });
    expect((await detectDeepSeekRouteFacts({ dataDir: dir, ollamaUrl: null })).ollama).toBe('not-running');
  });
});
