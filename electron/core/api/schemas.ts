/**
 * The local API's request and response bodies, built from the contract's own schemas
 * (shared/domain, shared/api). The router validates with them and the OpenAPI document
 * is generated from them: there is no second, hand-written schema.
 */
import { z } from 'zod';
import { EngineInfo, RunSummary } from '../../../shared/api.js';
import { EngineKind, LaneConfig, Policy, RecognizeResult, RejectedRow, RunProgress, ServiceInfo, ServiceName, Split } from '../../../shared/domain.js';

/** Ads per run submitted in one request (the 100 000-ad benchmark fits). */
const MAX_ADS_PER_RUN = 200_000;

export const ApiErrorBody = z.object({
  error: z.object({
    code: z.enum(['invalid-request', 'unauthorized', 'forbidden', 'not-found', 'method-not-allowed', 'conflict', 'too-large', 'unsupported-media-type', 'unprocessable', 'unavailable', 'image-unreachable', 'failed']),
    message: z.string(),
    /** One line per invalid field: "ads.3.image_url: Invalid input". */
    issues: z.array(z.string()).optional(),
    rejected: z.array(RejectedRow).optional(),
  }),
});
export type ApiErrorBody = z.infer<typeof ApiErrorBody>;

export const OkBody = z.object({ ok: z.literal(true) });

export const OcrJsonRequest = z
  .object({
    /** An http(s) image URL the app downloads (same limits as a run). */
    url: z.string().min(1).max(8192).optional(),
    /** The image bytes, base64 (or send them as the body, or as multipart field `image`). */
    image: z.string().min(1).optional(),
    engine: EngineKind.optional(),
  })
  .strict()
  .refine((value) => (value.url === undefined) !== (value.image === undefined), { message: 'give exactly one of url or image', path: ['url'] });

export const OcrQuery = z.object({ engine: EngineKind.optional() }).strict();

export const OcrResponse = RecognizeResult.extend({
  /** The engine that read the image (the scheduler's best available one when none was asked for). */
  engine: EngineKind,
});
export type OcrResponse = z.infer<typeof OcrResponse>;

/** One ad as a scraper has it: `creative_id`, `image_url`, `ad_text` and any other columns (kept for the results). */
const ApiAd = z.record(z.string().max(256), z.union([z.string().max(65_536), z.number(), z.boolean(), z.null()]));

const RunOptions = {
  policy: Policy.default('auto'),
  /** ratio: the first engine's share (the prototype's slider), or a weight per engine / lane id. */
  split: z.union([z.number().min(0).max(1), Split]).optional(),
  /** Engines to use, one lane each; default: the in-process engine plus DeepSeek/Ollama when their service is ready. */
  engines: z.array(EngineKind).min(1).max(5).optional(),
  /** Workers per engine kind, e.g. {"deepseek": 2, "ollama": 2}. */
  workers: z.partialRecord(EngineKind, z.number().int().min(1).max(64)).optional(),
  /** Full lane configurations instead of `engines` (endpoints, models, settings). */
  lanes: z.array(LaneConfig).min(1).max(32).optional(),
  singleEngine: EngineKind.optional(),
  maxAttempts: z.number().int().min(1).max(10).optional(),
};

export const RunJsonRequest = z
  .object({
    ads: z.array(ApiAd).min(1).max(MAX_ADS_PER_RUN),
    /** Names the run's list in the runs list (as a file's name does); default "request body". */
    name: z.string().min(1).max(1024).optional(),
    ...RunOptions,
  })
  .strict();
export type RunJsonRequest = z.output<typeof RunJsonRequest>;

/** CSV / TSV / JSONL / plain-URL bodies: the options travel in the query string. */
export const RunTextQuery = z
  .object({
    policy: Policy.default('auto'),
    /** "0.5" or "deepseek=0.7,ollama=0.3". */
    split: z.string().max(500).optional(),
    /** "embedded,deepseek". */
    engines: z.string().max(200).optional(),
    /** "deepseek=2,ollama=2". */
    workers: z.string().max(200).optional(),
    /** Names the list in the runs list and decides its format when the Content-Type does not. */
    filename: z.string().max(1024).optional(),
  })
  .strict();

export const RunCreated = z.object({
  runId: z.string(),
  accepted: z.number().int(),
  /** Rows that could not become ads, with their line (for a JSON body: the 1-based index in `ads`, and the reason starts with where: `ads[3].image_url: …`). */
  rejected: z.array(RejectedRow),
  /** How many rows were rejected in all (`rejected` lists the first 1000); absent from apps before it. */
  rejectedTotal: z.number().int().optional(),
  lanes: z.array(LaneConfig),
});

export const RunIdParams = z.object({ id: z.string().min(1).max(128) }).strict();
export const ServiceParams = z.object({ name: ServiceName }).strict();

export const ResultsQuery = z
  .object({
    /** First ad (input order) of the page; with `rows` done or failed, the first matching row. */
    offset: z.coerce.number().int().min(0).default(0),
    /** Ads per page (a compare run answers one row per engine of each ad); with `rows` done or failed, rows per page. */
    limit: z.coerce.number().int().min(1).max(5000).default(500),
    rows: z.enum(['all', 'done', 'failed']).default('all'),
    /** 1: NDJSON of every finished ad, following a live run until it ends. */
    stream: z.enum(['0', '1']).default('0'),
  })
  .strict();

/** A result row, as the export writes it: the ad's input columns, then the prototype's `_vision_*` fields. */
export const ResultRecord = z
  .object({
    _vision_model: z.string().nullable(),
    _vision_text: z.string(),
    /** Seconds. */
    _vision_time: z.number().nullable(),
    _vision_status: z.enum(['pending', 'done', 'failed']),
    _vision_error: z.string().nullable(),
    _vision_description: z.string().nullable(),
    _vision_blocks: z.array(z.object({ text: z.string(), box: z.array(z.number()) }).passthrough()),
  })
  .catchall(z.unknown());

export const ResultsPage = z.object({
  /** Ads in the run; with `rows` done or failed, the rows that match. */
  total: z.number().int(),
  offset: z.number().int(),
  /** Offset of the next page, null after the last. */
  next: z.number().int().nullable(),
  rows: z.array(ResultRecord),
});

export const NoQuery = z.object({}).strict();

export { EngineInfo, RunProgress, RunSummary, ServiceInfo, Split };
