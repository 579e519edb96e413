// The progressive autopilot's analysis (issue #13 item 2): one step's observations of the baseline
// and the canary in, promote / hold / roll back out, with the evidence the audit trail records.
// A pure function of plain data (architecture rule 5): it reads no clock and does no I/O, so the
// driver may call it at any moment, and a recorded decision can be recomputed from its inputs.
//
// Error probabilities. Each configured gate (error rate, latency, divergence) has a rollback test.
// Rollback happens when ANY of them rejects, so their false alarms add up: each runs at
// alpha / k (Bonferroni over the k configured gates), which keeps the chance of rolling back a
// canary that meets every gate at most alpha per analysis. Promotion needs EVERY gate to pass
// (an intersection–union test), so each promotion bound runs at the full alpha and the chance of
// promoting a canary that violates a given gate stays at most alpha without any correction.
// Latency is the exception: its promotion check is the p99 point estimate the gate names, not a
// confidence bound. Analysing the same step's growing data again and again (holding, then
// looking again) is repeated testing; a driver that does so should pass a smaller alpha.
import {
  diffScoreTest,
  histogramQuantile,
  mannWhitneyBinned,
  newcombeDiffBounds,
  normalIsf,
  oneProportionScoreTest,
  wilsonBounds,
} from './stats.js';

export interface ArmObservations {
  /** answered + failed */
  requests: number;
  /** failed with a server-side error (5xx-class; the caller decides what counts) */
  errors: number;
  /** Latency histogram: counts per bucket; bucket i covers (bounds[i-1], bounds[i]] ms, the last bucket is +Inf. */
  latency: { bounds: number[]; counts: number[] };
  /**
   * Shadow comparisons: requests answered by both arms, and how many disagreed (top-1 or beyond
   * tolerance). A comparison concerns the pair, so the analysis reads the canary's counts; the
   * baseline's are ignored.
   */
  compared: number;
  disagreed: number;
}

export interface Gates {
  /** per arm, before anything is decided */
  minSamples: number;
  /** e.g. 0.01: canary error rate may exceed baseline's by at most this */
  maxErrorRateDelta?: number;
  /** e.g. 1.2: canary p99 / baseline p99 */
  maxP99Ratio?: number;
  /** e.g. 0.02: fraction of compared requests that disagree */
  maxDivergence?: number;
  /** significance level, default 0.05 */
  alpha?: number;
}

export type GateOutcome = 'pass' | 'fail' | 'inconclusive';

export interface ErrorGateEvidence {
  outcome: GateOutcome;
  summary: string;
  maxDelta: number;
  /** canary error rate − baseline error rate */
  observedDelta: number;
  test: 'farrington-manning score, H0: delta <= maxDelta';
  z: number | null;
  pValue: number;
  interval: 'newcombe hybrid score';
  /** one-sided (1 − alpha) upper bound of the difference: passes when ≤ maxDelta */
  upperBound: number;
  /** one-sided (1 − rollbackAlpha) lower bound, for the record */
  lowerBound: number;
}

export interface LatencyGateEvidence {
  outcome: GateOutcome;
  summary: string;
  maxRatio: number;
  /** canary p99 / baseline p99, null when either is unknown */
  p99Ratio: number | null;
  /** exact: both p99s interpolated; lower/upper: one fell in the +Inf bucket; unknown: both did */
  ratioKind: 'exact' | 'lower' | 'upper' | 'unknown';
  test: 'mann-whitney u, canary greater, tie-corrected normal approximation with continuity';
  u: number;
  z: number | null;
  pValue: number;
}

export interface DivergenceGateEvidence {
  outcome: GateOutcome;
  summary: string;
  maxDivergence: number;
  compared: number;
  disagreed: number;
  rate: number;
  interval: 'wilson score';
  /** one-sided (1 − rollbackAlpha) lower bound: rolls back when > maxDivergence */
  lowerBound: number;
  /** one-sided (1 − alpha) upper bound: passes when ≤ maxDivergence */
  upperBound: number;
  z: number | null;
  pValue: number;
}

export interface ArmSummary {
  requests: number;
  errors: number;
  errorRate: number | null;
  latencyCount: number;
  p99Ms: number | null;
  /** the p99 fell in the +Inf bucket: p99Ms is the last finite bound, a lower bound */
  p99Censored: boolean;
  compared: number;
  disagreed: number;
}

