import { useRef } from 'react';
import type { RunProgress, RunStatus } from '../../../shared/domain.js';
import { useApi } from '../../api/context.js';
import { formatCount, formatSeconds, fraction } from '../../common/format.js';
import { Button, ErrorNotice, ProgressBar } from '../../common/ui.js';
import { controlRun, startRun } from './actions.js';
import { runnableLanes } from './lanes.js';
import { useServices } from '../services/state.js';
import { honestEta } from './eta.js';
import { isActive, useRun } from './state.js';

const STATUS_TEXT: Record<RunStatus, string> = {
  queued: 'Queued',
  running: 'Running',
  paused: 'Paused',
  cancelling: 'Cancelling…',
  cancelled: 'Cancelled',
  finished: 'Finished',
  interrupted: 'Interrupted (the app stopped; resume to continue)',
  failed: 'Failed',
};

/** An ETA only when it means something: not before the first results, not while paused. */
function describeEta(status: RunStatus, eta: number | null, finished: number): string {
  if (status === 'paused') return 'paused';
  if (status !== 'running' && status !== 'queued') return '—';
  if (eta == null || finished === 0) return 'estimating…';
  return `about ${formatSeconds(eta)} left`;
}

/**
 * The failed ads whose image failed them: a lane's Failed counts its engine's failed calls, and
 * such an ad's image never reached an engine, so this is what reconciles the run's count with the lanes'.
 */
function describeImageFailed(progress: RunProgress): string | null {
  const count = progress.imageFailed ?? 0;
  if (count === 0) return null;
  return count === 1
    ? '1 failed ad: its image could not be fetched (e.g. a dead link), which no lane counts as a failed call.'
    : `${formatCount(count)} failed ads: their images could not be fetched (e.g. dead links), which no lane counts as a failed call.`;
}

export function RunControls() {
  const api = useApi();
  const { summary, lanes, progress, busyAction, actionError } = useRun();
  const services = useServices((s) => s.services);
  const runnable = runnableLanes(lanes, services).length > 0;
  const active = isActive(progress);
  const canStart = summary != null && summary.accepted > 0 && runnable && !active && busyAction == null;
  const finished = progress ? progress.done + progress.failed : 0;
  const pauseResume = useRef<HTMLButtonElement>(null);
  const paused = progress?.status === 'paused' || progress?.status === 'interrupted';
  const imageFailed = progress ? describeImageFailed(progress) : null;
  return (
    <div className="flex flex-col gap-3">
      <div className="flex flex-wrap items-center gap-2">
        <Button
          variant="primary"
          disabled={!canStart}
          onClick={() =>
            void startRun(api).then(() => {
              // Start is disabled once the run is on, which drops the keyboard focus: it goes to Pause.
              if (document.activeElement === document.body || document.activeElement === null) pauseResume.current?.focus();
            })
          }>
          {busyAction === 'start' ? 'Starting…' : progress && !active ? 'Start again' : 'Start'}
        </Button>
        {/* One button that turns from Pause to Resume, and is not disabled while the request is out:
            a disabled button loses the keyboard focus, so Enter could not resume what it paused. A press
            while a request is out is queued behind it (controlRun). */}
        <Button
          ref={pauseResume}
          disabled={!paused && progress?.status !== 'running'}
          onClick={() => void controlRun(api, paused ? 'runs.resume' : 'runs.pause')}>
          {paused ? 'Resume' : 'Pause'}
        </Button>
        <Button variant="danger" disabled={!active || progress?.status === 'cancelling' || busyAction != null} onClick={() => void controlRun(api, 'runs.cancel')}>
          Cancel
        </Button>
        {!summary && <span className="text-sm text-zinc-500 dark:text-zinc-400">Import ads to start a run.</span>}
        {summary && !runnable && <span className="text-sm text-amber-700 dark:text-amber-400">Switch on at least one engine that can run.</span>}
      </div>
      {actionError != null && <ErrorNotice error={actionError.error} action={describeAction(actionError.action)} onDismiss={() => useRun.getState().setActionError(null)} />}
      {progress && (
        <div className="flex flex-col gap-2" aria-label="Overall progress" role="group">
          <div className="flex flex-wrap items-baseline gap-x-4 gap-y-1 text-sm">
            <span className="font-medium" data-testid="run-status" data-status={progress.status}>
              {STATUS_TEXT[progress.status]}
            </span>
            <span className="tabular-nums" data-testid="run-counts">
              {formatCount(progress.done)} done · {formatCount(progress.failed)} failed · {formatCount(progress.inFlight)} in flight · {formatCount(progress.total)} total
            </span>
            <span className="tabular-nums text-zinc-500 dark:text-zinc-400">{formatSeconds(progress.elapsed_s)} elapsed</span>
            <span className="tabular-nums text-zinc-500 dark:text-zinc-400" data-testid="run-eta">
              ETA: {describeEta(progress.status, honestEta(progress), finished)}
            </span>
          </div>
          <ProgressBar value={fraction(progress.done, progress.total)} failed={fraction(progress.failed, progress.total)} label="Overall progress" />
          {imageFailed && (
            <p className="text-xs text-zinc-600 dark:text-zinc-400" data-testid="run-image-failed">
              {imageFailed}
            </p>
          )}
          {progress.notes.length > 0 && (
            <ul className="list-disc pl-5 text-xs text-zinc-600 dark:text-zinc-400">
              {progress.notes.map((note) => (
                <li key={note}>{note}</li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}

function describeAction(action: string | null): string | undefined {
  switch (action) {
    case 'start':
      return 'start the run';
    case 'runs.pause':
      return 'pause the run';
    case 'runs.resume':
      return 'resume the run';
    case 'runs.cancel':
      return 'cancel the run';
    case 'runs.setSplit':
      return 'change the split';
    case 'runs.setLaneWorkers':
      return 'change the number of workers';
    default:
      return undefined;
  }
}
