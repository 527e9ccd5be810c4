import { createContext, useContext, type ReactNode } from 'react';
import type { VisionApi } from '../../shared/api.js';

const ApiContext = createContext<VisionApi | null>(null);

export function ApiProvider({ api, children }: { api: VisionApi; children: ReactNode }) {
  return <ApiContext.Provider value={api}>{children}</ApiContext.Provider>;
}

export function useApi(): VisionApi {
  const api = useContext(ApiContext);
  if (!api) throw new Error('useApi outside ApiProvider');
  return api;
}
