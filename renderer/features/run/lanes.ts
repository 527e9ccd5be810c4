/** Lane configuration the Run screen edits before a run starts. */
import type { EngineInfo } from '../../../shared/api.js';
import { LaneConfig, Policy, type RunProgress, type ServiceInfo } from '../../../shared/domain.js';
import { needsSetup } from '../services/advice.js';
import { DEFAULT_EMBEDDED_MODEL, EMBEDDED_MODEL_CHOICES, EMBEDDED_MODEL_IDS, languagesFor, type EmbeddedModel, type OcrLanguageCode } from '../../../shared/embedded-ocr.js';

/**
 * One lane per engine the backend knows. Only the default engine starts switched on: the
 * others need a service running (or an endpoint), so the user opts in.
 */
export function lanesFromEngines(engines: readonly EngineInfo[]): LaneConfig[] {
  const anyDefault = engines.some((engine) => engine.isDefault && engine.availability.type === 'available');
  // The default engine leads (first card, left end of the split slider); the rest keep the backend's order.
  const ordered = [...engines.filter((e) => e.isDefault), ...engines.filter((e) => !e.isDefault)];
  return ordered.map((engine, index) => ({
    id: engine.engine,
    engine: engine.engine,
    label: engine.label,
    // "auto": the backend makes the ceiling the engine's safe maximum there (defaultWorkers shows it).
    workers: engine.defaultWorkers,
    autoWorkers: true,
    enabled: engine.availability.type === 'available' && (engine.isDefault || (!anyDefault && index === ordered.findIndex((e) => e.availability.type === 'available'))),
  }));
}

/** What the user edits on a lane before a run. */
export type LanePatch = Partial<Pick<LaneConfig, 'enabled' | 'workers' | 'autoWorkers' | 'endpoint' | 'model' | 'settings'>>;

/**
 * Keep the user's edits when the engine list is refreshed (each visit to the Run screen):
 * workers, endpoint, model and settings, and the lanes they added (a second endpoint).
 */
export function mergeLanes(current: readonly LaneConfig[], engines: readonly EngineInfo[]): LaneConfig[] {
  const available = (engine: LaneConfig['engine']) => engines.find((e) => e.engine === engine)?.availability.type === 'available';
  const merged = lanesFromEngines(engines).map((lane) => {
    const existing = current.find((c) => c.id === lane.id);
    if (!existing) return lane;
    // A lane the user switched on stays on while its engine is there.
    const edits: LanePatch = { workers: existing.workers, autoWorkers: existing.autoWorkers ?? false, enabled: existing.enabled !== false && available(lane.engine) };
    if (existing.endpoint !== undefined) edits.endpoint = existing.endpoint;
    if (existing.model !== undefined) edits.model = existing.model;
    if (existing.settings !== undefined) edits.settings = existing.settings;
    return { ...lane, ...edits };
  });
  for (const added of current) {
    if (merged.some((lane) => lane.id === added.id)) continue;
    const at = merged.map((lane) => lane.engine).lastIndexOf(added.engine);
    if (at !== -1) merged.splice(at + 1, 0, { ...added, enabled: added.enabled !== false && available(added.engine) });
  }
  return merged;
}

export function enabledLanes(lanes: readonly LaneConfig[]): LaneConfig[] {
  return lanes.filter((lane) => lane.enabled !== false);
}

/** The service a lane talks to, when the backend supervises one (by lane id, `openai:<id>`, or its engine's own service). */
export function serviceOfLane(lane: Pick<LaneConfig, 'id' | 'engine'>, services: readonly ServiceInfo[]): ServiceInfo | undefined {
  return services.find((service) => service.name === lane.id || service.name === `openai:${lane.id}` || (service.engine === lane.engine && service.name === lane.engine));
}

/**
 * Why a lane cannot run at all on this machine, in words (its service is not installed, or
 * cannot run here); null when it could. Such a lane is neither sent nor given a share: the
 * backend would leave it out of the run anyway.
 */
export function laneBlocker(lane: Pick<LaneConfig, 'id' | 'engine'>, services: readonly ServiceInfo[]): string | null {
  const state = serviceOfLane(lane, services)?.state;
  const service = serviceOfLane(lane, services);
  // Where the app sets it up itself, that is the one instruction (the hint's is the command line's).
  if (service && state?.type === 'not-installed') return `Cannot run — not installed: ${needsSetup(service) ? 'set it up on the Services screen.' : `${state.hint}${/[.!?]$/.test(state.hint) ? '' : '.'}`}`;
  if (state?.type === 'unavailable') return `Cannot run — ${state.reason}${/[.!?]$/.test(state.reason) ? '' : '.'}`;
  return null;
}

