/**
 * The validation gate, pure: measurements of a candidate (and of the baseline, the current
 * `production`, measured in the same run on the same machine) + thresholds → checks → verdict.
 * Thresholds come from flags or the model config's parameters (`gate_min_accuracy`…); where
 * none is set and a baseline was measured, the defaults refuse a regression: accuracy may drop
 * by at most 0.01, agreement with the baseline must be ≥ 0.98, median latency ≤ 1.5 × the baseline's.
 * p99 is recorded but only checked against an explicit threshold: the p99 of a few hundred rows on
 * a shared machine is one slow call, noise that must not decide a promotion.
 */
import type { GateCheck, ValidationRecord, VersionRecord } from './types.js';

export interface GateThresholds {
  minAccuracy?: number;
  /** Fraction of rows whose top-1 (or, for regressors, value within tolerance) equals the baseline's. */
  minAgreement?: number;
  maxLatencyP99Ms?: number;
  /** Defaults relative to the baseline; set a field to null to switch a default check off. */
  maxAccuracyDrop?: number | null;
  maxP50Ratio?: number | null;
}

/** What a validation run measured. Candidate values plain, the baseline's prefixed `baseline_`. */
export interface Measurements {
  samples: number;
  accuracy?: number;
  agreement?: number;
  latency_p50_ms?: number;
  latency_p99_ms?: number;
  baseline_accuracy?: number;
  baseline_latency_p50_ms?: number;
  baseline_latency_p99_ms?: number;
}

export const DEFAULT_GATE = { maxAccuracyDrop: 0.01, minAgreement: 0.98, maxP50Ratio: 1.5 } as const;

/** Config parameter names (Triton `parameters { key: … }`) that set thresholds per model. */
export const GATE_PARAMETERS: Record<string, keyof GateThresholds> = {
  gate_min_accuracy: 'minAccuracy',
  gate_min_agreement: 'minAgreement',
  gate_max_latency_p99_ms: 'maxLatencyP99Ms',
  gate_max_accuracy_drop: 'maxAccuracyDrop',
  gate_max_p50_ratio: 'maxP50Ratio',
};

const round = (x: number) => Math.round(x * 1e6) / 1e6;

export function gateChecks(m: Measurements, t: GateThresholds = {}): GateCheck[] {
  const checks: GateCheck[] = [];
  const add = (name: string, value: number | undefined, kind: 'min' | 'max', threshold: number, note?: string) => {
    if (value === undefined) {
      checks.push({ name, value: null, kind, threshold, passed: false, note: note ?? `${name} was not measured` });
      return;
    }
    const passed = kind === 'min' ? value >= threshold : value <= threshold;
    checks.push({ name, value: round(value), kind, threshold: round(threshold), passed });
  };
  const hasBaseline = m.agreement !== undefined || m.baseline_latency_p50_ms !== undefined;
  if (m.samples <= 0)
    checks.push({ name: 'samples', value: 0, kind: 'min', threshold: 1, passed: false, note: 'no validation rows' });

  if (t.minAccuracy !== undefined) add('accuracy', m.accuracy, 'min', t.minAccuracy, 'accuracy needs labels');
  else if (m.baseline_accuracy !== undefined && m.accuracy !== undefined) {
    const drop = t.maxAccuracyDrop === undefined ? DEFAULT_GATE.maxAccuracyDrop : t.maxAccuracyDrop;
    if (drop !== null) add('accuracy', m.accuracy, 'min', m.baseline_accuracy - drop);
  }

  const minAgreement = t.minAgreement ?? (hasBaseline ? DEFAULT_GATE.minAgreement : undefined);
  if (minAgreement !== undefined)
    add('agreement', m.agreement, 'min', minAgreement, 'agreement needs a production version to compare with');

  if (t.maxLatencyP99Ms !== undefined) add('latency_p99_ms', m.latency_p99_ms, 'max', t.maxLatencyP99Ms);
  if (m.baseline_latency_p50_ms !== undefined) {
    const ratio = t.maxP50Ratio === undefined ? DEFAULT_GATE.maxP50Ratio : t.maxP50Ratio;
    if (ratio !== null) add('latency_p50_ms', m.latency_p50_ms, 'max', m.baseline_latency_p50_ms * ratio);
  }
  return checks;
}

/** Reads thresholds from a model config's `parameters` (Triton JSON form: `{key: {string_value}}`). */
export function thresholdsFromConfig(parameters: Record<string, unknown> | undefined): GateThresholds {
  const out: GateThresholds = {};
  for (const [key, field] of Object.entries(GATE_PARAMETERS)) {
    const raw = (parameters?.[key] as { string_value?: unknown } | undefined)?.string_value;
    const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : Number.NaN;
    if (Number.isFinite(n)) out[field] = n;
  }
  return out;
}

/** Why a version may not take a protected alias; undefined when it may. */
export function gateRefusal(v: VersionRecord): string | undefined {
  const r: ValidationRecord | undefined = v.validation;
  const who = `version ${v.version} of '${v.model}'`;
  if (!r) return `${who} has not been validated (run: infergate registry validate ${v.model} ${v.version} …)`;
  if (r.passed) return undefined;
  const failed = r.checks.filter((c) => !c.passed);
  const words = failed.map((c) =>
    c.value === null
      ? `${c.name}: ${c.note ?? 'not measured'}`
      : `${c.name} ${c.value} ${c.kind === 'min' ? '<' : '>'} ${c.threshold}`,
  );
  return `${who} failed validation at ${r.at}: ${words.join('; ') || 'no checks passed'}`;
}

/** A validation run's record from its measurements and checks. */
export function validationRecord(
  m: Measurements,
  checks: GateCheck[],
  meta: { at: string; by: string; baseline?: number; context?: Record<string, string> },
): ValidationRecord {
  const measurements: Record<string, number> = {};
  for (const [k, v] of Object.entries(m)) if (typeof v === 'number') measurements[k] = v;
  return {
    at: meta.at,
    by: meta.by,
    passed: checks.every((c) => c.passed),
    checks,
    measurements,
    baseline: meta.baseline,
    context: meta.context,
  };
}
