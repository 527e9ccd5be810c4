import { describe, expect, it } from 'vitest';
import { describeRun } from './RunPicker.js';

describe('describeRun', () => {
  it('tells apart two runs of the same list by when they started', () => {
    const run = { source: 'ads20.csv', status: 'finished', done: 20, total: 20, runId: 'run_a' };
    const morning = describeRun({ ...run, createdAt: new Date(2026, 11, 4, 9, 5).getTime() });
    const noon = describeRun({ ...run, createdAt: new Date(2026, 11, 4, 12, 40).getTime() });
    expect(morning).toMatch(/^ads20\.csv — finished, 20\/20 · .*9.*05/);
    expect(noon).not.toBe(morning);
  });
});
