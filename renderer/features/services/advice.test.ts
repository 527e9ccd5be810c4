import { describe, expect, it } from 'vitest';
import { adviseState, canStart, canStop, explainReason } from './advice.js';
import { appendTail, upsertStageList } from './state.js';
import type { ServiceInfo } from '../../../shared/domain.js';

describe('service advice', () => {
  it('says what to do about a taken port, a missing program and a crash', () => {
    expect(explainReason('listen EADDRINUSE 127.0.0.1:8001', 8001)).toBe('Port 8001 is taken by another program. Quit that program, or stop the other copy of this service.');
    expect(explainReason('spawn ollama ENOENT', null)).toMatch(/not found/);
    const crashed = adviseState({ type: 'crashed', reason: 'exit code 1', restarts: 2, lastLog: [] }, 8001);
    expect(crashed.headline).toBe('Crashed (restarted 2 times)');
    expect(crashed.todo).toMatch(/^Exit code 1\. Check the log/);
    expect(adviseState({ type: 'not-installed', hint: 'run setup' }, null).todo).toBe('Run setup.');
  });

  it('offers start and stop only where they make sense', () => {
    const base: ServiceInfo = { name: 'ollama', label: 'Ollama', engine: 'ollama', state: { type: 'stopped' }, port: 11434, rssMb: null, managed: true, changedAt: 0 };
    expect(canStart(base)).toBe(true);
    expect(canStop(base)).toBe(false);
    expect(canStop({ ...base, state: { type: 'ready', url: 'x' } })).toBe(true);
    expect(canStart({ ...base, managed: false })).toBe(false);
  });
});

describe('service state helpers', () => {
  it('keeps only the tail of a log', () => {
    expect(appendTail(['a', 'b'], ['c', 'd'], 3)).toEqual(['b', 'c', 'd']);
  });
  it('updates a setup stage in place', () => {
    const stage = { service: 'deepseek', stage: 'pip', status: 'running' as const, progress: 0.2, message: '' };
    const list = upsertStageList([{ ...stage, stage: 'venv', status: 'done' }, stage], { ...stage, progress: 0.9 });
    expect(list.map((s) => [s.stage, s.progress])).toEqual([
      ['venv', 0.2],
      ['pip', 0.9],
    ]);
  });
});
