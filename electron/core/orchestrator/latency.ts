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

export class LatencyEstimator {
  private logMean: number;
  private spread = 0.35;
  private weight: number;
  private readonly minAlpha: number;
  private readonly coldStart_s: number;
  private readonly recent: Float64Array;
  private count = 0;

  constructor(options: LatencyEstimatorOptions) {
    this.logMean = Math.log(Math.max(options.prior_s, 1e-3));
    this.weight = options.priorWeight ?? 1;
    this.minAlpha = options.minAlpha ?? 0.1;
    this.coldStart_s = options.coldStart_s ?? 0;
    this.recent = new Float64Array(options.window ?? 256);
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
    this.count++;
    const sampleWeight = cold ? 0.5 : 1;
    this.weight += sampleWeight;
    const alpha = Math.max(sampleWeight / this.weight, this.minAlpha * sampleWeight);
    const limit = CLIP_SPREADS * Math.max(this.spread, MIN_SPREAD);
    const residual = Math.max(-limit, Math.min(limit, x - this.logMean));
    this.logMean += alpha * residual;
    this.spread += alpha * (Math.abs(residual) - this.spread);
  }

  /** Expected seconds for the lane's next call. */
  estimate(): number {
    const typical = Math.exp(this.logMean);
    return this.count === 0 ? typical + this.coldStart_s : typical;
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
export class LogStats {
  n = 0;
  private mean = 0;
  private m2 = 0;

  add(seconds: number): void {
    const x = Math.log(Math.max(seconds, 1e-3));
    this.n++;
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
}

/**
 * How many standard errors `slower` is above `faster` in log-latency (Welch); positive when
 * the first set is slower.
 */
export function slowdownZ(slower: LogStats, faster: LogStats): number {
  if (slower.n === 0 || faster.n === 0) return 0;
  const se = Math.sqrt(slower.logVariance / slower.n + faster.logVariance / faster.n);
  return (slower.logMean - faster.logMean) / se;
}
