/**
 * The in-process tier: an LRU (lru-cache) under a byte budget, each entry with its own TTL. An
 * entry counts its bytes plus its key and a fixed overhead, so the budget bounds what the process
 * really holds; the least recently used entries go first when a new one needs room. An entry
 * larger than the whole budget is not stored (lru-cache would silently drop it): it is refused
 * here and counted, and nothing else is evicted for it.
 */
import { LRUCache } from 'lru-cache';
import type { CacheTier, Lookup, TierCounters } from './types.js';

/** Bytes charged per entry beyond its value and key (the LRU's slots, the map entry). */
export const ENTRY_OVERHEAD = 64;

export interface MemoryTierOptions {
  /** The byte budget (> 0). */
  maxBytes: number;
  /** Monotonic milliseconds (tests drive expiry); default performance.now. */
  now?: () => number;
}

export class MemoryTier implements CacheTier {
  readonly name = 'memory' as const;
  private readonly lru: LRUCache<string, Uint8Array>;
  private readonly maxBytes: number;
  private stores = 0;
  private tooLarge = 0;
  private closed = false;

  constructor(o: MemoryTierOptions) {
    if (!(Number.isSafeInteger(o.maxBytes) && o.maxBytes > 0))
      throw new Error('the memory tier needs a positive byte budget');
    this.maxBytes = o.maxBytes;
    const now = o.now;
    this.lru = new LRUCache<string, Uint8Array>({
      maxSize: o.maxBytes,
      sizeCalculation: (value, key) => entrySize(key, value),
      // An injected clock is read on every check (lru-cache otherwise reuses a reading for 1 ms).
      ...(now ? { perf: { now }, ttlResolution: 0 } : {}),
    });
  }

  async get(key: string): Promise<Lookup> {
    if (this.closed) return 'unavailable';
    return this.lru.get(key) ?? 'absent';
  }

  async set(key: string, value: Uint8Array, ttlMs: number): Promise<boolean> {
    if (this.closed || !(ttlMs > 0)) return false;
    if (entrySize(key, value) > this.maxBytes) {
      this.tooLarge++;
      return false;
    }
    this.lru.set(key, value, { ttl: Math.ceil(ttlMs) });
    this.stores++;
    return true;
  }

  counters(): TierCounters {
    return { stores: this.stores, tooLarge: this.tooLarge, bytes: this.lru.calculatedSize, entries: this.lru.size };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.lru.clear();
  }
}

function entrySize(key: string, value: Uint8Array): number {
  return value.byteLength + key.length + ENTRY_OVERHEAD;
}
