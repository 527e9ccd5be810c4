/**
 * The domain vocabulary shared by core, main and renderer: zod schemas with the
 * TypeScript types inferred from them, so one definition gives both compile-time
 * types and run-time validation at every process boundary.
 */
import { z } from 'zod';
import { DeepSeekBackendChoice } from './deepseek-routes.js';

export const ENGINE_KINDS = ['deepseek', 'ollama', 'embedded', 'apple-vision', 'openai'] as const;
export const EngineKind = z.enum(ENGINE_KINDS);
export type EngineKind = z.infer<typeof EngineKind>;

/**
 * Each engine's name as the app shows it: its lanes (engines.list) and its service (ServiceInfo.label),
 * so a service is called as its lane is; what a service runs now is ServiceInfo.backend, not its name.
 */
export const ENGINE_LABELS: Record<EngineKind, string> = {
  deepseek: 'DeepSeek-OCR',
  ollama: 'Ollama',
  embedded: 'PaddleOCR (embedded)',
  'apple-vision': 'Apple Vision',
  openai: 'OpenAI-compatible endpoint',
};

/** One ad creative as imported from a list. `extra` keeps unknown input columns for export. */
export const Ad = z.object({
  creativeId: z.string().min(1),
  imageUrl: z.string().min(1),
  adText: z.string().optional(),
  extra: z.record(z.string(), z.string()).optional(),
});
export type Ad = z.infer<typeof Ad>;

/** A pixel box in the coordinates of the input image: [x1, y1, x2, y2]. */
export const Box = z.tuple([z.number(), z.number(), z.number(), z.number()]);
export type Box = z.infer<typeof Box>;

export const TextBlock = z.object({
  text: z.string(),
  box: Box,
  confidence: z.number().min(0).max(1).optional(),
});
export type TextBlock = z.infer<typeof TextBlock>;

/** What every engine answers for one image. Timings are milliseconds unless named otherwise. */
export const RecognizeResult = z.object({
  text: z.string(),
  blocks: z.array(TextBlock),
  description: z.string().optional(),
  model: z.string(),
  timings: z.record(z.string(), z.number()),
  /** The answer was cut: the engine repeated itself, or spent its output or time budget. */
  truncated: z.boolean().optional(),
  /**
   * The call waited for a model to load (a new worker or engine) or was a fresh one's first:
   * its time says nothing about the lane's speed at its concurrency, so the tuner does not measure it.
   */
  coldStart: z.boolean().optional(),
});
export type RecognizeResult = z.infer<typeof RecognizeResult>;

export const POLICIES = ['auto', 'ratio', 'single', 'compare'] as const;
export const Policy = z.enum(POLICIES);
export type Policy = z.infer<typeof Policy>;

/** A lane: one endpoint of one engine with its own concurrency. */
export const LaneConfig = z.object({
  id: z.string().min(1).max(64),
  engine: EngineKind,
  label: z.string().max(120).optional(),
  /** Base URL of the engine's server, where it has one. */
  endpoint: z.string().url().optional(),
  /** Model name (Ollama / OpenAI-compatible), or backend option. */
  model: z.string().max(200).optional(),
  workers: z.number().int().min(1).max(64),
  /** Workers given as "auto": when a run starts, `workers` becomes the engine's safe maximum on that machine (engines/concurrency.ts). */
  autoWorkers: z.boolean().optional(),
  enabled: z.boolean().default(true),
  /** Engine-specific settings (e.g. apple-vision accuracy, DeepSeek mode). */
  settings: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.array(z.string())])).optional(),
});
export type LaneConfig = z.infer<typeof LaneConfig>;

/** Share of ads per engine for the `ratio` policy: weights ≥ 0, normalised by the scheduler. */
export const Split = z.record(z.string(), z.number().min(0).max(1));
export type Split = z.infer<typeof Split>;

