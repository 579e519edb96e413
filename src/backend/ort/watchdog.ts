/**
 * The worker watchdog's pure part (reliability.md R19): a run that has not answered within
 * max(factor × the instance's observed execution p99, floor) means its worker is hung. The p99
 * comes from a bounded window of the instance's recent successful execution times; until the
 * window holds enough of them to say anything, the floor alone is the bound. OrtInstance drives
 * it with one timer; everything here takes the time as an argument.
 */
import { type ExecutionSpec, InferError } from '../../core/index.js';

/** How long a run may take before its worker is declared hung. */
export interface WatchdogSettings {
  /** Multiplies the observed execution p99 (≥ 1). */
  factor: number;
  /** The bound never goes below this, ms (≥ 1). */
  floorMs: number;
  /**
   * The bound until enough samples exist (default: the floor). The server's default is 30 s, so a
   * model whose ordinary run is longer than the 1 s floor is measured before it is judged, instead
   * of being declared hung on its first run and replaced in a loop; a model that sets
   * `watchdog_floor_ms` is judged by that floor from its first run.
   */
  coldMs?: number;
}

/** R19's numbers: declared dead within max(2 × exec p99, 1 s), once measured. */
export const DEFAULT_WATCHDOG: WatchdogSettings = { factor: 2, floorMs: 1000, coldMs: 30_000 };

/** Recent executions kept per instance: enough for a p99 that follows a changing load. */
export const WINDOW_SIZE = 256;
/** Below this many samples a p99 is noise (a cold first run would set it): the floor rules. */
export const MIN_SAMPLES = 20;

/** A bounded window of recent execution durations (ms) with its p99 (nearest rank). */
export class DurationWindow {
  readonly #ring: Float64Array;
  #count = 0;
  #next = 0;
  #p99: number | undefined;
  #stale = true;

  constructor(
    capacity = WINDOW_SIZE,
    private readonly minSamples = MIN_SAMPLES,
  ) {
    this.#ring = new Float64Array(capacity);
  }

  /** Samples held now (at most the capacity). */
  get size(): number {
    return this.#count;
  }

  /** Adds one successful execution's duration, replacing the oldest once full. */
  record(ms: number): void {
    this.#ring[this.#next] = ms;
    this.#next = (this.#next + 1) % this.#ring.length;
    this.#count = Math.min(this.#count + 1, this.#ring.length);
    this.#stale = true;
  }

  /** The window's p99, or undefined below the minimum sample count. Sorted lazily, once per change. */
  p99(): number | undefined {
    if (this.#count < this.minSamples) return undefined;
    if (this.#stale) {
      const sorted = this.#ring.slice(0, this.#count).sort();
      this.#p99 = sorted[Math.ceil(0.99 * this.#count) - 1];
      this.#stale = false;
    }
    return this.#p99;
  }
}

/** The bound of the next run, whole ms: max(factor × p99, floor); the cold bound when no p99 exists yet. */
export function watchdogBoundMs(s: WatchdogSettings, p99: number | undefined): number {
  return Math.ceil(
    p99 === undefined ? Math.max(s.coldMs ?? s.floorMs, s.floorMs) : Math.max(s.factor * p99, s.floorMs),
  );
}

/** The run being watched: the worker's oldest unanswered run, since it could start (performance.now ms). */
export interface Watch {
  since: number;
  boundMs: number;
}

/** At `now`: the watched run is overdue (its worker is hung), or how long until it would be. */
export function watchdogVerdict(w: Watch, now: number): { hung: true } | { hung: false; inMs: number } {
  const left = w.since + w.boundMs - now;
  return left <= 0 ? { hung: true } : { hung: false, inMs: left };
}

/**
 * A version's watchdog: `defaults` (backend options) overridden by the config parameters
 * `watchdog_factor` and `watchdog_floor_ms`. Throws IG_ERR_MODEL_LOAD naming a malformed one,
 * before any worker starts (the same rule as execution-settings.ts).
 */
export function watchdogSettings(
  model: string,
  execution: ExecutionSpec,
  defaults: WatchdogSettings = DEFAULT_WATCHDOG,
): WatchdogSettings {
  const fail = (detail: string) => new InferError('IG_ERR_MODEL_LOAD', `failed to load '${model}': ${detail}`);
  const text = (key: string) => {
    const v = execution.parameters[key]?.trim();
    return v === '' ? undefined : v;
  };
  const factor = text('watchdog_factor');
  const floor = text('watchdog_floor_ms');
  // A factor below 1 would declare a worker hung at its own ordinary p99.
  if (factor !== undefined && !(/^\d+(\.\d+)?$/.test(factor) && Number(factor) >= 1))
    throw fail(`parameter 'watchdog_factor' must be a number of at least 1, got '${factor}'`);
  // A floor of 0 would declare every worker hung before the window has samples.
  if (floor !== undefined && !(/^\d+$/.test(floor) && Number(floor) >= 1))
    throw fail(`parameter 'watchdog_floor_ms' must be a positive integer (ms), got '${floor}'`);
  const settings: WatchdogSettings = {
    factor: factor === undefined ? defaults.factor : Number(factor),
    floorMs: floor === undefined ? defaults.floorMs : Number(floor),
  };
  if (floor === undefined && defaults.coldMs !== undefined) settings.coldMs = defaults.coldMs;
  return settings;
}
