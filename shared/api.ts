/**
 * The VisionApi contract: every command the UI can send and every event it receives.
 * One map defines channel names, request and response schemas; Electron IPC, the
 * browser-mode WebSocket, the main-side handlers and the renderer client all derive
 * from it, so a channel cannot exist on one side only.
 */
import { z } from 'zod';
import {
  AdResult,
  Attempt,
  EngineKind,
  ExportFormat,
  ImportSummary,
  ListFormat,
  RunConfig,
  RunProgress,
  RunStatus,
  ServiceInfo,
  ServiceName,
  SetupStage,
  Split,
} from './domain.js';
import { DeepSeekRouteFacts, DeepSeekServiceBackend } from './deepseek-routes.js';

const RunRef = z.object({ runId: z.string().min(1) }).strict();
const Empty = z.object({}).strict();
const Ok = z.object({ ok: z.literal(true) });

export const EngineInfo = z.object({
  engine: EngineKind,
  label: z.string(),
  availability: z.discriminatedUnion('type', [
    z.object({ type: z.literal('available') }),
    z.object({ type: z.literal('unavailable'), reason: z.string() }),
  ]),
  /** Whether this engine is the default lane on this machine when nothing else is set up. */
  isDefault: z.boolean(),
  defaultWorkers: z.number().int().min(1),
  /** deepseek only: what this machine has of each DeepSeek-OCR route (shared/deepseek-routes.ts ranks them). */
  deepseekRoutes: DeepSeekRouteFacts.optional(),
});
export type EngineInfo = z.infer<typeof EngineInfo>;

/** The local HTTP API (/v1) of the running app, for scripts: where it listens and its key. */
export const ApiInfo = z.object({ url: z.string(), key: z.string(), keyFile: z.string() });
export type ApiInfo = z.infer<typeof ApiInfo>;

export const AppInfo = z.object({
  version: z.string(),
  platform: z.string(),
  mode: z.enum(['electron', 'browser']),
  dataDir: z.string(),
  api: ApiInfo.optional(),
});
export type AppInfo = z.infer<typeof AppInfo>;

export const RunSummary = z.object({
  runId: z.string(),
  batchId: z.string(),
  source: z.string(),
  status: RunStatus,
  policy: z.string(),
  total: z.number().int(),
  done: z.number().int(),
  failed: z.number().int(),
  createdAt: z.number(),
});
export type RunSummary = z.infer<typeof RunSummary>;

const ResultSort = z.enum(['creativeId', 'status', 'engine', 'duration', 'finishedAt']);
export const ResultsQuery = z
  .object({
    runId: z.string().min(1),
    offset: z.number().int().min(0).default(0),
    limit: z.number().int().min(1).max(1000).default(200),
    sort: ResultSort.default('finishedAt'),
    descending: z.boolean().default(false),
    engine: EngineKind.optional(),
    status: z.enum(['pending', 'running', 'done', 'failed']).optional(),
    search: z.string().max(200).optional(),
  })
  .strict();
export type ResultsQuery = z.input<typeof ResultsQuery>;

/** A row of the results table: what a virtualized row needs, no more. */
export const ResultRow = z.object({
  creativeId: z.string(),
  imageUrl: z.string(),
  status: z.enum(['pending', 'running', 'done', 'failed']),
  engine: EngineKind.nullable(),
  durationMs: z.number().nullable(),
  excerpt: z.string(),
  error: z.string().optional(),
});
export type ResultRow = z.infer<typeof ResultRow>;

export const ResultsPage = z.object({ total: z.number().int(), rows: z.array(ResultRow) });
export type ResultsPage = z.infer<typeof ResultsPage>;

export const ResultDetail = z.object({
  runId: z.string(),
  creativeId: z.string(),
  imageUrl: z.string(),
  adText: z.string().optional(),
  /** Every engine's final result for this ad (one, or one per engine in `compare`). */
  results: z.array(AdResult),
  attempts: z.array(Attempt.extend({ creativeId: z.string().optional() })),
});
export type ResultDetail = z.infer<typeof ResultDetail>;

export const ImageData = z.object({ mime: z.string(), base64: z.string(), width: z.number().int(), height: z.number().int() });
export type ImageData = z.infer<typeof ImageData>;

