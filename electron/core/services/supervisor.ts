/**
 * One supervised model server — the state machine: adopt a healthy one already on the port,
 * or start a child in its own process group, wait for readiness, watch its health and memory,
 * restart it with backoff when it crashes (with fewer workers when it ran out of memory, on
 * evidence: see memory.ts), and stop it. Every change is a `state` event carrying a
 * `ServiceInfo`; its log is a LogChannel (log-channel.ts).
 */
import type { EngineKind, ServiceInfo, ServiceState } from '../../../shared/domain.js';
import { RestartBudget, type BackoffOptions } from './backoff.js';
import { TypedEmitter, type ServiceEvents } from './events.js';
import { probeHealth, type HealthCheck, type HealthProbe } from './health.js';
import { LogChannel } from './log-channel.js';
import { outOfMemoryEvidence, systemKernelOomReports, type KernelOomBaseline, type KernelOomReports, type MemoryPressure } from './memory.js';
import type { PidFiles } from './pid-files.js';
import { describeHolder, findFreePort, isPortFree, whoHoldsPort } from './ports.js';
import { residentMemoryMb } from './proc-info.js';
import { spawnGroup, stopGroup, type ChildExit, type GroupChild } from './process-group.js';
import { ReadinessError, describeWait, waitForReady } from './readiness.js';

interface LaunchPlan {
  file: string;
  args: string[];
  /** The child's whole environment (nothing is inherited implicitly). */
  env: NodeJS.ProcessEnv;
  cwd?: string;
}

type PlanResult = { type: 'plan'; plan: LaunchPlan } | Extract<ServiceState, { type: 'not-installed' }>;

/** What makes a service itself: how to launch it and how to know it is the right, healthy server. */
export interface ServiceSpec {
  name: string;
  label: string;
  engine: EngineKind;
  defaultPort: number;
  readyLine: RegExp;
  /** A line that means the start failed for good: no waiting for the timeout, no restart. */
  errorLine?: RegExp;
  healthPath: string;
  isHealthy: HealthCheck;
  startTimeoutMs: number;
  plan(context: { port: number; workers: number }): Promise<PlanResult>;
  /** More of what `info()` says (deepseek: the backend it starts with). */
  extraInfo?(): Pick<ServiceInfo, 'backend'>;
}


export interface SupervisorOptions {
  spec: ServiceSpec;
  pidFiles: PidFiles;
  emitter?: TypedEmitter<ServiceEvents>;
  port?: number;
  workers?: number;
  host?: string;
  healthIntervalMs?: number;
  rssIntervalMs?: number;
  /** Failed health checks in a row before `ready` becomes `degraded`. */
  unhealthyAfter?: number;
  stopGraceMs?: number;
  backoff?: BackoffOptions;
  logCapacity?: number;
  /** Polled while a child runs; `critical` restarts it with fewer workers. */
  memoryPressure?: () => Promise<MemoryPressure | null>;
  memoryPressureIntervalMs?: number;
  /** The kernel's OOM reports (Linux); null: none. Default: what this system offers. */
  kernelOom?: KernelOomReports | null;
  now?: () => number;
}

export type StartOutcome =
  | { ok: true; info: ServiceInfo }
  | { ok: false; info: ServiceInfo; reason: string; suggestedPort?: number };

interface RunningChild {
  child: GroupChild;
  port: number;
  generation: number;
  /** The kernel's OOM count when it started, to tell a later OOM kill. */
  oomBaseline: KernelOomBaseline | null;
}

const SETTLED: ReadonlySet<ServiceState['type']> = new Set(['ready', 'external', 'crashed', 'stopped', 'not-installed', 'unavailable', 'degraded']);

export class ServiceSupervisor {
  readonly spec: ServiceSpec;
  readonly emitter: TypedEmitter<ServiceEvents>;
  private readonly options: SupervisorOptions;
  private readonly now: () => number;
  private readonly log: LogChannel;
  private readonly kernelOom: KernelOomReports | null;
  private readonly budget: RestartBudget;
  private state: ServiceState = { type: 'stopped' };
  private changedAt: number;
  private port: number;
  private workers: number;
  private rssMb: number | null = null;
  private running: RunningChild | null = null;
  /** Bumped by every deliberate start/stop, so callbacks of an older child are ignored. */
  private generation = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private failedChecks = 0;
  private lastRssAt = 0;
  private lastPressureAt = 0;
  private settleWaiters: Array<(info: ServiceInfo) => void> = [];
  private startQueue: Promise<unknown> = Promise.resolve();
  private disposed = false;

