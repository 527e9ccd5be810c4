/**
 * The VisionApi implemented with core: one object of handlers (a missing command is a
 * compile error) plus the event bus. Electron main and browser mode both serve it.
 */
import type { EventName, VisionHandlers } from '../../../shared/api.js';
import { EventBus } from './events.js';

export interface Backend {
  handlers: VisionHandlers;
  subscribe(listener: (event: EventName, payload: unknown) => void): () => void;
  /** Stop runs cleanly and stop every service the app started. */
  dispose(): Promise<void>;
}

export interface BackendOptions {
  mode: 'electron' | 'browser';
  version: string;
  dataDir: string;
  /** Folder of the DeepSeek Python service sources (scripts/deepseek, or Resources/deepseek when packaged). */
  pythonServiceDir: string;
  /** Electron: ask where to save an export. Browser mode: exports go to `<dataDir>/exports`. */
  chooseExportPath?: (suggestedName: string) => Promise<string | null>;
}

const notYet = (what: string) => async (): Promise<never> => {
  throw new Error(`${what} is not available in this build yet`);
};

export async function createBackend(options: BackendOptions): Promise<Backend> {
  const bus = new EventBus();
  const handlers: VisionHandlers = {
    'app.info': async () => ({ version: options.version, platform: process.platform, mode: options.mode, dataDir: options.dataDir }),
    'services.list': async () => [],
    'services.start': notYet('Starting services'),
    'services.stop': notYet('Stopping services'),
    'services.logs': async () => [],
    'services.setup': notYet('Setup'),
    'engines.list': async () => [],
    'ads.importText': notYet('Import'),
    'ads.importFiles': notYet('Import'),
    'ads.importUrls': notYet('Import'),
    'ads.importImages': notYet('Import'),
    'runs.start': notYet('Runs'),
    'runs.pause': notYet('Runs'),
    'runs.resume': notYet('Runs'),
    'runs.cancel': notYet('Runs'),
    'runs.setSplit': notYet('Runs'),
    'runs.setLaneWorkers': notYet('Runs'),
    'runs.list': async () => [],
    'runs.progress': notYet('Runs'),
    'results.page': notYet('Results'),
    'results.get': notYet('Results'),
    'results.image': notYet('Results'),
    'results.compare': notYet('Results'),
    'export.start': notYet('Export'),
  };
  return { handlers, subscribe: (listener) => bus.subscribe(listener), dispose: async () => undefined };
}
