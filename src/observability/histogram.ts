/**
 * A cumulative histogram that costs a few nanoseconds per observation: a bucket scan and two
 * additions, no labels hashed and nothing allocated (prom-client's labelled observe costs about
 * a microsecond, which at tens of thousands of requests a second is measurable). Families read
 * these at scrape time through metric-views.ts.
 */

/** Observations of one series: per-bucket counts (not cumulative; last = above every bound), sum, count. */
export class Buckets {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** Adds one observation. */
  observe(value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > (b[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += value;
    this.count++;
  }
}

/** One series per key (a model name), created at its first observation. */
export class KeyedBuckets {
  private readonly byKey = new Map<string, Buckets>();

  constructor(private readonly bounds: readonly number[]) {}

  observe(key: string, value: number): void {
    let b = this.byKey.get(key);
    if (!b) {
      b = new Buckets(this.bounds);
      this.byKey.set(key, b);
    }
    b.observe(value);
  }

  entries(): IterableIterator<[string, Buckets]> {
    return this.byKey.entries();
  }
}

/** Upper bounds of request, queue and execution latencies, seconds (100 µs … 10 s). */
export const LATENCY_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Upper bounds of executed batch sizes. */
export const BATCH_BUCKETS: readonly number[] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/** Upper bounds of model load times, seconds. */
export const LOAD_BUCKETS: readonly number[] = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
