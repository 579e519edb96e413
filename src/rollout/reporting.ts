/**
 * Which observations a model's shadow report is made of (issue #13 item 3). Every replica's
 * observer keeps one row per model in the store, for the rollout step (or manual split) it is
 * observing now; a row of a replica that has gone keeps its last counts. The report is of the
 * newest (rollout, step): the group of rows with the latest publication, summed over replicas.
 * Pure: the store read is the caller's (RolloutService.report).
 */
import type { ObservationRecord } from '../registry/types.js';
import { type ArmCounters, type ReplicaObservation, sumArm } from './observations.js';
import { buildReport, mergeDiffs, type ReportOptions, type ShadowReport } from './report.js';

export interface RolloutReport extends ShadowReport {
  /** The rollout id the rows belong to (`manual-…` for a manual split with shadows). */
  rollout: string;
  step: number;
  /** Replicas whose rows were summed. */
  replicas: string[];
}

/** The report of `model` from its observation rows, or undefined when no replica has published any. */
export function reportFromObservations(
  model: string,
  rows: readonly ObservationRecord[],
  o: ReportOptions = {},
): RolloutReport | undefined {
  const parsed = rows.flatMap((r) => {
    const d = r.data as Partial<ReplicaObservation>;
    // A row from an older server (no diffs or arms) or not ours at all is skipped, not trusted.
    if (typeof d.rollout !== 'string' || typeof d.step !== 'number' || !Array.isArray(d.diffs) || !d.arms) return [];
    return [{ replica: r.replica, obs: d as ReplicaObservation }];
  });
  const newest = parsed.reduce<(typeof parsed)[number] | undefined>(
    (best, r) => (!best || r.obs.at > best.obs.at ? r : best),
    undefined,
  );
  if (!newest) return undefined;
  const { rollout, step } = newest.obs;
  const group = parsed.filter((r) => r.obs.rollout === rollout && r.obs.step === step);
  const observations = group.map((r) => r.obs);
  const versions = new Set(observations.flatMap((r) => Object.keys(r.arms)));
  const arms: Record<string, ArmCounters> = {};
  for (const v of versions) {
    const a = sumArm(observations, rollout, step, Number(v));
    arms[v] = { requests: a.requests, errors: a.errors, latency: a.latency };
  }
  const report = buildReport(model, mergeDiffs(observations.map((r) => r.diffs)), arms, o);
  return { ...report, rollout, step, replicas: group.map((r) => r.replica).sort() };
}
