/** The Run screen's slice: engines and lanes, the imported batch, the live run. */
import { create } from 'zustand';
import { createJSONStorage, persist } from 'zustand/middleware';
import type { EngineInfo } from '../../../shared/api.js';
import { isLiveRunStatus, type ImportSummary, type LaneConfig, type Policy, type RunProgress } from '../../../shared/domain.js';
import { mergeLanes, savedRunSettings, type LanePatch, type RunSettings } from './lanes.js';
import { appendSample, type ThroughputSample } from './throughput.js';

export interface RunState {
  engines: EngineInfo[] | null;
  enginesError: unknown;
  lanes: LaneConfig[];
  policy: Policy;
  /** Weights per lane id for the `ratio` policy. */
  split: Record<string, number>;

  importing: boolean;
  importError: unknown;
  /** Notes about the drop itself, e.g. files that were skipped. */
  importNotes: string[];
  summary: ImportSummary | null;

  runId: string | null;
  progress: RunProgress | null;
  history: ThroughputSample[];
  /** The last command that failed, and why. */
  actionError: { error: unknown; action: string } | null;
  busyAction: string | null;

  setEngines(engines: EngineInfo[]): void;
  setEnginesError(error: unknown): void;
  updateLane(id: string, patch: LanePatch): void;
  /** Another lane of an engine that can have several (each OpenAI-compatible endpoint is a lane). */
  addLane(engine: LaneConfig['engine']): void;
  setPolicy(policy: Policy): void;
  setSplit(split: Record<string, number>): void;
  startImport(): void;
  finishImport(summary: ImportSummary, notes?: string[]): void;
  failImport(error: unknown, notes?: string[]): void;
  attachRun(runId: string, progress?: RunProgress | null): void;
  applyProgress(progress: RunProgress): void;
  setBusy(action: string | null): void;
  setActionError(error: { error: unknown; action: string } | null): void;
  reset(): void;
}

const initial = {
  engines: null,
  enginesError: null,
  lanes: [],
  policy: 'auto' as Policy,
  split: {},
  importing: false,
  importError: null,
  importNotes: [],
  summary: null,
  runId: null,
  progress: null,
  history: [],
  actionError: null,
  busyAction: null,
} satisfies Partial<RunState>;

/** Where the browser keeps the user's lane and run settings (per origin: Electron's app:// is one, browser mode's is its address). */
export const RUN_SETTINGS_KEY = 'parallel-vision.run-settings';

export const useRun = create<RunState>()(
  persist(
    (set) => ({
      ...initial,
      setEngines: (engines) =>
        set((state) => {
          const lanes = mergeLanes(state.lanes, engines);
          const split = { ...state.split };
          for (const lane of lanes) split[lane.id] ??= 0.5;
          return { engines, enginesError: null, lanes, split };
        }),
      setEnginesError: (enginesError) => set({ enginesError }),
      updateLane: (id, patch) => set((state) => ({ lanes: state.lanes.map((lane) => (lane.id === id ? { ...lane, ...patch } : lane)) })),
      addLane: (engine) =>
        set((state) => {
          const template = state.lanes.find((lane) => lane.engine === engine);
          let n = 2;
          while (state.lanes.some((lane) => lane.id === `${engine}-${n}`)) n++;
          const lane: LaneConfig = { id: `${engine}-${n}`, engine, label: `${template?.label ?? engine} ${n}`, workers: template?.workers ?? 1, ...(template?.autoWorkers ? { autoWorkers: true } : {}), enabled: true };
          const at = state.lanes.map((l) => l.engine).lastIndexOf(engine);
          const lanes = [...state.lanes];
          lanes.splice(at === -1 ? lanes.length : at + 1, 0, lane);
          return { lanes, split: { ...state.split, [lane.id]: 0.5 } };
        }),
      setPolicy: (policy) => set({ policy }),
      setSplit: (split) => set((state) => ({ split: { ...state.split, ...split } })),
      startImport: () => set({ importing: true, importError: null, importNotes: [] }),
      finishImport: (summary, notes = []) => set({ importing: false, summary, importError: null, importNotes: notes }),
      failImport: (importError, notes = []) => set({ importing: false, importError, importNotes: notes }),
      // Attaching shows the run as it is: its policy, and under ratio the split it follows (not the settings saved in this browser).
      attachRun: (runId, progress = null) =>
        set({ runId, progress, history: progress ? appendSample([], progress) : [], actionError: null, ...(progress ? { policy: progress.policy } : {}), ...(progress?.split ? { split: progress.split } : {}) }),
      applyProgress: (progress) =>
        set((state) => (progress.runId === state.runId ? { progress, history: appendSample(state.history, progress) } : {})),
      setBusy: (busyAction) => set({ busyAction }),
      setActionError: (actionError) => set({ actionError }),
      reset: () => set(initial),
    }),
    {
      name: RUN_SETTINGS_KEY,
      version: 1,
      storage: createJSONStorage(() => localStorage),
      // The user's choices only: engines, the imported list and runs are the backend's to tell.
      partialize: ({ lanes, policy, split }): RunSettings => ({ lanes, policy, split }),
      // What was saved may be stale or hand-edited: keep what still parses; mergeLanes drops engines the backend no longer has.
      merge: (saved, current) => ({ ...current, ...savedRunSettings(saved) }),
    },
  ),
);


export function isActive(progress: RunProgress | null): boolean {
  return progress != null && isLiveRunStatus(progress.status);
}