const CompareRow = z.object({
  creativeId: z.string(),
  outputs: z.array(z.object({ engine: EngineKind, text: z.string(), durationMs: z.number().nullable(), status: z.enum(['done', 'failed']) })),
  /** Mean pairwise agreement of the engines' texts, 0..1. */
  agreement: z.number().nullable(),
});
export const ComparePage = z.object({
  total: z.number().int(),
  rows: z.array(CompareRow),
  summary: z.array(z.object({ engine: EngineKind, meanMs: z.number().nullable(), agreement: z.number().nullable(), done: z.number().int(), failed: z.number().int() })),
});
export type ComparePage = z.infer<typeof ComparePage>;

const ExportRequest = z
  .object({
    runId: z.string().min(1),
    format: ExportFormat,
    rows: z.enum(['all', 'done', 'failed']).default('all'),
    /** Where to write; absent: Electron asks with a save dialog, browser mode writes to the data folder. */
    path: z.string().min(1).optional(),
  })
  .strict();

const ExportResult = z.object({
  path: z.string(),
  rows: z.number().int(),
  /** Browser mode: where the renderer can download the file. */
  downloadUrl: z.string().optional(),
});

const MAX_IMPORT_TEXT = 64 * 1024 * 1024;

/** Every command: request schema (validated on the receiving side) and response schema. */
export const commands = {
  'app.info': { request: Empty, response: AppInfo },
  'services.list': { request: Empty, response: z.array(ServiceInfo) },
  // deepseek: `backend` (and `model`, a local folder for mlx/torch) restarts it with that backend and saves the choice.
  'services.start': { request: z.object({ name: ServiceName, backend: DeepSeekServiceBackend.optional(), model: z.string().min(1).max(1000).optional() }).strict(), response: ServiceInfo },
  'services.stop': { request: z.object({ name: ServiceName }).strict(), response: ServiceInfo },
  'services.logs': {
    request: z.object({ name: ServiceName, limit: z.number().int().min(1).max(5000).optional() }).strict(),
    response: z.array(z.string()),
  },
  'services.setup': {
    request: z.object({ name: ServiceName, stage: z.string().max(64).optional() }).strict(),
    response: z.array(SetupStage),
  },
  'engines.list': { request: Empty, response: z.array(EngineInfo) },
  'ads.importText': {
    request: z.object({ text: z.string().min(1).max(MAX_IMPORT_TEXT), filename: z.string().max(1024).optional(), format: ListFormat.optional() }).strict(),
    response: ImportSummary,
  },
  'ads.importFiles': {
    request: z.object({ paths: z.array(z.string().min(1).max(4096)).min(1).max(10_000) }).strict(),
    response: ImportSummary,
  },
  'ads.importUrls': {
    request: z.object({ urls: z.array(z.string().min(1).max(8192)).min(1).max(100_000) }).strict(),
    response: ImportSummary,
  },
  'ads.importImages': {
    request: z
      .object({ images: z.array(z.object({ name: z.string().min(1).max(1024), base64: z.string().min(1).max(40 * 1024 * 1024) }).strict()).min(1).max(500) })
      .strict(),
    response: ImportSummary,
  },
  'runs.start': { request: RunConfig, response: z.object({ runId: z.string() }) },
  'runs.pause': { request: RunRef, response: Ok },
  'runs.resume': { request: RunRef, response: Ok },
  'runs.cancel': { request: RunRef, response: Ok },
  'runs.setSplit': { request: z.object({ runId: z.string().min(1), split: Split }).strict(), response: Ok },
  'runs.setLaneWorkers': {
    request: z.object({ runId: z.string().min(1), laneId: z.string().min(1), workers: z.number().int().min(1).max(64) }).strict(),
    response: Ok,
  },
  'runs.list': { request: Empty, response: z.array(RunSummary) },
  'runs.progress': { request: RunRef, response: RunProgress },
  'results.page': { request: ResultsQuery, response: ResultsPage },
  'results.get': { request: z.object({ runId: z.string().min(1), creativeId: z.string().min(1) }).strict(), response: ResultDetail },
  'results.image': { request: z.object({ runId: z.string().min(1), creativeId: z.string().min(1) }).strict(), response: ImageData },
  'results.compare': {
    request: z.object({ runId: z.string().min(1), offset: z.number().int().min(0).default(0), limit: z.number().int().min(1).max(500).default(100) }).strict(),
    response: ComparePage,
  },
  'export.start': { request: ExportRequest, response: ExportResult },
  /** API key of an OpenAI-compatible lane: kept encrypted by the OS (Electron safeStorage), never echoed back. */
  'secrets.set': {
    request: z.object({ laneId: z.string().min(1).max(64), apiKey: z.string().max(4096) }).strict(),
    response: z.object({ ok: z.literal(true), stored: z.boolean() }),
  },
} as const;