  constructor(options: SupervisorOptions) {
    this.options = options;
    this.spec = options.spec;
    this.emitter = options.emitter ?? new TypedEmitter<ServiceEvents>();
    this.now = options.now ?? Date.now;
    this.changedAt = this.now();
    this.port = options.port ?? options.spec.defaultPort;
    this.workers = options.workers ?? 1;
    this.log = new LogChannel((lines) => this.emitter.emit('log', { name: this.spec.name, lines }), options.logCapacity ?? 2000);
    this.kernelOom = options.kernelOom === undefined ? systemKernelOomReports() : options.kernelOom;
    this.budget = new RestartBudget(options.backoff);
  }

  private get host(): string {
    return this.options.host ?? '127.0.0.1';
  }

  private urlFor(port: number): string {
    return `http://${this.host}:${port}`;
  }

  info(): ServiceInfo {
    return {
      name: this.spec.name,
      label: this.spec.label,
      engine: this.spec.engine,
      state: this.state,
      port: this.port,
      rssMb: this.rssMb === null ? null : Math.round(this.rssMb),
      managed: true,
      changedAt: this.changedAt,
      ...this.spec.extraInfo?.(),
    };
  }

  get currentWorkers(): number {
    return this.workers;
  }

  get pid(): number | null {
    return this.running?.child.pid ?? null;
  }

  logs(limit?: number): string[] {
    return this.log.tail(limit);
  }

  /** Lanes changed: used by the next start (OLLAMA_NUM_PARALLEL etc.). */
  setWorkers(workers: number): void {
    this.workers = Math.max(1, Math.floor(workers));
  }

  private setState(state: ServiceState): void {
    this.state = state;
    this.changedAt = this.now();
    if (state.type !== 'ready' && state.type !== 'degraded' && state.type !== 'starting' && state.type !== 'stopping') this.rssMb = null;
    const info = this.info();
    this.emitter.emit('state', info);
    if (SETTLED.has(state.type)) {
      const waiters = this.settleWaiters;
      this.settleWaiters = [];
      for (const resolve of waiters) resolve(info);
    }
  }

  private nextSettled(): Promise<ServiceInfo> {
    return new Promise((resolve) => this.settleWaiters.push(resolve));
  }

  private note(message: string): void {
    this.log.note(message);
  }

  private probe(port: number): Promise<HealthProbe> {
    return probeHealth(`${this.urlFor(port)}${this.spec.healthPath}`, this.spec.isHealthy);
  }

  /**
   * While idle, look again: a healthy server of the right kind on the port is adopted
   * (`external`); a missing binary is `not-installed`.
   */
  async refresh(): Promise<ServiceInfo> {
    const idle = ['stopped', 'not-installed', 'unavailable', 'crashed'].includes(this.state.type);
    if (!idle || this.running || this.restartTimer) return this.info();
    const generation = this.generation;
    const probe = await this.probe(this.port);
    if (generation !== this.generation) return this.info();
    if (probe.healthy) {
      this.adopt(this.port);
      return this.info();
    }
    const planned = await this.spec.plan({ port: this.port, workers: this.workers });
    if (generation !== this.generation) return this.info();
    if (planned.type === 'not-installed') this.setState(planned);
    else if (this.state.type === 'not-installed') this.setState({ type: 'stopped' });
    return this.info();
  }

  private adopt(port: number): void {
    this.port = port;
    this.failedChecks = 0;
    this.note(`adopted the ${this.spec.label} server already answering on port ${port}; it will not be stopped on quit`);
    this.setState({ type: 'external', url: this.urlFor(port) });
    this.scheduleWatch();
  }

  /** Starts are serialised: two clicks on Start never spawn two children. */
  start(options: { port?: number } = {}): Promise<StartOutcome> {
    const run = () => this.startNow(options);
    const next = this.startQueue.then(run, run);
    this.startQueue = next.catch(() => undefined);
    return next;
  }

