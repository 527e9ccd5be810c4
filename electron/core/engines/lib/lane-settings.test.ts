import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EngineError } from '../types.js';
import { laneSettingError, parseLaneSettings, setting } from './lane-settings.js';

const Settings = z.object({
  workers: setting.integerIn(1, 64).optional(),
  timeoutMs: setting.positiveNumber().optional(),
  threshold: setting.positiveNumber(1).optional(),
  minSide: setting.nonNegativeNumber().optional(),
  confidence: setting.numberIn(0, 1).optional(),
  prompt: setting.text().optional(),
  structured: setting.flag().optional(),
  mode: setting.oneOf(['fast', 'accurate']).default('accurate'),
});

function failure(settings: Record<string, unknown>): EngineError {
  try {
    parseLaneSettings('embedded', settings as never, Settings);
  } catch (error) {
    if (error instanceof EngineError) return error;
    throw error;
  }
  throw new Error('expected the settings to be rejected');
}

describe('parseLaneSettings', () => {
  it('returns the typed values, with defaults, and leaves keys it does not know alone', () => {
    expect(parseLaneSettings('x', { workers: 4, timeoutMs: 2.5, prompt: 'Read it', structured: false, maxConcurrency: 8 }, Settings)).toEqual({
      workers: 4,
      timeoutMs: 2.5,
      prompt: 'Read it',
      structured: false,
      mode: 'accurate',
    });
    expect(parseLaneSettings('x', undefined, Settings)).toEqual({ mode: 'accurate' });
  });

  it('reads an empty string as not set', () => {
    expect(parseLaneSettings('x', { prompt: '' }, Settings).prompt).toBeUndefined();
  });

  it('rejects a bad value as a config error naming the lane, the setting, what it expects and what it got', () => {
    const error = failure({ workers: 'abc' });
    expect(error.kind).toBe('config');
    expect(error.message).toBe('lane "embedded": setting "workers": expected a whole number from 1 to 64, got "abc"');
    expect(failure({ workers: 2.5 }).message).toBe('lane "embedded": setting "workers": expected a whole number from 1 to 64, got 2.5');
    expect(failure({ workers: 65 }).message).toBe('lane "embedded": setting "workers": expected a whole number from 1 to 64, got 65');
    expect(failure({ timeoutMs: 0 }).message).toBe('lane "embedded": setting "timeoutMs": expected a positive number, got 0');
    expect(failure({ timeoutMs: Infinity }).message).toBe('lane "embedded": setting "timeoutMs": expected a positive number, got Infinity');
    expect(failure({ threshold: 1.5 }).message).toBe('lane "embedded": setting "threshold": expected a number above 0, at most 1, got 1.5');
    expect(failure({ minSide: -1 }).message).toBe('lane "embedded": setting "minSide": expected a number ≥ 0, got -1');
    expect(failure({ confidence: 2 }).message).toBe('lane "embedded": setting "confidence": expected a number from 0 to 1, got 2');
    expect(failure({ prompt: ['a'] }).message).toBe('lane "embedded": setting "prompt": expected a string, got ["a"]');
    expect(failure({ structured: 'yes' }).message).toBe('lane "embedded": setting "structured": expected true or false, got "yes"');
    expect(failure({ mode: 'best' }).message).toBe('lane "embedded": setting "mode": expected one of "fast", "accurate", got "best"');
  });

  it('names every bad setting at once, and an element of a list by its index', () => {
    expect(failure({ workers: 0, structured: 1 }).message).toBe(
      'lane "embedded": setting "workers": expected a whole number from 1 to 64, got 0; setting "structured": expected true or false, got 1',
    );
    const Tags = z.object({ languages: z.array(z.string().regex(/^[a-z]{2}$/, { error: 'expected a language tag' })) });
    expect(() => parseLaneSettings('apple-vision', { languages: ['en', 'english'] }, Tags)).toThrow('lane "apple-vision": setting "languages[1]": expected a language tag, got "english"');
  });

  it('laneSettingError words a problem a schema cannot see in the same format', () => {
    const error = laneSettingError('embedded', 'language', '"fr" needs the other recogniser');
    expect(error).toBeInstanceOf(EngineError);
    expect(error).toMatchObject({ kind: 'config', message: 'lane "embedded": setting "language": "fr" needs the other recogniser' });
  });
});
