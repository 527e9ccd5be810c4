/**
 * Every route of the local API in one table: method, path, the zod schemas of its
 * parameters, query, body and answer, and its handler. The server dispatches from this
 * table and the OpenAPI document is generated from it, so the two cannot disagree.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { commands, type VisionHandlers } from '../../../shared/api.js';
import { RunConfig, type EngineKind, type LaneConfig, type RejectedRow, type RunProgress, type Split } from '../../../shared/domain.js';
import { checkListUrl, decodeListBytes, NoAdsError, relocateReason, rowLocation } from '../ingest/index.js';
import type { ListFormat } from '../ingest/index.js';
import { prepareImage } from '../fetch/index.js';
import { DEFAULT_MAX_SIDE } from '../app/runs.js';
import type { BackendCore } from '../app/backend.js';
// The CLI's flag readers: `engines=embedded,deepseek&split=0.5` means what `--engines`/`--split` mean.
import { checkSplitNames, parseEngineList, parseSplit, parseWorkers } from '../app/run-settings.js';
import { EngineError } from '../engines/types.js';
import { defaultEngines, laneFor, serviceAnswers, type OcrEngines } from './engines.js';
import { ApiProblem } from './problem.js';
import { resultsPage, streamResults } from './results.js';
import {
  EngineInfo,
  NoQuery,
  OcrJsonRequest,
  OcrQuery,
  OcrResponse,
  OkBody,
  ResultRecord,
  ResultsPage,
  ResultsQuery,
  RunCreated,
  RunIdParams,
  RunJsonRequest,
  RunProgress as RunProgressSchema,
  RunSummary,
  RunTextQuery,
  ServiceInfo,
  ServiceParams,
  Split as SplitSchema,
} from './schemas.js';

/** POST /v1/services/{name}/start's body: the IPC command's fields beside the name (none is needed). */
const ServiceStartBody = commands['services.start'].request.omit({ name: true }).optional();

/** Image bytes accepted by POST /v1/ocr (the fetcher's own limit for downloads). */
const MAX_IMAGE_BYTES = 20 * 1024 * 1024;
/** Ad lists (JSON, CSV, JSONL) accepted by POST /v1/runs. */
const MAX_LIST_BYTES = 16 * 1024 * 1024;

const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/bmp', 'image/tiff', 'application/octet-stream', 'multipart/form-data'] as const;
/** Content types of a list body, and the ingest format each means. */
const LIST_TYPES: Record<string, ListFormat | undefined> = {
  'text/csv': 'csv',
  'text/tab-separated-values': 'tsv',
  'application/x-ndjson': 'jsonl',
  'application/jsonl': 'jsonl',
  'application/x-jsonlines': 'jsonl',
  'text/plain': undefined,
};

export interface ApiDeps {
  handlers: VisionHandlers;
  core: BackendCore;
  subscribe(listener: (event: string, payload: unknown) => void): () => void;
  ocrEngines: OcrEngines;
}

/** What a handler gets: the validated inputs and, for raw bodies, the bytes. */
interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  /** The validated JSON body (undefined when the body was not JSON). */
  body: B | undefined;
  /** A non-JSON body: its media type and bytes. */
  raw: { type: string; bytes: Buffer } | undefined;
  request: IncomingMessage;
  response: ServerResponse;
}

/** An answer: JSON with a status, or a response the handler streamed itself. */
type RouteReply = { status: number; json: unknown } | { streamed: true };

export interface Route<P = unknown, Q = unknown, B = unknown> {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  summary: string;
  description?: string;
  /** The docs page and the OpenAPI document need no key (they hold no data). */
  public?: boolean;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: { json?: z.ZodType<B>; raw?: readonly string[]; maxBytes: number; description: string };
  response: { status: number; json?: z.ZodType; ndjson?: z.ZodType; sse?: true; html?: true; description: string; alternatives?: { ndjson: z.ZodType; when: string } };
  handle(input: RouteInput<P, Q, B>): Promise<RouteReply>;
}

function route<P = Record<string, never>, Q = Record<string, never>, B = undefined>(definition: Route<P, Q, B>): Route {
  return definition as unknown as Route;
}

