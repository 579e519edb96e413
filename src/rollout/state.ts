/**
 * A rollout as data: its plan (baseline → canary over weight steps, the analysis interval and
 * gates), where it is (status, step), and what was decided (the last decisions with their
 * evidence). Stored in the registry (RolloutRecord.state), so any replica can lead it and a
 * restart resumes it. The traffic a state implies is a pure function (`trafficOf`): the
 * controller writes it, every replica applies it.
 */
import type { TrafficPolicy } from '../registry/types.js';
import type { Gates } from './analysis.js';

export type RolloutStatus = 'pending' | 'running' | 'paused' | 'promoted' | 'rolled-back' | 'aborted';

export interface RolloutDecisionRecord {
  at: string;
  step: number;
  action: 'start' | 'promote' | 'hold' | 'rollback' | 'abort' | 'pause' | 'resume' | 'complete';
  reason: string;
  by: string;
  evidence?: unknown;
}

export interface RolloutState {
  status: RolloutStatus;
  baseline: number;
  canary: number;
  /** Canary weights in percent, one per step; the last is 100 (then the alias moves). */
  steps: number[];
  /** Index into steps; -1 while pending (the canary is loading). */
  step: number;
  intervalMs: number;
  gates: Gates;
  /** Share of the baseline's calls copied to the canary (divergence, warm-up); 0 = none. */
  shadowPercent: number;
  sticky?: { header?: string; parameter?: string };
  /** The alias promotion moves (default production). */
  alias: string;
  /** Consecutive `hold` decisions at this step; past maxHolds the rollout rolls back as inconclusive. */
  holds: number;
  maxHolds: number;
  startedAt: string;
  stepStartedAt: string;
  /** The last decisions, newest last (bounded). */
  decisions: RolloutDecisionRecord[];
}

export const ACTIVE: readonly RolloutStatus[] = ['pending', 'running', 'paused'];
const KEEP_DECISIONS = 50;

export function isActive(s: RolloutState): boolean {
  return ACTIVE.includes(s.status);
}

/** The split a state implies; undefined once it is over (no policy: the alias serves). */
export function trafficOf(s: RolloutState): TrafficPolicy | undefined {
  if (!isActive(s)) return undefined;
  const w = s.step < 0 ? 0 : (s.steps[s.step] as number);
  // A weight-0 arm keeps the canary named, so every replica loads (warms) it before it serves.
  const arms =
    w >= 100
      ? [{ version: s.canary, weight: 100 }]
      : [
          { version: s.baseline, weight: 100 - w },
          { version: s.canary, weight: w },
        ];
  const shadows = s.shadowPercent > 0 && w < 100 ? [{ version: s.canary, percent: s.shadowPercent }] : undefined;
  return { arms, ...(shadows ? { shadows } : {}), ...(s.sticky ? { sticky: s.sticky } : {}) };
}

/** The state with one more decision recorded (older ones dropped past the bound). */
export function withDecision(
  s: RolloutState,
  d: RolloutDecisionRecord,
  changes: Partial<RolloutState> = {},
): RolloutState {
  return { ...s, ...changes, decisions: [...s.decisions, d].slice(-KEEP_DECISIONS) };
}
