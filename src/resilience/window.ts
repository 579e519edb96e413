/**
 * Counts over a sliding time window, kept in a fixed ring of buckets so that adding and summing
 * cost the same whatever the traffic (no per-call records). Time is always passed in (Clock ms),
 * never read: the breaker and the retry budget are tested with a manual clock.
 * A bucket older than the window is cleared the first time it is touched again, so a window that
 * saw no traffic simply sums to zero.
 */
export class SlidingCounts<K extends string> {
  private readonly span: number;
  /** Bucket index × key → count; `stamp[i]` is the bucket number bucket i currently holds. */
  private readonly counts: Map<K, Float64Array>;
  private readonly stamp: Float64Array;

  constructor(
    readonly windowMs: number,
    keys: readonly K[],
    private readonly buckets = 10,
  ) {
    this.span = windowMs / buckets;
    this.counts = new Map(keys.map((k) => [k, new Float64Array(buckets)]));
    this.stamp = new Float64Array(buckets).fill(-1);
  }

  /** Adds `n` to `key` at time `now`. */
  add(now: number, key: K, n = 1): void {
    const i = this.bucketAt(now);
    const c = this.counts.get(key);
    if (c) c[i]! += n;
  }

  /** The sum of `key` over the window ending at `now`. */
  sum(now: number, key: K): number {
    const c = this.counts.get(key);
    if (!c) return 0;
    const current = Math.floor(now / this.span);
    let total = 0;
    for (let i = 0; i < this.buckets; i++) {
      const age = current - this.stamp[i]!;
      if (age >= 0 && age < this.buckets) total += c[i]!;
    }
    return total;
  }

  /** Forgets everything (a breaker that closes starts a fresh window). */
  clear(): void {
    this.stamp.fill(-1);
    for (const c of this.counts.values()) c.fill(0);
  }

  private bucketAt(now: number): number {
    const n = Math.floor(now / this.span);
    const i = ((n % this.buckets) + this.buckets) % this.buckets;
    if (this.stamp[i] !== n) {
      this.stamp[i] = n;
      for (const c of this.counts.values()) c[i] = 0;
    }
    return i;
  }
}
