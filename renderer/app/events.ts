/**
 * One subscription per backend event for the whole app, routed into the feature slices,
 * so no event is missed while its screen is closed.
 */
import { useEffect } from 'react';
import type { VisionApi } from '../../shared/api.js';
import { useExport } from '../features/export/state.js';
import { useResults } from '../features/results/state.js';
import { useRun } from '../features/run/state.js';
import { loadServices } from '../features/services/actions.js';
import { useServices } from '../features/services/state.js';
import { useApp } from './state.js';

export function useBackendEvents(api: VisionApi): void {
  useEffect(() => {
    void loadServices(api);
    const offs = [
      api.on('run.progress', (progress) => useRun.getState().applyProgress(progress)),
      api.on('run.results', ({ runId, results }) => useResults.getState().noteResults(runId, results.length)),
      api.on('service.state', (service) => useServices.getState().upsert(service)),
      api.on('service.log', ({ name, lines }) => useServices.getState().appendLog(name, lines)),
      api.on('service.setup', (stage) => useServices.getState().upsertStage(stage)),
      api.on('export.progress', ({ written, total }) => useExport.getState().progressed(written, total)),
      api.on('app.error', ({ message, where }) => useApp.getState().notify(message, where)),
      api.on('app.notice', ({ message }) => useApp.getState().notify(message, undefined, 'info')),
      api.on('service.notice', ({ name, message }) => {
        const label = useServices.getState().services.find((s) => s.name === name)?.label ?? name;
        useApp.getState().notify(`${label}: ${message}`, undefined, 'info');
      }),
    ];
    return () => offs.forEach((off) => off());
  }, [api]);
}
