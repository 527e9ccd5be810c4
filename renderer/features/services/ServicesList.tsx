import { useEffect } from 'react';
import { useApi } from '../../api/context.js';
import { useServices } from './state.js';
import type { ServiceState } from '../../../shared/domain.js';

function describeState(state: ServiceState): string {
  switch (state.type) {
    case 'not-installed':
      return `Not installed — ${state.hint}`;
    case 'unavailable':
      return `Unavailable — ${state.reason}`;
    case 'stopped':
      return 'Stopped';
    case 'starting':
      return `Starting (waiting for ${state.waitingFor})`;
    case 'ready':
      return 'Ready';
    case 'degraded':
      return `Degraded — ${state.reason}`;
    case 'crashed':
      return `Crashed — ${state.reason}`;
    case 'stopping':
      return 'Stopping';
    case 'external':
      return `Running (started outside the app) at ${state.url}`;
  }
}

export function ServicesList() {
  const api = useApi();
  const { services, loading, error, setAll, upsert, setError } = useServices();

  useEffect(() => {
    let live = true;
    api.invoke('services.list', {}).then(
      (list) => live && setAll(list),
      (e: Error) => live && setError(e.message),
    );
    const off = api.on('service.state', upsert);
    return () => {
      live = false;
      off();
    };
  }, [api, setAll, upsert, setError]);

  if (loading) return <p className="text-sm text-zinc-500">Looking for model services…</p>;
  if (error) return <p role="alert" className="text-sm text-red-600">Could not list the model services: {error}</p>;
  return (
    <ul aria-label="Model services" className="grid gap-3 sm:grid-cols-2">
      {services.map((service) => (
        <li key={service.name} data-service={service.name} data-state={service.state.type} className="rounded-lg border border-zinc-200 p-4 dark:border-zinc-800">
          <div className="font-medium">{service.label}</div>
          <div className="text-sm text-zinc-600 dark:text-zinc-400">{describeState(service.state)}</div>
        </li>
      ))}
    </ul>
  );
}
