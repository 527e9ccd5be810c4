/** Run commands with the busy flag and friendly errors handled in one place. */
import type { VisionApi } from '../../../shared/api.js';
import { normalizeSplit } from './split.js';
import { laneProblem, runnableLanes } from './lanes.js';
import { useRun } from './state.js';
import { useResults } from '../results/state.js';
import { useServices } from '../services/state.js';

async function act(name: string, work: () => Promise<void>): Promise<void> {
  const store = useRun.getState();
  store.setBusy(name);
  store.setActionError(null);
  try {
    await work();
  } catch (error) {
    useRun.getState().setActionError({ error, action: name });
  } finally {
    useRun.getState().setBusy(null);
  }
}

export function startRun(api: VisionApi): Promise<void> {
  return act('start', async () => {
    const { summary, lanes, policy, split } = useRun.getState();
    if (!summary) throw new Error('no ads: import an ad list first');
    // A lane that cannot run here is not sent: it would be left out, and it must not take a share of the split.
    const active = runnableLanes(lanes, useServices.getState().services);
    if (!active.length) throw new Error('Switch on at least one engine that can run.');
    const problem = active.map(laneProblem).find((p) => p != null);
    if (problem) throw new Error(problem);
    const single = policy === 'single' ? active[0]?.engine : undefined;
    const { runId } = await api.invoke('runs.start', {
      batchId: summary.batchId,
      policy,
      lanes: policy === 'single' ? active.slice(0, 1) : active,
      split: normalizeSplit(split, active.map((l) => l.id)),
      singleEngine: single,
    });
    useRun.getState().attachRun(runId);
    useResults.getState().selectRun(runId);
    const progress = await api.invoke('runs.progress', { runId });
    useRun.getState().applyProgress(progress);
  });
}

/** The last pause/resume/cancel sent: each waits for the one before, so they reach the run in the order they were pressed. */
let lastControl: Promise<void> = Promise.resolve();

/** A press while an earlier one is still being answered is queued, not dropped: the run's events can turn Pause into Resume before the pause's reply. */
export function controlRun(api: VisionApi, command: 'runs.pause' | 'runs.resume' | 'runs.cancel'): Promise<void> {
  const next = lastControl.then(() =>
    act(command, async () => {
      const { runId } = useRun.getState();
      if (!runId) return;
      await api.invoke(command, { runId });
      useRun.getState().applyProgress(await api.invoke('runs.progress', { runId }));
    }),
  );
  lastControl = next;
  return next;
}
