/**
 * The VisionApi implemented with core: one object of handlers (a missing command is a
 * compile error) plus the event bus. Electron main and browser mode both serve it.
 *
 * Tests swap every engine for a deterministic fake by passing `createEngine`
 * (engines/test-engine.ts), e.g. `{"delayByEngine":{"embedded":5,"ollama":200}}` for a
 * fast and a slow lane.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import type { ApiInfo, EventName, ImageData, VisionHandlers } from '../../../shared/api.js';
import type { EngineKind, ImportSummary } from '../../../shared/domain.js';
import { listEngineAvailability } from '../engines/availability.js';
import { detectDeepSeekRouteFacts } from '../engines/deepseek-routes.js';
import type { EngineDeps } from '../engines/types.js';
import { OPENAI_KEY_ENV } from '../engines/openai.js';
import { exportResults } from '../export/index.js';
import { createImageFetcher, prepareImage, sniffImageMime, type ImageFetcher } from '../fetch/index.js';
import { importAdsFromFiles, importAdsFromText, importAdsFromUrls, NoAdsError, type ImportResult } from '../ingest/index.js';
import { dataPaths } from '../paths.js';
import { createServiceManager, type ServiceManager } from '../services/index.js';
import { openStore, type Store } from '../store/index.js';
import { EventBus } from './events.js';
import { DEFAULT_MAX_SIDE, RunManager } from './runs.js';
import type { EngineFactory } from './lanes.js';

export interface Backend {
  handlers: VisionHandlers;
  subscribe(listener: (event: EventName, payload: unknown) => void): () => void;
  /** Stop runs cleanly and stop every service the app started. */
  dispose(): Promise<void>;
  /** What the local HTTP API (electron/core/api) serves beside the handlers: the same store, fetcher and engines (absent in fakes). */
  core?: BackendCore;
}

export interface BackendCore {
  store: Store;
  fetcher: ImageFetcher;
  engineDeps: EngineDeps;
  /** Where a managed service answers now. */
  serviceUrl(engine: EngineKind): string | null;
  /** Makes an engine for a lane (tests inject the test engine; default: engines/create.ts). */
  createEngine?: EngineFactory;
  /** The local API's address and key once it listens (app.info shows them in the Services screen). */
  setApiInfo(info: ApiInfo | null): void;
}

export interface SecretStore {
  get(key: string): string | undefined;
  /** An empty value forgets the key. */
  set(key: string, value: string): void;
}

export interface BackendOptions {
  mode: 'electron' | 'browser';
  version: string;
  dataDir: string;
  /** Folder of the DeepSeek Python service sources (scripts/deepseek, or Resources/deepseek when packaged). */
  pythonServiceDir: string;
  /** Electron: ask where to save an export (null: the user cancelled). Browser mode: exports go to `<dataDir>/exports`. */
  chooseExportPath?: (suggestedName: string) => Promise<string | null>;
  /** Replace the service manager (tests). */
  services?: ServiceManager;
  /** Where to look for (and start) the model services instead of their usual ports (PARALLEL_VISION_*_PORT). */
  servicePorts?: Partial<Record<'deepseek' | 'ollama', number>>;
  /** Secrets such as OpenAI-compatible API keys, by lane id (Electron: safeStorage). Absent: keys come from the environment. */
  secrets?: SecretStore;
  /** Makes each lane's engine (tests: the test engine); default the real engines. */
  createEngine?: EngineFactory;
}

const PREVIEW_ROWS = 50;

/** `~/x.csv` or an absolute path; a relative path would land in the app's working folder (`/` when packaged). */
function absoluteExportPath(requested: string): string {
  const expanded = requested.startsWith('~/') ? path.join(homedir(), requested.slice(2)) : requested;
  if (!path.isAbsolute(expanded)) throw new Error(`Choose a full path for the export (like ~/Desktop/results.csv), not "${requested}".`);
  return expanded;
}
const MAX_REJECTED_IN_SUMMARY = 1000;

