/**
 * The Results slice. It deliberately holds no rows: finished results only bump `version`,
 * and the virtualized table pages the rows it shows through `results.page`, so a batch of
 * results costs one small re-render, not a re-render of 100 000 rows.
 */
import { create } from 'zustand';
import type { RunSummary } from '../../../shared/api.js';
import type { EngineKind } from '../../../shared/domain.js';

export type SortKey = 'creativeId' | 'status' | 'engine' | 'duration' | 'finishedAt';
export type StatusFilter = 'pending' | 'running' | 'done' | 'failed';

interface ResultsQueryState {
  sort: SortKey;
  descending: boolean;
  engine?: EngineKind;
  status?: StatusFilter;
  search: string;
}

export interface ResultsState {
  runId: string | null;
  runs: RunSummary[] | null;
  runsError: unknown;
  /** Bumped whenever results of the selected run arrive. */
  version: number;
  received: number;
  query: ResultsQueryState;
  selected: string | null;
  selectRun(runId: string | null): void;
  setRuns(runs: RunSummary[]): void;
  setRunsError(error: unknown): void;
  noteResults(runId: string, count: number): void;
  setQuery(patch: Partial<ResultsQueryState>): void;
  toggleSort(key: SortKey): void;
  select(creativeId: string | null): void;
}

const DEFAULT_QUERY: ResultsQueryState = { sort: 'finishedAt', descending: false, search: '' };

export const useResults = create<ResultsState>((set) => ({
  runId: null,
  runs: null,
  runsError: null,
  version: 0,
  received: 0,
  query: DEFAULT_QUERY,
  selected: null,
  selectRun: (runId) => set((state) => (state.runId === runId ? {} : { runId, selected: null, received: 0, version: state.version + 1 })),
  setRuns: (runs) => set({ runs, runsError: null }),
  setRunsError: (runsError) => set({ runsError }),
  noteResults: (runId, count) => set((state) => (state.runId === runId ? { version: state.version + 1, received: state.received + count } : {})),
  setQuery: (patch) => set((state) => ({ query: { ...state.query, ...patch } })),
  toggleSort: (key) =>
    set((state) => ({ query: { ...state.query, sort: key, descending: state.query.sort === key ? !state.query.descending : false } })),
  select: (selected) => set({ selected }),
}));
