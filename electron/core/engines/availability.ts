/**
 * Which engines this machine can run, as states with reasons (never a crash), and which
 * in-process lane a new user gets: Apple Vision on a Mac that can load it, PaddleOCR
 * (`embedded`) everywhere else. The services/engines list and the CLI's `--engines` show this.
 */
import type { EngineInfo } from '../../../shared/api.js';
import { ENGINE_KINDS, ENGINE_LABELS, type EngineKind } from '../../../shared/domain.js';
import { loadAppleVisionModule, loadDefaultAppleVisionModule, type AppleVisionModuleState } from './apple-vision.js';
import type { EngineAvailability } from './types.js';
import { safeMaximum } from './concurrency.js';

export type InProcessEngine = 'apple-vision' | 'embedded';

/** The contract's `EngineInfo` (isDefault: the in-process lane a new user gets here), plus where it runs. */
export interface EngineAvailabilityEntry extends EngineInfo {
  availability: EngineAvailability;
  /** Runs inside the app (nothing to install or start); the others talk to a server. */
  inProcess: boolean;
}

const IN_PROCESS: ReadonlySet<EngineKind> = new Set<EngineKind>(['embedded', 'apple-vision']);

function errorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const firstLine = message.split('\n')[0] ?? message;
  return firstLine.length > 300 ? `${firstLine.slice(0, 300)}…` : firstLine;
}

/** Runs `load` and turns a throw into `unavailable` with `describe(message)` as the reason. */
export async function probeAvailability(load: () => Promise<unknown>, describe: (message: string) => string): Promise<EngineAvailability> {
  try {
    await load();
    return { type: 'available' };
  } catch (error) {
    return { type: 'unavailable', reason: describe(errorText(error)) };
  }
}

/** Apple Vision where it loads (macOS), else PaddleOCR, which runs on any OS. */
export function defaultEmbeddedEngine(platform: NodeJS.Platform, appleVision: EngineAvailability): InProcessEngine {
  return platform === 'darwin' && appleVision.type === 'available' ? 'apple-vision' : 'embedded';
}

export interface AvailabilityProbes {
  appleVision?: (platform: NodeJS.Platform) => Promise<AppleVisionModuleState>;
  paddle?: () => Promise<EngineAvailability>;
  /** Overrides the engine's safe maximum here (concurrency.ts), which a new "auto" lane gets as its workers. */
  defaultWorkers?: (engine: EngineKind) => number;
}

let paddleProbe: Promise<EngineAvailability> | undefined;

/** Whether PaddleOCR's runtime (onnxruntime via @gutenye/ocr-node) loads here; checked once per process. */
function probePaddle(): Promise<EngineAvailability> {
  paddleProbe ??= probeAvailability(
    () => import('@gutenye/ocr-node'),
    (message) => `PaddleOCR (@gutenye/ocr-node / onnxruntime) could not load: ${message}`,
  );
  return paddleProbe;
}

function probeAppleVision(platform: NodeJS.Platform): Promise<AppleVisionModuleState> {
  // The real module is loaded once per process; other platforms are answered without importing.
  return platform === process.platform ? loadDefaultAppleVisionModule() : loadAppleVisionModule(platform);
}

/**
 * Every engine kind with its availability on `platform`. Server engines (DeepSeek, Ollama,
 * OpenAI-compatible) are available as engines; whether their server runs is a service state.
 */
export async function listEngineAvailability(platform: NodeJS.Platform = process.platform, probes: AvailabilityProbes = {}): Promise<EngineAvailabilityEntry[]> {
  const [appleState, paddle] = await Promise.all([(probes.appleVision ?? probeAppleVision)(platform), (probes.paddle ?? probePaddle)()]);
  const appleVision: EngineAvailability = appleState.type === 'available' ? { type: 'available' } : appleState;
  const defaultLane = defaultEmbeddedEngine(platform, appleVision);
  const availabilityOf = (engine: EngineKind): EngineAvailability => {
    if (engine === 'apple-vision') return appleVision;
    if (engine === 'embedded') return paddle;
    return { type: 'available' };
  };
  return ENGINE_KINDS.map((engine) => ({
    engine,
    label: ENGINE_LABELS[engine],
    availability: availabilityOf(engine),
    isDefault: engine === defaultLane,
    defaultWorkers: probes.defaultWorkers ? probes.defaultWorkers(engine) : safeMaximum({ engine }),
    inProcess: IN_PROCESS.has(engine),
  }));
}

/** A plain-text table for the CLI (`--engines`): one engine per line, the reason when unavailable. */
export function formatEngineAvailability(entries: readonly EngineAvailabilityEntry[]): string {
  const width = Math.max(...entries.map((entry) => entry.engine.length), 'engine'.length);
  const lines = entries.map((entry) => {
    const status = entry.availability.type === 'available' ? 'available' : 'unavailable';
    const marks = [entry.inProcess ? 'in-process' : 'server', entry.isDefault ? 'default' : ''].filter(Boolean).join(', ');
    const reason = entry.availability.type === 'unavailable' ? ` — ${entry.availability.reason}` : '';
    return `${entry.engine.padEnd(width)}  ${status.padEnd(11)}  ${entry.label} (${marks}, workers: ${entry.defaultWorkers})${reason}`;
  });
  return [`${'engine'.padEnd(width)}  ${'status'.padEnd(11)}  notes`, ...lines].join('\n');
}