export const RunConfig = z.object({
  batchId: z.string().min(1),
  policy: Policy.default('auto'),
  lanes: z.array(LaneConfig).min(1),
  /** Keys are engine kinds (or lane ids); used by `ratio`. */
  split: Split.optional(),
  /** Engine used by `single`. */
  singleEngine: EngineKind.optional(),
  maxAttempts: z.number().int().min(1).max(10).default(3),
});
export type RunConfig = z.input<typeof RunConfig>;
export type RunConfigResolved = z.output<typeof RunConfig>;

export const LaneState = z.discriminatedUnion('type', [
  z.object({ type: z.literal('idle') }),
  z.object({ type: z.literal('busy') }),
  z.object({ type: z.literal('cooling-down'), until: z.number(), reason: z.string() }),
  z.object({ type: z.literal('paused-by-scheduler'), reason: z.string() }),
  z.object({ type: z.literal('disabled') }),
  z.object({ type: z.literal('dead'), reason: z.string() }),
]);
export type LaneState = z.infer<typeof LaneState>;

export const LaneProgress = z.object({
  laneId: z.string(),
  engine: EngineKind,
  label: z.string(),
  state: LaneState,
  /** The lane's ceiling: user-set, or the engine's safe maximum. */
  workers: z.number().int(),
  /** In-flight work the scheduler allows now (≤ workers); under `auto` it tunes itself. */
  concurrency: z.number().int(),
  done: z.number().int(),
  /** Calls that failed on this lane: an ad retried on another lane counts here and may still end done. */
  failed: z.number().int(),
  inFlight: z.number().int(),
  /** Share of the finished ads this lane did, 0..1. */
  share: z.number(),
  adsPerMinute: z.number(),
  p50_s: z.number().nullable(),
  p95_s: z.number().nullable(),
  /** The scheduler's current latency estimate for one ad on this lane. */
  estimate_s: z.number().nullable(),
});
export type LaneProgress = z.infer<typeof LaneProgress>;

export const RunStatus = z.enum(['queued', 'running', 'paused', 'cancelling', 'cancelled', 'finished', 'interrupted', 'failed']);
export type RunStatus = z.infer<typeof RunStatus>;

/** Statuses of a run that something is (or should be) driving: it can be paused or cancelled. */
export const LIVE_RUN_STATUSES: readonly RunStatus[] = ['queued', 'running', 'paused', 'cancelling'];
export function isLiveRunStatus(status: RunStatus): boolean {
  return LIVE_RUN_STATUSES.includes(status);
}

export const RunProgress = z.object({
  runId: z.string(),
  status: RunStatus,
  policy: Policy,
  total: z.number().int(),
  done: z.number().int(),
  failed: z.number().int(),
  /**
   * Of `failed`, the ads failed by their image (it could not be fetched or decoded): no engine was
   * called for that attempt, so no lane's `failed` counts it. This app's backends always send it; absent
   * (unknown) from an older one that an API client may still talk to.
   */
  imageFailed: z.number().int().optional(),
  inFlight: z.number().int(),
  /** Working time: paused time does not count, and a resumed run continues from its earlier sessions. */
  elapsed_s: z.number(),
  eta_s: z.number().nullable(),
  lanes: z.array(LaneProgress),
  /** `ratio` runs: the split the scheduler follows now (keys as given: lane ids or engines). */
  split: Split.optional(),
  /** Why the scheduler is doing what it does (e.g. "llava paused: it slows the batch"). */
  notes: z.array(z.string()).default([]),
});
export type RunProgress = z.infer<typeof RunProgress>;

export const Attempt = z.object({
  laneId: z.string(),
  engine: EngineKind,
  startedAt: z.number(),
  durationMs: z.number(),
  outcome: z.enum(['ok', 'error', 'aborted']),
  error: z.string().optional(),
});
export type Attempt = z.infer<typeof Attempt>;

/** How a failed attempt's error starts when the ad's image, not the engine, failed (it never reached the lane's engine). */
export const IMAGE_ATTEMPT_ERROR_PREFIX = 'image: ';