/** Plain JSON data: no undefined, NaN or Infinity, so the audit record round-trips exactly. */
export interface Evidence {
  alpha: number | null;
  /** per-test level of the rollback tests: alpha / (number of configured gates) */
  rollbackAlpha: number | null;
  minSamples: number | null;
  /** invalid input found; when non-empty nothing else was evaluated */
  problems: string[];
  arms: { baseline: ArmSummary; canary: ArmSummary } | null;
  gates: { errorRate?: ErrorGateEvidence; latency?: LatencyGateEvidence; divergence?: DivergenceGateEvidence };
}

export type Decision =
  | { action: 'hold'; reason: string; evidence: Evidence }
  | { action: 'promote'; reason: string; evidence: Evidence }
  | { action: 'rollback'; reason: string; evidence: Evidence };

const DEFAULT_ALPHA = 0.05;

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);
const pct = (v: number): string => `${(v * 100).toFixed(2)}%`;
const pv = (v: number): string => v.toPrecision(2);

function validateGates(g: Gates): string[] {
  const out: string[] = [];
  if (!isCount(g.minSamples) || g.minSamples < 1) out.push('minSamples must be an integer >= 1');
  const a = g.alpha ?? DEFAULT_ALPHA;
  if (!(a > 0 && a <= 0.5)) out.push('alpha must be in (0, 0.5]');
  const d = g.maxErrorRateDelta;
  if (d !== undefined && !(d >= 0 && d < 1)) out.push('maxErrorRateDelta must be in [0, 1)');
  const r = g.maxP99Ratio;
  if (r !== undefined && !(r > 0 && Number.isFinite(r))) out.push('maxP99Ratio must be a positive number');
  const m = g.maxDivergence;
  if (m !== undefined && !(m >= 0 && m < 1)) out.push('maxDivergence must be in [0, 1)');
  return out;
}

