import type { ModelVersionSpec } from '../core/index.js';

/** The batching knobs the pure decision needs, in milliseconds and sorted sizes. */
export interface BatchConfig {
  maxBatchSize: number;
  /** Ascending, unique, each in 1..maxBatchSize; never empty (Triton's default is [maxBatchSize]). */
  preferredBatchSizes: number[];
  /** 0 = dispatch as soon as an instance is free. */
  maxQueueDelayMs: number;
}

/** Derives the decision's config from a version spec (Triton's defaults applied again defensively). */
export function batchConfigOf(spec: Pick<ModelVersionSpec, 'maxBatchSize' | 'batching'>): BatchConfig {
  const max = Math.max(1, spec.maxBatchSize);
  return makeBatchConfig(max, spec.batching?.preferredBatchSizes ?? [], (spec.batching?.maxQueueDelayUs ?? 0) / 1000);
}

/** Builds a normalised BatchConfig: drops out-of-range preferred sizes, sorts, defaults to [max]. */
export function makeBatchConfig(
  maxBatchSize: number,
  preferred: readonly number[],
  maxQueueDelayMs: number,
): BatchConfig {
  const sizes = [...new Set(preferred.filter((p) => Number.isInteger(p) && p >= 1 && p <= maxBatchSize))].sort(
    (a, b) => a - b,
  );
  return {
    maxBatchSize,
    preferredBatchSizes: sizes.length > 0 ? sizes : [maxBatchSize],
    maxQueueDelayMs: Math.max(0, maxQueueDelayMs),
  };
}