const ok = (json: unknown, status = 200): RouteReply => ({ status, json });

/** Backend handler errors are plain messages: say what kind of refusal they are. */
export function problemFromHandler(error: unknown): ApiProblem {
  if (error instanceof ApiProblem) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (/^No (run|ad|imported ad list)\b/.test(message)) return new ApiProblem(404, 'not-found', message);
  if (/is not running|already running|has finished|nothing to resume/.test(message)) return new ApiProblem(409, 'conflict', message);
  return new ApiProblem(422, 'unprocessable', message);
}

async function call<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw problemFromHandler(error);
  }
}

/** The image of a POST /v1/ocr: a URL to download, base64 in JSON, raw bytes, or a multipart file. */
async function ocrImageBytes(deps: ApiDeps, input: RouteInput<unknown, unknown, z.output<typeof OcrJsonRequest>>): Promise<Uint8Array> {
  if (input.body?.url !== undefined) {
    const check = checkListUrl(input.body.url);
    if (!check.ok) throw new ApiProblem(400, 'invalid-request', `url: ${check.reason}`, [`url: ${check.reason}`]);
    try {
      return (await deps.core.fetcher.fetchImage(check.url)).bytes;
    } catch (error) {
      // The image host's fault, not an engine's: a bad image (permanent) stays 422, a host that does not answer is 502.
      if (error instanceof EngineError && error.kind === 'transient') throw new ApiProblem(502, 'image-unreachable', `image ${check.url} could not be downloaded: ${error.message}`);
      throw error;
    }
  }
  if (input.body?.image !== undefined) {
    const bytes = Buffer.from(input.body.image, 'base64');
    if (bytes.length > MAX_IMAGE_BYTES) throw new ApiProblem(413, 'too-large', `image: larger than ${MAX_IMAGE_BYTES} bytes`);
    return bytes;
  }
  const raw = input.raw!;
  if (raw.type !== 'multipart/form-data') return raw.bytes;
  const form = await new Request('http://127.0.0.1/', { method: 'POST', headers: { 'content-type': String(input.request.headers['content-type']) }, body: new Uint8Array(raw.bytes) }).formData().catch(() => {
    throw new ApiProblem(400, 'invalid-request', 'body: not a readable multipart/form-data body');
  });
  const file = form.get('image') ?? [...form.values()].find((value) => typeof value !== 'string');
  if (!file || typeof file === 'string') throw new ApiProblem(400, 'invalid-request', 'image: the multipart body has no file field (name it "image")', ['image: Required']);
  return new Uint8Array(await file.arrayBuffer());
}

async function ocr(deps: ApiDeps, input: RouteInput<unknown, z.output<typeof OcrQuery>, z.output<typeof OcrJsonRequest>>): Promise<RouteReply> {
  const engineKind: EngineKind = input.body?.engine ?? input.query.engine ?? (await defaultEngines(deps.handlers))[0]!;
  // A plain copy: a small Node Buffer lives in Node's shared pool, which a worker-thread engine cannot be handed (transfer fails).
  const bytes = new Uint8Array(await ocrImageBytes(deps, input));
  const started = performance.now();
  // The same preparation as a run's (orientation, size), so boxes match what a run gives.
  const image = await prepareImage(bytes, { maxSide: DEFAULT_MAX_SIDE });
  const prepareMs = performance.now() - started;
  const engine = await deps.ocrEngines.get(engineKind).catch((error: unknown) => {
    throw new ApiProblem(503, 'unavailable', `engine ${engineKind} cannot start: ${error instanceof Error ? error.message : String(error)}`);
  });
  const controller = new AbortController();
  input.response.once('close', () => controller.abort());
  const result = await engine.recognize(image, controller.signal);
  return ok({ ...result, engine: engineKind, timings: { ...result.timings, prepareMs } });
}

interface RunChoice {
  policy: RunConfig['policy'];
  split?: Split | number | string;
  engines?: EngineKind[];
  workers?: Partial<Record<EngineKind, number>>;
  lanes?: LaneConfig[];
  singleEngine?: EngineKind;
  maxAttempts?: number;
}

