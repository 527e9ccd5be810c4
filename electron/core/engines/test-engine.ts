/**
 * A deterministic fake engine for end-to-end tests of the CLI (resume after kill -9).
 * Selected ONLY by the PARALLEL_VISION_TEST_ENGINE environment variable, which the
 * tests set; a user never gets it by accident.
 */
import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import type { LaneConfig } from '../../../shared/domain.js';
import { z } from 'zod';
import { EngineError, type Engine } from './types.js';

export const TEST_ENGINE_ENV = 'PARALLEL_VISION_TEST_ENGINE';

const TestEngineSettings = z.object({
  delayMs: z.number().min(0).default(0),
  /** Per engine kind, overriding delayMs (a fast and a slow fake lane side by side). */
  delayByEngine: z.record(z.string(), z.number().min(0)).default({}),
  /** Every finished call appends `<lane> <sha256 of the image>` here. */
  logFile: z.string().optional(),
});
export type TestEngineSettings = z.output<typeof TestEngineSettings>;

export function testEngineSettings(env: NodeJS.ProcessEnv = process.env): TestEngineSettings | null {
  const raw = env[TEST_ENGINE_ENV];
  if (!raw) return null;
  return TestEngineSettings.parse(JSON.parse(raw));
}

export function createTestEngine(lane: LaneConfig, settings: TestEngineSettings): Engine {
  return {
    kind: lane.engine,
    label: `test ${lane.engine}`,
    async recognize(image, signal) {
      const delayMs = settings.delayByEngine[lane.engine] ?? settings.delayMs;
      const hash = createHash('sha256').update(image.bytes).digest('hex');
      await new Promise<void>((resolve, reject) => {
        if (signal.aborted) return reject(new EngineError('aborted', 'aborted'));
        const timer = setTimeout(resolve, delayMs);
        signal.addEventListener('abort', () => (clearTimeout(timer), reject(new EngineError('aborted', 'aborted'))), { once: true });
      });
      if (settings.logFile) appendFileSync(settings.logFile, `${lane.id} ${hash}\n`);
      return { text: `text ${hash.slice(0, 12)}`, blocks: [{ text: hash.slice(0, 12), box: [0, 0, image.width ?? 1, image.height ?? 1] }], model: `test-${lane.engine}`, timings: { totalMs: delayMs } };
    },
  };
}
