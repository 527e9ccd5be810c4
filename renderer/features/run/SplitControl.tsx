import { useEffect, useRef } from 'react';
import { POLICIES, type Policy } from '../../../shared/domain.js';
import { useApi } from '../../api/context.js';
import { formatPercent } from '../../common/format.js';
import { focusRing } from '../../common/ui.js';
import { splitLanes } from './lanes.js';
import { useServices } from '../services/state.js';
import { actualShares, normalizeSplit, sliderPercent, splitFromSlider } from './split.js';
import { isActive, useRun } from './state.js';

const POLICY_TEXT: Record<Policy, { label: string; hint: string }> = {
  auto: { label: 'Auto', hint: 'Keeps every model busy; a slow model only takes an ad it will finish before the fast ones would.' },
  ratio: { label: 'Fixed split', hint: 'Splits the ads between the models exactly as the slider says.' },
  single: { label: 'One engine', hint: 'Runs the whole batch on the first engine that is switched on.' },
  compare: { label: 'Compare', hint: 'Every ad on every engine, to compare their outputs side by side.' },
};

/** Sends split changes to a running run, at most every 150 ms while the slider moves. */
function useSplitSync() {
  const api = useApi();
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(() => () => void (timer.current && clearTimeout(timer.current)), []);
  return (split: Record<string, number>) => {
    const { runId, progress } = useRun.getState();
    if (!runId || !isActive(progress) || progress?.policy !== 'ratio') return;
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(() => {
      void api.invoke('runs.setSplit', { runId, split }).catch((error: unknown) => useRun.getState().setActionError({ error, action: 'runs.setSplit' }));
    }, 150);
  };
}

export function SplitControl() {
  const { lanes, policy, split, progress, runId } = useRun();
  const syncSplit = useSplitSync();
  const services = useServices((s) => s.services);
  const running = isActive(progress);
  const effectivePolicy = running && progress ? progress.policy : policy;
  const active = splitLanes(lanes, services, progress, running);
  const ids = active.map((l) => l.id);
  const editable = effectivePolicy === 'ratio';
  // In any policy but ratio the slider shows what the scheduler is really doing.
  const shown = !editable && progress && progress.lanes.length ? actualShares(progress.lanes) : normalizeSplit(split, ids);

  const change = (next: Record<string, number>) => {
    useRun.getState().setSplit(next);
    syncSplit(normalizeSplit({ ...useRun.getState().split }, ids));
  };

  return (
    <div className="flex flex-col gap-3">
      <fieldset className="flex flex-col gap-2">
        <legend className="mb-1 text-sm font-medium">Policy</legend>
        <div className="inline-flex w-fit overflow-hidden rounded-md border border-zinc-300 dark:border-zinc-700" role="radiogroup" aria-label="Policy">
          {POLICIES.map((p) => (
            <label
              key={p}
              className={`cursor-pointer px-3 py-1.5 text-sm has-[:focus-visible]:outline-2 has-[:focus-visible]:-outline-offset-2 has-[:focus-visible]:outline-blue-500 ${
                effectivePolicy === p ? 'bg-blue-600 text-white' : 'bg-white hover:bg-zinc-50 dark:bg-zinc-900 dark:hover:bg-zinc-800'
              } ${running ? 'cursor-not-allowed' : ''}`}
            >
              <input type="radio" name="policy" value={p} checked={effectivePolicy === p} disabled={running} onChange={() => useRun.getState().setPolicy(p)} className="sr-only" />
              {POLICY_TEXT[p].label}
            </label>
          ))}
        </div>
        <p className="text-xs text-zinc-500 dark:text-zinc-400">{POLICY_TEXT[effectivePolicy].hint}</p>
      </fieldset>
      {effectivePolicy === 'auto' && !progress?.lanes.length && ids.length > 1 && (
        <p className="text-sm text-zinc-600 dark:text-zinc-400">The scheduler picks the split as it learns each engine’s speed; it shows here once the run starts.</p>
      )}
      {ids.length === 2 && ids[0] && ids[1] && (editable || (effectivePolicy === 'auto' && progress?.lanes.length)) && (
        <TwoLaneSlider
          first={active[0]?.label ?? ids[0]}
          second={active[1]?.label ?? ids[1]}
          percent={editable ? sliderPercent(split, ids[0], ids[1]) : Math.round((shown[ids[0]] ?? 0.5) * 100)}
          editable={editable}
          onChange={(percent) => change(splitFromSlider(percent, ids[0] ?? '', ids[1] ?? ''))}
        />
      )}
      {ids.length > 2 && (editable || (effectivePolicy === 'auto' && progress?.lanes.length)) && (
        <div className="flex flex-col gap-2">
          {active.map((lane) => (
            <label key={lane.id} className="grid grid-cols-[8rem_1fr_3.5rem] items-center gap-3 text-sm">
              <span className="truncate">{lane.label ?? lane.id}</span>
              <input
                type="range"
                min={0}
                max={100}
                aria-label={`Split weight for ${lane.label ?? lane.id}`}
                // The weight's effect is the lane's share of the ads, which the screen shows beside it.
                aria-valuetext={`${formatPercent(shown[lane.id] ?? 0)} of the ads`}
                value={Math.round((editable ? (split[lane.id] ?? 0.5) : (shown[lane.id] ?? 0)) * 100)}
                disabled={!editable}
                onChange={(e) => change({ [lane.id]: Number(e.target.value) / 100 })}
                className={`accent-blue-600 ${focusRing}`}
              />
              <span className="text-right tabular-nums">{formatPercent(shown[lane.id] ?? 0)}</span>
            </label>
          ))}
        </div>
      )}
      {!editable && runId && running && effectivePolicy === 'auto' && <p className="text-xs text-zinc-500 dark:text-zinc-400">The split shown is what the scheduler is doing now.</p>}
    </div>
  );
}

function TwoLaneSlider({ first, second, percent, editable, onChange }: { first: string; second: string; percent: number; editable: boolean; onChange(percent: number): void }) {
  return (
    <div className="flex flex-col gap-1">
      <div className="flex justify-between text-sm">
        <span>
          {first} <span className="tabular-nums font-medium" data-testid="split-first">{percent} %</span>
        </span>
        <span>
          <span className="tabular-nums font-medium" data-testid="split-second">{100 - percent} %</span> {second}
        </span>
      </div>
      <input
        type="range"
        min={0}
        max={100}
        step={1}
        value={percent}
        disabled={!editable}
        aria-label="Split"
        aria-valuetext={`${percent} % ${first}, ${100 - percent} % ${second}`}
        title={editable ? undefined : 'Choose “Fixed split” to set the split yourself'}
        onChange={(e) => onChange(Number(e.target.value))}
        className={`w-full accent-blue-600 disabled:opacity-60 ${focusRing}`}
      />
    </div>
  );
}
