/**
 * The service manager: the one object the app (IPC/WebSocket handlers) and the CLI use to
 * list, start, stop and set up the model servers. Electron-free; paths come in as options.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DeepSeekBackendChoice } from '../../../shared/deepseek-routes.js';
import { ENGINE_LABELS, type ServiceInfo, type ServiceState, type SetupStage } from '../../../shared/domain.js';
import {
  backendVenvDir,
  looksLikePath,
  modelProblem,
  readSavedChoice,
  resolveDeepSeekBackend,
  saveChoice,
  savedChoiceFile,
  setupCommandFor,
  type ConcreteDeepSeekBackend,
} from './deepseek-backend.js';
import { BinaryFinder } from './discovery.js';
import { TypedEmitter, type ServiceEvents } from './events.js';
import { PidFiles } from './pid-files.js';
import { runDeepSeekSetup, runOllamaPull, StageBoard } from './setup.js';
import {
  deepseekSpec,
  deepseekVenvDir,
  defaultDeepSeekBackend,
  ollamaSpec,
  venvPython,
  type DeepSeekBackend,
} from './specs.js';
import { readMemoryPressure, type MemoryPressure } from './memory.js';
import { ServiceSupervisor, type StartOutcome, type SupervisorOptions } from './supervisor.js';

type ManagedServiceName = 'deepseek' | 'ollama';

export interface StartOptions {
  port?: number;
  backend?: DeepSeekBackend;
  model?: string;
}

export interface ServiceManagerOptions {
  /** The app's data folder: the DeepSeek venv and the pid files live here. */
  dataDir: string;
  /** The folder of the Python service sources (server.py, setup_venv.py). */
  deepseekDir: string;
  /**
   * Interpreters and binaries, when not the defaults. `ollama: null` = treat as not installed.
   * `deepseekPython` runs every DeepSeek backend (tests); without it each backend's venv does.
   */
  binaries?: { deepseekPython?: string; systemPython?: string; ollama?: string | null };
  /** The base venv of the DeepSeek service (default `<dataDir>/deepseek-venv`); mlx and torch use `<it>-mlx`, `<it>-torch`. */
  deepseekVenv?: string;
  ports?: Partial<Record<ManagedServiceName, number>>;
  /** Workers of the lanes on each service (OLLAMA_NUM_PARALLEL). */
  workers?: Partial<Record<ManagedServiceName, number>>;
  /** This manager's DeepSeek backend, over the saved choice (not saved itself); default: the saved choice, else this machine's. */
  deepseekBackend?: DeepSeekBackend;
  /** `--model` with `deepseekBackend`. */
  deepseekModel?: string;
  /** Apple Silicon? (default: this machine) — what `deepseek` resolves to. */
  appleSilicon?: boolean;
  /** Model downloaded by `setup('ollama')`. */
  ollamaModel?: string;
  ollamaKeepAlive?: string;
  /** Extra environment for the children. */
  env?: NodeJS.ProcessEnv;
  finder?: BinaryFinder;
  /** Stop children a crashed previous run left behind (default true). */
  cleanupOrphans?: boolean;
  /** Tuning of the supervisors (health interval, grace period, backoff, start timeouts). */
  tuning?: Pick<SupervisorOptions, 'healthIntervalMs' | 'rssIntervalMs' | 'stopGraceMs' | 'backoff' | 'unhealthyAfter' | 'memoryPressureIntervalMs'> & {
    startTimeoutMs?: Partial<Record<ManagedServiceName, number>>;
  };
  memoryPressure?: () => Promise<MemoryPressure | null>;
}