  private async startNow(options: { port?: number }): Promise<StartOutcome> {
    if (this.disposed) throw new Error(`${this.spec.name}: supervisor disposed`);
    if (options.port !== undefined && options.port !== this.port) {
      if (this.running || this.state.type === 'external') await this.stop();
      this.port = options.port;
    }
    const current = this.state.type;
    if (current === 'ready' || current === 'external' || current === 'degraded') return { ok: true, info: this.info() };
    if (current === 'starting') return this.outcome(await this.nextSettled());
    if (current === 'stopping') {
      await this.nextSettled();
      return this.startNow(options);
    }
    const generation = ++this.generation;
    this.budget.reset();
    const port = this.port;
    const probe = await this.probe(port);
    if (generation !== this.generation) return { ok: false, info: this.info(), reason: `${this.spec.label} was stopped while starting` };
    if (probe.healthy) {
      this.adopt(port);
      return { ok: true, info: this.info() };
    }
    if (!(await isPortFree(port, this.host))) {
      const holder = await whoHoldsPort(port);
      const suggestedPort = await findFreePort(port + 1, { host: this.host }).catch(() => undefined);
      const kind = probe.answered ? ` (it answers HTTP, but not as ${this.spec.label})` : '';
      const reason = `${describeHolder(port, holder)}${kind}${suggestedPort ? `; port ${suggestedPort} is free` : ''}`;
      this.note(reason);
      this.setState({ type: 'unavailable', reason });
      return { ok: false, info: this.info(), reason, ...(suggestedPort ? { suggestedPort } : {}) };
    }
    if (generation !== this.generation) return { ok: false, info: this.info(), reason: `${this.spec.label} was stopped while starting` };
    const settled = this.nextSettled();
    this.launchSafely(port, generation);
    return this.outcome(await settled);
  }

  private outcome(info: ServiceInfo): StartOutcome {
    const state = info.state;
    switch (state.type) {
      case 'ready':
      case 'external':
      case 'degraded':
        return { ok: true, info };
      case 'crashed':
      case 'unavailable':
        return { ok: false, info, reason: state.reason };
      case 'not-installed':
        return { ok: false, info, reason: state.hint };
      default:
        return { ok: false, info, reason: `${this.spec.label} is ${state.type}` };
    }
  }

  /** A launch that throws (planning the start, the pid file, …) ends `crashed` with the reason: start() never waits forever. */
  private launchSafely(port: number, generation: number): void {
    this.launch(port, generation).catch((error: unknown) => {
      if (generation !== this.generation) return;
      const reason = `${this.spec.label} could not be started: ${error instanceof Error ? error.message : String(error)}`;
      this.note(reason);
      this.setState({ type: 'crashed', reason, restarts: this.budget.restarts, lastLog: this.log.tail(50) });
    });
  }

  private async launch(port: number, generation: number): Promise<void> {
    this.restartTimer = undefined;
    const planned = await this.spec.plan({ port, workers: this.workers });
    if (generation !== this.generation) return;
    if (planned.type === 'not-installed') {
      this.setState(planned);
      return;
    }
    const { plan } = planned;
    const url = this.urlFor(port);
    const oomBaseline = this.kernelOom ? await this.kernelOom.baseline().catch(() => null) : null;
    if (generation !== this.generation) return;
    const lineListeners = new Set<(lines: string[]) => void>();
    this.note(`starting ${plan.file} ${plan.args.join(' ')} (port ${port}, ${this.workers} worker${this.workers === 1 ? '' : 's'})`);
    const child = spawnGroup({
      file: plan.file,
      args: plan.args,
      env: plan.env,
      cwd: plan.cwd,
      onLines: (lines) => {
        this.log.push(lines);
        for (const listener of lineListeners) listener(lines);
      },
    });
    if (!('pid' in child)) {
      this.note(child.spawnError);
      this.setState({ type: 'crashed', reason: child.spawnError, restarts: 0, lastLog: this.log.tail(50) });
      return;
    }
    const running: RunningChild = { child, port, generation, oomBaseline };
    this.running = running;
    this.rssMb = null;
    this.setState({ type: 'starting', since: this.now(), waitingFor: describeWait(this.spec.readyLine, `${url}${this.spec.healthPath}`) });
    void child.exited.then((exit) => this.onExit(running, exit)).catch((error: unknown) => this.note(`handling the exit failed: ${String(error)}`));
    // Recorded while the readiness wait listens: a line the child prints meanwhile (its READY, or an ERROR) is not missed.
    const recorded = this.options.pidFiles.record(this.spec.name, child.pid, { port }).catch((error: unknown) => this.note(`could not write the pid file: ${String(error)}`));
    try {
      await waitForReady({
        service: this.spec.label,
        url: `${url}${this.spec.healthPath}`,
        readyLine: this.spec.readyLine,
        errorLine: this.spec.errorLine,
        subscribe: (listener) => {
          lineListeners.add(listener);
          return () => lineListeners.delete(listener);
        },
        probe: () => this.probe(port),
        exited: child.exited,
        timeoutMs: this.spec.startTimeoutMs,
      });
    } catch (error) {
      await recorded;
      const givesUp = error instanceof ReadinessError && (error.reason === 'timeout' || error.reason === 'failed');
      if (!givesUp || this.running !== running) return; // exits are handled by onExit
      this.note(error.message);
      this.running = null;
      this.generation += 1;
      await this.stopChild(running);
      this.setState({ type: 'crashed', reason: error.message, restarts: this.budget.restarts, lastLog: this.log.tail(50) });
      return;
    }
    await recorded;
    if (this.running !== running) return;
    this.budget.markReady(this.now());
    this.failedChecks = 0;
    this.setState({ type: 'ready', url, pid: child.pid });
    void this.sampleRss(true);
    this.scheduleWatch();
  }

