import { useEffect, useState } from 'react';
import type { ComparePage } from '../../../shared/api.js';
import type { EngineKind } from '../../../shared/domain.js';
import { useApi } from '../../api/context.js';
import { formatCount, formatMs, formatPercent } from '../../common/format.js';
import { extractUrls } from '../../common/files.js';
import { Button, Card, EmptyState, ErrorNotice, Loading, focusRing } from '../../common/ui.js';
import { RunPicker } from '../results/RunPicker.js';
import { useResults } from '../results/state.js';
import { enabledLanes } from '../run/lanes.js';
import { useRun } from '../run/state.js';
import { COMPARE_PAGE_SIZE, agreementTone, useCompare } from './state.js';

export function CompareScreen() {
  const api = useApi();
  const runId = useResults((s) => s.runId);
  const version = useResults((s) => s.version);
  const { page, offset, loading, error } = useCompare();

  useEffect(() => {
    if (!runId) return;
    let live = true;
    // Refresh at most every second while results stream in.
    const timer = setTimeout(() => {
      useCompare.getState().startLoading();
      api.invoke('results.compare', { runId, offset, limit: COMPARE_PAGE_SIZE }).then(
        (value) => live && useCompare.getState().loaded(value),
        (e: unknown) => live && useCompare.getState().failed(e),
      );
    }, page ? 1000 : 0);
    return () => {
      live = false;
      clearTimeout(timer);
    };
    // `page` is read only to know whether this is the first load, not a reason to reload.
  }, [api, runId, offset, version]);

  useEffect(() => {
    useCompare.setState({ page: null, offset: 0, error: null });
  }, [runId]);

  return (
    <div className="flex flex-col gap-4">
      <div className="flex flex-wrap items-end gap-4">
        <RunPicker label="Run to compare" />
      </div>
      <QuickTest />
      {error != null && <ErrorNotice error={error} action="load the comparison" />}
      {!runId && <EmptyState title="Nothing to compare yet">Start a run with the Compare policy, or quick-test a few image URLs above.</EmptyState>}
      {runId && !page && loading && <Loading>Loading the comparison…</Loading>}
      {runId && page && <CompareTable page={page} offset={offset} />}
    </div>
  );
}

