/**
 * Image fetching: undici, only http(s) (and `file:` for images the user dropped, when
 * allowed), redirects followed by hand so each hop is checked, a size limit enforced
 * while streaming, timeouts, limited concurrency per host and retries for transient
 * failures. The type comes from the bytes. Images are cached on disk by content hash.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { EngineError } from '../engines/types.js';
import { HostLimiter } from './host-limiter.js';
import { describeNonImage, sniffImageMime, type ImageMime } from './image-type.js';
import { DEFAULT_MAX_PIXELS, readImageSize } from './prepare.js';
import { hasCredentials, redactCredentials, withoutCredentials } from './url-credentials.js';

export { prepareImage } from './prepare.js';
export { createImageLoader } from './image-loader.js';
export { sniffImageMime } from './image-type.js';
export { redactCredentials } from './url-credentials.js';

export interface FetchTimeouts {
  connectMs: number;
  headersMs: number;
  /** Longest silence between two body chunks. */
  bodyMs: number;
  /** The whole download, so a server trickling one byte a second cannot hold a worker forever. */
  totalMs: number;
}

export interface ImageFetcherOptions {
  /** Where images are kept by content hash; omit for no disk cache. */
  cacheDir?: string;
  maxBytes?: number;
  maxPixels?: number;
  timeouts?: Partial<FetchTimeouts>;
  perHostConcurrency?: number;
  /** Extra tries after a transient failure. */
  retries?: number;
  /** First backoff delay; doubles each retry. */
  retryDelayMs?: number;
  maxRedirects?: number;
  /** Read `file:` URLs (images the user dropped). Lists never produce them (see ingest). */
  allowFileUrls?: boolean;
  userAgent?: string;
}

export interface FetchedImage {
  bytes: Uint8Array;
  mime: ImageMime;
  /** sha256 of the bytes, hex. */
  hash: string;
  width: number;
  height: number;
  fromCache: boolean;
}

export interface ImageFetcher {
  fetchImage(url: string, signal?: AbortSignal): Promise<FetchedImage>;
  close(): Promise<void>;
}

const DEFAULT_MAX_BYTES = 20 * 1024 * 1024;
const KNOWN_URLS_LIMIT = 10_000;
const DEFAULT_TIMEOUTS: FetchTimeouts = { connectMs: 10_000, headersMs: 15_000, bodyMs: 15_000, totalMs: 60_000 };

const TRANSIENT_CODES = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

function errorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

class TotalTimeout extends Error {}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function checkFetchUrl(raw: string, allowFile: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new EngineError('permanent', `bad image URL: ${redactCredentials(raw.slice(0, 200))}`);
  }
  // Checked for redirect targets too: a Location with user:password@ is refused the same way.
  if (hasCredentials(url)) throw new EngineError('permanent', `image URL contains credentials (user name or password), refused: ${withoutCredentials(url).slice(0, 200)}`);
  if (url.protocol === 'http:' || url.protocol === 'https:') return url;
  if (url.protocol === 'file:' && allowFile) return url;
  throw new EngineError('permanent', `image URL must be http(s), got ${url.protocol}`);
}