/** Every event the UI receives. */
export const events = {
  'service.state': ServiceInfo,
  'service.log': z.object({ name: ServiceName, lines: z.array(z.string()) }),
  'service.setup': SetupStage,
  /** Something the UI should say in words, e.g. "DeepSeek restarted with 1 worker after running out of memory". */
  'service.notice': z.object({ name: ServiceName, message: z.string() }),
  'run.progress': RunProgress,
  /** Finished ads, batched by the core (never one message per ad at 100 000 ads). */
  'run.results': z.object({ runId: z.string(), results: z.array(AdResult) }),
  'export.progress': z.object({ runId: z.string(), written: z.number().int(), total: z.number().int() }),
  'app.error': z.object({ message: z.string(), where: z.string().optional() }),
  /** What the user should know that is no failure, in words, e.g. a lane left out of a run that goes on without it. */
  'app.notice': z.object({ message: z.string() }),
} as const;

type Commands = typeof commands;
export type CommandName = keyof Commands;
export type EventName = keyof typeof events;
export const COMMAND_NAMES = Object.keys(commands) as CommandName[];
export const EVENT_NAMES = Object.keys(events) as EventName[];

export type CommandRequest<C extends CommandName> = z.input<Commands[C]['request']>;
/** The request after validation (defaults applied): what handlers receive. */
export type CommandParsed<C extends CommandName> = z.output<Commands[C]['request']>;
export type CommandResponse<C extends CommandName> = z.output<Commands[C]['response']>;
export type EventPayload<E extends EventName> = z.output<(typeof events)[E]>;

/** The main side: one handler per command. A missing channel is a compile error. */
export type VisionHandlers = { [C in CommandName]: (request: CommandParsed<C>) => Promise<CommandResponse<C>> };

/** The renderer side: what the UI calls. */
export interface VisionApi {
  invoke<C extends CommandName>(channel: C, request: CommandRequest<C>): Promise<CommandResponse<C>>;
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void;
}

/** Answer of a command across a process boundary: errors are values, not thrown across IPC. */
const RpcError = z.object({ message: z.string(), code: z.enum(['invalid-request', 'unknown-channel', 'failed']), issues: z.array(z.string()).optional() });
export const RpcReply = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), value: z.unknown() }),
  z.object({ ok: z.literal(false), error: RpcError }),
]);
export type RpcReply = z.infer<typeof RpcReply>;

/** WebSocket frames of browser mode. */
export const WsClientFrame = z.object({ id: z.number().int().nonnegative(), channel: z.string().max(64), payload: z.unknown().optional() }).strict();
export const WsServerFrame = z.union([
  z.object({ type: z.literal('reply'), id: z.number().int(), reply: RpcReply }),
  z.object({ type: z.literal('event'), event: z.string(), payload: z.unknown() }),
]);
export type WsServerFrame = z.infer<typeof WsServerFrame>;

export function isCommandName(name: string): name is CommandName {
  return Object.prototype.hasOwnProperty.call(commands, name);
}
export function isEventName(name: string): name is EventName {
  return Object.prototype.hasOwnProperty.call(events, name);
}

/** "lanes.0.workers: Too small: expected number to be >=1" — names the field. */
export function describeZodIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`);
}

/** Electron IPC channel of a command, and the one channel events travel on. */
export const ipcChannel = (name: CommandName): string => `vision:${name}`;
export const IPC_EVENT_CHANNEL = 'vision:event';

