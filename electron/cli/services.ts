/**
 * `parallel-vision services status|start|stop|setup [NAME]`, on top of the service manager.
 * `start` runs in the foreground (like `ollama serve`): Ctrl-C stops what it started.
 */
import { join } from 'node:path';
import { DEEPSEEK_SERVICE_BACKENDS, DeepSeekServiceBackend } from '../../shared/deepseek-routes.js';
import type { ServiceInfo } from '../../shared/domain.js';
import { defaultDataDir } from '../core/paths.js';
import { DEFAULT_DEEPSEEK_DIR } from './backend.js';
import { createServiceManager, type ServiceManagerOptions, type StartOptions } from '../core/services/manager.js';
import { PidFiles, type PidRecord } from '../core/services/pid-files.js';
import { servicePortsFromEnv } from '../core/services/ports.js';
import { stopGroup } from '../core/services/process-group.js';

export interface ServicesCommandIo {
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  env?: NodeJS.ProcessEnv;
  /** Ends a foreground `start` (the CLI uses SIGINT/SIGTERM). */
  signal?: AbortSignal;
}

const USAGE = `usage: parallel-vision services <command> [NAME] [options]
  status [NAME]            state, port, pid and memory of each service
  start NAME [--port N]    start deepseek or ollama in the foreground; Ctrl-C stops it
                           deepseek --backend B [--model PATH]: run it with that backend from now on (saved)
  stop NAME                stop a server started by Parallel Vision (never an adopted one)
  setup NAME [STAGE]       first-run setup (deepseek: the backend's own venv, its packages, weights; ollama: pull [MODEL])
options: --data-dir DIR, --backend mlx|torch|rapidocr|deepseek, --model PATH, --json
environment: PARALLEL_VISION_DEEPSEEK_PORT, PARALLEL_VISION_OLLAMA_PORT (the ports to use instead of 8001, 11434)`;


interface ParsedArgs {
  command: string | undefined;
  positional: string[];
  flags: Map<string, string | true>;
}

export function parseServicesArgs(args: readonly string[]): ParsedArgs {
  const rest = args[0] === 'services' ? args.slice(1) : [...args];
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < rest.length; i += 1) {
    const arg = rest[i] as string;
    if (arg.startsWith('--')) {
      const [key, inline] = arg.slice(2).split('=', 2) as [string, string | undefined];
      const next = rest[i + 1];
      if (inline !== undefined) flags.set(key, inline);
      else if (key !== 'json' && next !== undefined && !next.startsWith('--')) {
        flags.set(key, next);
        i += 1;
      } else flags.set(key, true);
    } else positional.push(arg);
  }
  return { command: positional[0], positional: positional.slice(1), flags };
}

function describeState(info: ServiceInfo): string {
  const state = info.state;
  switch (state.type) {
    case 'not-installed':
      return state.hint;
    case 'unavailable':
    case 'crashed':
      return state.reason;
    case 'starting':
      return `waiting for ${state.waitingFor}`;
    case 'ready':
    case 'external':
      return state.url;
    case 'degraded':
      return `${state.url}: ${state.reason}`;
    default:
      return '';
  }
}

/** The live pid-file record of the process this service answers from, when another Parallel Vision process started it. */
function startedByUs(info: ServiceInfo, recorded: readonly PidRecord[]): PidRecord | undefined {
  return info.state.type === 'external' ? recorded.find((record) => record.service === info.name && (record.port === null || record.port === info.port)) : undefined;
}

/**
 * One row per service. `recorded`: live pid-file records. A server another Parallel Vision
 * process started (the app, `api`, `services start`) answers this one as `external`;
 * the table calls it ready and names its pid rather than calling it someone else's.
 */
export function formatStatusTable(services: ServiceInfo[], recorded: readonly PidRecord[] = []): string {
  const rows = services.map((info) => {
    const ours = startedByUs(info, recorded);
    return [
      info.name,
      ours ? 'ready' : info.state.type,
      info.port === null ? '-' : String(info.port),
      ours ? String(ours.pid) : info.state.type === 'ready' && info.state.pid ? String(info.state.pid) : '-',
      info.rssMb === null ? '-' : `${info.rssMb} MB`,
      ours ? `${describeState(info)} (started by another Parallel Vision process)` : describeState(info),
    ];
  });
  const header = ['NAME', 'STATE', 'PORT', 'PID', 'MEMORY', 'DETAIL'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] as string).length)));
  return [header, ...rows].map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] as number))).join('  ')).join('\n');
}