/** The lanes a run would get: switched on, and able to run. */
export function runnableLanes(lanes: readonly LaneConfig[], services: readonly ServiceInfo[]): LaneConfig[] {
  return enabledLanes(lanes).filter((lane) => laneBlocker(lane, services) == null);
}

/**
 * The lanes a split is over: while a run goes, the run's own lanes (also after a reload, when
 * this window's lanes are rebuilt from the engines and may be off or missing); else the lanes a run would get.
 */
export function splitLanes(lanes: readonly LaneConfig[], services: readonly ServiceInfo[], progress: RunProgress | null, running: boolean): Array<{ id: string; label: string }> {
  if (running && progress?.lanes.length) {
    return progress.lanes.filter((p) => p.state.type !== 'disabled').map((p) => ({ id: p.laneId, label: lanes.find((lane) => lane.id === p.laneId)?.label ?? p.label }));
  }
  return runnableLanes(lanes, services).map((lane) => ({ id: lane.id, label: lane.label ?? lane.engine }));
}

/** What the workers field accepts: "auto" or a whole number from 1 to 64; null for anything else. */
export function parseWorkersInput(text: string): number | 'auto' | null {
  const value = text.trim().toLowerCase();
  if (value === 'auto') return 'auto';
  if (!/^\d+$/.test(value)) return null;
  const workers = Number(value);
  return workers >= 1 && workers <= 64 ? workers : null;
}

/** Engines whose lanes talk to a server named by the user. */
export const NEEDS_ENDPOINT: ReadonlySet<string> = new Set(['openai']);
/** Engines where the model is a choice (Ollama: llava, deepseek-ocr, …). */
export const HAS_MODEL: ReadonlySet<string> = new Set(['openai', 'ollama']);

/** What keeps a switched-on lane from starting, in words; null when it is ready. */
export function laneProblem(lane: LaneConfig): string | null {
  if (lane.enabled === false || !NEEDS_ENDPOINT.has(lane.engine)) return null;
  if (!lane.endpoint) return `${lane.label ?? lane.id} needs the address of its server.`;
  try {
    const url = new URL(lane.endpoint);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
  } catch {
    return `${lane.label ?? lane.id}: “${lane.endpoint}” is not an http(s) address.`;
  }
  return null;
}

/** The embedded lane's model and language as chosen: an unknown model is the default, a language that model cannot read is any. */
export function embeddedChoice(settings: LaneConfig['settings']): { model: EmbeddedModel; language: OcrLanguageCode; languages: OcrLanguageCode[] } {
  const model: EmbeddedModel = EMBEDDED_MODEL_IDS.find((id) => id === settings?.model) ?? DEFAULT_EMBEDDED_MODEL;
  const languages = languagesFor(EMBEDDED_MODEL_CHOICES[model].generation);
  return { model, language: languages.find((code) => code === settings?.language) ?? 'auto', languages };
}

/** Embedded settings as sent: a known model only, and a language only when that model reads it (any: none). */
export function cleanEmbeddedSettings(settings: LaneConfig['settings']): LaneConfig['settings'] {
  const { model, language, ...rest } = settings ?? {};
  const choice = embeddedChoice(settings);
  const next = { ...rest, ...(model === choice.model ? { model } : {}), ...(language === choice.language && choice.language !== 'auto' ? { language } : {}) };
  return Object.keys(next).length ? next : undefined;
}

/** The lane and run settings kept across reloads and restarts (state.ts persists them). */
export interface RunSettings {
  lanes: LaneConfig[];
  policy: Policy;
  split: Record<string, number>;
}

/**
 * Saved settings as far as they still make sense: lanes that parse (once per id, embedded
 * choices this build knows), a known policy, weights from 0 to 1. Anything else is dropped,
 * so a stale or hand-edited entry falls back to the defaults instead of breaking the screen.
 */
export function savedRunSettings(saved: unknown): Partial<RunSettings> {
  if (typeof saved !== 'object' || saved === null) return {};
  const { lanes, policy, split } = saved as Record<string, unknown>;
  const result: Partial<RunSettings> = {};
  if (Array.isArray(lanes)) {
    result.lanes = [];
    for (const item of lanes) {
      const parsed = LaneConfig.safeParse(item);
      if (!parsed.success || result.lanes.some((lane) => lane.id === parsed.data.id)) continue;
      const { settings, ...lane } = parsed.data;
      const kept = lane.engine === 'embedded' ? cleanEmbeddedSettings(settings) : settings;
      result.lanes.push(kept ? { ...lane, settings: kept } : lane);
    }
  }
  const knownPolicy = Policy.safeParse(policy);
  if (knownPolicy.success) result.policy = knownPolicy.data;
  if (typeof split === 'object' && split !== null) {
    result.split = Object.fromEntries(Object.entries(split).filter((entry): entry is [string, number] => typeof entry[1] === 'number' && entry[1] >= 0 && entry[1] <= 1));
  }
  return result;
}
