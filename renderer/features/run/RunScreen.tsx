import { useEffect } from 'react';
import { useApi } from '../../api/context.js';
import { useAppInfo } from '../../api/useAppInfo.js';
import type { LaneConfig } from '../../../shared/domain.js';
import { Button, Card, ErrorNotice, Loading } from '../../common/ui.js';
import { useResults } from '../results/state.js';
import { useServices } from '../services/state.js';
import { DropZone } from './DropZone.js';
import { ImportPreview } from './ImportPreview.js';
import { LaneCard } from './LaneCard.js';
import { RunControls } from './RunControls.js';
import { SplitControl } from './SplitControl.js';
import { ThroughputChart } from './ThroughputChart.js';
import { laneBlocker, serviceOfLane, splitLanes } from './lanes.js';
import { normalizeSplit } from './split.js';
import { isActive, useRun } from './state.js';
import { isLiveRunStatus } from '../../../shared/domain.js';

export function RunScreen() {
  const api = useApi();
  const { engines, enginesError, lanes, progress, history, policy, split, summary } = useRun();
  const services = useServices((s) => s.services);
  const browserMode = useAppInfo()?.mode === 'browser';

  useEffect(() => {
    let live = true;
    api.invoke('engines.list', {}).then(
      (list) => live && useRun.getState().setEngines(list),
      (error: unknown) => live && useRun.getState().setEnginesError(error),
    );
    // Re-attach to a run that is still going (a reload, or a run started elsewhere), or to the
    // newest run if a quit or crash interrupted it, so that Resume is one click.
    if (!useRun.getState().runId) {
      api.invoke('runs.list', {}).then(
        async (runs) => {
          const newest = [...runs].sort((a, b) => b.createdAt - a.createdAt)[0];
          const activeRun =
            runs.filter((r) => isLiveRunStatus(r.status)).sort((a, b) => b.createdAt - a.createdAt)[0] ??
            (newest?.status === 'interrupted' ? newest : undefined);
          if (!live || !activeRun || useRun.getState().runId) return;
          const current = await api.invoke('runs.progress', { runId: activeRun.runId });
          useRun.getState().attachRun(activeRun.runId, current);
          if (!useResults.getState().runId) useResults.getState().selectRun(activeRun.runId);
        },
        () => undefined,
      );
    }
    return () => {
      live = false;
    };
  }, [api]);

  const running = isActive(progress);
  const laneIds = splitLanes(lanes, services, progress, running).map((l) => l.id);
  const targets = (running ? progress?.policy : policy) === 'ratio' ? normalizeSplit(split, laneIds) : null;
  // While a run goes, its own lanes (also ones this window never configured, after a reload).
  const shownLanes: LaneConfig[] =
    running && progress
      ? progress.lanes.map((p) => lanes.find((lane) => lane.id === p.laneId) ?? { id: p.laneId, engine: p.engine, label: p.label, workers: p.workers, enabled: true })
      : lanes;

  const setWorkers = (laneId: string, value: number | 'auto') => {
    // "auto" is the engine's safe maximum on the backend's machine (EngineInfo.defaultWorkers).
    const engine = engines?.find((e) => e.engine === lanes.find((lane) => lane.id === laneId)?.engine);
    const workers = value === 'auto' ? (engine?.defaultWorkers ?? 1) : value;
    useRun.getState().updateLane(laneId, { workers, autoWorkers: value === 'auto' });
    const { runId } = useRun.getState();
    if (runId && running) {
      api.invoke('runs.setLaneWorkers', { runId, laneId, workers }).catch((error: unknown) => useRun.getState().setActionError({ error, action: 'runs.setLaneWorkers' }));
    }
  };

  // A lane that is on, or that took part in the run shown (its figures stay in view): each lane in one place only.
  const inMainGrid = (lane: LaneConfig) => (lane.enabled !== false && laneBlocker(lane, services) == null) || (progress?.lanes.some((p) => p.laneId === lane.id) ?? false);
  const colorIndex = (laneId: string) => {
    const index = lanes.findIndex((lane) => lane.id === laneId);
    return index === -1 ? lanes.length + (progress?.lanes.findIndex((p) => p.laneId === laneId) ?? 0) : index;
  };
  const renderLane = (lane: LaneConfig) => (
    <LaneCard
      key={lane.id}
      lane={lane}
      index={colorIndex(lane.id)}
      engine={engines?.find((e) => e.engine === lane.engine)}
      progress={progress?.lanes.find((p) => p.laneId === lane.id)}
      total={progress?.total ?? summary?.accepted ?? 0}
      targetShare={targets?.[lane.id] ?? null}
      running={running}
      service={serviceOfLane(lane, services)}
      blocked={laneBlocker(lane, services)}
      onToggle={(enabled) => useRun.getState().updateLane(lane.id, { enabled })}
      onWorkers={(workers) => setWorkers(lane.id, workers)}
      onSettings={(patch) => useRun.getState().updateLane(lane.id, patch)}
    />
  );

  return (
    <div className="grid gap-5 xl:grid-cols-[minmax(0,26rem)_minmax(0,1fr)]">
      <div className="flex flex-col gap-4">
        <Card className="flex flex-col gap-4">
          <h2 className="text-base font-semibold">Ads</h2>
          <DropZone />
          {summary ? <ImportPreview /> : <p className="text-sm text-zinc-500 dark:text-zinc-400">No ads imported yet.</p>}
        </Card>
      </div>
      <div className="flex flex-col gap-4">
        <Card className="flex flex-col gap-4">
          <h2 className="text-base font-semibold">Run</h2>
          <SplitControl />
          <div className="border-t border-zinc-100 pt-4 dark:border-zinc-800">
            <RunControls />
          </div>
        </Card>
        <section aria-label="Engine lanes" className="flex flex-col gap-3">
          {enginesError != null && <ErrorNotice error={enginesError} action="list the engines" />}
          {engines == null && enginesError == null && <Loading>Looking for engines…</Loading>}
          {engines != null && lanes.length === 0 && <p className="text-sm text-zinc-500">No engines are known to the backend.</p>}
          <div className="grid items-start gap-3 lg:grid-cols-2">
            {shownLanes.filter(inMainGrid).map(renderLane)}
          </div>
          {!running && shownLanes.some((lane) => !inMainGrid(lane)) && (
            <div className="flex flex-col gap-2">
              <h3 className="text-xs font-medium uppercase tracking-wide text-zinc-500 dark:text-zinc-400">Other engines</h3>
              <div className="grid items-start gap-2 lg:grid-cols-2">{shownLanes.filter((lane) => !inMainGrid(lane)).map(renderLane)}</div>
            </div>
          )}
          {!running && lanes.some((lane) => lane.engine === 'openai') && (
            <div>
              <Button variant="ghost" onClick={() => useRun.getState().addLane('openai')}>
                + Add an OpenAI-compatible endpoint
              </Button>
            </div>
          )}
          {/* The settings persist per origin (state.ts): browser mode's address changes with its port, which `serve` picks anew at each start. */}
          {browserMode && (
            <p className="text-xs text-zinc-500 dark:text-zinc-400" data-testid="settings-scope">
              Engine and run settings are kept in this browser for {window.location.host}; start browser mode with --port N to keep the same address across restarts.
            </p>
          )}
        </section>
        {progress && (
          <Card className="flex flex-col gap-2">
            <h2 className="text-base font-semibold">Throughput</h2>
            <ThroughputChart history={history} lanes={progress.lanes.map((l) => ({ laneId: l.laneId, label: l.label, colorIndex: colorIndex(l.laneId) }))} />
          </Card>
        )}
      </div>
    </div>
  );
}
