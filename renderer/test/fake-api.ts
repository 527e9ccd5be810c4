/**
 * An in-memory VisionApi for component tests (never used by the product): fake engines
 * driven by timers, a store of ads and results, coalesced `run.progress` and batched
 * `run.results` events like the real core. Requests are validated with the contract's
 * schemas, so a UI that sends a malformed request fails its tests.
 */
import {
  commands,
  type CommandName,
  type CommandParsed,
  type CommandRequest,
  type CommandResponse,
  type EngineInfo,
  type EventName,
  type EventPayload,
  type ResultRow,
  type VisionApi,
} from '../../shared/api.js';
import type { Ad, AdResult, EngineKind, ImportSummary, LaneProgress, RejectedRow, RunConfigResolved, RunProgress, RunStatus, ServiceInfo } from '../../shared/domain.js';
import { RunConfig } from '../../shared/domain.js';

export interface FakeEngineSpec {
  engine: EngineKind;
  label: string;
  /** Milliseconds one ad takes on one worker. */
  delayMs: number;
  workers?: number;
  available?: boolean;
  /** Every n-th ad this engine handles fails. */
  failEvery?: number;
  isDefault?: boolean;
  /** deepseek: the route facts engines.list reports. */
  deepseekRoutes?: EngineInfo['deepseekRoutes'];
}

export interface FakeApiOptions {
  engines?: FakeEngineSpec[];
  /** Progress/results coalescing interval, like the core's ~10/s. */
  tickMs?: number;
  services?: ServiceInfo[];
  /** Commands that should fail, with the message the backend would send. */
  failures?: Partial<Record<CommandName, string>>;
}

interface FakeLane {
  id: string;
  engine: EngineKind;
  label: string;
  workers: number;
  delayMs: number;
  failEvery: number;
  inFlight: number;
  done: number;
  failed: number;
  handled: number;
  durations: number[];
  enabled: boolean;
}

interface FakeRun {
  runId: string;
  batchId: string;
  config: RunConfigResolved;
  status: RunStatus;
  ads: Ad[];
  next: number;
  lanes: FakeLane[];
  results: Map<string, AdResult[]>;
  running: Set<string>;
  startedAt: number;
  pausedElapsed: number;
  pending: AdResult[];
  timers: Set<ReturnType<typeof setTimeout>>;
  split: Record<string, number>;
  createdAt: number;
}

const ONE_PIXEL_PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';

export const DEFAULT_FAKE_ENGINES: FakeEngineSpec[] = [
  { engine: 'embedded', label: 'Embedded OCR', delayMs: 20, workers: 2, isDefault: true },
  { engine: 'ollama', label: 'Ollama (llava)', delayMs: 120, workers: 1 },
  { engine: 'deepseek', label: 'DeepSeek-OCR', delayMs: 40, workers: 1, available: false },
];

export const DEFAULT_FAKE_SERVICES: ServiceInfo[] = [
  { name: 'deepseek', label: 'DeepSeek-OCR', engine: 'deepseek', state: { type: 'not-installed', hint: 'run setup to create its Python environment' }, port: 8001, rssMb: null, managed: true, changedAt: 1 },
  // Named as the fake's engines are, as the backend names each service as its lane (ENGINE_LABELS).
  { name: 'ollama', label: 'Ollama (llava)', engine: 'ollama', state: { type: 'stopped' }, port: 11434, rssMb: null, managed: true, changedAt: 1 },
  { name: 'embedded', label: 'Embedded OCR', engine: 'embedded', state: { type: 'ready', url: 'in-process' }, port: null, rssMb: null, managed: false, changedAt: 1 },
];

function percentile(values: readonly number[], p: number): number | null {
  if (!values.length) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? null;
}

