/**
 * `parallel-vision run LIST --to-app`: hand the list to the running app through its local
 * API instead of starting a second scheduler against the same services. The app imports
 * it (same ingest, same rejected-row report), runs it, and this command shows its progress
 * and writes the results (`--out`, one row per ad, pending ones too) from the API's pages.
 */
import { readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { z } from 'zod';
import { describeZodIssues } from '../../shared/api.js';
import { isLiveRunStatus, RunProgress } from '../../shared/domain.js';
import { ApiDiscovery, apiDiscoveryPath } from '../core/api/auth.js';
import { ApiErrorBody, ResultsPage, RunCreated } from '../core/api/schemas.js';
import { writeOutputFile, writeRecords } from '../core/export/index.js';
import { decodeListBytes, detectListFormat } from '../core/ingest/index.js';
import { couldNotWriteOut, outputTarget, reportSkipped, resolveDataDir, type CliIo } from './io.js';
import { UsageError } from '../core/app/run-settings.js';
import { checkToAppArgs, exportFormatOf, type RunArgs } from './options.js';
import { jsonLinesReporter, terminalReporter } from './progress.js';

const IMAGE_FILE = /\.(png|jpe?g|gif|webp|bmp|tiff?|heic)$/i;
const CONTENT_TYPES: Record<string, string> = { csv: 'text/csv', tsv: 'text/tab-separated-values', jsonl: 'application/x-ndjson', json: 'application/json', txt: 'text/plain' };

interface AppAddress {
  url: string;
  key: string;
  /** As its discovery file says: named when its answers are not what this command expects. */
  version: string;
}

/** Result rows as the API sent them: ResultsPage checks them, but its parse puts the `_vision_*` fields first. */
const RowsInOrder = z.object({ rows: z.array(z.record(z.string(), z.unknown())) });

/** The running app's API from the data folder's discovery file, or a clear reason there is none. */
function findApp(dataDir: string): AppAddress {
  const file = apiDiscoveryPath(dataDir);
  let discovery: ApiDiscovery;
  try {
    discovery = ApiDiscovery.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(missing ? `no running app found (no ${file}): start Parallel Vision or \`parallel-vision api\`, or run without --to-app` : `cannot read ${file}: ${(error as Error).message}`);
  }
  return { url: discovery.url, key: readFileSync(discovery.keyFile, 'utf8').trim(), version: discovery.version };
}

/**
 * One answer of the app checked against the API's own schema. An app of another version may
 * answer in another shape: say which request, what did not fit, and who answered.
 */
function parseReply<T>(app: AppAddress, request: string, schema: z.ZodType<T>, text: string): T {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw unexpectedReply(app, request, [`not JSON: ${JSON.stringify(text.slice(0, 80))}`]);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw unexpectedReply(app, request, describeZodIssues(parsed.error));
  return parsed.data;
}

function unexpectedReply(app: AppAddress, request: string, issues: string[]): Error {
  const shown = issues.slice(0, 3).join('; ') + (issues.length > 3 ? `; ${issues.length - 3} more` : '');
  return new Error(`the app at ${app.url} (version ${app.version}) answered ${request} with something this command does not understand (${shown}); is it an older or newer version? Update one of them so they match, or run without --to-app`);
}

async function replyOf<T>(app: AppAddress, method: string, path: string, schema: z.ZodType<T>, body?: { text: string; type: string }): Promise<T> {
  // Named without its query string: the route is what an older app may answer differently.
  return parseReply(app, `${method} ${path.split('?')[0]}`, schema, await (await api(app, method, path, body)).text());
}

async function api(app: AppAddress, method: string, path: string, body?: { text: string; type: string }): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(`${app.url}${path}`, { method, headers: { authorization: `Bearer ${app.key}`, ...(body ? { 'content-type': body.type } : {}) }, ...(body ? { body: body.text } : {}) });
  } catch (error) {
    throw new Error(`the app is not answering at ${app.url} (${(error as Error).message}; is it still running?)`);
  }
  if (!response.ok) {
    const text = await response.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      // Not JSON at all: the text is shown.
    }
    const problem = ApiErrorBody.safeParse(json);
    throw new Error(`${method} ${path}: ${response.status} ${problem.success ? problem.data.error.message : text.slice(0, 500)}`);
  }
  return response;
}

async function* lines(response: Response): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let partial = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    const parts = (partial + decoder.decode(chunk, { stream: true })).split('\n');
    partial = parts.pop()!;
    yield* parts;
  }
  if (partial) yield partial;
}

