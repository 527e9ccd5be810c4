/**
 * The local HTTP API under /v1 on 127.0.0.1: the route table (routes.ts) behind the key,
 * Host and Origin checks (auth.ts), with bounded bodies and every input validated by its
 * zod schema. Started by the Electron app, `parallel-vision serve` and `parallel-vision api`;
 * it writes the discovery file that clients read to find it.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { describeZodIssues } from '../../../shared/api.js';
import type { Backend, BackendCore } from '../app/backend.js';
import { EngineError } from '../engines/types.js';
import { apiKeyPath, ensureApiKey, refuseRequest, removeDiscovery, writeDiscovery } from './auth.js';
import { renderDocs } from './docs.js';
import { createOcrEngines } from './engines.js';
import { buildOpenApi } from './openapi.js';
import { ApiProblem } from './problem.js';
import { apiRoutes, problemFromHandler, type Route } from './routes.js';

/** The port scripts find the app on when nothing else holds it (else any free port; the discovery file says which). */
export const DEFAULT_API_PORT = 8765;

export interface ApiServerOptions {
  backend: Pick<Backend, 'handlers' | 'subscribe'> & { core: BackendCore };
  dataDir: string;
  version: string;
  /** 0: any free port. Default: DEFAULT_API_PORT, or any free port when it is taken. */
  port?: number;
  /** Write `<dataDir>/api.json` for clients (default true). */
  discovery?: boolean;
}

export interface ApiServer {
  url: string;
  port: number;
  key: string;
  keyFile: string;
  close(): Promise<void>;
}

interface CompiledRoute {
  route: Route;
  pattern: RegExp;
  names: string[];
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const pattern = new RegExp(`^${route.path.replace(/[.]/g, '\\.').replace(/\{(\w+)\}/g, (_m, name: string) => (names.push(name), '([^/]+)'))}$`);
  return { route, pattern, names };
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) return void response.end();
  const text = JSON.stringify(body);
  response.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  response.end(text);
}

