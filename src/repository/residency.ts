/**
 * Pure decisions of the model memory budget (docs/memory.md): which loaded versions make room for
 * a load, when a load must wait or is refused, how long an on-demand load that failed is not tried
 * again. Plain data in, plain data out; memory-budget.ts and on-demand.ts apply them.
 */

/** The reason an evicted version's slot shows (repository index, metadata). */
export const EVICTED_REASON = 'evicted (memory budget)';

/** One loaded version as the budget sees it. */
export interface ResidentVersion {
  model: string;
  version: number;
  /** Bytes it holds (LoadedModel.memoryBytes, measured by the backend after warm-up). */
  bytes: number;
  /** Order of last use (a counter, larger = more recent): eviction only needs the order. */
  lastUsed: number;
  /** Never evicted: the config's `pinned` parameter, the registry's default alias, an in-memory model. */
  pinned: boolean;
  /** Has calls queued or executing, or a load or unload of its model is in progress: not evicted now. */
  busy: boolean;
}

/** A load asking for room. */
export interface RoomQuery<R extends ResidentVersion = ResidentVersion> {
  budget: number;
  /** Bytes the version is expected to hold (its last measured size, else an estimate). */
  need: number;
  /** What it holds at least (the measured size, else its model file): above the budget it never fits. */
  floor: number;
  /** Bytes reserved by other loads in progress. */
  reserved: number;
  resident: readonly R[];
}

/**
 * - fit: load now, after evicting `evict` (least recently used first);
 * - wait: it would fit once busy versions go idle or other loads finish (they become evictable);
 * - refuse: it cannot fit: larger than the whole budget, or the pinned versions leave no room.
 */
export type RoomPlan<R extends ResidentVersion = ResidentVersion> =
  | { kind: 'fit'; evict: R[] }
  | { kind: 'wait' }
  | { kind: 'refuse'; why: 'too-large' | 'pinned' };

function sum(rows: readonly ResidentVersion[]): number {
  let n = 0;
  for (const r of rows) n += r.bytes;
  return n;
}

/** Idle, unpinned versions, least recently used first (then the larger, then by name: deterministic). */
export function evictionOrder<R extends ResidentVersion>(resident: readonly R[]): R[] {
  return resident
    .filter((r) => !r.pinned && !r.busy)
    .sort(
      (a, b) => a.lastUsed - b.lastUsed || b.bytes - a.bytes || a.model.localeCompare(b.model) || a.version - b.version,
    );
}

/** Victims, in eviction order, until `short` bytes are freed (all of them when that is not enough). */
function pick<R extends ResidentVersion>(resident: readonly R[], short: number): { evict: R[]; freed: number } {
  const evict: R[] = [];
  let freed = 0;
  for (const r of evictionOrder(resident)) {
    if (freed >= short) break;
    evict.push(r);
    freed += r.bytes;
  }
  return { evict, freed };
}

/** Where a version about to load finds room. */
export function planRoom<R extends ResidentVersion>(q: RoomQuery<R>): RoomPlan<R> {
  if (q.floor > q.budget) return { kind: 'refuse', why: 'too-large' };
  // An estimate above the budget (the file is below it) plans for the whole budget; the size
  // measured after the load decides.
  const need = Math.min(q.need, q.budget);
  const short = need - (q.budget - q.reserved - sum(q.resident));
  if (short <= 0) return { kind: 'fit', evict: [] };
  const { evict, freed } = pick(q.resident, short);
  if (freed >= short) return { kind: 'fit', evict };
  if (sum(q.resident.filter((r) => r.pinned)) + need > q.budget) return { kind: 'refuse', why: 'pinned' };
  return { kind: 'wait' };
}

/**
 * After a load measured more than was reserved: idle versions to evict until the budget holds
 * again (best effort: what is busy now goes at the next load); `over` is what remains above it.
 */
export function planSettle<R extends ResidentVersion>(
  budget: number,
  reserved: number,
  resident: readonly R[],
): { evict: R[]; over: number } {
  const short = reserved + sum(resident) - budget;
  if (short <= 0) return { evict: [], over: 0 };
  const { evict, freed } = pick(resident, short);
  return { evict, over: Math.max(0, short - freed) };
}

/**
 * The bytes to plan for before a version's first load: its model file times the instances, times
 * 1.25 for onnxruntime's arena and the buffers warm-up allocates (the backend measures them as RSS
 * growth; for the MLPs and CNNs we serve that is a fraction of the weights). Too high evicts one
 * version early; too low is corrected right after the load (planSettle). Later loads use the size
 * measured last time.
 */
export const ESTIMATE_FACTOR = 1.25;

/**
 * `need` and `floor` of a version about to load. The floor is always the file: a measured size can
 * hold noise (the backend measures process-wide RSS growth), which must never refuse a model for good.
 */
export function estimateNeed(fileBytes: number, instances: number, measured: number | undefined) {
  const floor = fileBytes * Math.max(1, instances);
  return { need: measured ?? Math.ceil(floor * ESTIMATE_FACTOR), floor };
}

/** An on-demand load that failed: not tried again before `retryAt` (clock ms). */
export interface LoadFailure {
  failures: number;
  retryAt: number;
  error: unknown;
}

/** 1 s after the first failure, doubling to at most 30 s: a broken model is not reloaded per call. */
export function backoffMs(failures: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, failures - 1));
}

/** The failure record after one more failure at `now`. */
export function nextFailure(prev: LoadFailure | undefined, error: unknown, now: number): LoadFailure {
  const failures = (prev?.failures ?? 0) + 1;
  return { failures, retryAt: now + backoffMs(failures), error };
}

/** Within its back-off window: answer the last failure without loading. */
export function inBackoff(f: LoadFailure | undefined, now: number): f is LoadFailure {
  return f !== undefined && now < f.retryAt;
}

/** `12.0 MiB (12582912 bytes)`: readable, and exact for whoever compares it with the flag. */
export function formatBytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB (${n} bytes)` : `${n} bytes`;
}

/** Why a version larger than the whole budget is refused, naming both sizes. */
export function tooLargeText(version: number, bytes: number, budget: number): string {
  return `version ${version} needs at least ${formatBytes(bytes)} (its model file), more than the whole model memory budget of ${formatBytes(budget)}`;
}

/** Why a load found no room: what it needs, the budget, and what is resident and why it stays. */
export function noRoomText(
  version: number,
  need: number,
  budget: number,
  resident: readonly ResidentVersion[],
  loading = 0,
): string {
  const shown = [...resident].sort((a, b) => b.bytes - a.bytes).slice(0, 8);
  const list = shown.map(
    (r) => `${r.model} v${r.version} ${formatBytes(r.bytes)}${r.pinned ? ' pinned' : r.busy ? ' busy' : ''}`,
  );
  if (resident.length > shown.length) list.push(`${resident.length - shown.length} more`);
  return (
    `no room in the model memory budget: version ${version} needs about ${formatBytes(need)}, the budget is ` +
    `${formatBytes(budget)} and ${formatBytes(sum(resident))} is resident (${list.join(', ') || 'nothing'})` +
    (loading > 0 ? `, ${formatBytes(loading)} reserved by other loads; ` : '; ') +
    'pinned and busy versions are not evicted'
  );
}
