/**
 * The response cache: the in-process tier first, then the shared one (Redis); a shared hit fills
 * the in-process tier for what is left of the entry's life, so the next call on this replica stays
 * in the process. Entries are InferResponses as codec.ts bytes, so both tiers store the same thing
 * and every read is checked: bytes that do not decode (garbage, another key's, expired) are a
 * miss, counted per tier, and the next store under the key overwrites them.
 *
 * A store encodes once, puts the bytes in memory at once and sends them to Redis without waiting:
 * the call that computed the answer never waits on Redis. A lookup waits on Redis at most the
 * tier's timeout or the time the call has left, whichever is shorter.
 */
import type { InferResponse } from '../core/index.js';
import type { CacheTierReading } from '../observability/metrics.js';
import { decodeResponse, encodeResponse } from './codec.js';
import type { CacheTier, Lookup } from './types.js';

/** What the router uses (stages/cache.ts, the `cache` fallback step). */
export interface ResponseCacheApi {
  /** The answer stored under `key`, waiting at most `budgetMs` (the call's time left) on a remote tier. */
  get(key: string, budgetMs: number): Promise<InferResponse | undefined>;
  /** Stores `res` under `key` (copied now: the caller may hand `res` on and its buffers be transferred). */
  set(key: string, res: InferResponse): void;
}

export interface ResponseCacheOptions {
  /** The in-process tier (absent: `--cache-memory-bytes 0`). */
  memory?: CacheTier;
  /** The shared tier (absent: no `--cache-redis`). */
  shared?: CacheTier;
  /** How long an entry lives (`--cache-ttl-secs`). */
  ttlMs: number;
  /** Epoch ms: an entry's expiry is written into its bytes, and replicas read it with their own clocks. */
  wallMs?: () => number;
}

interface Counts {
  hits: number;
  misses: number;
  garbage: number;
}

export class ResponseCache implements ResponseCacheApi {
  private readonly tiers: CacheTier[];
  private readonly counts = new Map<CacheTier, Counts>();
  private readonly wallMs: () => number;

  constructor(private readonly o: ResponseCacheOptions) {
    if (!(o.ttlMs > 0)) throw new Error('the response cache needs a positive TTL');
    this.tiers = [o.memory, o.shared].filter((t): t is CacheTier => t !== undefined);
    for (const t of this.tiers) this.counts.set(t, { hits: 0, misses: 0, garbage: 0 });
    this.wallMs = o.wallMs ?? Date.now;
  }

  async get(key: string, budgetMs: number): Promise<InferResponse | undefined> {
    const { memory, shared } = this.o;
    if (memory) {
      const hit = this.read(memory, await memory.get(key), key);
      if (hit) return hit.response;
    }
    if (!shared || !(budgetMs > 0)) return undefined;
    const found = await shared.get(key, budgetMs);
    const hit = this.read(shared, found, key);
    if (!hit) return undefined;
    const left = hit.expiresAt - this.wallMs();
    if (memory && left > 0) void memory.set(key, found as Uint8Array, left);
    return hit.response;
  }

  set(key: string, res: InferResponse): void {
    const bytes = encodeResponse(key, res, this.wallMs() + this.o.ttlMs);
    // Both tiers keep the same read-only bytes; neither promise rejects (CacheTier's contract).
    for (const t of this.tiers) void t.set(key, bytes, this.o.ttlMs);
  }

  /** Every tier's counters, for the metrics (infergate_cache_*). */
  readings(): CacheTierReading[] {
    return this.tiers.map((t) => ({ tier: t.name, ...(this.counts.get(t) as Counts), ...t.counters() }));
  }

  async close(): Promise<void> {
    await Promise.all(this.tiers.map((t) => t.close()));
  }

  private read(tier: CacheTier, found: Lookup, key: string) {
    const c = this.counts.get(tier) as Counts;
    if (found === 'unavailable') return undefined;
    if (found === 'absent') {
      c.misses++;
      return undefined;
    }
    const hit = decodeResponse(found, key);
    if (hit === undefined) c.garbage++;
    // Past the expiry written in it (a replica's clock, a TTL rounded up): a plain miss.
    if (hit === undefined || hit.expiresAt <= this.wallMs()) {
      c.misses++;
      return undefined;
    }
    c.hits++;
    return hit;
  }
}