export interface ServiceManager {
  list(): ServiceInfo[];
  /** Look again at every idle service (installed? a server already on its port?). */
  refresh(): Promise<ServiceInfo[]>;
  /**
   * Start (or adopt) a service. deepseek with `backend`/`model`: the choice is saved and a
   * running service it started is restarted with it; one it adopted is refused (not ours to restart).
   */
  start(name: string, options?: StartOptions): Promise<ServiceInfo>;
  /** Like `start`, with the reason and a free port to offer when the port is taken. */
  startWithOutcome(name: string, options?: StartOptions): Promise<StartOutcome>;
  /** Which of the DeepSeek backends' venvs exist (the Services screen's routes); optional for stand-in managers. */
  deepseekVenvs?(): Record<ConcreteDeepSeekBackend, boolean>;
  stop(name: string): Promise<ServiceInfo>;
  logs(name: string, limit?: number): string[];
  setup(name: string, stage?: string): Promise<SetupStage[]>;
  /** The lanes on a service changed their workers: applied at its next start. */
  setWorkers(name: string, workers: number): void;
  /** Where a ready/adopted service answers, for the engines. */
  url(name: string): string | null;
  /** Stop every child the app started (adopted servers keep running). */
  stopAll(): Promise<void>;
  on<K extends keyof ServiceEvents>(event: K, listener: (payload: ServiceEvents[K]) => void): () => void;
  /** stopAll, then drop every listener and timer. */
  dispose(): Promise<void>;
  /** Resolves when orphans are cleaned up and the first look at each service is done. */
  readonly ready: Promise<void>;
}

const IN_PROCESS_URL = 'in-process';

function inProcessInfo(name: 'embedded' | 'apple-vision', state: ServiceState): ServiceInfo {
  return { name, label: ENGINE_LABELS[name], engine: name, state, port: null, rssMb: null, managed: false, changedAt: Date.now() };
}