/** Paste a few URLs, run them on the chosen engines with the `compare` policy. */
function QuickTest() {
  const api = useApi();
  const lanes = useRun((s) => s.lanes);
  const engines = useRun((s) => s.engines);
  const [text, setText] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [chosen, setChosen] = useState<Set<string> | null>(null);
  const urls = extractUrls(text);

  useEffect(() => {
    if (engines) return;
    api.invoke('engines.list', {}).then(
      (list) => useRun.getState().setEngines(list),
      (e: unknown) => setError(e),
    );
  }, [api, engines]);

  const available = lanes.filter((lane) => engines?.find((e) => e.engine === lane.engine)?.availability.type === 'available');
  const selected = chosen ?? new Set(enabledLanes(lanes).map((l) => l.id));
  const picked = available.filter((lane) => selected.has(lane.id)).map((lane) => ({ ...lane, enabled: true }));

  const start = async () => {
    setBusy(true);
    setError(null);
    try {
      const summary = await api.invoke('ads.importUrls', { urls });
      const { runId } = await api.invoke('runs.start', { batchId: summary.batchId, policy: 'compare', lanes: picked });
      useRun.getState().attachRun(runId);
      useResults.getState().selectRun(runId);
      useCompare.getState().setOffset(0);
      setText('');
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card className="flex flex-col gap-3">
      <label htmlFor="quick-test" className="text-sm font-medium">
        Quick test: paste a few image URLs and run each on every chosen engine
      </label>
      <textarea
        id="quick-test"
        rows={3}
        value={text}
        onChange={(e) => setText(e.target.value)}
        placeholder="https://example.com/ad.png"
        className={`rounded-md border border-zinc-300 bg-white p-2 font-mono text-xs dark:border-zinc-700 dark:bg-zinc-950 ${focusRing}`}
      />
      <fieldset className="flex flex-wrap items-center gap-x-4 gap-y-1 text-sm">
        <legend className="sr-only">Engines to compare</legend>
        {available.map((lane) => (
          <label key={lane.id} className="flex items-center gap-1.5">
            <input
              type="checkbox"
              checked={selected.has(lane.id)}
              onChange={(e) => {
                const next = new Set(selected);
                if (e.target.checked) next.add(lane.id);
                else next.delete(lane.id);
                setChosen(next);
              }}
              className={`accent-blue-600 ${focusRing}`}
            />
            {lane.label ?? lane.id}
          </label>
        ))}
      </fieldset>
      <div className="flex items-center gap-3">
        <Button variant="primary" disabled={!urls.length || busy || urls.length > 50 || picked.length < 2} onClick={() => void start()}>
          {busy ? 'Starting…' : urls.length ? `Compare ${urls.length} image${urls.length === 1 ? '' : 's'}` : 'Compare'}
        </Button>
        {picked.length < 2 && <span className="text-xs text-zinc-500 dark:text-zinc-400">Choose at least two engines.</span>}
        {urls.length > 50 && <span className="text-xs text-amber-700 dark:text-amber-400">A quick test takes up to 50 URLs; import a list on the Run screen for more.</span>}
      </div>
      {error != null && <ErrorNotice error={error} action="start the comparison" onDismiss={() => setError(null)} />}
    </Card>
  );
}

function CompareTable({ page, offset }: { page: ComparePage; offset: number }) {
  const runId = useResults((s) => s.runId);
  const policy = useResults((s) => s.runs?.find((r) => r.runId === runId)?.policy);
  const known = useRun((s) => s.engines);
  const label = (engine: EngineKind) => known?.find((e) => e.engine === engine)?.label ?? engine;
  const engines: EngineKind[] = page.summary.map((s) => s.engine);
  const splitRun = policy != null && policy !== 'compare';
  if (!page.total) return <EmptyState title="This run has no ads." />;
  return (
    <>
      {splitRun && (
        <p className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:bg-amber-950/40 dark:text-amber-200">
          This run split its ads between the engines, so each ad has one engine’s output. To see every engine on the same ads, start a run with the Compare policy or use the quick test.
        </p>
      )}
      <section aria-label="Engine summary" className="grid gap-3 sm:grid-cols-2 lg:grid-cols-4">
        {page.summary.map((s) => (
          <Card key={s.engine} data-engine={s.engine} className="flex flex-col gap-1">
            <h3 className="font-medium">{label(s.engine)}</h3>
            <dl className="grid grid-cols-2 gap-1 text-sm">
              <dt className="text-zinc-500">Mean time</dt>
              <dd className="text-right tabular-nums">{formatMs(s.meanMs)}</dd>
              <dt className="text-zinc-500">Agreement</dt>
              <dd className={`text-right tabular-nums ${agreementTone(s.agreement)}`}>{formatPercent(s.agreement)}</dd>
              <dt className="text-zinc-500">Done / failed</dt>
              <dd className="text-right tabular-nums">
                {formatCount(s.done)} / {formatCount(s.failed)}
              </dd>
            </dl>
          </Card>
        ))}
      </section>
      <div className="overflow-x-auto rounded-lg border border-zinc-200 dark:border-zinc-800">
        <table className="w-full table-fixed text-left text-xs" aria-label="Outputs side by side">
          <thead className="bg-zinc-50 text-zinc-500 dark:bg-zinc-900 dark:text-zinc-400">
            <tr>
              <th className="w-40 px-2 py-1.5 font-medium">Creative</th>
              <th className="w-20 px-2 py-1.5 font-medium">Agreement</th>
              {engines.map((engine) => (
                <th key={engine} className="px-2 py-1.5 font-medium">
                  {label(engine)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {page.rows.map((row) => (
              <tr key={row.creativeId} className="border-t border-zinc-100 align-top dark:border-zinc-800">
                <td className="truncate px-2 py-1.5 font-mono">{row.creativeId}</td>
                <td className={`px-2 py-1.5 tabular-nums ${agreementTone(row.agreement)}`}>{formatPercent(row.agreement)}</td>
                {engines.map((engine) => {
                  const output = row.outputs.find((o) => o.engine === engine);
                  return (
                    <td key={engine} className="px-2 py-1.5">
                      {!output ? (
                        <span className="text-zinc-400">{splitRun ? '—' : 'pending'}</span>
                      ) : output.status === 'failed' ? (
                        <span className="text-red-600 dark:text-red-400">failed</span>
                      ) : (
                        <>
                          <div className="line-clamp-4 whitespace-pre-wrap">{output.text || <span className="text-zinc-400">no text</span>}</div>
                          <div className="mt-0.5 text-zinc-500 tabular-nums">{formatMs(output.durationMs)}</div>
                        </>
                      )}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="flex items-center gap-3 text-sm">
        <Button disabled={offset === 0} onClick={() => useCompare.getState().setOffset(offset - COMPARE_PAGE_SIZE)}>
          Previous
        </Button>
        <span className="tabular-nums text-zinc-500">
          {formatCount(offset + 1)}–{formatCount(Math.min(page.total, offset + COMPARE_PAGE_SIZE))} of {formatCount(page.total)}
        </span>
        <Button disabled={offset + COMPARE_PAGE_SIZE >= page.total} onClick={() => useCompare.getState().setOffset(offset + COMPARE_PAGE_SIZE)}>
          Next
        </Button>
      </div>
    </>
  );
}
