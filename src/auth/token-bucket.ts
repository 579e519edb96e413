/**
 * Per-replica token buckets (reliability.md S18): one bucket per key (a principal id), refilled
 * continuously at `rate` tokens per second up to `burst`. Pure: time comes from the injected
 * Clock, so tests drive it by hand and the Redis limiter can use it as its local fallback.
 */
import { type Clock, systemClock } from '../core/clock.js';
import type { Admission, RateLimiter } from './types.js';

/** The longest Retry-After ever answered: a bucket that cannot refill (rate ≤ 0) still gets a finite answer. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * Float slack when comparing tokens with a cost: refills are sums of products, so a caller that
 * waited exactly retryAfterMs may see cost − 1e-12 tokens and must still be admitted.
 */
const EPSILON = 1e-9;

export interface Limit {
  rate: number;
  burst: number;
}

/**
 * Limits and costs as the arithmetic needs them. `take` must never throw, so bad numbers from a
 * misconfiguration become a bucket that never refills (rate 0) or holds nothing (burst 0) —
 * failing closed for that key rather than crashing the request path.
 */
export function normalizeLimit(limit: Limit, cost: number): { rate: number; burst: number; cost: number } {
  const rate = Number.isFinite(limit.rate) && limit.rate > 0 ? limit.rate : 0;
  const burst = Number.isFinite(limit.burst) && limit.burst > 0 ? limit.burst : 0;
  const c = Number.isFinite(cost) && cost >= 0 ? cost : 1;
  return { rate, burst, cost: c };
}

/** Milliseconds until `missing` tokens have refilled at `rate`, rounded up, ≥ 1 ms. */
export function retryAfterMs(missing: number, rate: number): number {
  if (rate <= 0) return MAX_RETRY_AFTER_MS;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(1, Math.ceil((missing * 1000) / rate)));
}

export interface TokenBucketOptions {
  clock?: Clock;
  /** Most buckets held at once (default 100k); beyond it the least recently used is dropped. */
  maxKeys?: number;
}

interface Bucket {
  tokens: number;
  /** Clock ms at which `tokens` was exact. */
  at: number;
  rate: number;
  burst: number;
}

export class TokenBuckets implements RateLimiter {
  private readonly clock: Clock;
  private readonly maxKeys: number;
  /** Map order is recency order (re-inserted on every take): the first entry is the LRU one. */
  private readonly buckets = new Map<string, Bucket>();

  constructor(opts: TokenBucketOptions = {}) {
    this.clock = opts.clock ?? systemClock;
    this.maxKeys = Math.max(1, Math.floor(opts.maxKeys ?? 100_000));
  }

  /**
   * Admits when `cost` tokens are there. A refusal's retryAfterMs is the time until they will be;
   * a cost above `burst` can never be admitted, and its retryAfterMs says when the bucket could
   * hold it if it were deep enough (callers should reject such costs up front).
   */
  take(key: string, limit: Limit, cost = 1): Admission {
    const { rate, burst, cost: c } = normalizeLimit(limit, cost);
    const now = this.clock.now();
    // Amortised clean-up: idle keys reach the front of the map, and once full they are the same
    // as no bucket at all, so dropping a couple per call keeps memory to the keys in use.
    this.sweep(now, 2);
    let b = this.buckets.get(key);
    if (b) {
      this.buckets.delete(key);
      b.tokens = Math.min(burst, refilled(b, now));
      b.at = Math.max(b.at, now);
      b.rate = rate;
      b.burst = burst;
    } else {
      b = { tokens: burst, at: now, rate, burst };
      // LRU eviction: the front entry is the longest idle. If it is not full yet, dropping it
      // forgives its debt — the price of a memory bound, which is why maxKeys should exceed the
      // number of principals active within one refill period.
      while (this.buckets.size >= this.maxKeys) {
        const oldest = this.buckets.keys().next();
        if (oldest.done) break;
        this.buckets.delete(oldest.value);
      }
    }
    let answer: Admission;
    if (b.tokens + EPSILON >= c) {
      b.tokens -= c;
      answer = { ok: true };
    } else {
      answer = { ok: false, retryAfterMs: retryAfterMs(c - b.tokens, rate) };
    }
    // A full bucket carries no information (a zero-cost take leaves one behind).
    if (b.tokens + EPSILON < burst) this.buckets.set(key, b);
    return answer;
  }

  degraded(): boolean {
    return false;
  }

  async close(): Promise<void> {
    this.buckets.clear();
  }

  /** Buckets held (tests check the memory bound). */
  get size(): number {
    return this.buckets.size;
  }

  /** Drops up to `max` least recently used buckets that have refilled completely by `now`. */
  private sweep(now: number, max: number): void {
    for (let i = 0; i < max; i++) {
      const first = this.buckets.entries().next();
      if (first.done) return;
      const [key, b] = first.value;
      if (refilled(b, now) + EPSILON < b.burst) return;
      this.buckets.delete(key);
    }
  }
}

/** Tokens in `b` at `now` before clamping to burst; a clock that steps back refills nothing. */
function refilled(b: Bucket, now: number): number {
  return b.tokens + (Math.max(0, now - b.at) * b.rate) / 1000;
}
