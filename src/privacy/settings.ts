/**
 * A model's payload-logging settings, from its config `parameters` (string values, as Triton
 * writes them):
 *   payload_log_sample          fraction of calls logged, 0..1 (absent or 0: none; off by default)
 *   payload_log_redact          comma-separated input, output and parameter names whose values
 *                               are written as "[redacted]"
 *   payload_log_retention_days  how long day files are kept (default 30)
 * Pure: the payload log reads these per call (cached per loaded version spec).
 */

export const SAMPLE_PARAM = 'payload_log_sample';
export const REDACT_PARAM = 'payload_log_redact';
export const RETENTION_PARAM = 'payload_log_retention_days';

/** Days a model's records are kept when its config does not say. */
export const DEFAULT_RETENTION_DAYS = 30;

export interface PayloadLogSettings {
  /** 0 < sample ≤ 1. */
  sample: number;
  redact: ReadonlySet<string>;
  retentionDays: number;
}

/**
 * The settings `parameters` ask for: undefined when the model does not log (no sample, or 0), a
 * string naming the problem when a value is malformed (the model then logs nothing: a typo must
 * not turn logging of personal data on).
 */
export function payloadLogSettings(
  parameters: Readonly<Record<string, string>>,
): PayloadLogSettings | string | undefined {
  const rawSample = parameters[SAMPLE_PARAM]?.trim();
  if (rawSample === undefined || rawSample === '') return undefined;
  const sample = Number(rawSample);
  if (!Number.isFinite(sample) || sample < 0 || sample > 1) return `${SAMPLE_PARAM} must be a number from 0 to 1`;
  if (sample === 0) return undefined;
  const retentionDays = retentionOf(parameters);
  if (typeof retentionDays === 'string') return retentionDays;
  const redact = new Set(
    (parameters[REDACT_PARAM] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  );
  return { sample, redact, retentionDays };
}

/** The retention a model's parameters ask for (also for models that no longer log), or the problem. */
export function retentionOf(parameters: Readonly<Record<string, string>>): number | string {
  const raw = parameters[RETENTION_PARAM]?.trim();
  if (raw === undefined || raw === '') return DEFAULT_RETENTION_DAYS;
  const days = Number(raw);
  return Number.isFinite(days) && days > 0 ? days : `${RETENTION_PARAM} must be a positive number of days`;
}