export function createServiceManager(options: ServiceManagerOptions): ServiceManager {
  const emitter = new TypedEmitter<ServiceEvents>();
  const finder = options.finder ?? new BinaryFinder();
  const pidFiles = new PidFiles(join(options.dataDir, 'services'));
  const venvBase = options.deepseekVenv ?? deepseekVenvDir(options.dataDir);
  const appleSilicon = options.appleSilicon ?? (process.platform === 'darwin' && process.arch === 'arm64');
  const choiceFile = savedChoiceFile(options.dataDir);
  const saved = readSavedChoice(choiceFile);
  // What the next start runs: an explicit option, else the saved choice, else this machine's default.
  let choice: DeepSeekBackendChoice & { saved: boolean } = options.deepseekBackend
    ? { backend: options.deepseekBackend, ...(options.deepseekModel ? { model: options.deepseekModel } : {}), saved: false }
    : saved.type === 'saved'
      ? { ...saved.choice, saved: true }
      : { backend: defaultDeepSeekBackend(), saved: false };
  const venvOf = (backend: ConcreteDeepSeekBackend) => backendVenvDir(venvBase, backend);
  const hasVenv = (backend: ConcreteDeepSeekBackend) => options.binaries?.deepseekPython !== undefined || existsSync(venvPython(venvOf(backend)));
  const resolvedBackend = () => resolveDeepSeekBackend(choice.backend, appleSilicon, hasVenv);
  const launch = () => {
    const backend = resolvedBackend();
    return {
      backend,
      ...(choice.model ? { model: choice.model } : {}),
      python: options.binaries?.deepseekPython ?? venvPython(venvOf(backend)),
      venvDir: venvOf(backend),
      setupCommand: setupCommandFor(backend, venvBase, options.deepseekDir),
      saved: choice.saved,
    };
  };
  const common = {
    pidFiles,
    emitter,
    memoryPressure: options.memoryPressure ?? readMemoryPressure,
    ...options.tuning,
  };
  const supervisors: Record<ManagedServiceName, ServiceSupervisor> = {
    deepseek: new ServiceSupervisor({
      ...common,
      spec: deepseekSpec({ serviceDir: options.deepseekDir, launch, env: options.env, startTimeoutMs: options.tuning?.startTimeoutMs?.deepseek }),
      port: options.ports?.deepseek,
      workers: options.workers?.deepseek,
    }),
    ollama: new ServiceSupervisor({
      ...common,
      spec: ollamaSpec({ finder, binary: options.binaries?.ollama, keepAlive: options.ollamaKeepAlive, env: options.env, startTimeoutMs: options.tuning?.startTimeoutMs?.ollama }),
      port: options.ports?.ollama,
      workers: options.workers?.ollama,
    }),
  };
  const inProcess: ServiceInfo[] = [
    inProcessInfo('embedded', { type: 'ready', url: IN_PROCESS_URL }),
    inProcessInfo(
      'apple-vision',
      process.platform === 'darwin' ? { type: 'ready', url: IN_PROCESS_URL } : { type: 'unavailable', reason: 'Apple Vision needs macOS' },
    ),
  ];
  const setupsRunning = new Map<string, Promise<SetupStage[]>>();

  const supervisorFor = (name: string): ServiceSupervisor | null => (name === 'deepseek' || name === 'ollama' ? supervisors[name] : null);
  const inProcessFor = (name: string): ServiceInfo | undefined => inProcess.find((info) => info.name === name);
  const unknown = (name: string): Error => new Error(`unknown service "${name}" (known: deepseek, ollama, embedded, apple-vision)`);

  // Never rejects: a failed first look leaves the services `stopped`, to be looked at again.
  const ready = (async () => {
    if (saved.type === 'unreadable') emitter.emit('notice', { name: 'deepseek', message: saved.problem });
    if (options.cleanupOrphans !== false) {
      const outcome = await pidFiles.cleanupOrphans().catch(() => null);
      for (const record of outcome?.stopped ?? []) {
        emitter.emit('notice', { name: record.service, message: `stopped a ${record.service} server (pid ${record.pid}) left behind by an earlier run` });
      }
    }
    await Promise.all(Object.values(supervisors).map((supervisor) => supervisor.refresh()));
  })().catch((error: unknown) => {
    emitter.emit('notice', { name: 'services', message: `could not look at the services: ${String(error)}` });
  });

  const list = (): ServiceInfo[] => [supervisors.deepseek.info(), supervisors.ollama.info(), ...inProcess];

  /** A new backend/model for deepseek: checked, saved, and a child we run restarted with it. */
  const chooseDeepSeek = async (requested: { backend?: DeepSeekBackend; model?: string }): Promise<void> => {
    const backend = requested.backend ?? choice.backend;
    // A relative folder would be read from the service's own folder: make it the caller's.
    const model = requested.model !== undefined && looksLikePath(requested.model) ? resolve(requested.model) : requested.model;
    const problem = modelProblem(backend, model);
    if (problem) throw new Error(problem);
    // The same backend keeps its model unless a new one is given; another backend starts without one.
    const keptModel = backend === choice.backend ? choice.model : undefined;
    const nextModel = model ?? keptModel;
    const next: DeepSeekBackendChoice = { backend, ...(nextModel ? { model: nextModel } : {}) };
    const supervisor = supervisors.deepseek;
    const info = supervisor.info();
    const changed = next.backend !== choice.backend || next.model !== choice.model;
    if (changed && info.state.type === 'external') {
      throw new Error(`the DeepSeek service at ${info.state.url} was not started by Parallel Vision, so it keeps its own backend: stop it where it was started to switch to ${backend}`);
    }
    await saveChoice(choiceFile, next);
    choice = { ...next, saved: true };
    if (changed && ['starting', 'ready', 'degraded', 'crashed'].includes(info.state.type)) {
      emitter.emit('notice', { name: 'deepseek', message: `restarting the DeepSeek service with the ${resolvedBackend()} backend` });
      await supervisor.stop();
    } else {
      // Stopped: the label and the install state follow the new backend now.
      await supervisor.refresh();
    }
  };

  const startWithOutcome = async (name: string, startOptions: StartOptions = {}): Promise<StartOutcome> => {
    const supervisor = supervisorFor(name);
    const { backend, model, ...rest } = startOptions;
    if ((backend !== undefined || model !== undefined) && name !== 'deepseek') throw new Error(`backend: only the deepseek service has backends, not ${name}`);
    if (!supervisor) {
      const info = inProcessFor(name);
      if (!info) throw unknown(name);
      return info.state.type === 'ready' ? { ok: true, info } : { ok: false, info, reason: info.state.type === 'unavailable' ? info.state.reason : info.state.type };
    }
    await ready;
    if (backend !== undefined || model !== undefined) await chooseDeepSeek({ ...(backend ? { backend } : {}), ...(model ? { model } : {}) });
    return supervisor.start(rest);
  };

  const setupDeepSeek = async (stage?: string): Promise<SetupStage[]> => {
    // The chosen backend's own venv, with its weights on a full setup (mlx, torch). A named
    // stage reruns the script up to that stage (the script skips what is already done).
    const backend = resolvedBackend();
    const downloadWeights = backend !== 'rapidocr' && (stage === 'weights' || stage === undefined);
    const onLines = (lines: string[]) => emitter.emit('log', { name: 'deepseek', lines });
    const systemPython = options.binaries?.systemPython ?? (await finder.findPython([3, 10]))?.path;
    if (!systemPython) {
      const board = new StageBoard('deepseek', (event) => emitter.emit('setup', event));
      board.update('venv', 'failed', null, 'no Python 3.10 or newer was found: install one with `brew install python@3.12` or from python.org, then retry');
      return board.list();
    }
    const stages = await runDeepSeekSetup({
      python: systemPython,
      script: join(options.deepseekDir, 'setup_venv.py'),
      venvDir: venvBase,
      backend,
      withModel: backend === 'torch',
      downloadWeights,
      ...(choice.model && backend === 'torch' ? { model: choice.model } : {}),
      env: options.env,
      onStage: (event) => emitter.emit('setup', event),
      onLines,
    });
    await supervisors.deepseek.refresh();
    return stages;
  };

  const setupOllama = async (stage?: string): Promise<SetupStage[]> => {
    // `pull` or `pull <model>`: the model to download.
    const model = stage?.replace(/^pull\s*/, '').trim() || options.ollamaModel || 'llava';
    const supervisor = supervisors.ollama;
    const outcome = await supervisor.start();
    if (!outcome.ok) {
      const board = new StageBoard('ollama', (event) => emitter.emit('setup', event));
      board.update(`pull ${model}`, 'failed', null, `Ollama is not running: ${outcome.reason}`);
      return board.list();
    }
    const url = outcome.info.state.type === 'ready' || outcome.info.state.type === 'external' || outcome.info.state.type === 'degraded' ? outcome.info.state.url : `http://127.0.0.1:${outcome.info.port}`;
    return runOllamaPull({ baseUrl: url, model, onStage: (event) => emitter.emit('setup', event), onLines: (lines) => emitter.emit('log', { name: 'ollama', lines }) });
  };

  const stopAll = async (): Promise<void> => {
    await Promise.all(Object.values(supervisors).map((supervisor) => supervisor.stop()));
  };

  return {
    ready,
    list,
    async refresh() {
      await ready;
      await Promise.all(Object.values(supervisors).map((supervisor) => supervisor.refresh()));
      return list();
    },
    startWithOutcome,
    async start(name, startOptions) {
      return (await startWithOutcome(name, startOptions)).info;
    },
    deepseekVenvs: () => ({ rapidocr: hasVenv('rapidocr'), mlx: hasVenv('mlx'), torch: hasVenv('torch') }),
    async stop(name) {
      const supervisor = supervisorFor(name);
      if (!supervisor) {
        const info = inProcessFor(name);
        if (!info) throw unknown(name);
        return info; // in-process engines have nothing to stop
      }
      await ready;
      return supervisor.stop();
    },
    logs(name, limit) {
      const supervisor = supervisorFor(name);
      if (!supervisor) {
        if (!inProcessFor(name)) throw unknown(name);
        return [];
      }
      return supervisor.logs(limit);
    },
    async setup(name, stage) {
      if (!supervisorFor(name)) {
        if (!inProcessFor(name)) throw unknown(name);
        return []; // nothing to set up
      }
      // One setup per service at a time: a second click joins the running one.
      const running = setupsRunning.get(name);
      if (running) return running;
      const task = (name === 'deepseek' ? setupDeepSeek(stage) : setupOllama(stage)).finally(() => setupsRunning.delete(name));
      setupsRunning.set(name, task);
      return task;
    },
    setWorkers(name, workers) {
      supervisorFor(name)?.setWorkers(workers);
    },
    url(name) {
      const info = supervisorFor(name)?.info() ?? inProcessFor(name);
      const state = info?.state;
      return state && (state.type === 'ready' || state.type === 'external' || state.type === 'degraded') ? state.url : null;
    },
    stopAll,
    on(event, listener) {
      return emitter.on(event, listener);
    },
    async dispose() {
      await ready;
      await Promise.all(Object.values(supervisors).map((supervisor) => supervisor.dispose()));
      emitter.removeAll();
    },
  };
}
