import { useEffect } from 'react';
import { useApi } from '../../api/context.js';
import { formatCount } from '../../common/format.js';
import { focusRing } from '../../common/ui.js';
import { useResults } from './state.js';
import { useRun } from '../run/state.js';

/** A run's line in the pickers; the start time tells apart runs of the same list. */
export function describeRun(run: { source: string; status: string; done: number; total: number; runId: string; createdAt: number }): string {
  const started = new Date(run.createdAt).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
  return `${run.source || run.runId} — ${run.status}, ${formatCount(run.done)}/${formatCount(run.total)} · ${started}`;
}

/** Loads the list of runs once per mount (the pickers of Results, Compare and Export). */
function useRunsList() {
  const api = useApi();
  const runId = useResults((s) => s.runId);
  // A run that starts, pauses or ends changes its line in the picker at once.
  const liveStatus = useRun((s) => s.progress?.status);
  useEffect(() => {
    let live = true;
    const load = () =>
      api.invoke('runs.list', {}).then(
        (runs) => live && useResults.getState().setRuns(runs),
        (error: unknown) => live && useResults.getState().setRunsError(error),
      );
    void load();
    // Counts and statuses in the picker move while runs go.
    const timer = setInterval(() => void load(), RUNS_REFRESH_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [api, runId, liveStatus]);
}

const RUNS_REFRESH_MS = 5000;

/** Which run the Results, Compare and Export screens show. */
export function RunPicker({ label = 'Run' }: { label?: string }) {
  useRunsList();
  const runs = useResults((s) => s.runs);
  const runId = useResults((s) => s.runId);
  const sorted = [...(runs ?? [])].sort((a, b) => b.createdAt - a.createdAt);
  const known = sorted.some((r) => r.runId === runId);
  return (
    <label className="flex flex-col gap-1 text-xs text-zinc-500 dark:text-zinc-400">
      {label}
      <select
        value={runId ?? ''}
        onChange={(e) => useResults.getState().selectRun(e.target.value || null)}
        className={`max-w-md rounded-md border border-zinc-300 bg-white px-2 py-1 text-sm text-zinc-900 dark:border-zinc-700 dark:bg-zinc-900 dark:text-zinc-100 ${focusRing}`}
        disabled={runs == null}
      >
        {runs == null && <option value="">Loading runs…</option>}
        {runs != null && !runId && <option value="">{sorted.length ? 'Choose a run' : 'No runs yet'}</option>}
        {runId && !known && <option value={runId}>{runId}</option>}
        {sorted.map((run) => (
          <option key={run.runId} value={run.runId}>
            {describeRun(run)}
          </option>
        ))}
      </select>
    </label>
  );
}
