import type { LaneConfig, LaneProgress, LaneState, ServiceInfo } from '../../../shared/domain.js';
import type { EngineInfo } from '../../../shared/api.js';
import { formatCount, formatPercent, formatSeconds, fraction } from '../../common/format.js';
import { useState } from 'react';
import { useApi } from '../../api/context.js';
import { Button, Card, ErrorNotice, ProgressBar, Stat, focusRing, laneColorClass } from '../../common/ui.js';
import { HAS_MODEL, NEEDS_ENDPOINT, cleanEmbeddedSettings, embeddedChoice, laneProblem, parseWorkersInput, type LanePatch } from './lanes.js';
import { EMBEDDED_MODEL_CHOICES, EMBEDDED_MODEL_IDS, OCR_LANGUAGES, type EmbeddedModel, type OcrLanguageCode } from '../../../shared/embedded-ocr.js';
import { describeState } from '../services/advice.js';

function describeLaneState(state: LaneState): string {
  switch (state.type) {
    case 'idle':
      return 'Idle';
    case 'busy':
      return 'Working';
    case 'cooling-down':
      return `Cooling down after errors — ${state.reason}`;
    case 'paused-by-scheduler':
      return `Held back — ${state.reason}`;
    case 'disabled':
      return 'Off';
    case 'dead':
      return `Stopped — ${state.reason}`;
  }
}

const STATE_DOT: Record<LaneState['type'], string> = {
  idle: 'bg-zinc-400',
  busy: 'bg-emerald-500',
  'cooling-down': 'bg-amber-500',
  'paused-by-scheduler': 'bg-amber-400',
  disabled: 'bg-zinc-300 dark:bg-zinc-600',
  dead: 'bg-red-500',
};

interface Props {
  lane: LaneConfig;
  index: number;
  engine: EngineInfo | undefined;
  progress: LaneProgress | undefined;
  total: number;
  /** The ratio policy's target for this lane, 0..1. */
  targetShare: number | null;
  running: boolean;
  /** The service this lane talks to, when the backend supervises one. */
  service?: ServiceInfo;
  /** Why this lane cannot run here (lanes.ts laneBlocker); it then shows as off, with the reason. */
  blocked?: string | null;
  onToggle(enabled: boolean): void;
  /** A number of workers, or "auto" (the engine's safe maximum). */
  onWorkers(workers: number | 'auto'): void;
  onSettings(patch: LanePatch): void;
}

export function LaneCard({ lane, index, engine, progress, total, targetShare, running, service, blocked = null, onToggle, onWorkers, onSettings }: Props) {
  const unavailable = engine?.availability.type === 'unavailable' ? engine.availability.reason : null;
  // A run's figures are what they are; before one, a lane that cannot run is off whatever was saved.
  const cannotRun = progress ? null : blocked;
  const on = lane.enabled !== false && cannotRun == null;
  const label = lane.label ?? lane.engine;
  const serviceDown = service && !['ready', 'external', 'degraded'].includes(service.state.type) ? service : null;
  const status: string = progress
    ? describeLaneState(progress.state)
    : unavailable
      ? `Unavailable — ${unavailable}`
      : cannotRun
        ? cannotRun
        : !on
          ? 'Off'
          : serviceDown
            ? `${serviceDown.label}: ${describeState(serviceDown.state).toLowerCase()} — start it on the Services screen`
            : 'Ready';
  const dot = progress ? STATE_DOT[progress.state.type] : unavailable || cannotRun ? 'bg-red-400' : !on ? STATE_DOT.disabled : serviceDown ? 'bg-amber-500' : 'bg-blue-400';
  const finished = progress ? progress.done + progress.failed : 0;
  const checkboxId = `lane-on-${lane.id}`;
  const workersId = `lane-workers-${lane.id}`;
  return (
    <Card data-lane={lane.id} data-lane-state={progress?.state.type ?? (cannotRun ? 'cannot-run' : !on ? 'off' : 'ready')} className={`flex flex-col gap-3 ${!on && !progress ? 'opacity-70' : ''}`}>
      <header className="flex items-center gap-2">
        <input
          id={checkboxId}
          type="checkbox"
          checked={on}
          disabled={running || unavailable != null || cannotRun != null}
          onChange={(e) => onToggle(e.target.checked)}
          className={`size-4 accent-blue-600 ${focusRing}`}
        />
        <label htmlFor={checkboxId} className="flex-1 font-medium">
          {label}
        </label>
        <label htmlFor={workersId} className="text-xs text-zinc-500 dark:text-zinc-400">
          Workers<span className="sr-only"> for {label}</span>
        </label>
        <WorkersInput id={workersId} value={running && progress ? String(progress.workers) : lane.autoWorkers ? 'auto' : String(lane.workers)} disabled={!on} onWorkers={onWorkers} />
      </header>
      <p className="flex items-center gap-2 text-xs text-zinc-600 dark:text-zinc-400">
        <span className={`size-2 shrink-0 rounded-full ${dot}`} aria-hidden />
        <span data-testid="lane-status">{status}</span>
        {running && progress && (
          <span data-testid="lane-concurrency" className="ml-auto tabular-nums" title="Work in flight the scheduler allows now, of the lane's ceiling (its workers)">
            concurrency {progress.concurrency} of {progress.workers}
          </span>
        )}
      </p>
      {progress && progress.label !== label && (
        <p data-testid="lane-engine" className="truncate text-xs text-zinc-500 dark:text-zinc-400" title="The engine and model this lane runs, as the engine reports it">
          {progress.label}
        </p>
      )}
      {on && !running && (NEEDS_ENDPOINT.has(lane.engine) || HAS_MODEL.has(lane.engine)) && <LaneSettings lane={lane} onSettings={onSettings} />}
      {on && !running && lane.engine === 'embedded' && <EmbeddedLaneSettings lane={lane} onSettings={onSettings} />}
      {(progress || on) && (
        <LaneStats lane={lane} index={index} label={label} progress={progress} total={total} finished={finished} targetShare={targetShare} />
      )}
    </Card>
  );
}