/** Every result row of the run in input order, pending ads included (the API's pages), each page validated. */
async function* resultRows(app: AppAddress, runId: string): AsyncGenerator<Record<string, unknown>> {
  let offset: number | null = 0;
  while (offset !== null) {
    const text: string = await (await api(app, 'GET', `/v1/runs/${runId}/results?offset=${offset}&limit=5000`)).text();
    const request = `GET /v1/runs/${runId}/results`;
    const page = parseReply(app, request, ResultsPage, text);
    yield* parseReply(app, request, RowsInOrder, text).rows;
    offset = page.next;
  }
}

export async function runToApp(parsed: RunArgs, io: CliIo): Promise<number> {
  checkToAppArgs(parsed);
  const { values, positionals } = parsed;
  const images = positionals.filter((file) => IMAGE_FILE.test(file));
  if (images.length > 0) throw new UsageError(`run --to-app sends one ad list (CSV, TSV, JSON, JSONL, TXT) to the app, not image files (${images.slice(0, 3).map((file) => basename(file)).join(', ')}); drop images on its window instead`);
  if (positionals.length !== 1) throw new UsageError(`run --to-app sends one ad list at a time, got ${positionals.length}; send each on its own, or run them here without --to-app (several lists are one run)`);
  const outFormat = values.out ? exportFormatOf(values.out, values.format) : null;
  const app = findApp(resolveDataDir(values['data-dir'], io.env));
  const listPath = resolve(positionals[0]!);
  // Decoded as the app's own import decodes a file (UTF-16 from Excel's "Unicode text", BOMs), then sent as UTF-8.
  const text = decodeListBytes(readFileSync(listPath));
  const format = detectListFormat(text, listPath);
  const query = new URLSearchParams({ policy: values.policy, filename: basename(listPath) });
  if (values.engines) query.set('engines', values.engines);
  if (values.split) query.set('split', values.split);
  if (values.workers?.length) query.set('workers', values.workers.join(','));
  // A JSON list goes as a list file (the app's ingest reads it), not as the API's own JSON body.
  const type = format === 'json' ? 'text/plain' : (CONTENT_TYPES[format] ?? 'text/plain');
  const created = await replyOf(app, 'POST', `/v1/runs?${query}`, RunCreated, { text, type });
  // The list went as the file (never as the API's JSON `ads`), so each row's line is the file's.
  reportSkipped(created.rejected, io, created.rejectedTotal ?? created.rejected.length);
  io.err(`Run ${created.runId} in the app at ${app.url}: ${created.accepted} ads\n`);

  const onSignal = () => {
    io.err('\nCancelling the run in the app… finished ads are saved; resume it from the app.\n');
    void api(app, 'POST', `/v1/runs/${created.runId}/cancel`).catch(() => undefined);
  };
  process.once('SIGINT', onSignal);
  const reporter = io.isTerminal && !values.json ? terminalReporter(process.stderr) : jsonLinesReporter(io.out);
  let last: RunProgress | null = null;
  try {
    let event = '';
    for await (const line of lines(await api(app, 'GET', `/v1/runs/${created.runId}/events`))) {
      if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ') && event === 'run.progress') {
        last = parseReply(app, `GET /v1/runs/${created.runId}/events (a run.progress event)`, RunProgress, line.slice(6));
        reporter.update(last);
      }
    }
  } finally {
    process.off('SIGINT', onSignal);
    reporter.finish(last);
  }
  const final = await replyOf(app, 'GET', `/v1/runs/${created.runId}`, RunProgress);
  io.err(`\nRun ${final.runId} ${final.status}: ${final.done} done, ${final.failed} failed of ${final.total}\n`);
  if (values.out && outFormat) {
    const rows = resultRows(app, created.runId);
    const target = outputTarget(values.out, io);
    try {
      // The export's own record writer: same columns, formula safety and formats; no BOM, as the CLI's `export`.
      const write = (file: Writable) => writeRecords(rows, file, { format: outFormat });
      const written = typeof target === 'string' ? await writeOutputFile(target, write) : await write(target);
      io.err(`Wrote ${written} rows to ${typeof target === 'string' ? target : 'standard output'}\n`);
    } catch (error) {
      io.err(couldNotWriteOut(values.out, error, created.runId, ' in the app'));
      return 1;
    }
  }
  if (final.status === 'cancelled' || isLiveRunStatus(final.status)) return 130;
  return final.failed > 0 || final.status !== 'finished' ? 1 : 0;
}
