import { expect } from 'vitest';
import { EngineError } from '../../electron/core/engines/types.js';

/** The EngineError a promise rejects with; fails the test if it resolves or throws something else. */
export async function failure(promise: Promise<unknown>): Promise<EngineError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(EngineError);
    return error as EngineError;
  }
  throw new Error('expected a failure');
}
