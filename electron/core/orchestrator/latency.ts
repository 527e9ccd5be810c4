/**
 * Online latency estimates per lane. The estimate is a clipped exponentially weighted mean
 * of log-latencies (robust to outliers: one 10× call moves it by a bounded step), seeded by
 * a prior so a lane's first ads are scheduled sensibly, with a cold-start allowance added
 * until the lane has finished its first call.
 */

export interface LatencyEstimatorOptions {
  /** Expected seconds per call before any measurement. */
  prior_s: number;
  /** Extra seconds expected for the lane's very first call (model load). */
  coldStart_s?: number;
  /** How many observations the prior is worth. */
  priorWeight?: number;
  /** Floor of the exponential weight, i.e. how fast the estimate follows a drifting lane. */
  minAlpha?: number;
  /** Samples kept for percentiles. */
  window?: number;
}

const MIN_SPREAD = 0.05;
const CLIP_SPREADS = 3;
/** Calls longer than the elapsed time needed before their mean residual is trusted. */
const MIN_RESIDUAL_SAMPLES = 3;

export class LatencyEstimator {
  private logMean: number;
  private spread = 0.35;
  private weight: number;
  private readonly minAlpha: number;
  private readonly coldStart_s: number;
  private readonly recent: Float64Array;
  private count = 0;
  private typical: number;
  private measuredWarm = false;

  constructor(options: LatencyEstimatorOptions) {
    this.logMean = Math.log(Math.max(options.prior_s, 1e-3));
    this.weight = options.priorWeight ?? 1;
    this.minAlpha = options.minAlpha ?? 0.1;
    this.coldStart_s = options.coldStart_s ?? 0;
    this.recent = new Float64Array(options.window ?? 256);
    this.typical = Math.exp(this.logMean);
  }

  /** Number of observations so far. */
  get observations(): number {
    return this.count;
  }

  /**
   * Adds one measured call. `cold` calls (started before the lane had finished any) count
   * half, since they include a model load that later calls do not pay.
   */
  observe(seconds: number, cold = false): void {
    const x = Math.log(Math.max(seconds, 1e-3));
    this.recent[this.count % this.recent.length] = seconds;
    if (!this.measuredWarm && !cold) {
      // The first warm call replaces the prior outright: a prior 10× off would otherwise take several clipped steps to correct.
      this.measuredWarm = true;
      this.count++;
      this.weight = 1;
      this.logMean = x;
      this.typical = seconds;
      return;
    }
    this.count++;
    const sampleWeight = cold ? 0.5 : 1;
    this.weight += sampleWeight;
    const alpha = Math.max(sampleWeight / this.weight, this.minAlpha * sampleWeight);
    const limit = CLIP_SPREADS * Math.max(this.spread, MIN_SPREAD);
    const residual = Math.max(-limit, Math.min(limit, x - this.logMean));
    this.logMean += alpha * residual;
    this.spread += alpha * (Math.abs(residual) - this.spread);
    this.typical = Math.exp(this.logMean);
  }

  /** Expected seconds for the lane's next call. */
  estimate(): number {
    return this.count === 0 ? this.typical + this.coldStart_s : this.typical;
  }

  /** Expected seconds for a call once the model is loaded. */
  warmEstimate(): number {
    return this.typical;
  }

  /**
   * Expected seconds still to go for a call already running `elapsed_s`, from the recent calls that took longer
   * (the mean residual life of the lane's own latencies), or null while fewer than MIN_RESIDUAL_SAMPLES did.
   */
  meanResidual_s(elapsed_s: number): number | null {
    const n = Math.min(this.count, this.recent.length);
    let longer = 0;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const seconds = this.recent[i]!;
      if (seconds > elapsed_s) {
        longer++;
        sum += seconds - elapsed_s;
      }
    }
    return longer >= MIN_RESIDUAL_SAMPLES ? sum / longer : null;
  }

  /** Percentile (0..1) of the recent samples, or null before any. */
  percentile(p: number): number | null {
    const n = Math.min(this.count, this.recent.length);
    if (n === 0) return null;
    const sorted = Array.from(this.recent.subarray(0, n)).sort((a, b) => a - b);
    const rank = Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1));
    return sorted[rank]!;
  }
}

/** Mean and variance of log-latencies (Welford), for comparing a lane alone vs sharing the Mac. */
class LogStats {
  n = 0;
  private mean = 0;
  private m2 = 0;
  private sum = 0;

