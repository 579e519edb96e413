/**
 * What each replica counts for a model's active rollout step and publishes to the store (one
 * row per replica, `RegistryStore.putObservation`), and how the leader sums the rows of all
 * replicas into the analysis' inputs. Counters are per step: a replica starts from zero when the
 * step changes, so a restart loses only its own part of the current step, never mixes steps.
 */
import type { ArmObservations } from './analysis.js';

/** Latency buckets in ms (upper bounds; a last bucket collects the rest). Shared by every replica. */
export const LATENCY_BOUNDS_MS = [
  0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000, 2000, 5000,
];

export interface Histogram {
  bounds: number[];
  counts: number[];
}

export function emptyHistogram(): Histogram {
  return { bounds: LATENCY_BOUNDS_MS, counts: new Array(LATENCY_BOUNDS_MS.length + 1).fill(0) };
}

export function observe(h: Histogram, ms: number): void {
  let i = 0;
  while (i < h.bounds.length && ms > (h.bounds[i] as number)) i++;
  h.counts[i] = (h.counts[i] as number) + 1;
}

/** One arm's calls at this step on one replica. */
export interface ArmCounters {
  requests: number;
  /** Answered with a server-side error (HTTP 5xx class). */
  errors: number;
  latency: Histogram;
}

/** Shadow comparisons of one (primary, shadow) pair of versions (rollout/shadow.ts fills it). */
export interface PairDiff {
  primary: number;
  shadow: number;
  /** Calls both answered and that were compared. */
  compared: number;
  /** Compared calls whose answers disagree (top-1 for classifiers, else beyond tolerance). */
  disagreed: number;
  /** Shadow calls that failed, and those not sent because the shadow was busy (dropped first under load). */
  failed: number;
  dropped: number;
  /** Per output: the largest and the summed absolute difference, over `count` compared calls. */
  outputs: Record<string, { maxAbs: number; sumAbs: number; count: number }>;
  /** The shadow's own latency. */
  latency: Histogram;
  /** The most disagreeing calls, by request id (inputs are never kept here). */
  worst: Array<{ requestId: string; diff: number; at: string }>;
}

/** A (primary, shadow) pair with nothing compared yet. */
export function emptyPair(primary: number, shadow: number): PairDiff {
  return {
    primary,
    shadow,
    compared: 0,
    disagreed: 0,
    failed: 0,
    dropped: 0,
    outputs: {},
    latency: emptyHistogram(),
    worst: [],
  };
}

/** A replica's row for a model. */
export interface ReplicaObservation {
  rollout: string;
  step: number;
  at: string;
  arms: Record<string, ArmCounters>;
  diffs: PairDiff[];
}

/** Adds bucket by bucket (every replica shares LATENCY_BOUNDS_MS; a foreign row is matched by index). */
export function addHistogram(a: Histogram, b: Histogram): Histogram {
  const n = Math.max(a.counts.length, b.counts.length);
  const counts = Array.from({ length: n }, (_, i) => (a.counts[i] ?? 0) + (b.counts[i] ?? 0));
  return { bounds: a.bounds.length >= b.bounds.length ? a.bounds : b.bounds, counts };
}

/** The leader's view of one arm at (rollout, step): the sum of every replica's row for it. */
export function sumArm(
  rows: readonly ReplicaObservation[],
  rollout: string,
  step: number,
  version: number,
): ArmObservations {
  let requests = 0;
  let errors = 0;
  let latency = emptyHistogram();
  let compared = 0;
  let disagreed = 0;
  for (const r of rows) {
    if (r.rollout !== rollout || r.step !== step) continue;
    const arm = r.arms[String(version)];
    if (arm) {
      requests += arm.requests;
      errors += arm.errors;
      latency = addHistogram(latency, arm.latency);
    }
    for (const d of r.diffs)
      if (d.shadow === version) {
        compared += d.compared;
        disagreed += d.disagreed;
      }
  }
  return { requests, errors, latency, compared, disagreed };
}
