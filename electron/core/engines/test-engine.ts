/**
 * A deterministic fake engine for end-to-end tests of the CLI and the app (resume after
 * kill -9). Only tests inject it (`createEngine: testEngineFactory(settings)` in the
 * CLI's and the backend's deps, or test/fixtures/cli-with-test-engine.ts for a child
 * process); nothing in the product selects it.
 */
import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import type { LaneConfig } from '../../../shared/domain.js';
import { z } from 'zod';
import { EngineError, type Engine } from './types.js';

const TestEngineSettings = z.object({
  delayMs: z.number().min(0).default(0),
  /** Per engine kind, overriding delayMs (a fast and a slow fake lane side by side). */
  delayByEngine: z.record(z.string(), z.number().min(0)).default({}),
  /** Every finished call appends `<lane> <sha256 of the image>` here. */
  logFile: z.string().optional(),
  /**
   * Calls after this many (per process) never answer until aborted: a test that kills the
   * process mid-run knows the run cannot have finished first, however loaded the machine.
   */
  holdAfterCalls: z.number().int().min(0).optional(),
});
export type TestEngineSettings = z.output<typeof TestEngineSettings>;
export type TestEngineSettingsInput = z.input<typeof TestEngineSettings>;

/** A `createEngine` for the lane builder that gives every lane a test engine. */
export function testEngineFactory(input: TestEngineSettingsInput = {}): (lane: LaneConfig) => Promise<Engine> {
  const settings = TestEngineSettings.parse(input);
  return async (lane) => createTestEngine(lane, settings);
}

let callsStarted = 0;

export function createTestEngine(lane: LaneConfig, settings: TestEngineSettings): Engine {
  return {
    kind: lane.engine,
    label: `test ${lane.engine}`,
    async recognize(image, signal) {
      const delayMs = settings.delayByEngine[lane.engine] ?? settings.delayMs;
      const hash = createHash('sha256').update(image.bytes).digest('hex');
      const held = settings.holdAfterCalls !== undefined && ++callsStarted > settings.holdAfterCalls;
      await new Promise<void>((resolve, reject) => {
        if (signal.aborted) return reject(new EngineError('aborted', 'aborted'));
        const timer = held ? undefined : setTimeout(resolve, delayMs);
        signal.addEventListener('abort', () => (clearTimeout(timer), reject(new EngineError('aborted', 'aborted'))), { once: true });
      });
      if (settings.logFile) appendFileSync(settings.logFile, `${lane.id} ${hash}\n`);
      return { text: `text ${hash.slice(0, 12)}`, blocks: [{ text: hash.slice(0, 12), box: [0, 0, image.width ?? 1, image.height ?? 1] }], model: `test-${lane.engine}`, timings: { totalMs: delayMs } };
    },
  };
}
