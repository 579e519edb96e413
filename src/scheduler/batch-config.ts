import type { ModelVersionSpec } from '../core/index.js';
import { initialTuner, observeRun, type TunerState } from './batch-tuner.js';
import type { BatchStats } from './settle.js';
import { SloMode } from './slo-mode.js';

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

/** `base` with a lower cap: preferred sizes above it cannot form, the rest keep their meaning. */
export function cappedConfig(base: BatchConfig, cap: number, maxQueueDelayMs: number): BatchConfig {
  return makeBatchConfig(
    cap,
    base.preferredBatchSizes.filter((p) => p <= cap),
    maxQueueDelayMs,
  );
}

/**
 * The config the batcher's decision runs with now, and everything that moves it: the model's own
 * limits, narrowed by the latency objective's plan (latency_objective, slo-mode.ts), narrowed again
 * by the throughput tuner's measured cap (batch_size_tuning: throughput, batch-tuner.ts). The driver
 * asks this one object, and feeds it every finished batch.
 */
export class LiveBatchConfig {
  /** The model's own limits (max_batch_size, preferred sizes, max_queue_delay). */
  private readonly model: BatchConfig;
  private readonly slo: SloMode | undefined;
  private tuner: TunerState | undefined;
  private now: BatchConfig;

  constructor(spec: Pick<ModelVersionSpec, 'maxBatchSize' | 'batching' | 'latencyObjective'>) {
    this.model = batchConfigOf(spec);
    this.slo = spec.latencyObjective ? new SloMode(spec.latencyObjective, this.model.maxBatchSize) : undefined;
    this.tuner = spec.batching?.throughputTuning ? initialTuner(this.model.maxBatchSize) : undefined;
    this.now = this.derive();
  }

  /** What decide() runs with now. */
  get current(): BatchConfig {
    return this.now;
  }

  /**
   * Whether the latency objective admits a request of `batchSize` behind the work queued ahead of
   * it (always true without an objective; `unitsAhead` is only computed when there is one, since
   * it walks the queue).
   */
  admits(unitsAhead: () => number, batchSize: number, instances: number): boolean {
    return !this.slo || this.slo.admits(unitsAhead(), batchSize, instances);
  }

  /** Queue wait (ms) after which a request below the top level is shed; Infinity without an objective. */
  queueBudgetMs(): number {
    return this.slo?.queueBudgetMs() ?? Number.POSITIVE_INFINITY;
  }

  /** Learns from one finished batch: the objective re-plans, the tuner may move the cap. */
  learn(stats: BatchStats): void {
    this.slo?.learn(stats.batchSize, stats.execMs, stats.latenciesMs);
    if (this.tuner) this.tuner = observeRun(this.tuner, this.model.maxBatchSize, stats.batchSize, stats.execMs);
    this.now = this.derive();
  }

  private derive(): BatchConfig {
    let config = this.model;
    if (this.slo) config = cappedConfig(config, this.slo.plan.maxBatchSize, this.slo.plan.maxQueueDelayMs);
    const cap = this.tuner?.cap;
    if (cap !== undefined && cap < config.maxBatchSize) config = cappedConfig(config, cap, config.maxQueueDelayMs);
    return config;
  }
}
