/**
 * A log-bucket latency histogram (HDR-style): constant memory whatever the run length, about 1 %
 * relative error on every quantile, mergeable across generator threads (the counts are plain
 * numbers, so a histogram crosses a worker boundary as data).
 */

/** Relative width of one bucket: quantiles are exact to about this share of the value. */
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
/** Values are stored in microseconds; below 1 µs everything shares bucket 0. */
const UNIT_PER_MS = 1000;
/** 1 µs .. ~1.7 hours: 2000 buckets of 1 % cover eight and a half decades. */
const BUCKETS = 2200;

/** The serialisable state of a histogram. */
export interface HistogramData {
  counts: number[];
  count: number;
  sumMs: number;
  minMs: number;
  maxMs: number;
}

/** A histogram of latencies in milliseconds. */
export class LatencyHistogram {
  private readonly counts: Float64Array;
  count = 0;
  sumMs = 0;
  minMs = Number.POSITIVE_INFINITY;
  maxMs = 0;

  constructor(data?: HistogramData) {
    this.counts = new Float64Array(BUCKETS);
    if (data) this.merge(data);
  }

  /** Adds one latency (ms); negative values count as 0. */
  record(ms: number): void {
    const v = Math.max(ms, 0);
    this.counts[bucketOf(v)]! += 1;
    this.count += 1;
    this.sumMs += v;
    if (v < this.minMs) this.minMs = v;
    if (v > this.maxMs) this.maxMs = v;
  }

  /** Adds every sample of another histogram (or its data). */
  merge(other: LatencyHistogram | HistogramData): void {
    const data = other instanceof LatencyHistogram ? other.toData() : other;
    for (let i = 0; i < data.counts.length; i++) this.counts[i]! += data.counts[i]!;
    this.count += data.count;
    this.sumMs += data.sumMs;
    if (data.count > 0) {
      this.minMs = Math.min(this.minMs, data.minMs);
      this.maxMs = Math.max(this.maxMs, data.maxMs);
    }
  }

  /** The q-quantile (0..1, nearest rank) in ms; NaN when empty. Clamped to the exact min/max. */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    const rank = Math.min(this.count, Math.max(1, Math.ceil(q * this.count)));
    // The extremes are known exactly; buckets only approximate the ranks between them.
    if (rank === 1) return this.minMs;
    if (rank === this.count) return this.maxMs;
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.maxMs, Math.max(this.minMs, bucketValue(i)));
    }
    return this.maxMs;
  }

  /** How many samples are at or below `ms` (to bucket precision: the bucket holding `ms` counts). */
  countAtOrBelow(ms: number): number {
    if (ms >= this.maxMs) return this.count;
    const last = bucketOf(Math.max(0, ms));
    let n = 0;
    for (let i = 0; i <= last; i++) n += this.counts[i]!;
    return n;
  }

  /** Mean in ms; NaN when empty. */
  mean(): number {
    return this.count === 0 ? Number.NaN : this.sumMs / this.count;
  }

  /** Plain data for JSON or postMessage (trailing empty buckets dropped). */
  toData(): HistogramData {
    let end = BUCKETS;
    while (end > 0 && this.counts[end - 1] === 0) end--;
    return {
      counts: Array.from(this.counts.subarray(0, end)),
      count: this.count,
      sumMs: this.sumMs,
      minMs: this.count === 0 ? 0 : this.minMs,
      maxMs: this.maxMs,
    };
  }
}

function bucketOf(ms: number): number {
  const us = ms * UNIT_PER_MS;
  if (us < 1) return 0;
  return Math.min(BUCKETS - 1, 1 + Math.floor(Math.log(us) / LOG_GROWTH));
}

/** A representative value of bucket i: the geometric middle of its bounds, in ms. */
function bucketValue(i: number): number {
  if (i === 0) return 0.5 / UNIT_PER_MS;
  return GROWTH ** (i - 0.5) / UNIT_PER_MS;
}
