/**
 * Open-loop arrival schedules: Poisson arrivals (exponential gaps) at a fixed rate or at a
 * piecewise-constant rate (bursts). Pure: the random source is injected, so a seed replays a run
 * and tests check the schedule without a clock.
 */

import { seededRandom } from '../core/random.js';

/** A source of uniform numbers in [0, 1). */
export type Rng = () => number;

/** A seeded generator for arrival gaps and test data (core/random.ts). */
export const seededRng: (seed: number) => Rng = seededRandom;

/** One exponential gap in ms for `ratePerSec` arrivals per second, from one uniform draw. */
export function exponentialGapMs(ratePerSec: number, u: number): number {
  // 1 - u is in (0, 1], so the log is finite (and written as log(1/x) so u = 0 gives +0).
  return (Math.log(1 / (1 - u)) / ratePerSec) * 1000;
}

/** A stretch of constant arrival rate. */
export interface RatePhase {
  /** Arrivals per second (0 = silence). */
  rate: number;
  durationMs: number;
  /** Label reported with the requests scheduled in this phase (e.g. 'burst'). */
  label?: string;
}

/** A rate profile: the phases repeat until the run ends. */
export interface RateProfile {
  phases: RatePhase[];
}

/** A fixed rate as a profile. */
export function constantRate(rate: number): RateProfile {
  return { phases: [{ rate, durationMs: Number.POSITIVE_INFINITY }] };
}

/** Alternating low/high rates (a bursty load), each held for `periodMs`. */
export function burstyRate(low: number, high: number, periodMs: number): RateProfile {
  return {
    phases: [
      { rate: low, durationMs: periodMs, label: 'calm' },
      { rate: high, durationMs: periodMs, label: 'burst' },
    ],
  };
}

/** Where in the profile an offset (ms from the start) falls. */
export function phaseAt(profile: RateProfile, offsetMs: number): { index: number; endMs: number } {
  const cycle = profile.phases.reduce((s, p) => s + p.durationMs, 0);
  if (!Number.isFinite(cycle)) {
    let start = 0;
    for (let i = 0; i < profile.phases.length; i++) {
      const end = start + profile.phases[i]!.durationMs;
      if (offsetMs < end) return { index: i, endMs: end };
      start = end;
    }
    return { index: profile.phases.length - 1, endMs: Number.POSITIVE_INFINITY };
  }
  const base = Math.floor(offsetMs / cycle) * cycle;
  let start = base;
  for (let i = 0; i < profile.phases.length; i++) {
    const end = start + profile.phases[i]!.durationMs;
    if (offsetMs < end) return { index: i, endMs: end };
    start = end;
  }
  return { index: 0, endMs: base + cycle + profile.phases[0]!.durationMs };
}

/**
 * Arrival times (ms offsets from the start, increasing) under a profile. Exact for a
 * piecewise-constant rate: a gap that would cross a phase boundary restarts at the boundary
 * with the next phase's rate, which is valid because exponential gaps are memoryless.
 */
export class ArrivalSchedule {
  private t = 0;

  constructor(
    private readonly profile: RateProfile,
    private readonly rng: Rng,
  ) {
    if (profile.phases.length === 0) throw new Error('a rate profile needs at least one phase');
    if (!profile.phases.some((p) => p.rate > 0)) throw new Error('a rate profile needs a positive rate');
  }

  /** The next arrival offset in ms. */
  next(): number {
    for (;;) {
      const { index, endMs } = phaseAt(this.profile, this.t);
      const rate = this.profile.phases[index]!.rate;
      const candidate = rate > 0 ? this.t + exponentialGapMs(rate, this.rng()) : Number.POSITIVE_INFINITY;
      if (candidate < endMs) {
        this.t = candidate;
        return candidate;
      }
      this.t = endMs;
    }
  }

  /** The label of the phase an offset falls in ('' when the phase has none). */
  labelAt(offsetMs: number): string {
    return this.profile.phases[phaseAt(this.profile, offsetMs).index]!.label ?? '';
  }
}
