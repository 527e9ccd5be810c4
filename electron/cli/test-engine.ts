/**
 * A deterministic fake engine for end-to-end tests of the CLI (resume after kill -9).
 * Selected ONLY by the PARALLEL_VISION_TEST_ENGINE environment variable, which the
 * tests set; a user never gets it by accident.
 */
import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import type { LaneConfig } from '../../shared/domain.js';
import { EngineError, type Engine } from '../core/engines/types.js';

export const TEST_ENGINE_ENV = 'PARALLEL_VISION_TEST_ENGINE';

export interface TestEngineSettings {
  delayMs: number;
  /** Every finished call appends `<lane> <sha256 of the image>` here. */
  logFile?: string;
}

export function testEngineSettings(env: NodeJS.ProcessEnv = process.env): TestEngineSettings | null {
  const raw = env[TEST_ENGINE_ENV];
  if (!raw) return null;
  const parsed = JSON.parse(raw) as Partial<TestEngineSettings>;
  return { delayMs: Number(parsed.delayMs ?? 0), ...(parsed.logFile ? { logFile: parsed.logFile } : {}) };
}

export function createTestEngine(lane: LaneConfig, settings: TestEngineSettings): Engine {
  return {
    kind: lane.engine,
    label: `test ${lane.engine}`,
    async recognize(image, signal) {
      const hash = createHash('sha256').update(image.bytes).digest('hex');
      await new Promise<void>((resolve, reject) => {
        if (signal.aborted) return reject(new EngineError('aborted', 'aborted'));
        const timer = setTimeout(resolve, settings.delayMs);
        signal.addEventListener('abort', () => (clearTimeout(timer), reject(new EngineError('aborted', 'aborted'))), { once: true });
      });
      if (settings.logFile) appendFileSync(settings.logFile, `${lane.id} ${hash}\n`);
      return { text: `text ${hash.slice(0, 12)}`, blocks: [{ text: hash.slice(0, 12), box: [0, 0, image.width ?? 1, image.height ?? 1] }], model: `test-${lane.engine}`, timings: { totalMs: settings.delayMs } };
    },
  };
}
