import { describe, expect, it } from 'vitest';
import type { AdResult } from '../../../shared/domain.js';
import { MemoryRunStore } from './memory-store.js';

const result = (creativeId: string, engine: AdResult['engine'], text = 't'): AdResult => ({
  runId: 'r',
  creativeId,
  status: 'done',
  engine,
  laneId: engine,
  model: 'm',
  text,
  blocks: [],
  durationMs: 1,
  attempts: [],
});

describe('MemoryRunStore', () => {
  it('keeps the first result per ad and says it is finished for any engine', () => {
    const store = new MemoryRunStore();
    expect(store.isFinished('r', 'a', null)).toBe(false);
    store.saveResult(result('a', 'deepseek', 'first'));
    store.saveResult(result('a', 'deepseek', 'second'));
    expect(store.isFinished('r', 'a', null)).toBe(true);
    expect(store.isFinished('r', 'a', 'deepseek')).toBe(true);
    expect(store.isFinished('r', 'a', 'ollama')).toBe(false);
    expect(store.isFinished('other-run', 'a', null)).toBe(false);
    expect(store.resultsOf('r').map((r) => r.text)).toEqual(['first']);
  });

  it('keeps one result per engine for compare', () => {
    const store = new MemoryRunStore();
    store.saveResult(result('a', 'deepseek'));
    store.saveResult(result('a', 'ollama'));
    expect(store.isFinished('r', 'a', 'ollama')).toBe(true);
    expect(store.resultsOf('r').map((r) => r.engine).sort()).toEqual(['deepseek', 'ollama']);
  });

  it('finishedIds answers, in one call, what isFinished answers per ad', () => {
    const store = new MemoryRunStore();
    store.saveResult(result('a', 'deepseek'));
    store.saveResult(result('a', 'ollama'));
    store.saveResult(result('b', 'ollama'));
    store.saveResult(result('c', null));
    store.saveResult({ ...result('d', 'deepseek'), runId: 'other-run' });
    const ids = ['a', 'b', 'c', 'd', 'e'];
    for (const engine of [null, 'deepseek', 'ollama', 'embedded']) {
      const expected = ids.filter((id) => store.isFinished('r', id, engine));
      expect([...store.finishedIds('r', engine)].sort(), String(engine)).toEqual(expected);
    }
    expect([...store.finishedIds('r', null)].sort()).toEqual(['a', 'b', 'c']);
    expect([...store.finishedIds('r', 'deepseek')]).toEqual(['a']);
    expect(store.finishedIds('no-such-run', null).size).toBe(0);
  });

  it('records attempts and run status', () => {
    const store = new MemoryRunStore();
    store.recordAttempt('r', 'a', { laneId: 'l', engine: 'deepseek', startedAt: 0, durationMs: 5, outcome: 'error', error: 'x' });
    store.recordAttempt('r', 'b', { laneId: 'l', engine: 'deepseek', startedAt: 0, durationMs: 5, outcome: 'ok' });
    store.setRunStatus('r', 'running');
    expect(store.attemptsOf('r', 'a')).toHaveLength(1);
    expect(store.runStatus('r')).toBe('running');
  });
});
