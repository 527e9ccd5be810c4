import { useEffect, useState } from 'react';
import type { AppInfo } from '../../shared/api.js';
import { useApi } from './context.js';

/** The backend's app.info (mode, data folder, local API), null until it answers or if it cannot. */
export function useAppInfo(): AppInfo | null {
  const api = useApi();
  const [info, setInfo] = useState<AppInfo | null>(null);
  useEffect(() => {
    let live = true;
    api.invoke('app.info', {}).then(
      (value) => live && setInfo(value),
      () => undefined,
    );
    return () => {
      live = false;
    };
  }, [api]);
  return info;
}
