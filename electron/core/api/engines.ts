/**
 * Which engines the API uses when a script names none, and one engine per kind kept warm
 * for `POST /v1/ocr` (loading PaddleOCR's models per request would cost seconds).
 */
import type { VisionHandlers } from '../../../shared/api.js';
import type { EngineKind, LaneConfig, ServiceInfo } from '../../../shared/domain.js';
import { engineConcurrency } from '../engines/concurrency.js';
import { createEngine } from '../engines/create.js';
import type { EngineFactory } from '../app/lanes.js';
import type { Engine, EngineDeps } from '../engines/types.js';

/** A service the app can send work to now. */
export function serviceAnswers(service: ServiceInfo): boolean {
  return service.state.type === 'ready' || service.state.type === 'external' || service.state.type === 'degraded';
}

/**
 * The engines a run or an OCR call gets by default, best first: DeepSeek-OCR when its
 * service answers (exact text), the in-process default engine (works with nothing
 * installed), Ollama when it answers (slow; the scheduler only gives it what pays).
 */
export async function defaultEngines(handlers: Pick<VisionHandlers, 'engines.list' | 'services.list'>): Promise<EngineKind[]> {
  const [engines, services] = await Promise.all([handlers['engines.list']({}), handlers['services.list']({})]);
  const ready = new Set(services.filter(serviceAnswers).map((service) => service.engine));
  const inProcess = engines.find((entry) => entry.isDefault)?.engine ?? 'embedded';
  return [...(ready.has('deepseek') ? (['deepseek'] as const) : []), inProcess, ...(ready.has('ollama') ? (['ollama'] as const) : [])];
}

export function laneFor(engine: EngineKind, workers?: number): LaneConfig {
  return { id: engine, engine, workers: workers ?? engineConcurrency({ engine }, 'auto').ceiling, enabled: true };
}

export interface OcrEngines {
  get(engine: EngineKind): Promise<Engine>;
  close(): Promise<void>;
}

export function createOcrEngines(deps: { engineDeps: EngineDeps; serviceUrl(engine: EngineKind): string | null; createEngine?: EngineFactory }): OcrEngines {
  const engines = new Map<EngineKind, Promise<Engine>>();
  return {
    get(engine) {
      let pending = engines.get(engine);
      if (!pending) {
        const endpoint = deps.serviceUrl(engine);
        const lane: LaneConfig = { ...laneFor(engine), id: `api-${engine}`, ...(endpoint ? { endpoint } : {}) };
        // The same factory as a run's lanes (app/lanes.ts): tests inject the deterministic fake.
        pending = (deps.createEngine ?? createEngine)(lane, deps.engineDeps);
        // A failed start is not cached: the next request tries again (the service may be up by then).
        pending.catch(() => engines.delete(engine));
        engines.set(engine, pending);
      }
      return pending;
    },
    async close() {
      const all = [...engines.values()];
      engines.clear();
      await Promise.all(all.map((pending) => pending.then((engine) => engine.close?.()).catch(() => undefined)));
    },
  };
}