/** Workers: a number from 1 to 64 or "auto"; what is typed stays until it is valid (then it is sent). */
function WorkersInput({ id, value, disabled, onWorkers }: { id: string; value: string; disabled: boolean; onWorkers(workers: number | 'auto'): void }) {
  const [draft, setDraft] = useState<string | null>(null);
  const invalid = draft !== null && parseWorkersInput(draft) === null;
  return (
    <input
      id={id}
      type="text"
      inputMode="numeric"
      value={draft ?? value}
      disabled={disabled}
      aria-invalid={invalid}
      title='A number from 1 to 64, or "auto" (the most this engine can safely run here)'
      onChange={(e) => {
        const parsed = parseWorkersInput(e.target.value);
        setDraft(e.target.value);
        if (parsed !== null) onWorkers(parsed);
      }}
      onBlur={() => setDraft(null)}
      className={`w-14 rounded-md border bg-white px-1.5 py-0.5 text-right text-sm tabular-nums dark:bg-zinc-950 ${invalid ? 'border-red-500' : 'border-zinc-300 dark:border-zinc-700'} ${focusRing}`}
    />
  );
}

/** The numbers of a lane that is on (an off lane is just its header, to keep the screen calm). */
function LaneStats({ index, label, progress, total, finished, targetShare }: { lane: LaneConfig; index: number; label: string; progress: LaneProgress | undefined; total: number; finished: number; targetShare: number | null }) {
  return (
    <>
      <ProgressBar value={fraction(progress?.done ?? 0, total)} failed={fraction(progress?.failed ?? 0, total)} colorClass={laneColorClass(index)} label={`${label} progress`} />
      <dl className="grid grid-cols-4 gap-x-3 gap-y-2 text-sm">
        <Stat label="Done" value={<span data-testid="lane-done">{formatCount(progress?.done ?? 0)}</span>} />
        <Stat label="Failed" title="Calls to this lane's engine that failed (an ad retried on another lane may still end done). An ad whose image could not be fetched never reached the engine: it is not counted here." value={<span className={progress?.failed ? 'text-red-600 dark:text-red-400' : ''}>{formatCount(progress?.failed ?? 0)}</span>} />
        <Stat label="In flight" value={formatCount(progress?.inFlight ?? 0)} />
        <Stat label="Ads / min" value={progress ? progress.adsPerMinute.toFixed(1) : '—'} />
        <Stat label="p50 / ad" value={formatSeconds(progress?.p50_s)} />
        <Stat label="p95 / ad" value={formatSeconds(progress?.p95_s)} />
        <Stat
          label="Share"
          title="Share of the finished ads this lane did"
          value={<span data-testid="lane-share">{progress && finished > 0 ? formatPercent(progress.share) : '—'}</span>}
        />
        <Stat label={targetShare != null ? 'Target' : 'Estimate'} value={targetShare != null ? formatPercent(targetShare) : formatSeconds(progress?.estimate_s)} />
      </dl>
    </>
  );
}

const fieldClass = `min-w-0 flex-1 rounded-md border border-zinc-300 bg-white px-2 py-1 font-mono text-xs dark:border-zinc-700 dark:bg-zinc-950 ${focusRing}`;