function mediaType(request: IncomingMessage): string {
  return (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/** The body, refused past `maxBytes` (by Content-Length before reading, or while reading). */
async function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw new ApiProblem(413, 'too-large', `body: ${declared} bytes is more than the ${maxBytes} bytes this route accepts`);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request) {
    total += (chunk as Buffer).length;
    if (total > maxBytes) {
      request.resume();
      throw new ApiProblem(413, 'too-large', `body: more than the ${maxBytes} bytes this route accepts`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function parseOrProblem<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = describeZodIssues(parsed.error).map((issue) => (issue.startsWith('(root)') ? `${where}${issue.slice('(root)'.length)}` : `${where}.${issue}`));
  throw new ApiProblem(400, 'invalid-request', `Invalid ${where}: ${issues.join('; ')}`, issues);
}

function problemOf(error: unknown): ApiProblem {
  if (error instanceof ApiProblem) return error;
  if (error instanceof EngineError) {
    if (error.kind === 'permanent') return new ApiProblem(422, 'unprocessable', `image: ${error.message}`);
    if (error.kind === 'aborted') return new ApiProblem(499 as number, 'failed', 'the client went away');
    return new ApiProblem(503, 'unavailable', `engine: ${error.message}`);
  }
  return problemFromHandler(error);
}

async function handle(compiled: CompiledRoute, match: RegExpExecArray, url: URL, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const { route } = compiled;
  const rawParams = Object.fromEntries(compiled.names.map((name, index) => [name, decodeURIComponent(match[index + 1]!)]));
  const params = route.params ? parseOrProblem(route.params, rawParams, 'path') : {};
  const query = route.query ? parseOrProblem(route.query, Object.fromEntries(url.searchParams), 'query') : {};
  let body: unknown;
  let raw: { type: string; bytes: Buffer } | undefined;
  if (route.body) {
    const type = mediaType(request);
    const bytes = await readBody(request, route.body.maxBytes);
    const rawTypes = route.body.raw ?? [];
    if (bytes.length === 0 && route.body.json && rawTypes.length === 0) {
      body = parseOrProblem(route.body.json, undefined, 'body');
    } else if (bytes.length === 0) {
      throw new ApiProblem(400, 'invalid-request', `body: empty; send ${route.body.description}`, ['body: Required']);
    } else if (type === 'application/json' && route.body.json) {
      let json: unknown;
      try {
        json = JSON.parse(bytes.toString('utf8'));
      } catch (error) {
        throw new ApiProblem(400, 'invalid-request', `body: not valid JSON (${(error as Error).message})`, [`body: ${(error as Error).message}`]);
      }
      body = parseOrProblem(route.body.json, json, 'body');
    } else if (rawTypes.includes(type)) {
      raw = { type, bytes };
    } else {
      throw new ApiProblem(415, 'unsupported-media-type', `Content-Type ${JSON.stringify(type || '(none)')} is not accepted here; send ${[...(route.body.json ? ['application/json'] : []), ...rawTypes].join(', ')}`);
    }
  } else {
    request.resume();
  }
  const reply = await route.handle({ params, query, body, raw, request, response });
  if ('json' in reply) sendJson(response, reply.status, reply.json);
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { backend } = options;
  const key = ensureApiKey(options.dataDir);
  const ocrEngines = createOcrEngines({ engineDeps: backend.core.engineDeps, serviceUrl: backend.core.serviceUrl, ...(backend.core.createEngine ? { createEngine: backend.core.createEngine } : {}) });
  let port = 0;
  let openapi: Record<string, unknown> | null = null;
  const routes: Route[] = apiRoutes(
    { handlers: backend.handlers, core: backend.core, subscribe: (listener) => backend.subscribe(listener), ocrEngines },
    { openapi: () => (openapi ??= buildOpenApi(routes, { version: options.version, serverUrl: `http://127.0.0.1:${port}` })), docs: () => renderDocs((openapi ??= buildOpenApi(routes, { version: options.version, serverUrl: `http://127.0.0.1:${port}` })) as never) },
  );
  const compiled = routes.map(compile);

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? '/', `http://127.0.0.1:${port}`);
    const candidates = compiled.map((entry) => ({ entry, match: entry.pattern.exec(url.pathname) })).filter((candidate) => candidate.match);
    const found = candidates.find((candidate) => candidate.entry.route.method === request.method);
    const refused = refuseRequest(request, port, key, !(found ?? candidates[0])?.entry.route.public);
    if (refused) {
      request.resume();
      return sendJson(response, refused.status, new ApiProblem(refused.status, refused.status === 401 ? 'unauthorized' : 'forbidden', refused.message).body());
    }
    if (!found) {
      request.resume();
      if (candidates.length > 0) {
        response.setHeader('Allow', candidates.map((candidate) => candidate.entry.route.method).join(', '));
        return sendJson(response, 405, new ApiProblem(405, 'method-not-allowed', `${request.method} is not allowed on ${url.pathname}; use ${candidates.map((candidate) => candidate.entry.route.method).join(' or ')}`).body());
      }
      return sendJson(response, 404, new ApiProblem(404, 'not-found', `No route ${request.method} ${url.pathname}; see /v1/docs`).body());
    }
    handle(found.entry, found.match!, url, request, response).catch((error: unknown) => {
      const problem = problemOf(error);
      if (problem.status >= 500 && problem.code === 'unprocessable') console.error(`API ${request.method} ${url.pathname} failed:`, error);
      if (!response.destroyed) sendJson(response, problem.status, problem.body());
    });
  });
  server.keepAliveTimeout = 5_000;

  const listen = (wanted: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(wanted, '127.0.0.1', () => (server.off('error', reject), resolve()));
    });
  const wanted = options.port ?? DEFAULT_API_PORT;
  try {
    await listen(wanted);
  } catch (error) {
    // The usual port is taken (another app, a second data folder): any free one; the discovery file says which.
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || options.port !== undefined) throw error;
    await listen(0);
  }
  port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const keyFile = apiKeyPath(options.dataDir);
  if (options.discovery !== false) writeDiscovery(options.dataDir, { url, keyFile, pid: process.pid, version: options.version, startedAt: Date.now() });
  backend.core.setApiInfo({ url, key, keyFile });

  return {
    url,
    port,
    key,
    keyFile,
    async close() {
      backend.core.setApiInfo(null);
      if (options.discovery !== false) removeDiscovery(options.dataDir, url);
      server.closeIdleConnections();
      // Streams that follow a live run end with the server.
      setTimeout(() => server.closeAllConnections(), 1_000).unref();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await ocrEngines.close();
    },
  };
}