/** One finished ad (per engine in `compare`). */
export const AdResult = z.object({
  runId: z.string(),
  creativeId: z.string(),
  status: z.enum(['done', 'failed']),
  engine: EngineKind.nullable(),
  laneId: z.string().nullable(),
  model: z.string().nullable(),
  text: z.string(),
  description: z.string().optional(),
  blocks: z.array(TextBlock).default([]),
  durationMs: z.number().nullable(),
  error: z.string().optional(),
  attempts: z.array(Attempt).default([]),
  /** See RecognizeResult.truncated. */
  truncated: z.boolean().optional(),
  /** A failed ad that its image failed (see RunProgress.imageFailed); absent otherwise. */
  imageFailed: z.boolean().optional(),
});
export type AdResult = z.infer<typeof AdResult>;

/** Built-in service names plus `openai:<id>` for each configured endpoint. */
export const ServiceName = z.string().regex(/^(deepseek|ollama|embedded|apple-vision|openai:[\w.-]+)$/, 'unknown service name');
export type ServiceName = z.infer<typeof ServiceName>;

export const ServiceState = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('not-installed'),
    /** What is missing and the command that sets it up, for a terminal (`services status`, a failed `services start`). */
    hint: z.string(),
    /** What is missing, without that command: where the app sets the service up itself, its Set up is the instruction. */
    missing: z.string().optional(),
  }),
  z.object({ type: z.literal('unavailable'), reason: z.string() }),
  z.object({ type: z.literal('stopped') }),
  z.object({ type: z.literal('starting'), since: z.number(), waitingFor: z.string() }),
  z.object({ type: z.literal('ready'), url: z.string(), pid: z.number().int().optional() }),
  z.object({ type: z.literal('degraded'), url: z.string(), reason: z.string() }),
  z.object({ type: z.literal('crashed'), reason: z.string(), restarts: z.number().int(), lastLog: z.array(z.string()) }),
  z.object({ type: z.literal('stopping') }),
  z.object({ type: z.literal('external'), url: z.string() }),
]);
export type ServiceState = z.infer<typeof ServiceState>;

export const ServiceInfo = z.object({
  name: ServiceName,
  label: z.string(),
  engine: EngineKind,
  state: ServiceState,
  port: z.number().int().nullable(),
  /** Resident memory of the child process, when the app started it. */
  rssMb: z.number().nullable().default(null),
  /** Whether the app can start/stop it (embedded engines run in-process). */
  managed: z.boolean(),
  changedAt: z.number(),
  /** deepseek: the backend it runs (or starts) with, and whether that is the saved choice or this machine's default. */
  backend: DeepSeekBackendChoice.extend({ saved: z.boolean() }).optional(),
});
export type ServiceInfo = z.infer<typeof ServiceInfo>;

export const SetupStage = z.object({
  service: ServiceName,
  stage: z.string(),
  status: z.enum(['pending', 'running', 'done', 'failed']),
  progress: z.number().min(0).max(1).nullable(),
  message: z.string(),
});
export type SetupStage = z.infer<typeof SetupStage>;

export const RejectedRow = z.object({
  line: z.number().int(),
  reason: z.string(),
  /** The column (CSV/TSV header) or key (JSON) of the value at fault, where one is. */
  column: z.string().optional(),
  raw: z.string().optional(),
});
export type RejectedRow = z.infer<typeof RejectedRow>;

/** The kinds of ad list the importer reads (decided from the file name and content unless given). */
export const ListFormat = z.enum(['csv', 'tsv', 'json', 'jsonl', 'txt']);
export type ListFormat = z.infer<typeof ListFormat>;

export const ImportSummary = z.object({
  batchId: z.string(),
  source: z.string(),
  accepted: z.number().int(),
  preview: z.array(Ad),
  /** The first rows that could not become ads (at most 1000: a list can have 100 000 bad ones). */
  rejected: z.array(RejectedRow),
  /** How many rows could not become ads in all. */
  rejectedTotal: z.number().int(),
  columns: z.array(z.string()),
});
export type ImportSummary = z.infer<typeof ImportSummary>;

export const ExportFormat = z.enum(['csv', 'json', 'jsonl']);
export type ExportFormat = z.infer<typeof ExportFormat>;