function backendFlag(flags: Map<string, string | true>): DeepSeekServiceBackend | undefined {
  const value = flags.get('backend');
  if (value === undefined) return undefined;
  const parsed = DeepSeekServiceBackend.safeParse(value);
  if (!parsed.success) throw new Error(`--backend must be one of ${DEEPSEEK_SERVICE_BACKENDS.join(', ')}, got ${value === true ? 'nothing' : value}`);
  return parsed.data;
}

function managerOptions(flags: Map<string, string | true>, env: NodeJS.ProcessEnv): ServiceManagerOptions {
  const text = (key: string): string | undefined => {
    const value = flags.get(key);
    return typeof value === 'string' ? value : undefined;
  };
  const backend = backendFlag(flags);
  return {
    dataDir: text('data-dir') ?? defaultDataDir({ env }),
    deepseekDir: env.PARALLEL_VISION_DEEPSEEK_DIR ?? DEFAULT_DEEPSEEK_DIR,
    binaries: {
      ...(env.PARALLEL_VISION_DEEPSEEK_PYTHON ? { deepseekPython: env.PARALLEL_VISION_DEEPSEEK_PYTHON } : {}),
      ...(env.PARALLEL_VISION_OLLAMA_BIN ? { ollama: env.PARALLEL_VISION_OLLAMA_BIN } : {}),
    },
    ...(backend ? { deepseekBackend: backend } : {}),
    ...(text('model') ? { deepseekModel: text('model') } : {}),
    ports: servicePortsFromEnv(env),
    cleanupOrphans: false,
  };
}

export async function runServicesCommand(args: string[], io: ServicesCommandIo = {}): Promise<number> {
  const out = io.stdout ?? ((text: string) => process.stdout.write(text));
  const err = io.stderr ?? ((text: string) => process.stderr.write(text));
  const env = io.env ?? process.env;
  const { command, positional, flags } = parseServicesArgs(args);
  const name = positional[0];
  if (!command || command === 'help' || flags.has('help')) {
    out(`${USAGE}\n`);
    return command || flags.has('help') ? 0 : 2;
  }
  let options: ServiceManagerOptions;
  try {
    options = managerOptions(flags, env);
  } catch (error) {
    err(`${(error as Error).message}\n`);
    return 2;
  }
  const portFlag = flags.get('port');
  const port = typeof portFlag === 'string' ? Number(portFlag) : undefined;
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65_536)) {
    err(`--port must be a port number, got ${String(portFlag)}\n`);
    return 2;
  }
  if (port !== undefined && (name === 'deepseek' || name === 'ollama')) options.ports = { ...options.ports, [name]: port };
  if (command !== 'status' && !name) {
    err(`${command} needs a service name (deepseek, ollama)\n${USAGE}\n`);
    return 2;
  }

  if (command === 'stop') return stopRecorded(name as string, options, out, err);

  const manager = createServiceManager(options);
  try {
    await manager.ready;
    switch (command) {
      case 'status': {
        const services = (await manager.refresh()).filter((info) => !name || info.name === name);
        if (name && services.length === 0) {
          err(`unknown service "${name}"\n`);
          return 2;
        }
        const pidFiles = new PidFiles(join(options.dataDir, 'services'));
        const recorded = [];
        for (const record of await pidFiles.readAll()) if ((!name || record.service === name) && (await pidFiles.isLive(record))) recorded.push(record);
        out(flags.has('json') ? `${JSON.stringify(services, null, 2)}\n` : `${formatStatusTable(services, recorded)}\n`);
        // Records the table could not place (the server answers on no port looked at): still worth knowing, and `stop` ends them.
        for (const record of recorded) if (flags.has('json') || !services.some((info) => startedByUs(info, [record]))) out(`${record.service}: pid ${record.pid} on port ${record.port ?? '?'} was started by Parallel Vision\n`);
        return 0;
      }
      case 'start':
        return await startForeground(manager, name as string, { ...(port === undefined ? {} : { port }), ...(options.deepseekBackend ? { backend: options.deepseekBackend } : {}), ...(options.deepseekModel ? { model: options.deepseekModel } : {}) }, out, err, io.signal);
      case 'setup': {
        const unsubscribe = manager.on('setup', (stage) => {
          const percent = stage.progress === null || stage.message.includes('%') ? '' : ` ${Math.round(stage.progress * 100)}%`;
          out(`${stage.service} ${stage.stage}: ${stage.status}${percent} ${stage.message}\n`);
        });
        const logs = manager.on('log', ({ lines }) => err(lines.map((line) => `  ${line}\n`).join('')));
        const stages = await manager.setup(name as string, positional[1]);
        unsubscribe();
        logs();
        return stages.some((stage) => stage.status === 'failed') ? 1 : 0;
      }
      default:
        err(`unknown command "${command}"\n${USAGE}\n`);
        return 2;
    }
  } catch (error) {
    err(`${(error as Error).message}\n`);
    return 1;
  } finally {
    await manager.dispose();
  }
}