  add(seconds: number): void {
    const x = Math.log(Math.max(seconds, 1e-3));
    this.n++;
    this.sum += seconds;
    const delta = x - this.mean;
    this.mean += delta / this.n;
    this.m2 += delta * (x - this.mean);
  }

  get logMean(): number {
    return this.mean;
  }

  /** Variance of the log-latencies, floored so that identical samples do not look infinitely certain. */
  get logVariance(): number {
    const variance = this.n > 1 ? this.m2 / (this.n - 1) : 0;
    return Math.max(variance, MIN_SPREAD * MIN_SPREAD);
  }

  get geometricMean_s(): number {
    return Math.exp(this.mean);
  }

  get mean_s(): number {
    return this.n > 0 ? this.sum / this.n : 0;
  }
}

export interface Slowdown {
  /** Relative slowdown while other engines are busy: 0.4 means 40 % slower. */
  excess: number;
  /** Standard errors above zero. */
  z: number;
  /** Expected seconds per call alone and while sharing the machine. */
  alone_s: number;
  shared_s: number;
  /** Seconds per call while sharing at one standard error below the estimate: what the slowdown costs at least. */
  sharedLow_s: number;
}

const MAX_OVERLAPPED_SAMPLES = 256;

/**
 * How much slower an engine is while other engines are busy. Calls that ran alone give the
 * baseline; every other call, fully or partly overlapped, is evidence in proportion to its
 * overlap (model: latency = alone × (1 + excess × overlap)), so a slowdown shows after the
 * first few calls instead of waiting for fully overlapped ones. Least squares through 0, on
 * log-latencies (log latency = log alone + β × overlap, excess = e^β − 1), the scale on which
 * the alone calls' spread, the yardstick of z, is measured.
 */
export class InterferenceStats {
  readonly alone = new LogStats();
  /** Ring buffer of the last MAX_OVERLAPPED_SAMPLES overlapped calls. */
  private readonly overlaps = new Float64Array(MAX_OVERLAPPED_SAMPLES);
  private readonly logSeconds = new Float64Array(MAX_OVERLAPPED_SAMPLES);
  private count = 0;
  /** Running sums over `overlapped` (kept as samples come and go), so an estimate is O(1) however often it is asked. */
  private sumFL = 0;
  private sumFF = 0;
  private sumF = 0;

  /** `overlap`: the share (0..1) of the call during which another engine was busy. */
  add(seconds: number, overlap: number): void {
    if (overlap <= 0.1) {
      this.alone.add(seconds);
      return;
    }
    const f = Math.min(1, overlap);
    const slot = this.count % MAX_OVERLAPPED_SAMPLES;
    if (this.count >= MAX_OVERLAPPED_SAMPLES) {
      const oldF = this.overlaps[slot]!;
      this.sumFL -= oldF * this.logSeconds[slot]!;
      this.sumFF -= oldF * oldF;
      this.sumF -= oldF;
    }
    const logSeconds = Math.log(Math.max(seconds, 1e-3));
    this.overlaps[slot] = f;
    this.logSeconds[slot] = logSeconds;
    this.count++;
    this.sumFL += f * logSeconds;
    this.sumFF += f * f;
    this.sumF += f;
  }

  /** Forgets the overlapped calls (a paused engine is tried again on fresh evidence); the alone baseline stays. */
  clearOverlapped(): void {
    this.count = 0;
    this.sumFL = 0;
    this.sumFF = 0;
    this.sumF = 0;
  }

  get overlappedCount(): number {
    return Math.min(this.count, MAX_OVERLAPPED_SAMPLES);
  }

  estimate(minAlone: number, minOverlapped: number): Slowdown | null {
    if (this.alone.n < minAlone || this.overlappedCount < minOverlapped) return null;
    const alone_s = this.alone.mean_s;
    const sumFF = this.sumFF;
    const sumF = this.sumF;
    if (sumFF < 0.5) return null;
    // Σ f·(log s − log alone) = Σ f·log s − Σ f · log alone
    const beta = (this.sumFL - sumF * this.alone.logMean) / sumFF;
    const variance = this.alone.logVariance;
    const se = Math.sqrt(variance / sumFF + (variance / this.alone.n) * (sumF / sumFF) ** 2);
    const excess = Math.expm1(beta);
    return { excess, z: beta / se, alone_s, shared_s: alone_s * (1 + excess), sharedLow_s: alone_s * Math.exp(Math.max(0, beta - se)) };
  }
}