export async function createBackend(options: BackendOptions): Promise<Backend> {
  const bus = new EventBus();
  mkdirSync(options.dataDir, { recursive: true });
  const paths = dataPaths(options.dataDir);
  const exportsDir = path.join(options.dataDir, 'exports');
  const importsDir = path.join(options.dataDir, 'imports');
  const store = openStore(paths.database);
  const fetcher = createImageFetcher({ cacheDir: paths.imageCache, allowFileUrls: true });
  const services = options.services ?? createServiceManager({ dataDir: options.dataDir, deepseekDir: options.pythonServiceDir, ...(options.servicePorts ? { ports: options.servicePorts } : {}) });
  const engineDeps: EngineDeps = { ...(options.secrets ? { getSecret: (key: string) => options.secrets!.get(key) } : {}) };
  const serviceUrl = (engine: EngineKind) => (engine === 'deepseek' || engine === 'ollama' ? services.url(engine) : null);
  let apiInfo: ApiInfo | null = null;
  const runs = new RunManager({
    store,
    fetcher,
    bus,
    engineDeps,
    ...(options.createEngine ? { createEngine: options.createEngine } : {}),
    serviceUrl,
    onEngineWorkers: (engine, workers) => {
      if (engine === 'deepseek' || engine === 'ollama') services.setWorkers(engine, workers);
    },
  });
  const unsubscribe = [
    services.on('state', (info) => bus.emit('service.state', info)),
    services.on('log', (payload) => bus.emit('service.log', payload)),
    services.on('setup', (stage) => bus.emit('service.setup', stage)),
    services.on('notice', (notice) => bus.emit('service.notice', notice)),
    // Out of memory: the service restarted with fewer workers, and the lanes on it follow.
    services.on('workers', ({ name, workers, reason }) => {
      const lanes = name === 'deepseek' || name === 'ollama' ? runs.lowerEngineWorkers(name, workers) : [];
      bus.emit('service.notice', { name, message: lanes.length ? `${reason} Lanes ${lanes.join(', ')} now use ${workers} worker${workers === 1 ? '' : 's'} in all.` : reason });
    }),
  ];

  /** Saves an import as a batch and answers what the preview shows. */
  const saveImport = (result: ImportResult, source: string): ImportSummary => {
    if (result.ads.length === 0) throw new NoAdsError(source, result.rejected);
    const batch = store.saveBatch({ source, format: result.format, columns: result.columns, fieldColumns: result.fieldColumns, ads: result.ads });
    return {
      batchId: batch.id,
      source,
      accepted: result.ads.length,
      preview: result.ads.slice(0, PREVIEW_ROWS),
      rejected: result.rejected.slice(0, MAX_REJECTED_IN_SUMMARY),
      rejectedTotal: result.rejected.length,
      columns: result.columns,
    };
  };

  const requireRun = (runId: string) => {
    const run = store.getRun(runId);
    if (!run) throw new Error(`No run ${runId}.`);
    return run;
  };

  const handlers: VisionHandlers = {
    'app.info': async () => ({ version: options.version, platform: process.platform, mode: options.mode, dataDir: options.dataDir, ...(apiInfo ? { api: apiInfo } : {}) }),
    'services.list': async () => services.list(),
    'services.start': async ({ name, backend, model }) => services.start(name, { ...(backend ? { backend } : {}), ...(model ? { model } : {}) }),
    'services.stop': async ({ name }) => services.stop(name),
    'services.logs': async ({ name, limit }) => services.logs(name, limit),
    'services.setup': async ({ name, stage }) => services.setup(name, stage),
    'engines.list': async () => {
      const facts = await detectDeepSeekRouteFacts({ dataDir: options.dataDir, ollamaUrl: services.url('ollama') });
      const venvs = services.deepseekVenvs?.();
      const deepseekRoutes = venvs ? { ...facts, venvs } : facts;
      return (await listEngineAvailability()).map(({ inProcess: _inProcess, ...info }) => (info.engine === 'deepseek' ? { ...info, deepseekRoutes } : info));
    },
    'ads.importText': async ({ text, filename, format }) => saveImport(importAdsFromText(text, { ...(filename ? { filename } : {}), ...(format ? { format } : {}) }), filename ?? 'pasted text'),
    'ads.importFiles': async ({ paths: files }) => {
      // Reading local paths is for the desktop app's own window; a browser page sends file contents instead.
      if (options.mode === 'browser') throw new Error('Browser mode reads dropped files in the page; local paths are not accepted.');
      return saveImport(await importAdsFromFiles(files), files.map((file) => path.basename(file)).join(', '));
    },
    'ads.importUrls': async ({ urls }) => saveImport(importAdsFromUrls(urls), urls.length === 1 ? urls[0]! : `${urls.length} URLs`),
    'ads.importImages': async ({ images }) => {
      // Dropped image files arrive as bytes (browser mode has no paths): keep them by content hash.
      mkdirSync(importsDir, { recursive: true });
      const files: string[] = [];
      for (const image of images) {
        const bytes = Buffer.from(image.base64, 'base64');
        const mime = sniffImageMime(bytes);
        if (!mime) throw new Error(`${image.name} is not an image (PNG, JPEG, GIF, WebP, BMP or TIFF).`);
        const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
        const file = path.join(importsDir, `${hash}-${path.basename(image.name).replace(/[^\w.-]/g, '_')}`);
        await writeFile(file, bytes);
        files.push(file);
      }
      return saveImport(await importAdsFromFiles(files), images.length === 1 ? images[0]!.name : `${images.length} images`);
    },
    'runs.start': async (config) => ({ runId: await runs.start(config) }),
    'runs.pause': async ({ runId }) => (runs.pause(runId), { ok: true as const }),
    'runs.resume': async ({ runId }) => (await runs.resume(runId), { ok: true as const }),
    'runs.cancel': async ({ runId }) => (runs.cancel(runId), { ok: true as const }),
    'runs.setSplit': async ({ runId, split }) => (runs.setSplit(runId, split), { ok: true as const }),
    'runs.setLaneWorkers': async ({ runId, laneId, workers }) => (runs.setLaneWorkers(runId, laneId, workers), { ok: true as const }),
    'runs.list': async () => store.listRuns(),
    'runs.progress': async ({ runId }) => runs.progress(runId),
    'results.page': async (query) => (requireRun(query.runId), store.pageResults(query)),
    'results.get': async ({ runId, creativeId }) => {
      const detail = store.getResult(runId, creativeId);
      if (!detail) throw new Error(`No ad ${creativeId} in run ${runId}.`);
      return detail;
    },
    'results.image': async ({ runId, creativeId }): Promise<ImageData> => {
      const detail = store.getResult(runId, creativeId);
      if (!detail) throw new Error(`No ad ${creativeId} in run ${runId}.`);
      // The same preparation as the run, so the engines' boxes line up with this picture.
      const image = await prepareImage((await fetcher.fetchImage(detail.imageUrl)).bytes, { maxSide: DEFAULT_MAX_SIDE });
      return { mime: image.mime, base64: Buffer.from(image.bytes).toString('base64'), width: image.width ?? 0, height: image.height ?? 0 };
    },
    'results.compare': async ({ runId, offset, limit }) => (requireRun(runId), runs.compare(runId, offset, limit)),
    'export.start': async ({ runId, format, rows, path: requested }) => {
      requireRun(runId);
      const name = `${runId}-${rows}.${format}`;
      if (requested && options.mode === 'browser') throw new Error('Browser mode exports to a download link; a path on the server is not accepted.');
      let target = requested ? absoluteExportPath(requested) : null;
      if (!target && options.chooseExportPath) {
        target = await options.chooseExportPath(name);
        if (!target) throw new Error('Export cancelled.');
      }
      target ??= path.join(exportsDir, name);
      // Exports from the window are opened in Excel: a CSV gets the byte order mark it needs for non-ASCII text.
      const summary = await exportResults(store, runId, { format, rows, bom: true }, target, (progress) => bus.emit('export.progress', { runId, ...progress }));
      const downloadable = path.dirname(path.resolve(target)) === path.resolve(exportsDir);
      return { path: target, rows: summary.rows, ...(options.mode === 'browser' && downloadable ? { downloadUrl: `/downloads/${encodeURIComponent(path.basename(target))}` } : {}) };
    },
    'secrets.set': async ({ laneId, apiKey }) => {
      if (!options.secrets) throw new Error(`This mode keeps no API keys: set ${OPENAI_KEY_ENV} in the environment instead.`);
      options.secrets.set(laneId, apiKey);
      return { ok: true as const, stored: apiKey.length > 0 };
    },
  };

  return {
    handlers,
    subscribe: (listener) => bus.subscribe(listener),
    core: { store, fetcher, engineDeps, serviceUrl, ...(options.createEngine ? { createEngine: options.createEngine } : {}), setApiInfo: (info) => (apiInfo = info) },
    async dispose() {
      await runs.stopAll();
      unsubscribe.forEach((off) => off());
      await services.dispose();
      await fetcher.close();
      store.close();
    },
  };
}
