import {
  type BatchStats,
  type InferStats,
  type ModelStatistics,
  type StatDuration,
  zeroDuration,
} from '../core/index.js';

function add(d: StatDuration, ns: number): void {
  d.count++;
  d.ns += BigInt(Math.max(0, Math.round(ns)));
}

function copy(d: StatDuration): StatDuration {
  return { count: d.count, ns: d.ns };
}

/** One execution's stage times in ns, as the backend measured them. */
export interface StageTimes {
  inputNs: number;
  inferNs: number;
  outputNs: number;
}

/**
 * Counters of the statistics extension for one model version (protocol.md §B.4).
 * The same numbers feed the Prometheus metrics, so the two never disagree.
 */
export class VersionStats {
  private inferenceCount = 0;
  private executionCount = 0;
  private lastInference = 0;
  private readonly stats: InferStats = {
    success: zeroDuration(),
    fail: zeroDuration(),
    queue: zeroDuration(),
    compute_input: zeroDuration(),
    compute_infer: zeroDuration(),
    compute_output: zeroDuration(),
    cache_hit: zeroDuration(),
    cache_miss: zeroDuration(),
  };
  private readonly batches = new Map<number, BatchStats>();

  constructor(
    readonly model: string,
    readonly version: string,
  ) {}

  /** Records a successful request: end-to-end and queue time, and its share of the execution. */
  success(wallMs: number, requestNs: number, queueNs: number, batchSize: number, t: StageTimes): void {
    this.lastInference = wallMs;
    this.inferenceCount += batchSize;
    add(this.stats.success, requestNs);
    add(this.stats.queue, queueNs);
    add(this.stats.compute_input, t.inputNs);
    add(this.stats.compute_infer, t.inferNs);
    add(this.stats.compute_output, t.outputNs);
  }

  /** Records one model execution of `batchSize` inferences. */
  execution(batchSize: number, t: StageTimes): void {
    this.executionCount++;
    let b = this.batches.get(batchSize);
    if (!b) {
      b = {
        batch_size: batchSize,
        compute_input: zeroDuration(),
        compute_infer: zeroDuration(),
        compute_output: zeroDuration(),
      };
      this.batches.set(batchSize, b);
    }
    add(b.compute_input, t.inputNs);
    add(b.compute_infer, t.inferNs);
    add(b.compute_output, t.outputNs);
  }

  /** Records a failed request. */
  failure(wallMs: number, requestNs: number): void {
    this.lastInference = wallMs;
    add(this.stats.fail, requestNs);
  }

  /** A deep copy in the extension's shape. */
  snapshot(): ModelStatistics {
    const s = this.stats;
    return {
      name: this.model,
      version: this.version,
      last_inference: this.lastInference,
      inference_count: this.inferenceCount,
      execution_count: this.executionCount,
      inference_stats: {
        success: copy(s.success),
        fail: copy(s.fail),
        queue: copy(s.queue),
        compute_input: copy(s.compute_input),
        compute_infer: copy(s.compute_infer),
        compute_output: copy(s.compute_output),
        cache_hit: copy(s.cache_hit),
        cache_miss: copy(s.cache_miss),
      },
      batch_stats: [...this.batches.values()]
        .sort((a, b) => a.batch_size - b.batch_size)
        .map((b) => ({
          batch_size: b.batch_size,
          compute_input: copy(b.compute_input),
          compute_infer: copy(b.compute_infer),
          compute_output: copy(b.compute_output),
        })),
      memory_usage: [],
    };
  }
}
