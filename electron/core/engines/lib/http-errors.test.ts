import { describe, expect, it } from 'vitest';
import { EngineError } from '../types.js';
import { errorMessageFromBody, networkError, parseRetryAfter, redactSecrets } from './http-errors.js';

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('3')).toBe(3000);
    expect(parseRetryAfter('0.5')).toBe(500);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:07 GMT', now)).toBe(7000);
    expect(parseRetryAfter(['2'])).toBe(2000);
  });
  it('ignores absent or unreadable values', () => {
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
});

describe('networkError', () => {
  const refused = Object.assign(new Error('fetch failed'), { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) });
  it('classifies refused, timed out and dropped connections', () => {
    expect(networkError(refused, 'Ollama', undefined, 'Run `ollama serve`.')).toMatchObject({ kind: 'unavailable', message: expect.stringContaining('ollama serve') });
    expect(networkError(Object.assign(new Error('t'), { code: 'UND_ERR_HEADERS_TIMEOUT' }), 'X').kind).toBe('transient');
    expect(networkError(Object.assign(new Error('s'), { code: 'UND_ERR_SOCKET' }), 'X').message).toContain('dropped');
  });
  it('reports an abort as aborted, whatever the underlying error', () => {
    const controller = new AbortController();
    controller.abort();
    expect(networkError(refused, 'X', controller.signal).kind).toBe('aborted');
  });
  it('passes EngineErrors through', () => {
    const original = new EngineError('config', 'bad');
    expect(networkError(original, 'X')).toBe(original);
  });
});

describe('errorMessageFromBody', () => {
  it('reads Ollama and OpenAI error shapes and shortens raw bodies', () => {
    expect(errorMessageFromBody('{"error":"model not found"}')).toBe('model not found');
    expect(errorMessageFromBody('{"error":{"message":"Rate limit","type":"x"}}')).toBe('Rate limit');
    expect(errorMessageFromBody('x'.repeat(500)).length).toBeLessThan(210);
  });
});

describe('redactSecrets', () => {
  it('removes the given secret, sk- keys and bearer tokens', () => {
    const out = redactSecrets('Incorrect API key provided: my-secret-key-123; also sk-abcdefghijklmnop; Authorization: Bearer tok_xyz', 'my-secret-key-123');
    expect(out).not.toContain('my-secret-key-123');
    expect(out).not.toContain('sk-abcdefghijklmnop');
    expect(out).not.toContain('tok_xyz');
  });
});
