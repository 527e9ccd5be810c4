import { describe, expect, it } from 'vitest';
import { isDeepSeekServiceBackend, parseReadyLine } from './deepseek-service.js';

describe('parseReadyLine', () => {
  it('reads the port of a READY line and nothing else', () => {
    expect(parseReadyLine('READY port=41235 backend=rapidocr device=cpu model=rapidocr-onnxruntime/PP-OCRv4')).toEqual({ port: 41235 });
    expect(parseReadyLine('READY port=8001')).toEqual({ port: 8001 });
    expect(parseReadyLine('LISTENING port=8001')).toBeNull();
    expect(parseReadyLine('READY port=80x')).toBeNull();
    expect(parseReadyLine('ERROR port=8001 message="cannot bind"')).toBeNull();
  });
});

describe('isDeepSeekServiceBackend', () => {
  it('knows the service backends and nothing else', () => {
    for (const name of ['rapidocr', 'deepseek', 'mlx', 'torch']) expect(isDeepSeekServiceBackend(name)).toBe(true);
    expect(isDeepSeekServiceBackend('ollama')).toBe(false);
    expect(isDeepSeekServiceBackend('MLX')).toBe(false);
  });
});