/** Parses the simplest ad lists: a CSV with creative_id,image_url columns, or one URL per line. */
function parseFakeList(text: string): { ads: Ad[]; rejected: RejectedRow[]; columns: string[] } {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').split(',').map((c) => c.trim());
  const hasHeader = header.some((c) => /image_?url/i.test(c));
  const idColumn = header.findIndex((c) => /creative_?id|^id$/i.test(c));
  const urlColumn = header.findIndex((c) => /image_?url/i.test(c));
  const ads: Ad[] = [];
  const rejected: RejectedRow[] = [];
  lines.forEach((line, index) => {
    if (!line.trim() || (hasHeader && index === 0)) return;
    const cells = hasHeader ? line.split(',').map((c) => c.trim()) : [line.trim()];
    const url = (hasHeader ? cells[urlColumn] : cells[0]) ?? '';
    const id = hasHeader && idColumn >= 0 ? (cells[idColumn] ?? '') : `ad-${index + 1}`;
    if (!/^https?:\/\//.test(url)) rejected.push({ line: index + 1, reason: url ? `not an http(s) URL: ${url}` : 'missing image URL', raw: line });
    else if (!id) rejected.push({ line: index + 1, reason: 'missing creative id', raw: line });
    else ads.push({ creativeId: id, imageUrl: url });
  });
  return { ads, rejected, columns: hasHeader ? header : ['image_url'] };
}

export class FakeVisionApi implements VisionApi {
  readonly calls: { channel: CommandName; request: unknown }[] = [];
  private readonly listeners = new Map<EventName, Set<(payload: never) => void>>();
  private readonly engines: FakeEngineSpec[];
  private readonly tickMs: number;
  private services: ServiceInfo[];
  /** Each start of a fake service gets a new pid, so a restart shows. */
  private nextPid = 4242;
  private readonly failures: Partial<Record<CommandName, string>>;
  private readonly batches = new Map<string, { ads: Ad[]; source: string }>();
  readonly runs = new Map<string, FakeRun>();
  private ticker: ReturnType<typeof setInterval> | null = null;
  private nextId = 1;
  /** Channels whose replies wait for a release: a slow backend, with the window that opens between an event and a reply. */
  private readonly held = new Map<CommandName, Promise<void>>();

  constructor(options: FakeApiOptions = {}) {
    this.engines = options.engines ?? DEFAULT_FAKE_ENGINES;
    this.tickMs = options.tickMs ?? 50;
    this.services = structuredClone(options.services ?? DEFAULT_FAKE_SERVICES);
    this.failures = options.failures ?? {};
  }

  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    const stored = listener as (payload: never) => void;
    set.add(stored);
    return () => set.delete(stored);
  }

  emit<E extends EventName>(event: E, payload: EventPayload<E>): void {
    for (const listener of this.listeners.get(event) ?? []) (listener as (p: EventPayload<E>) => void)(payload);
  }

  listenerCount(event: EventName): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  async invoke<C extends CommandName>(channel: C, request: CommandRequest<C>): Promise<CommandResponse<C>> {
    this.calls.push({ channel, request });
    const parsed = commands[channel].request.safeParse(request);
    if (!parsed.success) throw Object.assign(new Error(`invalid request to ${channel}: ${parsed.error.message}`), { code: 'invalid-request' });
    const failure = this.failures[channel];
    if (failure) throw Object.assign(new Error(failure), { code: 'failed' });
    const handler = this.handlers[channel] as (r: CommandParsed<C>) => Promise<CommandResponse<C>>;
    const value = await handler(parsed.data as CommandParsed<C>);
    await this.held.get(channel);
    return commands[channel].response.parse(value) as CommandResponse<C>;
  }

  /** Replies on `channel` wait (the command itself takes effect at once) until the returned function is called. */
  holdReplies(channel: CommandName): () => void {
    let release = () => {};
    this.held.set(channel, new Promise<void>((resolve) => (release = resolve)));
    return () => {
      this.held.delete(channel);
      release();
    };
  }

  /** Stop every timer (call in afterEach). */
  dispose(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    for (const run of this.runs.values()) for (const timer of run.timers) clearTimeout(timer);
  }

  /** Import a batch directly (tests that start from an imported list). */
  addBatch(ads: Ad[], source = 'test.csv'): ImportSummary {
    return this.importSummary(ads, [], source, ['creative_id', 'image_url']);
  }

  /** A finished run with `count` results, without timers (results-table tests). */
  addFinishedRun(count: number, engines: EngineKind[] = ['embedded', 'ollama'], policy: 'auto' | 'compare' = 'auto'): string {
    const ads = Array.from({ length: count }, (_, i) => ({ creativeId: `ad-${String(i).padStart(6, '0')}`, imageUrl: `https://ads.example/${i}.png` }));
    const { batchId } = this.addBatch(ads);
    const run = this.createRun(batchId, RunConfig.parse({ batchId, policy, lanes: engines.map((engine) => ({ id: engine, engine, workers: 1 })) }));
    ads.forEach((ad, i) => {
      const failed = i % 10 === 9;
      const usedEngines = policy === 'compare' ? engines : [engines[i % engines.length] ?? 'embedded'];
      run.results.set(
        ad.creativeId,
        usedEngines.map((engine, e) => this.makeResult(run, ad, engine, failed, 100 + (i % 50) * 10 + e * 300)),
      );
    });
    run.next = ads.length;
    run.status = 'finished';
    return run.runId;
  }

  private ensureTicker(): void {
    this.ticker ??= setInterval(() => this.tick(), this.tickMs);
  }

  private tick(): void {
    let active = false;
    for (const run of this.runs.values()) {
      if (run.pending.length) {
        this.emit('run.results', { runId: run.runId, results: run.pending });
        run.pending = [];
      }
      if (run.status === 'running' || run.status === 'paused' || run.status === 'cancelling') active = true;
      if (run.status !== 'finished' || run.lanes.some((l) => l.inFlight)) this.emit('run.progress', this.progressOf(run));
    }
    if (!active && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = null;
      for (const run of this.runs.values()) this.emit('run.progress', this.progressOf(run));
    }
  }

  private createRun(batchId: string, config: RunConfigResolved): FakeRun {
    const batch = this.batches.get(batchId);
    if (!batch) throw new Error(`unknown batch ${batchId}`);
    const runId = `run-${this.nextId++}`;
    const lanes: FakeLane[] = config.lanes
      .filter((lane) => lane.enabled !== false)
      .map((lane) => {
        const spec = this.engines.find((e) => e.engine === lane.engine);
        return {
          id: lane.id,
          engine: lane.engine,
          label: lane.label ?? spec?.label ?? lane.engine,
          workers: lane.workers,
      concurrency: lane.workers,
          delayMs: spec?.delayMs ?? 10,
          failEvery: spec?.failEvery ?? 0,
          inFlight: 0,
          done: 0,
          failed: 0,
          handled: 0,
          durations: [],
          enabled: true,
        };
      });
    const run: FakeRun = {
      runId,
      batchId,
      config,
      status: 'running',
      ads: batch.ads,
      next: 0,
      lanes,
      results: new Map(),
      running: new Set(),
      startedAt: Date.now(),
      pausedElapsed: 0,
      pending: [],
      timers: new Set(),
      split: { ...(config.split ?? {}) },
      createdAt: Date.now(),
    };
    this.runs.set(runId, run);
    return run;
  }

  private makeResult(run: FakeRun, ad: Ad, engine: EngineKind, failed: boolean, durationMs: number): AdResult {
    return {
      runId: run.runId,
      creativeId: ad.creativeId,
      status: failed ? 'failed' : 'done',
      engine,
      laneId: engine,
      model: `${engine}-model`,
      text: failed ? '' : `SALE ${ad.creativeId} 50% OFF\nShop now at example.com`,
      description: failed ? undefined : 'A banner with large red letters.',
      blocks: failed ? [] : [{ text: 'SALE', box: [10, 10, 120, 60] }, { text: '50% OFF', box: [10, 80, 200, 130], confidence: 0.9 }],
      durationMs,
      error: failed ? 'ECONNREFUSED 127.0.0.1:11434' : undefined,
      attempts: [{ laneId: engine, engine, startedAt: Date.now() - durationMs, durationMs, outcome: failed ? 'error' : 'ok', error: failed ? 'ECONNREFUSED 127.0.0.1:11434' : undefined }],
    };
  }

  private laneAccepts(run: FakeRun, lane: FakeLane): boolean {
    if (lane.inFlight >= lane.workers) return false;
    if (run.config.policy !== 'ratio') return true;
    const ids = run.lanes.map((l) => l.id);
    const weights = ids.map((id) => run.split[id] ?? run.split[run.lanes.find((l) => l.id === id)?.engine ?? ''] ?? 0);
    const sum = weights.reduce((a, b) => a + b, 0) || 1;
    const share = (weights[ids.indexOf(lane.id)] ?? 0) / sum;
    const assigned = run.lanes.reduce((a, l) => a + l.handled, 0);
    return lane.handled < share * (assigned + 1) + 1e-9;
  }

  private pump(run: FakeRun): void {
    if (run.status !== 'running') return;
    let progressed = true;
    while (progressed && run.next < run.ads.length) {
      progressed = false;
      for (const lane of run.lanes) {
        if (run.next >= run.ads.length || !this.laneAccepts(run, lane)) continue;
        const ad = run.ads[run.next++];
        if (!ad) continue;
        progressed = true;
        lane.inFlight++;
        lane.handled++;
        run.running.add(ad.creativeId);
        const timer = setTimeout(() => {
          run.timers.delete(timer);
          lane.inFlight--;
          run.running.delete(ad.creativeId);
          if (run.status === 'cancelling' || run.status === 'cancelled') {
            run.next = Math.min(run.next, run.ads.length);
            if (!run.lanes.some((l) => l.inFlight)) run.status = 'cancelled';
            return;
          }
          const failed = lane.failEvery > 0 && lane.handled % lane.failEvery === 0;
          if (failed) lane.failed++;
          else lane.done++;
          lane.durations.push(lane.delayMs);
          const result = this.makeResult(run, ad, lane.engine, failed, lane.delayMs);
          run.results.set(ad.creativeId, [result]);
          run.pending.push(result);
          if (run.next >= run.ads.length && !run.lanes.some((l) => l.inFlight)) run.status = 'finished';
          this.pump(run);
        }, lane.delayMs);
        run.timers.add(timer);
      }
    }
  }

  private elapsed(run: FakeRun): number {
    return run.status === 'paused' ? run.pausedElapsed : (Date.now() - run.startedAt) / 1000 + run.pausedElapsed;
  }

  progressOf(run: FakeRun): RunProgress {
    const done = run.lanes.reduce((a, l) => a + l.done, 0);
    const failed = run.lanes.reduce((a, l) => a + l.failed, 0);
    const finished = done + failed;
    const elapsed = run.status === 'paused' ? run.pausedElapsed : (Date.now() - run.startedAt) / 1000;
    const rate = elapsed > 0 ? finished / elapsed : 0;
    const lanes: LaneProgress[] = run.lanes.map((lane) => ({
      laneId: lane.id,
      engine: lane.engine,
      label: lane.label,
      state: lane.inFlight ? { type: 'busy' } : { type: 'idle' },
      workers: lane.workers,
      concurrency: lane.workers,
      done: lane.done,
      failed: lane.failed,
      inFlight: lane.inFlight,
      share: finished ? (lane.done + lane.failed) / finished : 0,
      adsPerMinute: elapsed > 0 ? ((lane.done + lane.failed) / elapsed) * 60 : 0,
      p50_s: percentile(lane.durations, 0.5) == null ? null : (percentile(lane.durations, 0.5) ?? 0) / 1000,
      p95_s: percentile(lane.durations, 0.95) == null ? null : (percentile(lane.durations, 0.95) ?? 0) / 1000,
      estimate_s: lane.delayMs / 1000,
    }));
    return {
      runId: run.runId,
      status: run.status,
      policy: run.config.policy,
      total: run.ads.length,
      done,
      failed,
      // The fake's failures are all engine calls.
      imageFailed: 0,
      inFlight: run.lanes.reduce((a, l) => a + l.inFlight, 0),
      elapsed_s: elapsed,
      eta_s: rate > 0 && run.status === 'running' ? (run.ads.length - finished) / rate : null,
      ...(run.config.policy === 'ratio' ? { split: { ...run.split } } : {}),
      lanes,
      notes: [],
    };
  }

  private run(runId: string): FakeRun {
    const run = this.runs.get(runId);
    if (!run) throw new Error(`unknown run ${runId}`);
    return run;
  }

  private rows(run: FakeRun, from = 0, to = run.ads.length): ResultRow[] {
    return run.ads.slice(from, to).map((ad) => {
      const result = run.results.get(ad.creativeId)?.[0];
      return {
        creativeId: ad.creativeId,
        imageUrl: ad.imageUrl,
        status: result ? result.status : run.running.has(ad.creativeId) ? 'running' : 'pending',
        engine: result?.engine ?? null,
        durationMs: result?.durationMs ?? null,
        excerpt: (result?.text ?? '').slice(0, 120),
        error: result?.error,
      };
    });
  }

  private importSummary(ads: Ad[], rejected: RejectedRow[], source: string, columns: string[]): ImportSummary {
    const batchId = `batch-${this.nextId++}`;
    this.batches.set(batchId, { ads, source });
    return { batchId, source, accepted: ads.length, preview: ads.slice(0, 50), rejected, rejectedTotal: rejected.length, columns };
  }

  private readonly handlers: { [C in CommandName]: (request: CommandParsed<C>) => Promise<CommandResponse<C>> } = {
    'app.info': async () => ({ version: '0.0.0-test', platform: 'test', mode: 'browser', dataDir: '/tmp/fake', api: { url: 'http://127.0.0.1:8765', key: 'pv_fake-key', keyFile: '/tmp/fake/api-key' } }),
    'services.list': async () => structuredClone(this.services),
    'services.start': async ({ name, backend, model }) => {
      const service = this.services.find((s) => s.name === name);
      if (!service) throw new Error(`unknown service ${name}`);
      // Like the manager: a new backend is saved and the service (re)starts with it.
      if (backend) service.backend = { backend, ...(model ? { model } : {}), saved: true };
      service.state = { type: 'starting', since: Date.now(), waitingFor: 'health check' };
      this.emit('service.state', structuredClone(service));
      setTimeout(() => {
        service.state = { type: 'ready', url: `http://127.0.0.1:${service.port ?? 0}`, pid: this.nextPid++ };
        this.emit('service.state', structuredClone(service));
        this.emit('service.log', { name, lines: ['listening'] });
      }, 30);
      return structuredClone(service);
    },
    'services.stop': async ({ name }) => {
      const service = this.services.find((s) => s.name === name);
      if (!service) throw new Error(`unknown service ${name}`);
      service.state = { type: 'stopped' };
      this.emit('service.state', structuredClone(service));
      return structuredClone(service);
    },
    'services.logs': async ({ name }) => [`${name}: booting`, `${name}: ready`],
    'services.setup': async ({ name }) => {
      const stages = ['venv', 'pip', 'weights'].map((stage) => ({ service: name, stage, status: 'pending' as const, progress: null, message: `${stage} waiting` }));
      setTimeout(() => this.emit('service.setup', { service: name, stage: 'venv', status: 'running', progress: 0.5, message: 'creating venv' }), 10);
      return stages;
    },
    'engines.list': async () =>
      this.engines.map(
        (spec): EngineInfo => ({
          engine: spec.engine,
          label: spec.label,
          availability: spec.available === false ? { type: 'unavailable', reason: 'service not installed' } : { type: 'available' },
          isDefault: spec.isDefault ?? false,
          defaultWorkers: spec.workers ?? 1,
          ...(spec.deepseekRoutes ? { deepseekRoutes: spec.deepseekRoutes } : {}),
        }),
      ),
    'ads.importText': async ({ text, filename }) => {
      const { ads, rejected, columns } = parseFakeList(text);
      return this.importSummary(ads, rejected, filename ?? 'pasted text', columns);
    },
    'ads.importFiles': async ({ paths }) => this.importSummary(paths.map((p, i) => ({ creativeId: `file-${i + 1}`, imageUrl: `file://${p}` })), [], 'files', ['image_url']),
    'ads.importUrls': async ({ urls }) => {
      const { ads, rejected } = parseFakeList(urls.join('\n'));
      return this.importSummary(ads, rejected, 'urls', ['image_url']);
    },
    'ads.importImages': async ({ images }) =>
      this.importSummary(images.map((image) => ({ creativeId: image.name.replace(/\.[^.]+$/, ''), imageUrl: `upload://${image.name}` })), [], `${images.length} images`, ['image_url']),
    'runs.start': async (config) => {
      const run = this.createRun(config.batchId, config);
      this.ensureTicker();
      this.pump(run);
      return { runId: run.runId };
    },
    'runs.pause': async ({ runId }) => {
      const run = this.run(runId);
      if (run.status === 'running') {
        run.pausedElapsed = this.elapsed(run);
        run.status = 'paused';
      }
      return { ok: true };
    },
    'runs.resume': async ({ runId }) => {
      const run = this.run(runId);
      if (run.status === 'paused') {
        run.status = 'running';
        run.startedAt = Date.now() - run.pausedElapsed * 1000;
        run.pausedElapsed = 0;
        this.ensureTicker();
        this.pump(run);
      }
      return { ok: true };
    },
    'runs.cancel': async ({ runId }) => {
      const run = this.run(runId);
      run.status = run.lanes.some((l) => l.inFlight) ? 'cancelling' : 'cancelled';
      this.ensureTicker();
      return { ok: true };
    },
    'runs.setSplit': async ({ runId, split }) => {
      this.run(runId).split = { ...split };
      return { ok: true };
    },
    'runs.setLaneWorkers': async ({ runId, laneId, workers }) => {
      const run = this.run(runId);
      const lane = run.lanes.find((l) => l.id === laneId);
      if (!lane) throw new Error(`unknown lane ${laneId}`);
      lane.workers = workers;
      this.pump(run);
      return { ok: true };
    },
    'runs.list': async () =>
      [...this.runs.values()].map((run) => {
        const progress = this.progressOf(run);
        return { runId: run.runId, batchId: run.batchId, source: this.batches.get(run.batchId)?.source ?? '', status: run.status, policy: run.config.policy, total: run.ads.length, done: progress.done, failed: progress.failed, createdAt: run.createdAt };
      }),
    'runs.progress': async ({ runId }) => this.progressOf(this.run(runId)),
    'results.page': async (query) => {
      const run = this.run(query.runId);
      if (!query.engine && !query.status && !query.search && query.sort === 'finishedAt' && !query.descending) {
        // The common case, kept cheap so browser timing of the UI is not timing the fake.
        return { total: run.ads.length, rows: this.rows(run, query.offset, query.offset + query.limit) };
      }
      let rows = this.rows(run);
      if (query.engine) rows = rows.filter((r) => r.engine === query.engine);
      if (query.status) rows = rows.filter((r) => r.status === query.status);
      if (query.search) {
        const needle = query.search.toLowerCase();
        rows = rows.filter((r) => r.creativeId.toLowerCase().includes(needle) || r.excerpt.toLowerCase().includes(needle));
      }
      const key = query.sort;
      if (key !== 'finishedAt') {
        const value = (row: ResultRow): string | number => (key === 'duration' ? (row.durationMs ?? -1) : key === 'engine' ? (row.engine ?? '') : row[key]);
        rows = [...rows].sort((a, b) => {
          const x = value(a);
          const y = value(b);
          return x < y ? -1 : x > y ? 1 : 0;
        });
      }
      if (query.descending) rows = [...rows].reverse();
      return { total: rows.length, rows: rows.slice(query.offset, query.offset + query.limit) };
    },
    'results.get': async ({ runId, creativeId }) => {
      const run = this.run(runId);
      const ad = run.ads.find((a) => a.creativeId === creativeId);
      if (!ad) throw new Error(`no ad ${creativeId} in run ${runId}`);
      const results = run.results.get(creativeId) ?? [];
      return { runId, creativeId, imageUrl: ad.imageUrl, results, attempts: results.flatMap((r) => r.attempts) };
    },
    'results.image': async () => ({ mime: 'image/png', base64: ONE_PIXEL_PNG, width: 400, height: 300 }),
    'results.compare': async ({ runId, offset, limit }) => {
      const run = this.run(runId);
      const engines = [...new Set(run.lanes.map((l) => l.engine))];
      const rows = run.ads.slice(offset, offset + limit).map((ad) => ({
        creativeId: ad.creativeId,
        outputs: (run.results.get(ad.creativeId) ?? []).map((r) => ({ engine: r.engine ?? 'embedded', text: r.text, durationMs: r.durationMs, status: r.status })),
        agreement: (run.results.get(ad.creativeId)?.length ?? 0) > 1 ? 0.8 : null,
      }));
      return {
        total: run.ads.length,
        rows,
        summary: engines.map((engine) => {
          const lane = run.lanes.find((l) => l.engine === engine);
          return { engine, meanMs: lane?.delayMs ?? null, agreement: 0.8, done: lane?.done ?? 0, failed: lane?.failed ?? 0 };
        }),
      };
    },
    'secrets.set': async ({ apiKey }) => ({ ok: true, stored: apiKey.length > 0 }),
    'export.start': async ({ runId, format, rows }) => {
      const run = this.run(runId);
      const count = [...run.results.values()].flat().filter((r) => rows === 'all' || r.status === rows).length;
      this.emit('export.progress', { runId, written: Math.floor(count / 2), total: count });
      this.emit('export.progress', { runId, written: count, total: count });
      return { path: `/tmp/fake/${runId}.${format}`, rows: count, downloadUrl: `/downloads/${runId}.${format}` };
    },
  };
}