/**
 * A 400 for a bad engines/workers/split setting. The parsers word their errors for the CLI's
 * flags ("--split expects…"); a script sent the field or query parameter of that name.
 */
function settingProblem(error: unknown): ApiProblem {
  const message = (error as Error).message.replace(/^--(engines|workers|split)\b/, '$1');
  return new ApiProblem(400, 'invalid-request', message, [message]);
}

/** A run's lanes and split from what the script asked (engines, workers, split), the way the CLI reads its flags. */
async function runConfig(deps: ApiDeps, batchId: string, choice: RunChoice): Promise<{ config: RunConfig; lanes: LaneConfig[] }> {
  const lanes = choice.lanes ?? (choice.engines ?? (await defaultEngines(deps.handlers))).map((engine) => laneFor(engine, choice.workers?.[engine]));
  const engines = lanes.map((lane) => lane.engine);
  let split: Split | undefined;
  const names = [...engines, ...lanes.map((lane) => lane.id)];
  try {
    if (typeof choice.split === 'number') split = parseSplit(String(choice.split), engines);
    else if (typeof choice.split === 'string') split = parseSplit(choice.split, engines, names);
    else if (choice.split) split = checkSplitNames(choice.split, names);
  } catch (error) {
    throw settingProblem(error);
  }
  const config: RunConfig = {
    batchId,
    policy: choice.policy,
    lanes,
    ...(split ? { split } : {}),
    ...(choice.singleEngine ? { singleEngine: choice.singleEngine } : {}),
    ...(choice.maxAttempts ? { maxAttempts: choice.maxAttempts } : {}),
  };
  const parsed = RunConfig.safeParse(config);
  if (!parsed.success) throw new ApiProblem(400, 'invalid-request', `run: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  return { config, lanes };
}

/** One JSON ad per line: a rejected row's `line` is then its 1-based index in `ads`. */
function adsAsJsonLines(ads: readonly Record<string, unknown>[]): string {
  return ads.map((ad) => JSON.stringify(ad)).join('\n');
}

/** An ad of a JSON body where the script has it: the import's line 4 is `ads[3]` (it counted lines from 1). */
const adsIndex = (line: number): string => `ads[${line - 1}]`;

/** A rejected ad of a JSON body where the script has it: `ads[3].image_url`. */
function locateInAds(row: RejectedRow): string {
  return `${adsIndex(row.line)}${row.column ? `.${row.column}` : ''}`;
}

/** A JSON body's rejected row whose reason points to another row (a duplicate's first) in `ads` terms: "first at ads[0]". */
function pointingIntoAds(row: RejectedRow): RejectedRow {
  return { ...row, reason: relocateReason(row.reason, (line) => `at ${adsIndex(line)}`) };
}

/** …and as a 201's or 422's `rejected` lists it: the reason starts with where the row is ("ads[3].creative_id: …"). */
function listedInAds(row: RejectedRow): RejectedRow {
  const pointing = pointingIntoAds(row);
  return { ...pointing, reason: `${locateInAds(row)}: ${pointing.reason}` };
}

/**
 * A JSON body in the runs list: no file name (without an extension the import reads our
 * one-ad-per-line text as JSONL by its content).
 */
const REQUEST_BODY_SOURCE = 'request body';
/** What the script sent, as the errors name it: its own file name when it gave one (`?filename=`), else the body. */
const REQUEST_BODY = `the ${REQUEST_BODY_SOURCE}`;

async function createRun(deps: ApiDeps, input: RouteInput<unknown, z.output<typeof RunTextQuery> | Record<string, never>, RunJsonRequest>): Promise<RouteReply> {
  let text: string;
  let filename: string;
  let named: string;
  let choice: RunChoice;
  if (input.body) {
    const { ads, name, ...rest } = input.body;
    text = adsAsJsonLines(ads);
    // The list's name for the runs list; its format is the JSON lines made here, whatever the name says.
    filename = name ?? (input.query as Partial<z.output<typeof RunTextQuery>>).filename ?? REQUEST_BODY_SOURCE;
    named = REQUEST_BODY;
    choice = rest as RunChoice;
  } else {
    const query = input.query as z.output<typeof RunTextQuery>;
    const format = LIST_TYPES[input.raw!.type];
    text = decodeListBytes(input.raw!.bytes);
    filename = query.filename ?? `api.${format ?? 'txt'}`;
    named = query.filename ?? REQUEST_BODY;
    try {
      choice = {
        policy: query.policy,
        ...(query.engines ? { engines: parseEngineList(query.engines) } : {}),
        ...(query.workers ? { workers: Object.fromEntries(parseWorkers([query.workers])) } : {}),
        ...(query.split ? { split: query.split } : {}),
      };
    } catch (error) {
      throw settingProblem(error);
    }
  }
  // A JSON body's rows are told by their place in `ads` (in the reason too); a list body's keep their line.
  const inAds = input.body !== undefined;
  const report = (rows: readonly RejectedRow[]): RejectedRow[] => (inAds ? rows.map(listedInAds) : [...rows]);
  // The same ingest and rejected-row report as a list dropped on the window.
  const summary = await deps.handlers['ads.importText']({ text, filename, ...(inAds ? { format: 'jsonl' as const } : {}) }).catch((error: unknown) => {
    if (!(error instanceof NoAdsError)) throw new ApiProblem(422, 'unprocessable', error instanceof Error ? error.message : String(error));
    const message = inAds ? new NoAdsError(named, error.rejected.map(pointingIntoAds), locateInAds).message : new NoAdsError(named, error.rejected, rowLocation).message;
    throw new ApiProblem(422, 'unprocessable', message, undefined, report(error.rejected));
  });
  const { config, lanes } = await runConfig(deps, summary.batchId, choice);
  const parsed = RunConfig.parse(config);
  const { runId } = await call(() => deps.handlers['runs.start'](parsed));
  return ok({ runId, accepted: summary.accepted, rejected: report(summary.rejected), rejectedTotal: summary.rejectedTotal, lanes }, 201);
}

async function requireRun(deps: ApiDeps, runId: string): Promise<void> {
  if (!deps.core.store.getRun(runId)) throw new ApiProblem(404, 'not-found', `No run ${runId}.`);
}

function sse(response: ServerResponse): (event: string, data: unknown) => void {
  response.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  return (event, data) => void response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

export function apiRoutes(deps: ApiDeps, extra: { openapi: () => unknown; docs: () => string }): Route[] {
  const actions = ['pause', 'resume', 'cancel'] as const;
  const summaries = { pause: 'Pause a running run (in-flight ads finish).', resume: 'Resume a paused run, or restart an interrupted or cancelled one: finished ads are not run again.', cancel: 'Cancel a run (finished results stay; resume it later).' };
  return [
    route({
      method: 'POST',
      path: '/v1/ocr',
      summary: 'Read one image: text, boxes, description where the engine gives one.',
      description: 'The image is a JSON `url` (http/https) or base64 `image`, the bytes as the body, or a multipart field `image`. Without `engine`, the best available one reads it (DeepSeek-OCR when its service is ready, else the in-process engine).',
      query: OcrQuery,
      body: { json: OcrJsonRequest, raw: IMAGE_TYPES, maxBytes: MAX_IMAGE_BYTES * 1.4, description: 'JSON {url|image, engine?}, image bytes, or multipart/form-data with a file field "image"' },
      response: { status: 200, json: OcrResponse, description: 'What the engine read' },
      handle: (input) => ocr(deps, input),
    }),
    route({
      method: 'POST',
      path: '/v1/runs',
      summary: 'Start a run on a list of ads.',
      description:
        'A JSON body `{ads: [{creative_id, image_url, ad_text, …}], policy, split, engines, workers}`, or the list itself as CSV/TSV/JSONL/plain URLs with the options in the query string. The list goes through the same import as a file dropped on the window: rows that cannot become ads are answered in `rejected`, the others run.',
      query: RunTextQuery,
      body: { json: RunJsonRequest, raw: Object.keys(LIST_TYPES), maxBytes: MAX_LIST_BYTES, description: 'JSON, or a CSV/TSV/JSONL/URL list' },
      response: { status: 201, json: RunCreated, description: 'The run started' },
      handle: (input) => createRun(deps, input as RouteInput<unknown, z.output<typeof RunTextQuery>, RunJsonRequest>),
    }),
    route({
      method: 'GET',
      path: '/v1/runs',
      summary: 'Runs, newest first.',
      query: NoQuery,
      response: { status: 200, json: z.array(RunSummary), description: 'Runs' },
      handle: async () => ok(await deps.handlers['runs.list']({})),
    }),
    route<z.output<typeof RunIdParams>>({
      method: 'GET',
      path: '/v1/runs/{id}',
      summary: "A run's progress with per-lane figures (throughput, latency percentiles, share, state).",
      params: RunIdParams,
      query: NoQuery,
      response: { status: 200, json: RunProgressSchema, description: 'Progress' },
      handle: async ({ params }) => ok(await call(() => deps.handlers['runs.progress']({ runId: params.id }))),
    }),
    ...actions.map((action) =>
      route<z.output<typeof RunIdParams>>({
        method: 'POST',
        path: `/v1/runs/{id}/${action}`,
        summary: summaries[action],
        params: RunIdParams,
        query: NoQuery,
        response: { status: 200, json: OkBody, description: 'Done' },
        handle: async ({ params }) => {
          await requireRun(deps, params.id);
          return ok(await call(() => deps.handlers[`runs.${action}`]({ runId: params.id })));
        },
      }),
    ),
    route<z.output<typeof RunIdParams>, Record<string, never>, Split>({
      method: 'PUT',
      path: '/v1/runs/{id}/split',
      summary: "Change a running ratio run's split, e.g. {\"deepseek\": 0.7, \"ollama\": 0.3}.",
      params: RunIdParams,
      query: NoQuery,
      body: { json: SplitSchema, maxBytes: 64 * 1024, description: 'Weights per engine kind or lane id' },
      response: { status: 200, json: OkBody, description: 'Done' },
      handle: async ({ params, body }) => {
        await requireRun(deps, params.id);
        if (!body) throw new ApiProblem(400, 'invalid-request', 'body: a JSON split is required', ['(root): Required']);
        return ok(await call(() => deps.handlers['runs.setSplit']({ runId: params.id, split: body })));
      },
    }),
    route<z.output<typeof RunIdParams>, z.output<typeof ResultsQuery>>({
      method: 'GET',
      path: '/v1/runs/{id}/results',
      summary: "A run's results as the export's rows (input columns plus _vision_model, _vision_text, _vision_time, …).",
      description: 'Paged in input order (`offset`, `limit`, `next`): by ads, or with `rows=done|failed` by matching rows (`total` is then the number that match). With `stream=1`: NDJSON, one row per finished ad, every finished ad exactly once, following a live run until it ends.',
      params: RunIdParams,
      query: ResultsQuery,
      response: { status: 200, json: ResultsPage, description: 'A page of rows', alternatives: { ndjson: ResultRecord, when: 'stream=1' } },
      handle: async ({ params, query, response }) => {
        await requireRun(deps, params.id);
        if (query.stream === '0') return ok(resultsPage(deps.core.store, params.id, query.offset, query.limit, query.rows));
        response.writeHead(200, { 'Content-Type': 'application/x-ndjson; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
        await streamResults({ store: deps.core.store, subscribe: deps.subscribe, progress: (runId) => deps.handlers['runs.progress']({ runId }) }, params.id, query.rows, response).catch(() => undefined);
        response.end();
        return { streamed: true };
      },
    }),
    route<z.output<typeof RunIdParams>>({
      method: 'GET',
      path: '/v1/runs/{id}/events',
      summary: 'Server-Sent Events of the run: `run.progress` (the events the UI gets), `run.results` batches, and `end` when the run stops.',
      params: RunIdParams,
      query: NoQuery,
      response: { status: 200, sse: true, description: 'text/event-stream' },
      handle: async ({ params, request, response }) => {
        await requireRun(deps, params.id);
        const send = sse(response);
        await new Promise<void>((resolve) => {
          let finished = false;
          const finish = (last?: RunProgress) => {
            if (finished) return;
            finished = true;
            unsubscribe();
            if (last) send('end', { runId: params.id, status: last.status });
            resolve();
          };
          const unsubscribe = deps.subscribe((event, payload) => {
            if ((event !== 'run.progress' && event !== 'run.results') || (payload as { runId: string }).runId !== params.id) return;
            send(event, payload);
            if (event === 'run.progress' && !['queued', 'running', 'paused', 'cancelling'].includes((payload as RunProgress).status)) finish(payload as RunProgress);
          });
          request.socket.once('close', () => finish());
          void deps.handlers['runs.progress']({ runId: params.id }).then((progress) => {
            send('run.progress', progress);
            if (!['queued', 'running', 'paused', 'cancelling'].includes(progress.status)) finish(progress);
          });
        });
        response.end();
        return { streamed: true };
      },
    }),
    route({
      method: 'GET',
      path: '/v1/engines',
      summary: 'The engines this machine can run, and which in-process one is the default.',
      query: NoQuery,
      response: { status: 200, json: z.array(EngineInfo), description: 'Engines' },
      handle: async () => ok(await deps.handlers['engines.list']({})),
    }),
    route({
      method: 'GET',
      path: '/v1/services',
      summary: 'The model services (DeepSeek-OCR, Ollama, …) and their states.',
      query: NoQuery,
      response: { status: 200, json: z.array(ServiceInfo), description: 'Services' },
      handle: async () => ok(await deps.handlers['services.list']({})),
    }),
    route<z.output<typeof ServiceParams>, Record<string, never>, z.output<typeof ServiceStartBody>>({
      method: 'POST',
      path: '/v1/services/{name}/start',
      summary: 'Start a service (or adopt one already running).',
      description: 'deepseek takes an optional JSON body {"backend": "mlx"|"torch"|"rapidocr"|"deepseek", "model": "/local/folder"}: the choice is saved, and a service the app runs is restarted with it.',
      params: ServiceParams,
      query: NoQuery,
      body: { json: ServiceStartBody, maxBytes: 16 * 1024, description: 'optional JSON {backend?, model?} (deepseek)' },
      response: { status: 200, json: ServiceInfo, description: 'The service, answering (a start that fails is a 503 saying why)' },
      handle: async ({ params, body }) => {
        const info = await call(() => deps.handlers['services.start']({ name: params.name, ...body }));
        // A script checks the status: a service that did not come up is not a success.
        if (!serviceAnswers(info)) {
          const state = info.state;
          const why = state.type === 'not-installed' ? state.hint : 'reason' in state ? state.reason : `it is ${state.type}`;
          throw new ApiProblem(503, 'unavailable', `${info.label} did not start: ${why}`);
        }
        return ok(info);
      },
    }),
    route<z.output<typeof ServiceParams>>({
      method: 'POST',
      path: '/v1/services/{name}/stop',
      summary: 'Stop a service the app started.',
      params: ServiceParams,
      query: NoQuery,
      response: { status: 200, json: ServiceInfo, description: 'The service after the change' },
      handle: async ({ params }) => ok(await call(() => deps.handlers['services.stop']({ name: params.name }))),
    }),
    route({
      method: 'GET',
      path: '/v1/openapi.json',
      summary: 'This document.',
      public: true,
      query: NoQuery,
      response: { status: 200, json: z.object({ openapi: z.string() }).passthrough(), description: 'OpenAPI 3.1' },
      handle: async () => ok(extra.openapi()),
    }),
    route({
      method: 'GET',
      path: '/v1/docs',
      summary: 'The API reference as a page.',
      public: true,
      query: NoQuery,
      response: { status: 200, html: true, description: 'HTML' },
      handle: async ({ response }) => {
        const html = extra.docs();
        response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'", 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' });
        response.end(html);
        return { streamed: true };
      },
    }),
  ];
}
