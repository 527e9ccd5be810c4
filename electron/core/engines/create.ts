/**
 * The one place that turns a lane's configuration into an engine. Each engine module
 * exports a `create…Engine(lane, deps)` factory; modules load lazily so that a lane
 * never pays for engines it does not use (and a missing native module only affects its lane).
 */
import type { LaneConfig } from '../../../shared/domain.js';
import type { Engine, EngineDeps } from './types.js';

export async function createEngine(lane: LaneConfig, deps: EngineDeps = {}): Promise<Engine> {
  switch (lane.engine) {
    case 'deepseek':
      return (await import('./deepseek.js')).createDeepSeekEngine(lane, deps);
    case 'ollama':
      return (await import('./ollama.js')).createOllamaEngine(lane, deps);
    case 'embedded':
      return (await import('./embedded.js')).createEmbeddedEngine(lane, deps);
    case 'openai':
      return (await import('./openai.js')).createOpenAIEngine(lane, deps);
    case 'apple-vision':
      return (await import('./apple-vision.js')).createAppleVisionEngine(lane, deps);
  }
}
