/**
 * The response cache's seam: a `CacheTier` stores plain bytes under a key for a while. Two
 * implementations (memory-tier.ts: in-process LRU under a byte budget; redis-tier.ts: a Redis shared
 * by replicas, behind its own circuit breaker) pass one contract suite
 * (test/contract/cache-tier.contract.ts). What the bytes mean (codec.ts) and in which order the tiers
 * are asked (cache.ts) is not a tier's business.
 *
 * Ownership: `set` keeps the array it is given (the caller never writes to it again); the bytes
 * `get` answers may be shared with the tier and must be treated as read-only (codec.ts copies out).
 * A tier never throws and never rejects: a tier that cannot answer says `unavailable`, and serving
 * goes on without it.
 */
import type { CacheTierReading } from '../observability/metrics.js';

/** What a lookup found: the stored bytes, nothing under the key, or no answer in time (down, bypassed). */
export type Lookup = Uint8Array | 'absent' | 'unavailable';

/** A tier's own counters, read at scrape time (the composed cache adds hits, misses and garbage). */
export type TierCounters = Omit<CacheTierReading, 'tier' | 'hits' | 'misses' | 'garbage'>;

export interface CacheTier {
  /** The tier's label in metrics: `memory` or `redis`. */
  readonly name: 'memory' | 'redis';
  /**
   * The bytes under `key`. `budgetMs` bounds the wait (the call's deadline); a tier that needs
   * longer answers `unavailable` instead of holding the call up. Expired entries are `absent`.
   */
  get(key: string, budgetMs?: number): Promise<Lookup>;
  /** Stores `value` for `ttlMs`; true once stored, false when refused (too large) or not answered. */
  set(key: string, value: Uint8Array, ttlMs: number): Promise<boolean>;
  counters(): TierCounters;
  /** Releases connections and timers; later calls answer `unavailable` / false. */
  close(): Promise<void>;
}