function LaneSettings({ lane, onSettings }: { lane: LaneConfig; onSettings(patch: LanePatch): void }) {
  const problem = laneProblem(lane);
  return (
    <div className="flex flex-col gap-2 text-xs">
      {NEEDS_ENDPOINT.has(lane.engine) && (
        <label className="flex items-center gap-2">
          <span className="w-16 text-zinc-500 dark:text-zinc-400">Endpoint</span>
          <input type="url" value={lane.endpoint ?? ''} placeholder="http://127.0.0.1:8000/v1" onChange={(e) => onSettings({ endpoint: e.target.value.trim() || undefined })} className={fieldClass} />
        </label>
      )}
      {HAS_MODEL.has(lane.engine) && (
        <label className="flex items-center gap-2">
          <span className="w-16 text-zinc-500 dark:text-zinc-400">Model</span>
          <input type="text" value={lane.model ?? ''} placeholder={lane.engine === 'ollama' ? 'llava (default)' : 'deepseek-ai/DeepSeek-OCR'} onChange={(e) => onSettings({ model: e.target.value.trim() || undefined })} className={fieldClass} />
        </label>
      )}
      {NEEDS_ENDPOINT.has(lane.engine) && <ApiKeyField laneId={lane.id} />}
      {problem && <p className="text-amber-700 dark:text-amber-400">{problem}</p>}
    </div>
  );
}

/** The embedded engine's model and language (lane settings `model`, `language`); a language the model cannot read falls back to any. */
function EmbeddedLaneSettings({ lane, onSettings }: { lane: LaneConfig; onSettings(patch: LanePatch): void }) {
  const { model, language, languages } = embeddedChoice(lane.settings);
  const save = (next: { model: EmbeddedModel; language: OcrLanguageCode }) => onSettings({ settings: cleanEmbeddedSettings({ ...lane.settings, ...next }) });
  const modelId = `lane-model-${lane.id}`;
  const languageId = `lane-language-${lane.id}`;
  return (
    <div className="flex flex-col gap-2 text-xs">
      <div className="flex items-center gap-2">
        <label htmlFor={modelId} className="w-16 text-zinc-500 dark:text-zinc-400">
          Model
        </label>
        <select id={modelId} value={model} onChange={(e) => save({ model: e.target.value as EmbeddedModel, language })} className={fieldClass}>
          {EMBEDDED_MODEL_IDS.map((id) => (
            <option key={id} value={id}>
              {EMBEDDED_MODEL_CHOICES[id].label} — {EMBEDDED_MODEL_CHOICES[id].name}
            </option>
          ))}
        </select>
      </div>
      <div className="flex items-center gap-2">
        <label htmlFor={languageId} className="w-16 text-zinc-500 dark:text-zinc-400">
          Language
        </label>
        <select id={languageId} value={language} onChange={(e) => save({ model, language: e.target.value as OcrLanguageCode })} className={fieldClass}>
          {languages.map((code) => (
            <option key={code} value={code}>
              {OCR_LANGUAGES[code].label}
            </option>
          ))}
        </select>
      </div>
    </div>
  );
}

/** The key goes to the backend (kept encrypted by the OS) and is never read back into the page. */
function ApiKeyField({ laneId }: { laneId: string }) {
  const api = useApi();
  const [key, setKey] = useState('');
  const [state, setState] = useState<{ type: 'idle' } | { type: 'saving' } | { type: 'saved'; stored: boolean } | { type: 'error'; error: unknown }>({ type: 'idle' });
  const save = async () => {
    setState({ type: 'saving' });
    try {
      const { stored } = await api.invoke('secrets.set', { laneId, apiKey: key });
      setKey('');
      setState({ type: 'saved', stored });
    } catch (error) {
      setState({ type: 'error', error });
    }
  };
  return (
    <>
      <form
        className="flex items-center gap-2"
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <label className="flex min-w-0 flex-1 items-center gap-2">
          <span className="w-16 text-zinc-500 dark:text-zinc-400">API key</span>
          <input type="password" autoComplete="off" value={key} placeholder="optional" onChange={(e) => setKey(e.target.value)} className={fieldClass} />
        </label>
        <Button type="submit" className="px-2 py-0.5 text-xs" disabled={state.type === 'saving'}>
          {key ? 'Save key' : 'Clear key'}
        </Button>
      </form>
      {state.type === 'saved' && <p className="text-emerald-700 dark:text-emerald-400">{state.stored ? 'Key saved, encrypted by the system.' : 'Key removed.'}</p>}
      {state.type === 'error' && <ErrorNotice error={state.error} action="save the API key" onDismiss={() => setState({ type: 'idle' })} />}
    </>
  );
}
