import type { VisionApi } from '../../../shared/api.js';
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