function validateArm(name: string, arm: ArmObservations): string[] {
  const out: string[] = [];
  const { requests, errors, compared, disagreed } = arm;
  if (!isCount(requests) || !isCount(errors) || errors > requests) {
    out.push(`${name}: requests and errors must be counts with errors <= requests`);
  }
  if (!isCount(compared) || !isCount(disagreed) || disagreed > compared) {
    out.push(`${name}: compared and disagreed must be counts with disagreed <= compared`);
  }
  const { bounds, counts } = arm.latency ?? {};
  const boundsOk =
    Array.isArray(bounds) &&
    bounds.every((b, i) => Number.isFinite(b) && b >= 0 && (i === 0 || b > (bounds[i - 1] ?? 0)));
  if (!boundsOk) out.push(`${name}: latency bounds must be finite, non-negative and increasing`);
  if (!Array.isArray(counts) || !counts.every(isCount) || counts.length !== (bounds?.length ?? -1) + 1) {
    out.push(`${name}: latency counts must be counts, one per bound plus the +Inf bucket`);
  }
  return out;
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function summarize(arm: ArmObservations): ArmSummary {
  const q = histogramQuantile(arm.latency.bounds, arm.latency.counts, 0.99);
  return {
    requests: arm.requests,
    errors: arm.errors,
    errorRate: arm.requests > 0 ? arm.errors / arm.requests : null,
    latencyCount: arm.latency.counts.reduce((a, b) => a + b, 0),
    p99Ms: q?.value ?? null,
    p99Censored: q?.censored ?? false,
    compared: arm.compared,
    disagreed: arm.disagreed,
  };
}

interface Levels {
  /** critical value of the one-sided promotion bounds, z_{1−alpha} */
  zPromote: number;
  /** critical value of the rollback tests, z_{1−alpha/k} */
  zRollback: number;
  rollbackAlpha: number;
}

function errorGate(b: ArmObservations, c: ArmObservations, maxDelta: number, lv: Levels): ErrorGateEvidence {
  const test = diffScoreTest(c.errors, c.requests, b.errors, b.requests, maxDelta);
  const upper = newcombeDiffBounds(c.errors, c.requests, b.errors, b.requests, lv.zPromote).upper;
  const lower = newcombeDiffBounds(c.errors, c.requests, b.errors, b.requests, lv.zRollback).lower;
  const observed = c.errors / c.requests - b.errors / b.requests;
  const rates = `canary ${pct(c.errors / c.requests)} vs baseline ${pct(b.errors / b.requests)}`;
  let outcome: GateOutcome;
  let summary: string;
  if (test.pValue < lv.rollbackAlpha) {
    outcome = 'fail';
    summary = `error rate ${rates}: difference significantly above ${pct(maxDelta)} (p=${pv(test.pValue)})`;
  } else if (upper <= maxDelta) {
    outcome = 'pass';
    summary = `error rate ${rates}: difference at most ${pct(upper)} <= ${pct(maxDelta)}`;
  } else {
    outcome = 'inconclusive';
    summary = `error rate ${rates}: difference could be up to ${pct(upper)} > ${pct(maxDelta)}`;
  }
  return {
    outcome,
    summary,
    maxDelta,
    observedDelta: observed,
    test: 'farrington-manning score, H0: delta <= maxDelta',
    z: finiteOrNull(test.z),
    pValue: test.pValue,
    interval: 'newcombe hybrid score',
    upperBound: upper,
    lowerBound: lower,
  };
}

/**
 * The p99 ratio and what it is: when one p99 fell in the +Inf bucket (censored, a lower bound of
 * the true p99) the ratio is only a bound, good for one conclusion and not the other.
 */
function p99Ratio(b: ArmSummary, c: ArmSummary): { ratio: number | null; kind: LatencyGateEvidence['ratioKind'] } {
  if (b.p99Ms === null || c.p99Ms === null || b.p99Ms <= 0) return { ratio: null, kind: 'unknown' };
  const ratio = c.p99Ms / b.p99Ms;
  if (b.p99Censored && c.p99Censored) return { ratio, kind: 'unknown' };
  if (c.p99Censored) return { ratio, kind: 'lower' };
  if (b.p99Censored) return { ratio, kind: 'upper' };
  return { ratio, kind: 'exact' };
}

/**
 * Timings are the answered requests only. The minimum sample is on requests (checked before any
 * gate); a second minimum on timings would keep a step with any failures at exactly minSamples
 * from ever deciding on latency. An arm with no timings leaves the ratio unknown (inconclusive).
 */
function latencyGate(
  b: ArmObservations,
  c: ArmObservations,
  arms: { baseline: ArmSummary; canary: ArmSummary },
  maxRatio: number,
  lv: Levels,
): LatencyGateEvidence {
  const rank = mannWhitneyBinned(c.latency.counts, b.latency.counts);
  const { ratio, kind } = p99Ratio(arms.baseline, arms.canary);
  const ratioText = ratio === null ? 'unknown' : `${ratio.toFixed(3)}${kind === 'exact' ? '' : ` (${kind} bound)`}`;
  const head = `latency p99 ratio ${ratioText}, rank test p=${pv(rank.pValue)}`;
  const over = ratio !== null && ratio > maxRatio && (kind === 'exact' || kind === 'lower');
  const within = ratio !== null && ratio <= maxRatio && (kind === 'exact' || kind === 'upper');
  let outcome: GateOutcome;
  let summary: string;
  if (over && rank.pValue < lv.rollbackAlpha) {
    outcome = 'fail';
    summary = `${head}: canary significantly slower and p99 over ${maxRatio}`;
  } else if (within) {
    outcome = 'pass';
    summary = `${head}: p99 within ${maxRatio}`;
  } else {
    outcome = 'inconclusive';
    summary = over ? `${head}: p99 over ${maxRatio} but not significantly slower` : `${head}: p99 ratio not known`;
  }
  return {
    outcome,
    summary,
    maxRatio,
    p99Ratio: ratio === null ? null : finiteOrNull(ratio),
    ratioKind: kind,
    test: 'mann-whitney u, canary greater, tie-corrected normal approximation with continuity',
    u: rank.u,
    z: finiteOrNull(rank.z),
    pValue: rank.pValue,
  };
}

function divergenceGate(c: ArmObservations, maxDivergence: number, lv: Levels): DivergenceGateEvidence {
  const { compared, disagreed } = c;
  const lowerBound = wilsonBounds(disagreed, compared, lv.zRollback).lower;
  const upperBound = wilsonBounds(disagreed, compared, lv.zPromote).upper;
  const test = oneProportionScoreTest(disagreed, compared, maxDivergence);
  const head = `divergence ${pct(disagreed / compared)} of ${compared} compared`;
  let outcome: GateOutcome;
  let summary: string;
  // The Wilson bound is the inversion of the score test: lowerBound > max iff p < rollbackAlpha.
  if (lowerBound > maxDivergence) {
    outcome = 'fail';
    summary = `${head}: at least ${pct(lowerBound)} > ${pct(maxDivergence)}`;
  } else if (upperBound <= maxDivergence) {
    outcome = 'pass';
    summary = `${head}: at most ${pct(upperBound)} <= ${pct(maxDivergence)}`;
  } else {
    outcome = 'inconclusive';
    summary = `${head}: could be up to ${pct(upperBound)} > ${pct(maxDivergence)}`;
  }
  const rate = disagreed / compared;
  return {
    outcome,
    summary,
    maxDivergence,
    compared,
    disagreed,
    rate,
    interval: 'wilson score',
    lowerBound,
    upperBound,
    z: finiteOrNull(test.z),
    pValue: test.pValue,
  };
}

function collectingReason(b: ArmObservations, c: ArmObservations, gates: Gates): string | null {
  const short: string[] = [];
  const n = gates.minSamples;
  if (b.requests < n) short.push(`baseline ${b.requests}/${n} requests`);
  if (c.requests < n) short.push(`canary ${c.requests}/${n} requests`);
  if (gates.maxDivergence !== undefined && c.compared < n) short.push(`${c.compared}/${n} comparisons`);
  return short.length > 0 ? `collecting: ${short.join(', ')}` : null;
}

function configuredCount(gates: Gates): number {
  return [gates.maxErrorRateDelta, gates.maxP99Ratio, gates.maxDivergence].filter((g) => g !== undefined).length;
}

/**
 * Decide one step of a rollout: roll back when any configured gate's rollback test rejects,
 * promote when every configured gate passes, hold otherwise (and always while either arm, or
 * the comparisons when a divergence gate is set, has fewer than minSamples). Invalid input
 * holds, naming the problem: garbage never moves traffic.
 */
export function analyze(baseline: ArmObservations, canary: ArmObservations, gates: Gates): Decision {
  const alpha = gates.alpha ?? DEFAULT_ALPHA;
  const rollbackAlpha = alpha / Math.max(1, configuredCount(gates));
  const problems = [...validateGates(gates), ...validateArm('baseline', baseline), ...validateArm('canary', canary)];
  if (problems.length === 0 && !sameBounds(baseline.latency.bounds, canary.latency.bounds)) {
    problems.push('baseline and canary latency histograms must have the same bounds');
  }
  const evidence: Evidence = {
    alpha: finiteOrNull(alpha),
    rollbackAlpha: finiteOrNull(rollbackAlpha),
    minSamples: finiteOrNull(gates.minSamples),
    problems,
    arms: null,
    gates: {},
  };
  if (problems.length > 0) return { action: 'hold', reason: `invalid observations: ${problems.join('; ')}`, evidence };
  const arms = { baseline: summarize(baseline), canary: summarize(canary) };
  evidence.arms = arms;
  const collecting = collectingReason(baseline, canary, gates);
  if (collecting !== null) return { action: 'hold', reason: collecting, evidence };

  const lv: Levels = { zPromote: normalIsf(alpha), zRollback: normalIsf(rollbackAlpha), rollbackAlpha };
  const g = evidence.gates;
  if (gates.maxErrorRateDelta !== undefined) g.errorRate = errorGate(baseline, canary, gates.maxErrorRateDelta, lv);
  if (gates.maxP99Ratio !== undefined) {
    g.latency = latencyGate(baseline, canary, arms, gates.maxP99Ratio, lv);
  }
  if (gates.maxDivergence !== undefined) g.divergence = divergenceGate(canary, gates.maxDivergence, lv);
  return decide(evidence);
}

function decide(evidence: Evidence): Decision {
  const all = [evidence.gates.errorRate, evidence.gates.latency, evidence.gates.divergence].filter(
    (e): e is NonNullable<typeof e> => e !== undefined,
  );
  const failed = all.filter((e) => e.outcome === 'fail');
  if (failed.length > 0) {
    return { action: 'rollback', reason: `rollback: ${failed.map((e) => e.summary).join('; ')}`, evidence };
  }
  const open = all.filter((e) => e.outcome === 'inconclusive');
  if (open.length > 0) {
    return { action: 'hold', reason: `inconclusive: ${open.map((e) => e.summary).join('; ')}`, evidence };
  }
  const why = all.length === 0 ? 'no gates configured' : all.map((e) => e.summary).join('; ');
  return { action: 'promote', reason: `promote: ${why}`, evidence };
}
