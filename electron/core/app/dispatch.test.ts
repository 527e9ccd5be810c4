import { describe, expect, it } from 'vitest';
import type { VisionHandlers } from '../../../shared/api.js';
import { createDispatcher } from './dispatch.js';

const handlers = new Proxy({} as VisionHandlers, {
  get: (_t, channel) => async (request: unknown) => {
    if (channel === 'runs.cancel') throw new Error('no such run: r9');
    return { channel, request };
  },
});

describe('dispatcher', () => {
  const dispatch = createDispatcher(handlers);

  it('passes a valid payload, with defaults applied, to the handler', async () => {
    const reply = await dispatch('results.page', { runId: 'r1' });
    expect(reply).toEqual({ ok: true, value: { channel: 'results.page', request: { runId: 'r1', offset: 0, limit: 200, sort: 'finishedAt', descending: false } } });
  });

  it('refuses a bad payload with a message naming the field, without calling the handler', async () => {
    const reply = await dispatch('runs.setSplit', { runId: 'r1', split: { deepseek: 2 } });
    expect(reply.ok).toBe(false);
    if (!reply.ok) {
      expect(reply.error.code).toBe('invalid-request');
      expect(reply.error.message).toContain('split.deepseek');
    }
  });

  it('refuses unknown channels, including prototype keys', async () => {
    for (const channel of ['nope', '__proto__', 'constructor', 'toString']) {
      const reply = await dispatch(channel, {});
      expect(reply).toMatchObject({ ok: false, error: { code: 'unknown-channel' } });
    }
  });

  it('answers a handler failure as a value', async () => {
    expect(await dispatch('runs.cancel', { runId: 'r9' })).toEqual({ ok: false, error: { code: 'failed', message: 'no such run: r9' } });
  });
});