async function startForeground(
  manager: ReturnType<typeof createServiceManager>,
  name: string,
  startOptions: StartOptions,
  out: (text: string) => void,
  err: (text: string) => void,
  signal: AbortSignal | undefined,
): Promise<number> {
  const logs = manager.on('log', ({ name: from, lines }) => {
    if (from === name) err(lines.map((line) => `${line}\n`).join(''));
  });
  // A --backend given here is saved: the app and the next start use it too.
  const outcome = await manager.startWithOutcome(name, startOptions);
  if (!outcome.ok) {
    logs();
    err(`${name}: ${outcome.reason}\n`);
    if (outcome.suggestedPort) err(`try: parallel-vision services start ${name} --port ${outcome.suggestedPort}\n`);
    return 1;
  }
  const state = outcome.info.state;
  if (state.type === 'external') {
    logs();
    out(`${name} is already running at ${state.url} (not started by Parallel Vision; left alone)\n`);
    return 0;
  }
  const backend = outcome.info.backend ? ` (${outcome.info.backend.backend} backend)` : '';
  out(`${name}${backend} ready at ${manager.url(name)}${state.type === 'ready' && state.pid ? ` (pid ${state.pid})` : ''}; Ctrl-C stops it\n`);
  const stopSignal = signal ?? processSignal();
  // The child and the supervisor's timers are unref'd so that the app can always quit; here
  // this command is what keeps the process alive, through the supervisor's restarts, until Ctrl-C.
  const keepAlive = setInterval(() => undefined, 60_000);
  let restarting = false;
  let gaveUp: string | null = null;
  await new Promise<void>((resolve) => {
    const states = manager.on('state', (info) => {
      if (info.name !== name) return;
      if (info.state.type === 'starting') restarting = true;
      else if (info.state.type === 'ready' && restarting) {
        restarting = false;
        out(`${name} ready again at ${manager.url(name)}${info.state.pid ? ` (pid ${info.state.pid})` : ''}\n`);
      } else if (info.state.type === 'crashed') {
        gaveUp = info.state.reason;
        states();
        resolve();
      }
    });
    if (stopSignal.aborted) resolve();
    stopSignal.addEventListener('abort', () => resolve(), { once: true });
  });
  clearInterval(keepAlive);
  logs();
  if (gaveUp !== null) {
    err(`${name}: ${gaveUp}\n`);
    await manager.stop(name);
    return 1;
  }
  await manager.stop(name);
  out(`${name} stopped\n`);
  return 0;
}

function processSignal(): AbortSignal {
  const controller = new AbortController();
  const abort = () => controller.abort();
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  return controller.signal;
}

async function stopRecorded(name: string, options: ServiceManagerOptions, out: (text: string) => void, err: (text: string) => void): Promise<number> {
  if (name !== 'deepseek' && name !== 'ollama') {
    err(name === 'embedded' || name === 'apple-vision' ? `${name} runs inside the app: nothing to stop\n` : `unknown service "${name}"\n`);
    return name === 'embedded' || name === 'apple-vision' ? 0 : 2;
  }
  const pidFiles = new PidFiles(join(options.dataDir, 'services'));
  const record = await pidFiles.read(name);
  if (record && (await pidFiles.isLive(record))) {
    const owner = await pidFiles.liveOwner(record);
    if (owner !== null) {
      // Its supervisor would take the end for a crash and start it again.
      err(`${name} (pid ${record.pid}) is run by another Parallel Vision process (pid ${owner}), which would start it again: stop it there (the app's Services screen, or Ctrl-C where \`parallel-vision services start ${name}\` runs)\n`);
      return 1;
    }
    const how = await stopGroup(record.pid, { graceMs: 5000 });
    await pidFiles.remove(name);
    out(`${name} (pid ${record.pid}) ${how === 'killed' ? 'killed after the grace period' : 'stopped'}\n`);
    return 0;
  }
  if (record) await pidFiles.remove(name);
  const manager = createServiceManager(options);
  try {
    const info = (await manager.refresh()).find((service) => service.name === name);
    if (info?.state.type === 'external') {
      err(`${name} at ${info.state.url} was not started by Parallel Vision: stop it where it was started\n`);
      return 1;
    }
    out(`${name} is not running\n`);
    return 0;
  } finally {
    await manager.dispose();
  }
}
