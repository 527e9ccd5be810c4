import type { VisionApi } from '../../../shared/api.js';
import { serviceBackendOfRoute, type DeepSeekRouteKind } from '../../../shared/deepseek-routes.js';
import { useRun } from '../run/state.js';
import { useServices } from './state.js';

export async function serviceAction(api: VisionApi, name: string, action: 'start' | 'stop' | 'setup'): Promise<void> {
  const store = useServices.getState();
  store.setPending(name, action);
  store.setActionError(name, undefined);
  try {
    if (action === 'setup') useServices.getState().setStages(name, await api.invoke('services.setup', { name }));
    else useServices.getState().upsert(await api.invoke(action === 'start' ? 'services.start' : 'services.stop', { name }));
  } catch (error) {
    useServices.getState().setActionError(name, { error, action });
  } finally {
    useServices.getState().setPending(name, undefined);
  }
}

/** Loads the service list once; live changes come through the app-wide event hook. */
export async function loadServices(api: VisionApi): Promise<void> {
  try {
    useServices.getState().setAll(await api.invoke('services.list', {}));
  } catch (error) {
    useServices.getState().setError(error instanceof Error ? error.message : String(error));
  }
}

/** The Ollama model that is DeepSeek-OCR (its lane preset: the model's own prompts, grounding boxes). */
const OLLAMA_DEEPSEEK_MODEL = 'deepseek-ocr';

/**
 * Applies a DeepSeek-OCR route: the service's backends (MLX, PyTorch, RapidOCR) restart the
 * DeepSeek service with that backend (the backend saves the choice); Ollama and vLLM are lanes
 * of their own, so picking them switches on the lanes with the DeepSeek-OCR preset.
 */
export async function applyDeepSeekRoute(api: VisionApi, route: DeepSeekRouteKind): Promise<void> {
  useServices.getState().setDeepSeekRoute(route);
  const backend = serviceBackendOfRoute(route);
  if (backend) {
    const store = useServices.getState();
    store.setPending('deepseek', 'start');
    store.setActionError('deepseek', undefined);
    try {
      useServices.getState().upsert(await api.invoke('services.start', { name: 'deepseek', backend }));
    } catch (error) {
      useServices.getState().setActionError('deepseek', { error, action: `switch to ${backend}` });
    } finally {
      useServices.getState().setPending('deepseek', undefined);
    }
    return;
  }
  const run = useRun.getState();
  if (route === 'ollama') {
    const lane = run.lanes.find((l) => l.engine === 'ollama' && l.model === OLLAMA_DEEPSEEK_MODEL) ?? run.lanes.find((l) => l.engine === 'ollama');
    if (lane) run.updateLane(lane.id, { model: OLLAMA_DEEPSEEK_MODEL, enabled: true });
    else useRun.setState({ lanes: [...run.lanes, { id: 'ollama', engine: 'ollama', label: 'Ollama (deepseek-ocr)', model: OLLAMA_DEEPSEEK_MODEL, workers: 1, enabled: true }] });
    return;
  }
  for (const lane of run.lanes) if (lane.engine === 'openai' && /deepseek-ocr/i.test(lane.model ?? '')) run.updateLane(lane.id, { enabled: true });
}