export function createImageFetcher(options: ImageFetcherOptions = {}): ImageFetcher {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const retries = options.retries ?? 2;
  const retryDelayMs = options.retryDelayMs ?? 500;
  const maxRedirects = options.maxRedirects ?? 5;
  const limiter = new HostLimiter(options.perHostConcurrency ?? 4);
  const agent = new Agent({
    connect: { timeout: timeouts.connectMs },
    headersTimeout: timeouts.headersMs,
    bodyTimeout: timeouts.bodyMs,
    keepAliveTimeout: 10_000,
  });
  const cacheDir = options.cacheDir;
  /**
   * url → content hash, so a URL seen before is read from the cache without a request.
   * Bounded: the on-disk URL index is the full record, this only saves a file read.
   */
  const knownUrls = new Map<string, { hash: string; mime: ImageMime }>();
  const rememberUrl = (url: string, entry: { hash: string; mime: ImageMime }) => {
    knownUrls.delete(url);
    knownUrls.set(url, entry);
    if (knownUrls.size > KNOWN_URLS_LIMIT) knownUrls.delete(knownUrls.keys().next().value!);
  };

  const blobPath = (hash: string) => join(cacheDir!, hash.slice(0, 2), hash);
  const urlIndexPath = (url: string) => {
    const key = createHash('sha256').update(url).digest('hex').slice(0, 40);
    // Sharded like the blobs: 100 000 URLs must not land in one directory.
    return join(cacheDir!, 'urls', key.slice(0, 2), key.slice(2));
  };

  async function writeAtomically(path: string, data: Uint8Array | string): Promise<void> {
    const dir = join(path, '..');
    await mkdir(dir, { recursive: true });
    const temporary = `${path}.${randomUUID()}.tmp`;
    await writeFile(temporary, data);
    await rename(temporary, path);
  }

  async function fromCache(url: string): Promise<{ bytes: Uint8Array; hash: string; mime: ImageMime } | null> {
    if (!cacheDir) return null;
    let known = knownUrls.get(url);
    if (!known) {
      try {
        const [hash, mime] = (await readFile(urlIndexPath(url), 'utf8')).trim().split(' ');
        if (hash && mime) known = { hash, mime: mime as ImageMime };
      } catch {
        return null;
      }
    }
    if (!known) return null;
    try {
      const bytes = new Uint8Array(await readFile(blobPath(known.hash)));
      if (createHash('sha256').update(bytes).digest('hex') !== known.hash) return null;
      rememberUrl(url, known);
      return { bytes, ...known };
    } catch {
      return null;
    }
  }

  async function toCache(url: string, bytes: Uint8Array, hash: string, mime: ImageMime): Promise<void> {
    if (!cacheDir) return;
    rememberUrl(url, { hash, mime });
    try {
      const blob = blobPath(hash);
      const exists = await stat(blob).then(() => true, () => false);
      // Same content under another URL: one file on disk.
      if (!exists) await writeAtomically(blob, bytes);
      await writeAtomically(urlIndexPath(url), `${hash} ${mime}\n`);
    } catch {
      // A cache that cannot be written only costs a download next time.
    }
  }

  async function readBody(body: AsyncIterable<Uint8Array> & { destroy(error?: Error): unknown }, declaredLength: number | null): Promise<Uint8Array> {
    if (declaredLength !== null && declaredLength > maxBytes) {
      body.destroy();
      throw new EngineError('permanent', `image is larger than ${formatBytes(maxBytes)} (Content-Length ${formatBytes(declaredLength)})`);
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of body) {
      total += chunk.byteLength;
      if (total > maxBytes) {
        body.destroy();
        throw new EngineError('permanent', `image is larger than ${formatBytes(maxBytes)}`);
      }
      chunks.push(chunk);
    }
    return new Uint8Array(Buffer.concat(chunks, total));
  }

  async function downloadOnce(start: URL, signal: AbortSignal): Promise<Uint8Array> {
    let url = start;
    for (let hop = 0; ; hop++) {
      const response = await limiter.run(
        url.host,
        async () => {
          const res = await request(url, {
            method: 'GET',
            dispatcher: agent,
            signal,
            headers: { 'user-agent': options.userAgent ?? 'ParallelVision/0.1', accept: 'image/*,*/*;q=0.5' },
          });
          if (res.statusCode >= 300 && res.statusCode < 400) {
            await res.body.dump();
            return { redirect: res.headers.location, status: res.statusCode };
          }
          if (res.statusCode >= 400) {
            await res.body.dump();
            return { status: res.statusCode };
          }
          const lengthHeader = res.headers['content-length'];
          const declared = typeof lengthHeader === 'string' && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : null;
          return { status: res.statusCode, bytes: await readBody(res.body, declared) };
        },
        signal,
      );
      if (response.bytes) return response.bytes;
      const { status } = response;
      if ('redirect' in response) {
        const location = Array.isArray(response.redirect) ? response.redirect[0] : response.redirect;
        if (!location) throw new EngineError('permanent', `HTTP ${status} redirect without a Location`, { status });
        if (hop >= maxRedirects) throw new EngineError('permanent', `too many redirects (more than ${maxRedirects})`, { status });
        url = checkFetchUrl(new URL(location, url).href, false);
        continue;
      }
      if (status === 408 || status === 429 || status >= 500) throw new EngineError('transient', `HTTP ${status} from ${url.host}`, { status });
      throw new EngineError('permanent', `HTTP ${status} from ${url.host}`, { status });
    }
  }

  async function download(url: URL, signal: AbortSignal): Promise<Uint8Array> {
    for (let attempt = 0; ; attempt++) {
      const total = new AbortController();
      const timer = setTimeout(() => total.abort(new TotalTimeout(`download took longer than ${timeouts.totalMs} ms`)), timeouts.totalMs);
      const combined = AbortSignal.any([signal, total.signal]);
      try {
        return await downloadOnce(url, combined);
      } catch (caught) {
        const error = classify(caught, signal, total.signal);
        if (error.kind !== 'transient') throw error;
        // The last try's reason alone ("timed out after 60000 ms") would hide the time the others took.
        if (attempt >= retries) throw attempt === 0 ? error : new EngineError(error.kind, `${error.message} (${attempt + 1} tries)`, error.options);
        await sleep(retryDelayMs * 2 ** attempt, signal).catch(() => {
          throw new EngineError('aborted', 'image download aborted');
        });
      } finally {
        clearTimeout(timer);
      }
    }
  }

  function classify(error: unknown, callerSignal: AbortSignal, totalSignal: AbortSignal): EngineError {
    if (callerSignal.aborted) return new EngineError('aborted', 'image download aborted', { cause: error });
    if (totalSignal.aborted) return new EngineError('transient', `image download timed out after ${timeouts.totalMs} ms`, { cause: error });
    if (error instanceof EngineError) return error;
    const code = errorCode(error);
    const message = (error as Error)?.message ?? String(error);
    if (code === 'ENOTFOUND') return new EngineError('permanent', `host not found: ${message}`, { cause: error });
    if ((code && TRANSIENT_CODES.has(code)) || /other side closed|socket|timeout/i.test(message)) {
      return new EngineError('transient', `image download failed: ${code ?? message}`, { cause: error });
    }
    return new EngineError('permanent', `image download failed: ${message}`, { cause: error });
  }

  async function readLocal(url: URL): Promise<Uint8Array> {
    const path = fileURLToPath(url);
    try {
      const info = await stat(path);
      if (info.size > maxBytes) throw new EngineError('permanent', `image is larger than ${formatBytes(maxBytes)}`);
      return new Uint8Array(await readFile(path));
    } catch (error) {
      if (error instanceof EngineError) throw error;
      throw new EngineError('permanent', `cannot read ${path}: ${errorCode(error) ?? (error as Error).message}`, { cause: error });
    }
  }

  async function describe(bytes: Uint8Array, hash: string, fromCacheFlag: boolean): Promise<FetchedImage> {
    const mime = sniffImageMime(bytes);
    if (!mime) throw new EngineError('permanent', `not an image (${describeNonImage(bytes)})`);
    const { width, height } = await readImageSize(bytes, maxPixels);
    return { bytes, mime, hash, width, height, fromCache: fromCacheFlag };
  }

  return {
    async fetchImage(rawUrl, signal = new AbortController().signal) {
      const url = checkFetchUrl(rawUrl, options.allowFileUrls ?? false);
      if (signal.aborted) throw new EngineError('aborted', 'image download aborted');
      const cached = await fromCache(url.href);
      if (cached) return describe(cached.bytes, cached.hash, true);
      const bytes = url.protocol === 'file:' ? await readLocal(url) : await download(url, signal);
      const hash = createHash('sha256').update(bytes).digest('hex');
      const image = await describe(bytes, hash, false);
      await toCache(url.href, bytes, hash, image.mime);
      return image;
    },
    async close() {
      await agent.close();
    },
  };
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`;
}
