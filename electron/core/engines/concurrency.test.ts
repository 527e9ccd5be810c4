import { describe, expect, it } from 'vitest';
import { CPU_RESOURCE, embeddedWorkerFits, engineConcurrency, laneResource, resourceBudgets, safeMaximum } from './concurrency.js';
import { defaultAppleVisionWorkers } from './apple-vision.js';

const GB = 1024 ** 3;
const machine = (cores: number, freeGB: number) => ({ cores, freeBytes: freeGB * GB });

describe('engineConcurrency: one decision of a lane’s ceiling, start and resource', () => {
  it('auto gives PaddleOCR one worker per core as memory allows (never zero, at most 8) and starts at half', () => {
    expect(engineConcurrency({ engine: 'embedded' }, 'auto', machine(2, 16))).toEqual({ ceiling: 2, start: 1, resource: CPU_RESOURCE });
    expect(engineConcurrency({ engine: 'embedded' }, 'auto', machine(10, 16))).toMatchObject({ ceiling: 8, start: 4 });
    expect(engineConcurrency({ engine: 'embedded' }, 'auto', machine(10, 2))).toMatchObject({ ceiling: 2, start: 1 });
    expect(engineConcurrency({ engine: 'embedded' }, 'auto', machine(4, 0.5))).toMatchObject({ ceiling: 1, start: 1 });
  });

  it('a number the user set is the ceiling and the start, whatever the machine', () => {
    expect(engineConcurrency({ engine: 'embedded' }, 6, machine(2, 1))).toEqual({ ceiling: 6, start: 6, resource: CPU_RESOURCE });
    expect(() => engineConcurrency({ engine: 'embedded' }, 0)).toThrow(/auto.*1 to 64/);
    expect(() => engineConcurrency({ engine: 'embedded' }, 2.5)).toThrow(/whole number/);
  });

  it('a service on this machine shares the CPU: ceiling by cores, one request to start; an endpoint elsewhere has its own cap', () => {
    expect(engineConcurrency({ engine: 'deepseek' }, 'auto', machine(4, 16))).toEqual({ ceiling: 4, start: 1, resource: CPU_RESOURCE });
    expect(engineConcurrency({ engine: 'ollama', endpoint: 'http://localhost:11434' }, 'auto', machine(2, 16))).toEqual({ ceiling: 2, start: 1, resource: CPU_RESOURCE });
    expect(engineConcurrency({ engine: 'ollama', endpoint: 'http://gpu-box.lan:11434' }, 'auto', machine(2, 16))).toEqual({ ceiling: 8, start: 2, resource: undefined });
    expect(engineConcurrency({ engine: 'openai', endpoint: 'https://api.example.com/v1', settings: { maxConcurrency: 32 } }, 'auto', machine(2, 16))).toEqual({ ceiling: 32, start: 2, resource: undefined });
    expect(engineConcurrency({ engine: 'openai', endpoint: 'http://127.0.0.1:8000/v1' }, 'auto', machine(2, 16)).resource).toBe(CPU_RESOURCE);
  });

  it('a maxConcurrency that is not a positive number is an error naming the lane', () => {
    expect(() => engineConcurrency({ id: 'remote', engine: 'openai', endpoint: 'https://api.example.com/v1', settings: { maxConcurrency: 0 } }, 'auto', machine(2, 16))).toThrow(
      'lane "remote": setting "maxConcurrency": expected a positive number, got 0',
    );
  });

  it('Apple Vision keeps its own native pool limit as its safe maximum', () => {
    expect(safeMaximum({ engine: 'apple-vision' }, machine(8, 16))).toBe(defaultAppleVisionWorkers());
    expect(laneResource({ engine: 'apple-vision' })).toBe(CPU_RESOURCE);
  });

  it('the CPU budget is the cores; a worker fits only beside the memory kept for the app and the OS', () => {
    expect(resourceBudgets(machine(6, 1))).toEqual({ cpu: 6 });
    expect(embeddedWorkerFits(1.5 * GB)).toBe(true);
    expect(embeddedWorkerFits(1.2 * GB)).toBe(false);
  });
});