  private describeExit(exit: ChildExit): string {
    if (exit.spawnError) return `could not be started (${exit.spawnError})`;
    return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  }

  /** Why the exit counts as out of memory (its log, the kernel's report, macOS memory pressure), or null. */
  private async memoryEvidence(running: RunningChild, exit: ChildExit): Promise<string | null> {
    const killed = exit.signal === 'SIGKILL';
    const [pressure, kernelReport] = await Promise.all([
      killed && this.options.memoryPressure ? this.options.memoryPressure().catch(() => null) : Promise.resolve(null),
      killed && this.kernelOom && running.oomBaseline ? this.kernelOom.killedForMemory(running.child.pid, running.oomBaseline).catch(() => null) : Promise.resolve(null),
    ]);
    return outOfMemoryEvidence({ exit, logTail: this.log.tail(), pressure, kernelReport });
  }

  private lowerWorkers(reason: string): boolean {
    if (this.workers <= 1) return false;
    this.workers = Math.max(1, Math.floor(this.workers / 2));
    const message = `${this.spec.label} ${reason}: restarting it with ${this.workers} worker${this.workers === 1 ? '' : 's'}; lanes on it now use ${this.workers}`;
    this.note(message);
    this.emitter.emit('workers', { name: this.spec.name, workers: this.workers, reason });
    this.emitter.emit('notice', { name: this.spec.name, message });
    return true;
  }

  private async onExit(running: RunningChild, exit: ChildExit): Promise<void> {
    if (this.running !== running) return; // a deliberate stop, or an older child
    this.running = null;
    this.clearWatch();
    void this.options.pidFiles.remove(this.spec.name).catch(() => undefined);
    const how = this.describeExit(exit);
    this.note(`${this.spec.label} ${how}`);
    const generation = this.generation;
    const evidence = await this.memoryEvidence(running, exit);
    if (generation !== this.generation) return; // stopped or started again meanwhile
    if (evidence) {
      this.note(`out of memory: ${evidence}`);
      this.lowerWorkers('ran out of memory');
    } else if (exit.signal === 'SIGKILL') {
      // Someone's kill -9 (no log line, no kernel report, no memory pressure): same workers.
      this.note(`no sign of running out of memory: restarting with the same ${this.workers} worker${this.workers === 1 ? '' : 's'}`);
    }
    const decision = this.budget.onCrash(this.now());
    if (decision.type === 'give-up') {
      this.setState({
        type: 'crashed',
        reason: `${this.spec.label} ${how}; gave up after ${decision.attempts} restarts in a row`,
        restarts: decision.attempts,
        lastLog: this.log.tail(50),
      });
      return;
    }
    const waitingFor = `restart ${decision.attempt} of ${this.budget.maxInARow} in ${(decision.delayMs / 1000).toFixed(1)} s (it ${how})`;
    this.note(waitingFor);
    this.setState({ type: 'starting', since: this.now(), waitingFor });
    this.restartTimer = setTimeout(() => {
      if (generation === this.generation) this.launchSafely(running.port, generation);
    }, decision.delayMs);
  }

  private clearWatch(): void {
    clearTimeout(this.watchTimer);
    this.watchTimer = undefined;
  }

