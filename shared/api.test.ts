import { describe, expect, it } from 'vitest';
import { COMMAND_NAMES, EVENT_NAMES, commands, events, describeZodIssues } from './api.js';
import { RunConfig, ServiceState } from './domain.js';

describe('VisionApi contract', () => {
  it('covers every command the UI needs', () => {
    for (const name of [
      'services.list', 'services.start', 'services.stop', 'services.logs', 'services.setup',
      'ads.importText', 'ads.importFiles', 'ads.importUrls',
      'runs.start', 'runs.pause', 'runs.resume', 'runs.cancel', 'runs.setSplit', 'runs.setLaneWorkers',
      'results.page', 'results.get', 'export.start',
    ]) {
      expect(COMMAND_NAMES).toContain(name);
    }
    for (const name of ['service.state', 'run.progress', 'run.results', 'app.error']) expect(EVENT_NAMES).toContain(name);
  });

  it('names the offending field of a bad run config', () => {
    const result = commands['runs.start'].request.safeParse({ batchId: 'b1', lanes: [{ id: 'a', engine: 'deepseek', workers: 0 }] });
    expect(result.success).toBe(false);
    expect(describeZodIssues(result.error!).join('\n')).toMatch(/^lanes\.0\.workers: /m);
  });

  it('applies defaults to a minimal run config', () => {
    const parsed = RunConfig.parse({ batchId: 'b1', lanes: [{ id: 'embedded', engine: 'embedded', workers: 2 }] });
    expect(parsed.policy).toBe('auto');
    expect(parsed.maxAttempts).toBe(3);
    expect(parsed.lanes[0]!.enabled).toBe(true);
  });

  it('rejects unknown engines, policies and extra fields', () => {
    expect(commands['runs.start'].request.safeParse({ batchId: 'b', policy: 'fastest', lanes: [{ id: 'a', engine: 'embedded', workers: 1 }] }).success).toBe(false);
    expect(commands['runs.start'].request.safeParse({ batchId: 'b', lanes: [{ id: 'a', engine: 'gpt', workers: 1 }] }).success).toBe(false);
    expect(commands['services.start'].request.safeParse({ name: 'ollama', extra: 1 }).success).toBe(false);
    expect(commands['services.start'].request.safeParse({ name: '../../etc' }).success).toBe(false);
    expect(commands['services.start'].request.safeParse({ name: 'openai:gpu-box-1' }).success).toBe(true);
  });

  it('service states are a discriminated union: data lives only in its variant', () => {
    expect(ServiceState.safeParse({ type: 'ready', url: 'http://127.0.0.1:8001' }).success).toBe(true);
    expect(ServiceState.safeParse({ type: 'ready' }).success).toBe(false);
    expect(ServiceState.safeParse({ type: 'crashed', reason: 'OOM', restarts: 5, lastLog: ['Killed'] }).success).toBe(true);
    expect(ServiceState.safeParse({ type: 'running' }).success).toBe(false);
  });

  it('caps what a message may carry', () => {
    expect(commands['results.page'].request.safeParse({ runId: 'r', limit: 100_000 }).success).toBe(false);
    expect(events['run.progress'].safeParse({ runId: 'r' }).success).toBe(false);
  });
});
