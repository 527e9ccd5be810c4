import { useEffect, useState } from 'react';
import { ENGINE_KINDS, type EngineKind } from '../../../shared/domain.js';
import { EmptyState, ErrorNotice, focusRing } from '../../common/ui.js';
import { ResultDetail } from './ResultDetail.js';
import { ResultsTable } from './ResultsTable.js';
import { useResults, type StatusFilter } from './state.js';
import { RunPicker } from './RunPicker.js';

const inputClass = `rounded-md border border-zinc-300 bg-white px-2 py-1 text-sm dark:border-zinc-700 dark:bg-zinc-900 ${focusRing}`;

export function ResultsScreen() {
  const runId = useResults((s) => s.runId);
  const selected = useResults((s) => s.selected);
  const runsError = useResults((s) => s.runsError);
  return (
    <div className="flex h-full min-h-0 flex-col gap-3">
      <div className="flex flex-wrap items-end gap-3">
        <RunPicker />
        {runId && <Filters />}
      </div>
      {runsError != null && <ErrorNotice error={runsError} action="list the runs" />}
      {!runId ? (
        <EmptyState title="No run selected">Start a run on the Run screen, or pick an earlier run above.</EmptyState>
      ) : (
        <div className={`grid min-h-0 flex-1 gap-3 ${selected ? 'lg:grid-cols-[minmax(0,1fr)_26rem]' : ''}`}>
          <ResultsTable runId={runId} />
          {selected && <ResultDetail runId={runId} creativeId={selected} />}
        </div>
      )}
    </div>
  );
}

function Filters() {
  const query = useResults((s) => s.query);
  const [search, setSearch] = useState(query.search);
  useEffect(() => {
    const timer = setTimeout(() => {
      if (search !== useResults.getState().query.search) useResults.getState().setQuery({ search });
    }, 250);
    return () => clearTimeout(timer);
  }, [search]);
  return (
    <>
      <label className="flex flex-col gap-1 text-xs text-zinc-500 dark:text-zinc-400">
        Search
        <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder="Creative id or text" className={`${inputClass} w-56`} maxLength={200} />
      </label>
      <label className="flex flex-col gap-1 text-xs text-zinc-500 dark:text-zinc-400">
        Status
        <select value={query.status ?? ''} onChange={(e) => useResults.getState().setQuery({ status: (e.target.value || undefined) as StatusFilter | undefined })} className={inputClass}>
          <option value="">All</option>
          <option value="done">Done</option>
          <option value="failed">Failed</option>
          <option value="running">Running</option>
          <option value="pending">Pending</option>
        </select>
      </label>
      <label className="flex flex-col gap-1 text-xs text-zinc-500 dark:text-zinc-400">
        Engine
        <select value={query.engine ?? ''} onChange={(e) => useResults.getState().setQuery({ engine: (e.target.value || undefined) as EngineKind | undefined })} className={inputClass}>
          <option value="">All</option>
          {ENGINE_KINDS.map((engine) => (
            <option key={engine} value={engine}>
              {engine}
            </option>
          ))}
        </select>
      </label>
    </>
  );
}
