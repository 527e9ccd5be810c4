/**
 * The same creative under two URLs is recognized once per engine: results are shared
 * by the hash of the prepared image bytes (calls in flight included).
 */
import { createHash } from 'node:crypto';
import type { RecognizeResult } from '../../../shared/domain.js';
import type { Engine } from './types.js';

export function dedupeByImageHash(engine: Engine, maxEntries = 50_000): Engine & { readonly savedCalls: number } {
  const byHash = new Map<string, Promise<RecognizeResult>>();
  let savedCalls = 0;
  return {
    kind: engine.kind,
    label: engine.label,
    get savedCalls() {
      return savedCalls;
    },
    async recognize(image, signal) {
      const hash = createHash('sha256').update(image.bytes).digest('hex');
      const known = byHash.get(hash);
      if (known) {
        try {
          const result = await known;
          savedCalls++;
          return result;
        } catch {
          // The first call failed or was aborted by its own caller: this ad makes its own call.
        }
      }
      const pending = engine.recognize(image, signal);
      byHash.set(hash, pending);
      // Only successes are shared: a failure (or an abort) must be retried for the next ad.
      pending.catch(() => byHash.delete(hash));
      if (byHash.size > maxEntries) byHash.delete(byHash.keys().next().value!);
      return pending;
    },
    ...(engine.availability ? { availability: () => engine.availability!() } : {}),
    ...(engine.setConcurrency ? { setConcurrency: (n: number) => engine.setConcurrency!(n) } : {}),
    ...(engine.close ? { close: () => engine.close!() } : {}),
  };
}