  private scheduleWatch(): void {
    this.clearWatch();
    const timer = setTimeout(() => void this.watchTick(), this.options.healthIntervalMs ?? 2000);
    timer.unref();
    this.watchTimer = timer;
  }

  private async sampleRss(force = false): Promise<void> {
    const running = this.running;
    if (!running) return;
    const interval = this.options.rssIntervalMs ?? 5000;
    if (!force && this.now() - this.lastRssAt < interval) return;
    this.lastRssAt = this.now();
    const rss = await residentMemoryMb(running.child.pid);
    if (this.running !== running || rss === null) return;
    const previous = this.rssMb;
    this.rssMb = rss;
    // Memory is part of the state events, but not every wobble is news.
    if (previous === null || Math.abs(previous - rss) >= 2) this.emitter.emit('state', this.info());
  }

  private async checkMemoryPressure(): Promise<void> {
    const read = this.options.memoryPressure;
    const running = this.running;
    if (!read || !running || this.workers <= 1) return;
    if (this.now() - this.lastPressureAt < (this.options.memoryPressureIntervalMs ?? 30_000)) return;
    this.lastPressureAt = this.now();
    if ((await read()) !== 'critical' || this.running !== running) return;
    if (this.lowerWorkers('was running while the Mac is under critical memory pressure')) await this.restart();
  }

  /** Stop and start again with the current settings (workers, port). */
  async restart(): Promise<StartOutcome> {
    if (this.state.type === 'external') return { ok: true, info: this.info() };
    await this.stop();
    return this.start();
  }

  private async watchTick(): Promise<void> {
    this.watchTimer = undefined;
    const generation = this.generation;
    const state = this.state;
    if (state.type !== 'ready' && state.type !== 'degraded' && state.type !== 'external') return;
    const port = this.port;
    const probe = await this.probe(port);
    if (generation !== this.generation || this.state !== state) return;
    if (probe.healthy) {
      this.failedChecks = 0;
      if (state.type === 'degraded') this.setState({ type: 'ready', url: state.url, pid: this.running?.child.pid });
    } else {
      this.failedChecks += 1;
      if (this.failedChecks >= (this.options.unhealthyAfter ?? 2)) {
        if (state.type === 'external') {
          this.note(`the adopted ${this.spec.label} server on port ${port} went away (${probe.detail})`);
          this.setState({ type: 'stopped' });
          return;
        }
        if (state.type === 'ready') this.setState({ type: 'degraded', url: state.url, reason: `health check failing: ${probe.detail}` });
      }
    }
    await this.sampleRss();
    await this.checkMemoryPressure();
    if (generation === this.generation && !this.watchTimer && ['ready', 'degraded', 'external'].includes(this.state.type)) this.scheduleWatch();
  }

  private async stopChild(running: RunningChild): Promise<void> {
    // 4 s, so that quitting stops everything within 5 s even when a child ignores SIGTERM.
    await stopGroup(running.child.pid, { graceMs: this.options.stopGraceMs ?? 4000 });
    await Promise.race([running.child.exited, new Promise((resolve) => setTimeout(resolve, 1000))]);
    await this.options.pidFiles.remove(this.spec.name).catch(() => undefined);
  }

  /**
   * Stop the child we started (SIGTERM to its group, SIGKILL after the grace period).
   * An adopted server is never stopped: it belongs to whoever started it.
   */
  async stop(): Promise<ServiceInfo> {
    this.generation += 1;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.clearWatch();
    if (this.state.type === 'external') {
      this.emitter.emit('notice', { name: this.spec.name, message: `${this.spec.label} on port ${this.port} was not started by Parallel Vision; stop it where it was started` });
      return this.info();
    }
    const running = this.running;
    this.running = null;
    if (running) {
      this.note(`stopping ${this.spec.label} (pid ${running.child.pid})`);
      this.setState({ type: 'stopping' });
      await this.stopChild(running);
      this.note(`${this.spec.label} stopped`);
    }
    if (this.state.type !== 'not-installed') this.setState({ type: 'stopped' });
    return this.info();
  }

  /** Stop everything we started; adopted servers are left running. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    if (this.state.type === 'external') {
      this.generation += 1;
      this.clearWatch();
    } else {
      await this.stop();
    }
    this.disposed = true;
    this.log.close();
  }
}
